"""One server at a time: start on demand, reuse while the same one is asked for, and keep
each server's start-up time and memory for the footprint suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.memory import RssSampler, total, tree_rss
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
    """Runs at most one server; ``get`` stops the running one when another is asked for."""

    def __init__(self, workdir: Path, log: Callable[[str], None]) -> None:
        self.workdir = workdir
        self.log = log
        self.current: RunningServer | None = None
        self.records: dict[str, ServerRecord] = {}

    def get(self, spec: ServerSpec) -> RunningServer:
        """The running server for ``spec``, started (and timed) if it is not the current one."""
        if self.current is not None and self.current.spec == spec:
            return self.current
        self.release()
        self.log(f"starting {spec.name}")
        record = ServerRecord(spec.name)
        self.records[spec.name] = record
        try:
            server = start(spec, self.workdir)
        except ServerStartError as exc:
            record.error = f"{exc.reason}\n{exc.log_tail}"
            raise
        self.current = server
        record.ready_s = server.ready_s
        record.rss_at_ready = tree_rss(server.pid)
        self.log(f"{spec.name} ready in {server.ready_s:.1f}s on port {server.port}")
        return server

    def release(self) -> None:
        """Stop the running server, if any."""
        if self.current is not None:
            self.log(f"stopping {self.current.spec.name}")
            server, self.current = self.current, None
            server.stop()

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
