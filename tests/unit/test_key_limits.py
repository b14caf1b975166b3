"""Key secrets and grants, and the per-key limiter: windows, reservations, replicas' counts."""

from __future__ import annotations

import pytest

from server.core.errors import RateLimited
from server.core.keys import KeyGrant, hash_secret, new_secret
from server.core.ratelimit import KeyLimiter


class Clock:
    def __init__(self, now: float = 960_020.0) -> None:  # 20 s into a minute
        self.now = now

    def __call__(self) -> float:
        return self.now


def _headers(limiter: KeyLimiter, grant: KeyGrant) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in limiter.headers(grant)}


def test_secrets_are_random_and_only_their_digest_is_kept() -> None:
    a, b = new_secret(), new_secret()
    assert a != b and a.startswith("sk-") and len(a) >= 40
    assert hash_secret(a) == hash_secret(a.encode()) and len(hash_secret(a)) == 64
    assert a not in hash_secret(a)


def test_grants_scope_models() -> None:
    assert KeyGrant("any").allows("m")
    scoped = KeyGrant("s", models=frozenset({"a"}))
    assert scoped.allows("a") and not scoped.allows("b")
    assert not KeyGrant("none", models=frozenset()).allows("a")
    assert KeyGrant("r", rpm=1).has_limits and not KeyGrant("r", rpm=1, limited=False).has_limits


def test_rpm_refuses_until_the_window_ends_and_says_so() -> None:
    clock = Clock()
    limiter = KeyLimiter(clock)
    grant = KeyGrant("k", "key_1", rpm=2)
    for _ in range(2):
        limiter.admit(grant)
        limiter.release(grant)
    with pytest.raises(RateLimited) as refused:
        limiter.admit(grant)
    assert refused.value.status == 429 and refused.value.retry_after_s == 40
    assert _headers(limiter, grant) == {
        "x-ratelimit-limit-requests": "2",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "40s",
    }
    clock.now += 40  # the next minute
    limiter.admit(grant)
    assert _headers(limiter, grant)["x-ratelimit-remaining-requests"] == "1"


def test_tokens_are_reserved_then_settled_with_the_real_usage() -> None:
    limiter = KeyLimiter(Clock())
    grant = KeyGrant("k", "key_1", tpm=100)
    held = limiter.admit(grant)
    limiter.reserve(grant, held, 80)  # prompt + max_tokens
    assert _headers(limiter, grant)["x-ratelimit-remaining-tokens"] == "20"
    other = limiter.admit(grant)
    with pytest.raises(RateLimited):
        limiter.reserve(grant, other, 30)  # 80 + 30 > 100
    limiter.settle(grant, held, 25)  # it used 25 of its 80
    limiter.reserve(grant, other, 30)
    assert _headers(limiter, grant)["x-ratelimit-remaining-tokens"] == "45"
    limiter.settle(grant, other, 75)  # more than it reserved: counted
    with pytest.raises(RateLimited):
        limiter.admit(grant)  # the tpm is used up: not even admitted


def test_concurrency_cap_counts_running_requests() -> None:
    limiter = KeyLimiter(Clock())
    grant = KeyGrant("k", "key_1", max_concurrent=1)
    limiter.admit(grant)
    with pytest.raises(RateLimited):
        limiter.admit(grant)
    limiter.release(grant)
    limiter.admit(grant)


def test_other_replicas_counts_come_from_the_store_and_ours_are_pushed_once() -> None:
    clock = Clock()
    limiter = KeyLimiter(clock)
    grant = KeyGrant("k", "key_1", rpm=10)
    limiter.admit(grant)
    limiter.admit(grant)
    static = KeyGrant("static", rpm=5)
    limiter.admit(static)  # keys of the configuration are this replica's alone
    (delta,) = limiter.pending()
    assert (delta.key_id, delta.requests) == ("key_1", 2)
    limiter.pushed(delta)
    assert limiter.pending() == []
    # The store now holds ours (2) and another replica's (5).
    limiter.observed("key_1", delta.window, 7, 0)
    assert _headers(limiter, grant)["x-ratelimit-remaining-requests"] == "3"
    for _ in range(3):
        limiter.admit(grant)
    with pytest.raises(RateLimited):
        limiter.admit(grant)
    # Counts of a past window are ignored.
    clock.now += 60
    limiter.observed("key_1", delta.window, 100, 0)
    assert _headers(limiter, grant)["x-ratelimit-remaining-requests"] == "10"
