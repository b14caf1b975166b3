"""An idle batch runner looks at the store less and less often, up to a cap, and at the
normal interval as soon as a look finds work."""

from __future__ import annotations

from server.batches.lines import IDLE_BACKOFF, idle_wait


def test_idle_looks_back_off_to_the_cap() -> None:
    waits = [idle_wait(0.5, looks) for looks in range(8)]
    assert waits[0] == 0.5  # work found (or first look): the configured interval
    assert waits == sorted(waits) and waits[1] == 1.0
    assert max(waits) == 0.5 * IDLE_BACKOFF and waits[-1] == waits[-2]
