"""The soak's traffic: good requests (some streams cut mid-way on purpose) and bad ones, each
with the statuses it may get back. Anything else is counted as unexpected."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.load import JSON_HEADERS
from bench.sentences import sentences

OK = frozenset({200})
# 429 is an honest answer under load for any request.
ALWAYS_FINE = frozenset({429})
INVALID = frozenset({400, 422})
NOT_FOUND = frozenset({404})


@dataclass(frozen=True)
class BadRequest:
    kind: str
    path: str
    body: bytes
    expected: frozenset[int]


def bad_requests(gen_model: str, embed_model: str, ner_model: str) -> list[BadRequest]:
    """Malformed JSON, unknown models, over-long inputs and invalid parameters."""

    def body(payload: dict[str, Any]) -> bytes:
        return json.dumps(payload).encode()

    chat = {"model": gen_model, "messages": [{"role": "user", "content": "Hi"}]}
    long_text = " ".join(["word"] * 4000)
    return [
        BadRequest("malformed-json", "/v1/embeddings", b'{"model": "x", "input": ', INVALID),
        BadRequest("malformed-json-chat", "/v1/chat/completions", b"{not json", INVALID),
        BadRequest(
            "unknown-model", "/v1/embeddings", body({"model": "no-such", "input": "hi"}), NOT_FOUND
        ),
        BadRequest(
            "unknown-model-chat",
            "/v1/chat/completions",
            body({**chat, "model": "no-such"}),
            NOT_FOUND,
        ),
        BadRequest(
            "over-long-embedding",
            "/v1/embeddings",
            body({"model": embed_model, "input": long_text}),
            frozenset({400, 413}),
        ),
        BadRequest(
            "over-long-prompt",
            "/v1/chat/completions",
            body({**chat, "messages": [{"role": "user", "content": long_text}], "max_tokens": 4}),
            frozenset({400, 413}),
        ),
        BadRequest(
            "invalid-temperature",
            "/v1/chat/completions",
            body({**chat, "temperature": -1}),
            INVALID,
        ),
        BadRequest(
            "invalid-max-tokens", "/v1/chat/completions", body({**chat, "max_tokens": 0}), INVALID
        ),
        BadRequest(
            "invalid-aggregation",
            "/v1/ner",
            body({"model": ner_model, "input": "Alice", "aggregation_strategy": "bogus"}),
            INVALID,
        ),
    ]


@dataclass
class Tally:
    """Statuses by request kind, unexpected answers, and deliberate disconnects."""

    statuses: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    disconnects: int = 0
    requests: int = 0

    def record(
        self, kind: str, status: int | str, expected: frozenset[int], detail: str = ""
    ) -> None:
        self.requests += 1
        self.statuses[f"{kind} {status}"] += 1
        if isinstance(status, int) and (status in expected or status in ALWAYS_FINE):
            return
        self.unexpected[f"{kind} {status}"] += 1
        if len(self.samples) < 20:
            self.samples.append(f"{kind} {status}: {detail[:300]}")


@dataclass(frozen=True)
class Models:
    generate: str
    embed: str
    classify: str
    ner: str


class Traffic:
    """Closed-loop clients of each kind until a deadline, all recorded in one :class:`Tally`."""

    def __init__(self, base_url: str, models: Models, seed: int = 0) -> None:
        self.base_url = base_url
        self.models = models
        self.rng = random.Random(seed)
        self.texts = sentences(512, seed=seed)
        self.bad = bad_requests(models.generate, models.embed, models.ner)
        self.tally = Tally()

    async def _post(
        self,
        session: aiohttp.ClientSession,
        kind: str,
        path: str,
        body: bytes,
        expected: frozenset[int],
    ) -> None:
        try:
            async with session.post(self.base_url + path, data=body, headers=JSON_HEADERS) as r:
                data = await r.read()
                self.tally.record(kind, r.status, expected, data[:300].decode(errors="replace"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.tally.record(kind, f"connection:{type(exc).__name__}", OK, repr(exc))

    async def _stream(self, session: aiohttp.ClientSession, cut_after: int | None) -> None:
        """A streamed chat; with ``cut_after``, the client leaves after that many chunks."""
        body = {
            "model": self.models.generate,
            "messages": [{"role": "user", "content": " ".join(self.rng.sample(self.texts, 3))}],
            "max_tokens": 32,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        kind = "chat-stream-cut" if cut_after is not None else "chat-stream"
        try:
            async with session.post(self.base_url + "/v1/chat/completions", json=body) as r:
                if r.status != 200:
                    self.tally.record(
                        kind, r.status, OK, (await r.read())[:300].decode(errors="replace")
                    )
                    return
                chunks = 0
                async for line in r.content:
                    if not line.startswith(b"data:"):
                        continue
                    chunks += 1
                    if cut_after is not None and chunks >= cut_after:
                        r.close()  # drops the connection mid-stream
                        self.tally.disconnects += 1
                        break
                    if line.strip() == b"data: [DONE]":
                        break
                self.tally.record(kind, 200, OK)
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.tally.record(kind, f"connection:{type(exc).__name__}", OK, repr(exc))

    async def _encoder(self, session: aiohttp.ClientSession) -> None:
        task, path, model = self.rng.choice(
            [
                ("embed", "/v1/embeddings", self.models.embed),
                ("classify", "/v1/classify", self.models.classify),
                ("ner", "/v1/ner", self.models.ner),
            ]
        )
        size = self.rng.choice([1, 1, 1, 4, 16])
        inputs: str | list[str] = (
            self.rng.sample(self.texts, size) if size > 1 else self.rng.choice(self.texts)
        )
        body = json.dumps({"model": model, "input": inputs}).encode()
        await self._post(session, task, path, body, OK)

    async def _aborted(self, session: aiohttp.ClientSession) -> None:
        """A non-streamed chat the client gives up on before the answer."""
        body = {
            "model": self.models.generate,
            "messages": [{"role": "user", "content": self.rng.choice(self.texts)}],
            "max_tokens": 64,
            "ignore_eos": True,
        }
        url = self.base_url + "/v1/chat/completions"
        try:
            response = await asyncio.wait_for(session.post(url, json=body), timeout=0.3)
        except TimeoutError:
            self.tally.disconnects += 1
            self.tally.record("chat-abandoned", 200, OK)
            return
        except aiohttp.ClientError as exc:
            self.tally.record("chat-abandoned", f"connection:{type(exc).__name__}", OK, repr(exc))
            return
        async with response:
            data = await response.read()
            self.tally.record(
                "chat-abandoned", response.status, OK, data[:300].decode(errors="replace")
            )

    async def _client(self, session: aiohttp.ClientSession, role: str, deadline: float) -> None:
        sent = 0
        while time.monotonic() < deadline:
            if role == "generate":
                # A fixed cycle, so that even a short soak cuts and abandons requests.
                step = sent % 4
                if step == 0:
                    await self._stream(session, cut_after=self.rng.randint(1, 6))
                elif step == 2:
                    await self._aborted(session)
                else:
                    await self._stream(session, cut_after=None)
                sent += 1
            elif role == "encoder":
                await self._encoder(session)
            else:
                bad = self.rng.choice(self.bad)
                await self._post(session, bad.kind, bad.path, bad.body, bad.expected)
                await asyncio.sleep(0.05)

    async def run(
        self,
        duration_s: float,
        gen_clients: int = 2,
        encoder_clients: int = 4,
        bad_clients: int = 1,
    ) -> Tally:
        roles = ["generate"] * gen_clients + ["encoder"] * encoder_clients + ["bad"] * bad_clients
        deadline = time.monotonic() + duration_s
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await asyncio.gather(*(self._client(session, role, deadline) for role in roles))
        return self.tally
