"""The benchmarks' wait for the held servers to go quiet before a measurement."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from bench.memory import wait_until_quiet

# Spins for the given seconds (a server busy after its last answer), then sleeps.
BUSY_THEN_IDLE = (
    "import sys, time\n"
    "end = time.monotonic() + float(sys.argv[1])\n"
    "while time.monotonic() < end:\n"
    "    pass\n"
    "time.sleep(60)\n"
)


@contextmanager
def child(busy_s: float) -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, "-c", BUSY_THEN_IDLE, str(busy_s)])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_it_waits_while_a_process_spins_and_not_after() -> None:
    with child(busy_s=2.0) as busy, child(busy_s=0.0) as idle:
        waited = wait_until_quiet([busy, idle], timeout_s=20)
        assert 1.0 <= waited < 20
        assert wait_until_quiet([busy, idle], timeout_s=20) < 2


def test_it_gives_up_after_the_timeout() -> None:
    with child(busy_s=60.0) as busy:
        waited = wait_until_quiet([busy], timeout_s=1.5)
    assert 1.5 <= waited < 5
