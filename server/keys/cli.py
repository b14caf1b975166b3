"""``python -m server keys create|list|revoke``: the keys of the store, from a shell.

It reads the same configuration as the server (``--config`` or ``INFERENCE_CONFIG``, and the
``INFERENCE_*`` environment), so it works on the database the server uses; a running server
sees the change within ``keys.sync_interval_s``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from server.core.settings import Settings
from server.store.database import Database
from server.store.keys import DuplicateKeyName, KeyStore
from server.store.tables import ApiKey


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m server keys", description=__doc__)
    parser.add_argument("--config", help="the server's YAML file (default: INFERENCE_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key and print its secret (once)")
    create.add_argument("name")
    create.add_argument("--models", nargs="+", help="models it may use (default: every one)")
    create.add_argument("--rpm", type=int, help="requests per minute")
    create.add_argument("--tpm", type=int, help="tokens (prompt plus output) per minute")
    create.add_argument("--max-concurrent", type=int, help="requests at once")
    commands.add_parser("list", help="list the keys (never their secrets)")
    revoke = commands.add_parser("revoke", help="revoke a key (by id or name)")
    revoke.add_argument("key")
    return parser


def _shown(row: ApiKey, secret: str | None = None) -> dict[str, object]:
    shown: dict[str, object] = {
        "id": row.id,
        "name": row.name,
        "models": row.models,
        "rpm": row.rpm,
        "tpm": row.tpm,
        "max_concurrent": row.max_concurrent,
        "created_at": int(row.created_at),
        "last_used_at": None if row.last_used_at is None else int(row.last_used_at),
        "revoked": row.revoked,
    }
    if secret is not None:
        shown["key"] = secret
    return shown


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.store)
    await db.open()
    try:
        store = KeyStore(db)
        if args.command == "create":
            for limit in ("rpm", "tpm", "max_concurrent"):
                value = getattr(args, limit)
                if value is not None and value < 1:
                    print(f"--{limit.replace('_', '-')} must be at least 1", file=sys.stderr)
                    return 2
            try:
                row, secret = await store.create(
                    args.name, args.models, args.rpm, args.tpm, args.max_concurrent
                )
            except DuplicateKeyName:
                print(f"a key is already named {args.name!r}", file=sys.stderr)
                return 1
            print(json.dumps(_shown(row, secret)))
            print("The secret ('key') is shown this once: keep it now.", file=sys.stderr)
        elif args.command == "list":
            for row in await store.all():
                print(json.dumps(_shown(row)))
        else:
            found = await store.find(args.key)
            if found is None:
                print(f"no key {args.key!r}", file=sys.stderr)
                return 1
            revoked = await store.revoke(found.id)
            assert revoked is not None
            print(json.dumps(_shown(revoked)))
        return 0
    finally:
        await db.close()


def main(argv: list[str]) -> int:
    """Run one keys command; returns the exit code."""
    from server.core.settings import load_settings

    args = _parser().parse_args(argv)
    settings = load_settings(["--config", args.config] if args.config else None)
    return asyncio.run(_run(args, settings))
