"""``/admin/v1/keys`` and ``/admin/v1/usage`` (the admin key is checked by the middleware)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from server.admin.protocol import KeyCreate, KeyList, KeyObject, KeyUpdate, UsageList, UsageRow
from server.core.errors import InvalidRequest, ServerError
from server.keys.service import KeyService
from server.store.keys import DuplicateKeyName
from server.store.tables import ApiKey

KEYS_PATH = "/admin/v1/keys"
USAGE_PATH = "/admin/v1/usage"


class KeyNotFound(ServerError):
    """No key with that id (404)."""

    status = 404
    error_type = "invalid_request_error"

    def __init__(self, key_id: str) -> None:
        super().__init__(f"No such API key: {key_id}", param="id", code="not_found")


class KeyNameTaken(InvalidRequest):
    """Another key has that name (409)."""

    status = 409

    def __init__(self, name: str) -> None:
        super().__init__(f"an API key is already named {name!r}", param="name", code="conflict")


def _found(row: ApiKey | None, key_id: str) -> ApiKey:
    if row is None:
        raise KeyNotFound(key_id)
    return row


def admin_router(keys: KeyService) -> APIRouter:
    """The admin API over ``keys`` (its store, and this replica's unflushed usage)."""
    router = APIRouter(tags=["admin"])
    store = keys.store

    @router.post(KEYS_PATH, status_code=201, response_model=KeyObject)
    async def create_key(body: KeyCreate) -> KeyObject:
        """A new key; its secret is in ``key``, in this answer only."""
        try:
            row, secret = await store.create(
                body.name, body.models, body.rpm, body.tpm, body.max_concurrent
            )
        except DuplicateKeyName:
            raise KeyNameTaken(body.name) from None
        return KeyObject.of(row, secret)

    @router.get(KEYS_PATH, response_model=KeyList)
    async def list_keys() -> KeyList:
        """Every key, revoked ones included (no secrets)."""
        return KeyList(data=[KeyObject.of(row) for row in await store.all()])

    @router.get(KEYS_PATH + "/{key_id}", response_model=KeyObject)
    async def get_key(key_id: str) -> KeyObject:
        return KeyObject.of(_found(await store.get(key_id), key_id))

    @router.patch(KEYS_PATH + "/{key_id}", response_model=KeyObject)
    async def update_key(key_id: str, body: KeyUpdate) -> KeyObject:
        """Change a key's name, models, limits or revoked state (effective on every replica
        within ``keys.sync_interval_s``)."""
        changes = body.model_dump(exclude_unset=True)
        if changes.get("name", "") is None or changes.get("revoked", False) is None:
            raise InvalidRequest("'name' and 'revoked' cannot be null", param="name")
        try:
            row = await store.update(key_id, changes)
        except DuplicateKeyName:
            raise KeyNameTaken(str(changes["name"])) from None
        return KeyObject.of(_found(row, key_id))

    @router.delete(KEYS_PATH + "/{key_id}", response_model=KeyObject)
    async def revoke_key(key_id: str) -> KeyObject:
        """Revoke a key (it stays listed, with its usage; it is refused from now on)."""
        return KeyObject.of(_found(await store.revoke(key_id), key_id))

    @router.get(USAGE_PATH, response_model=UsageList)
    async def usage(key: str | None = None) -> Response:
        """Requests and tokens by key name, model and UTC date (all replicas: this one's
        counts are flushed first, the others' are at most one sync interval behind)."""
        await keys.flush_usage()
        rows = [UsageRow.of(row) for row in await store.usage(key)]
        return Response(UsageList(data=rows).model_dump_json(), media_type="application/json")

    return router
