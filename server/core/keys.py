"""API keys as the server sees them: who a request comes from and what it may use.

A key's secret is never kept: only its SHA-256 digest. The secrets are 256 random bits, so a
fast digest is safe here (nothing to brute-force as with passwords) and lets every request be
checked by one dictionary look-up instead of a comparison per key.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Protocol

SECRET_PREFIX = "sk-"
KEY_ID_PREFIX = "key_"  # ids of the keys of the store
# The names usage is filed under for the requests of keys that have no name of their own.
STATIC_KEY_NAME = "static"
BATCH_KEY_NAME = "batch"


def new_secret() -> str:
    """A fresh key secret: ``sk-`` and 43 URL-safe characters (256 random bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str | bytes) -> str:
    """The hex SHA-256 digest a key is stored and looked up by."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """What one key may do: its models (None: every one) and its limits (None: none).

    ``id`` is None for the keys of the configuration and for the batch runner's own key.
    ``limited`` is False for the batch runner: its lines are attributed to a key but never
    refused by that key's limits.
    """

    name: str
    id: str | None = None
    models: frozenset[str] | None = None
    rpm: int | None = None
    tpm: int | None = None
    max_concurrent: int | None = None
    limited: bool = True

    def allows(self, model: str) -> bool:
        """Whether this key may use ``model``."""
        return self.models is None or model in self.models

    @property
    def has_limits(self) -> bool:
        return self.limited and (
            self.rpm is not None or self.tpm is not None or self.max_concurrent is not None
        )


class TokenQuota(Protocol):
    """The token budget of a request's key: services reserve what a request may use at
    admission (its prompt and ``max_tokens``) and the real usage settles it afterwards."""

    def reserve(self, tokens: int) -> None:
        """Reserve ``tokens``; raises ``RateLimited`` (429) when the key's tpm has no room."""
        ...


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose stored objects (responses, files, batches) a request creates and sees.

    ``key`` is recorded on what the request creates: a store key's id, ``static`` for the
    keys of the configuration (they share one owner), None without a key. A store key sees
    only its own objects; the static keys see theirs and those created without a key
    (before keys were turned on); without authentication everything is seen, as before keys
    existed. Another key's object reads as missing (404), never as forbidden.
    """

    key: str | None
    sees_all: bool = False
    sees_unowned: bool = False

    def can_see(self, key: str | None) -> bool:
        """Whether an object created by ``key`` is visible to this owner."""
        if self.sees_all:
            return True
        if key is None:
            return self.sees_unowned
        return key == self.key


EVERYONE = Owner(None, sees_all=True)


def owner_of(grant: KeyGrant | None) -> Owner:
    """The owner of a request made with ``grant`` (None: authentication is off)."""
    if grant is None:
        return EVERYONE
    if grant.id is not None:
        return Owner(grant.id)
    if grant.name == STATIC_KEY_NAME:
        return Owner(STATIC_KEY_NAME, sees_unowned=True)
    # The batch runner acting for a batch created without a key.
    return Owner(None, sees_unowned=True)
