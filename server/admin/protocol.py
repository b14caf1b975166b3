"""The admin API's request and response bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from server.store.tables import ApiKey, KeyUsage

Name = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._:@/\-]+$")
Limit = Field(None, ge=1, le=2**31 - 1)


class KeyCreate(BaseModel):
    """``POST /admin/v1/keys``: a name, and optionally models and limits."""

    model_config = ConfigDict(extra="forbid")

    name: str = Name
    models: list[str] | None = Field(
        None, description="The models the key may use (null: every model)."
    )
    rpm: int | None = Limit
    tpm: int | None = Limit
    max_concurrent: int | None = Limit


class KeyUpdate(BaseModel):
    """``PATCH /admin/v1/keys/{id}``: the fields to change (null clears a limit)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._:@/\-]+$")
    models: list[str] | None = None
    rpm: int | None = Limit
    tpm: int | None = Limit
    max_concurrent: int | None = Limit
    revoked: bool | None = None


class KeyObject(BaseModel):
    """A key as the admin API shows it: never its secret (except ``key``, once, at creation)."""

    object: Literal["api_key"] = "api_key"
    id: str
    name: str
    models: list[str] | None
    rpm: int | None
    tpm: int | None
    max_concurrent: int | None
    created_at: int
    last_used_at: int | None
    revoked: bool
    key: str | None = Field(None, description="The secret: only in the answer that created it.")

    @classmethod
    def of(cls, row: ApiKey, secret: str | None = None) -> KeyObject:
        return cls(
            id=row.id,
            name=row.name,
            models=row.models,
            rpm=row.rpm,
            tpm=row.tpm,
            max_concurrent=row.max_concurrent,
            created_at=int(row.created_at),
            last_used_at=None if row.last_used_at is None else int(row.last_used_at),
            revoked=row.revoked,
            key=secret,
        )


class KeyList(BaseModel):
    object: Literal["list"] = "list"
    data: list[KeyObject]


class UsageRow(BaseModel):
    """Usage of one key and model on one UTC date."""

    key: str
    model: str
    date: str
    requests: int
    input_tokens: int
    output_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, row: KeyUsage) -> UsageRow:
        return cls(
            key=row.key,
            model=row.model,
            date=row.date,
            requests=row.requests,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            total_tokens=row.input_tokens + row.output_tokens,
        )


class UsageList(BaseModel):
    object: Literal["list"] = "list"
    data: list[UsageRow]
