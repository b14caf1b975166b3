"""Which process x thread splits the in-process ceiling measures besides one process."""

from __future__ import annotations

from bench.ceiling import splits


def test_one_core_has_no_split() -> None:
    assert splits(1) == []


def test_two_cores_split_into_two_single_threaded_processes() -> None:
    assert splits(2) == [(2, 1)]


def test_splits_use_every_core_and_divide_them_evenly() -> None:
    assert splits(16) == [(2, 8), (4, 4), (16, 1)]
    assert splits(6) == [(2, 3), (6, 1)]  # 4 does not divide 6
    for cores in range(1, 33):
        assert all(p * t == cores and p > 1 for p, t in splits(cores))
