"""The servers under test: started on demand (one after another, each timed alone), reused
while they are asked for, and each one's start-up time and memory kept for the footprint
suite. Usually one runs at a time; the generation and encoder suites hold two, idle but for
the one they measure (an idle server here costs ~2% of a core)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.memory import RssSampler, total, tree_rss, wait_until_quiet
from bench.servers import RunningServer, ServerSpec, ServerStartError, start


@dataclass
class ServerRecord:
    """What one server cost to start and to run, in MiB per process (``role:pid``)."""

    name: str
    ready_s: float | None = None
    rss_at_ready: dict[str, float] = field(default_factory=dict)
    rss_peak_under_load: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rss_at_ready_total"] = total(self.rss_at_ready)
        out["rss_peak_under_load_total"] = self.rss_peak_under_load.get("total")
        return out


class ServerPool:
    """Runs the servers asked for last; ``get`` and ``hold`` stop every other one."""

    def __init__(self, workdir: Path, log: Callable[[str], None]) -> None:
        self.workdir = workdir
        self.log = log
        self.running: dict[str, RunningServer] = {}
        self.records: dict[str, ServerRecord] = {}

    def get(self, spec: ServerSpec) -> RunningServer:
        """The server for ``spec``, alone: started (and timed) unless it is running."""
        return self.hold([spec])[0]

    def hold(self, specs: Sequence[ServerSpec]) -> list[RunningServer]:
        """The servers for ``specs``, all running at once; the others are stopped first.

        A server that fails to start raises :class:`ServerStartError`; the ones already
        running stay up.
        """
        wanted = {spec.name: spec for spec in specs}
        for name, server in list(self.running.items()):
            if wanted.get(name) != server.spec:
                self._stop(name)
        for spec in specs:
            if spec.name not in self.running:
                self.running[spec.name] = self._start(spec)
        return [self.running[spec.name] for spec in specs]

    def is_running(self, spec: ServerSpec) -> bool:
        server = self.running.get(spec.name)
        return server is not None and server.spec == spec

    def _start(self, spec: ServerSpec) -> RunningServer:
        self.log(f"starting {spec.name}")
        record = ServerRecord(spec.name)
        self.records[spec.name] = record
        try:
            server = start(spec, self.workdir)
        except ServerStartError as exc:
            record.error = f"{exc.reason}\n{exc.log_tail}"
            raise
        record.ready_s = server.ready_s
        record.rss_at_ready = tree_rss(server.pid)
        self.log(f"{spec.name} ready in {server.ready_s:.1f}s on port {server.port}")
        return server

    def _stop(self, name: str) -> None:
        self.log(f"stopping {name}")
        self.running.pop(name).stop()

    def settle(self) -> float:
        """Wait until every running server is quiet (what one did a moment ago, such as
        vLLM's busy second after its last answer, must not run into the next measurement);
        the seconds waited."""
        return wait_until_quiet([server.pid for server in self.running.values()])

    def release(self) -> None:
        """Stop every running server."""
        for name in list(self.running):
            self._stop(name)

    @contextmanager
    def sampling(self, server: RunningServer, interval_s: float = 1.0) -> Iterator[RssSampler]:
        """Sample the server's memory during a load; the peak goes into its record."""
        sampler = RssSampler(server.pid, interval_s)
        with sampler:
            yield sampler
        record = self.records.setdefault(server.spec.name, ServerRecord(server.spec.name))
        for key, value in sampler.peak().items():
            record.rss_peak_under_load[key] = max(record.rss_peak_under_load.get(key, 0.0), value)

    def close(self) -> None:
        self.release()
