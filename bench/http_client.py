"""The load generator's HTTP/1.1 connections: one keep-alive connection per client, each
request's bytes built once before the clock starts, each answer parsed by httptools (the
parser uvicorn serves with). The load generator runs on the cores it measures, so its cost is
taken from every server alike: aiohttp spent 0.19-0.24 ms of CPU per request here, this
0.05-0.11 ms."""

from __future__ import annotations

import asyncio
from typing import cast
from urllib.parse import urlsplit

import httptools


class ConnectionClosed(ConnectionError):
    """The server closed the connection before its answer was complete."""


def encode_request(
    base_url: str, path: str, body: bytes, headers: dict[str, str] | None = None
) -> bytes:
    """The bytes of one ``POST`` of ``body`` (JSON) to ``path`` on ``base_url``."""
    host = urlsplit(base_url).netloc
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection(asyncio.Protocol):
    """One keep-alive connection that carries one request at a time."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._body: list[bytes] = []
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    @classmethod
    async def open(cls, base_url: str) -> Connection:
        parts = urlsplit(base_url)
        loop = asyncio.get_running_loop()
        host = parts.hostname or "127.0.0.1"
        _, conn = await loop.create_connection(cls, host, parts.port or 80)
        return conn

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Send ``request`` (from :func:`encode_request`); its status and body."""
        if self.closed or self._transport is None:
            raise ConnectionClosed("the connection is closed")
        self._body = []
        self._parser = httptools.HttpResponseParser(self)
        self._answer = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return await self._answer

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    # --- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, but behave as one.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionClosed("the server closed the connection"))

    # --- httptools callbacks ---------------------------------------------------------------

    def on_body(self, chunk: bytes) -> None:
        self._body.append(chunk)

    def on_message_complete(self) -> None:
        if not self._parser.should_keep_alive():
            self.close()
        if self._answer is not None and not self._answer.done():
            self._answer.set_result((self._parser.get_status_code(), b"".join(self._body)))

    def _fail(self, exc: BaseException) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc)
