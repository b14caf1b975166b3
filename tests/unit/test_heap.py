"""Freezing the startup heap: what is alive then is out of the collector's reach."""

from __future__ import annotations

import gc

from server.core.heap import freeze_startup_heap


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_live_objects_are_frozen_and_garbage_is_collected_first() -> None:
    kept = [_Cycle() for _ in range(100)]
    garbage = _Cycle()
    del garbage
    try:
        frozen = freeze_startup_heap()
        assert frozen == gc.get_freeze_count() > len(kept)
        # Frozen objects are no longer among those the collector tracks and scans.
        assert sum(type(o) is _Cycle for o in gc.get_objects()) == 0
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
    # The unreachable cycle was collected before freezing, not frozen with the live ones.
    assert sum(type(o) is _Cycle for o in gc.get_objects()) == len(kept)
