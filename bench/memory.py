"""A server's process tree: its resident memory (snapshots and a background sampler) and its
CPU (spent so far, and waiting until it is quiet)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psutil

MIB = 2**20
# A held server is quiet when its tree uses under a tenth of a core over half a second (an
# idle server here uses 0-0.04); vLLM's server spends a whole core for about a second after
# its last answer.
QUIET_CORES = 0.1
QUIET_WINDOW_S = 0.5
QUIET_TIMEOUT_S = 30.0


def _role(proc: psutil.Process, root_pid: int) -> str:
    """A readable name for one process of the tree (API process, engine core, worker...)."""
    if proc.pid == root_pid:
        return "api"
    try:
        name = proc.name()
        cmdline = " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "gone"
    if "EngineCore" in name or "EngineCore" in cmdline:
        return "engine-core"
    if name.startswith("VLLM::"):
        return "engine-" + name.removeprefix("VLLM::").lower()
    if "resource_tracker" in cmdline:
        return "resource-tracker"
    if "multiprocessing.spawn" in cmdline or "spawn_main" in cmdline:
        return "encoder-worker"
    return name or "child"


def tree_rss(root_pid: int) -> dict[str, float]:
    """RSS in MiB per process of the tree rooted at ``root_pid``, keyed ``role:pid``."""
    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return {}
    out: dict[str, float] = {}
    for proc in procs:
        try:
            rss = proc.memory_info().rss / MIB
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        out[f"{_role(proc, root_pid)}:{proc.pid}"] = round(rss, 1)
    return out


def total(snapshot: dict[str, float]) -> float:
    return round(sum(snapshot.values()), 1)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by one process (not its children)."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(times.user + times.system)


def tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU seconds used so far by the live processes of the tree."""
    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    spent = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        spent += times.user + times.system
    return spent


def wait_until_quiet(
    root_pids: list[int],
    *,
    below_cores: float = QUIET_CORES,
    window_s: float = QUIET_WINDOW_S,
    timeout_s: float = QUIET_TIMEOUT_S,
) -> float:
    """Wait until the process trees of ``root_pids`` together use under ``below_cores`` over
    one ``window_s`` (or ``timeout_s`` passed); the seconds waited."""
    started = time.monotonic()
    before = sum(tree_cpu_seconds(pid) for pid in root_pids)
    while time.monotonic() - started < timeout_s:
        time.sleep(window_s)
        now = sum(tree_cpu_seconds(pid) for pid in root_pids)
        if (now - before) / window_s < below_cores:
            break
        before = now
    return round(time.monotonic() - started, 2)


@dataclass
class RssSampler:
    """Samples :func:`tree_rss` every ``interval_s`` in a thread while in a ``with`` block."""

    root_pid: int
    interval_s: float = 1.0
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def __enter__(self) -> RssSampler:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.samples.append((time.monotonic(), tree_rss(self.root_pid)))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), tree_rss(self.root_pid)))
            self._stop.wait(self.interval_s)

    def peak(self) -> dict[str, float]:
        """Per process, the highest RSS seen; ``total`` is the highest tree total seen."""
        peak: dict[str, float] = {}
        for _, snap in self.samples:
            for key, value in snap.items():
                peak[key] = max(peak.get(key, 0.0), value)
        peak["total"] = max((total(s) for _, s in self.samples), default=0.0)
        return peak

    def totals(self) -> list[tuple[float, float]]:
        """(seconds since the first sample, tree total MiB) for each sample."""
        if not self.samples:
            return []
        start = self.samples[0][0]
        return [(round(t - start, 2), total(s)) for t, s in self.samples]
