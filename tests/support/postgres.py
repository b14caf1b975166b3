"""A throwaway PostgreSQL server from the machine's own binaries, on a free port.

``initdb`` and ``postgres`` refuse to run as root: as root they run as the ``postgres``
system user on a directory it owns. Where the binaries are missing the tests that need one
skip with a message, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN_DIRS = [Path(p) for p in os.environ.get("POSTGRES_BIN_DIRS", "").split(":") if p] + sorted(
    Path("/usr/lib/postgresql").glob("*/bin"), reverse=True
)
USER = "app"


def _binaries() -> Path | None:
    for directory in BIN_DIRS:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Postgres:
    """A running server; ``url(db)`` is a URL the store accepts."""

    port: int
    root: Path
    bin_dir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        self._run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                USER,
                "-d",
                "postgres",
                "-c",
                f'CREATE DATABASE "{name}"',
            ],
            as_owner=False,
        )
        return self.url(name)

    def stop(self) -> None:
        self._run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "stop"],
            check=False,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            [
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-l",
                str(self.root / "log"),
                "-w",
                "-o",
                options,
                "start",
            ]
        )

    def _run(self, argv: list[str], *, as_owner: bool = True, check: bool = True) -> None:
        if as_owner and os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        subprocess.run(argv, check=check, capture_output=True, timeout=60)


def missing(reason: str) -> None:
    """Skip outside CI; fail under CI=true (the tests must run there)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI: {reason}")
    pytest.skip(f"PostgreSQL tests need the server binaries: {reason}")


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """Start a fresh cluster (trust auth, user ``app``); stop and remove it afterwards."""
    bin_dir = _binaries()
    if bin_dir is None:
        missing("no initdb found (apt install postgresql, or set POSTGRES_BIN_DIRS)")
    assert bin_dir is not None
    root = Path(tempfile.mkdtemp(prefix="pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    server = Postgres(_free_port(), root, bin_dir)
    try:
        server._run([str(bin_dir / "initdb"), "-D", str(root / "data"), "-A", "trust", "-U", USER])
        server.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", server.port)) == 0:
                    break
            time.sleep(0.2)
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
