"""Deterministic fakes for fast unit tests of our own logic (never for integration tests)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from server.generation.types import ChoiceDelta, GenerationStep, SamplingSpec, TokenInfo, TopToken


class FakeTokenizer:
    """Whitespace tokenizer over a growing vocabulary; chat template = 'role: content' lines."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {"<s>": 0}
        self.inverse: dict[int, str] = {0: "<s>"}
        for word in ["tok", "a", "b", "c"]:
            self._id(word)

    def _id(self, word: str) -> int:
        if word not in self.vocab:
            self.vocab[word] = len(self.vocab)
            self.inverse[self.vocab[word]] = word
        return self.vocab[word]

    def __len__(self) -> int:
        return 1000

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        ids = [self._id(w) for w in text.split()]
        return ([0] if add_special_tokens else []) + ids

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        return " ".join(self.inverse.get(i, f"<{i}>") for i in ids)

    def convert_ids_to_tokens(self, ids: list[int]) -> list[str]:
        return [self.inverse.get(i, f"<{i}>") for i in ids]

    def apply_chat_template(self, conversation: list[dict[str, str]], **kwargs: Any) -> str:
        lines = [f"{m['role']}: {m['content']}" for m in conversation]
        if kwargs.get("add_generation_prompt"):
            lines.append("assistant:")
        return "\n".join(lines)


class FakeEngine:
    """Emits ``max_tokens`` tokens per choice (' tok0', ' tok1', ...), two per step.

    Steps numbered in ``held_steps`` have their text held back to the next step, as vLLM's
    detokenizer does with a token that ends inside a multi-byte character. Like vLLM's prefix
    cache, it reports as cached the longest prefix (in whole blocks of ``CACHE_BLOCK``
    tokens, the last prompt token never) that an earlier prompt shared.
    """

    CACHE_BLOCK = 4

    def __init__(
        self,
        max_model_len: int = 128,
        step_delay: float = 0.0,
        held_steps: frozenset[int] = frozenset(),
    ) -> None:
        self.max_model_len = max_model_len
        self.max_num_seqs = 0  # no slots of its own: admission is bounded by max_queue alone
        self.errored = False
        self.step_delay = step_delay
        self.held_steps = held_steps
        self.requests: list[tuple[str, list[int], SamplingSpec]] = []
        self.active: set[str] = set()
        self.aborted: list[str] = []

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def running(self) -> int:
        return len(self.active)

    def waiting(self) -> int:
        return 0

    def unfinished(self) -> int:
        return len(self.active)

    def _cached(self, ids: list[int]) -> int:
        shared = 0
        for _, earlier, _ in self.requests:
            same = 0
            for a, b in zip(earlier, ids[:-1], strict=False):
                if a != b:
                    break
                same += 1
            shared = max(shared, same - same % self.CACHE_BLOCK)
        return shared

    async def generate(
        self, request_id: str, prompt_token_ids: list[int], spec: SamplingSpec
    ) -> AsyncIterator[GenerationStep]:
        cached = self._cached(prompt_token_ids)
        self.requests.append((request_id, prompt_token_ids, spec))
        self.active.add(request_id)
        try:
            produced = 0
            held = [""] * spec.n
            step = 0
            while produced < spec.max_tokens:
                if self.step_delay:
                    await asyncio.sleep(self.step_delay)
                count = min(2, spec.max_tokens - produced)
                finished = produced + count >= spec.max_tokens
                deltas = []
                for index in range(spec.n):
                    tokens = [f" tok{produced + k}" for k in range(count)]
                    text = held[index] + "".join(tokens)
                    held[index] = text if step in self.held_steps and not finished else ""
                    logprobs = None
                    if spec.logprobs is not None:
                        logprobs = [
                            TokenInfo(
                                t,
                                -0.5,
                                t.encode(),
                                tuple(TopToken(t, -0.5, t.encode()) for _ in range(spec.logprobs)),
                            )
                            for t in tokens
                        ]
                    deltas.append(
                        ChoiceDelta(
                            index=index,
                            text="" if held[index] else text,
                            token_ids=list(range(produced, produced + count)),
                            logprobs=logprobs,
                            finish_reason="length" if finished else None,
                        )
                    )
                produced += count
                prompt_logprobs = None
                if step == 0 and spec.prompt_logprobs is not None:
                    prompt_logprobs = [None] + [
                        TokenInfo(f" p{i}", -1.0, f" p{i}".encode(), (TopToken(" x", -0.1, b" x"),))
                        for i in range(1, len(prompt_token_ids))
                    ]
                step += 1
                yield GenerationStep(deltas, prompt_logprobs, cached if step == 1 else None)
        except (asyncio.CancelledError, GeneratorExit):
            self.aborted.append(request_id)
            raise
        finally:
            self.active.discard(request_id)


class ScriptedEngine(FakeEngine):
    """Emits the given text pieces, one token each, for every choice; 'stop' at the end."""

    def __init__(self, pieces: list[str]) -> None:
        super().__init__()
        self.pieces = pieces

    async def generate(
        self, request_id: str, prompt_token_ids: list[int], spec: SamplingSpec
    ) -> AsyncIterator[GenerationStep]:
        self.requests.append((request_id, prompt_token_ids, spec))
        for i, piece in enumerate(self.pieces):
            last = i == len(self.pieces) - 1
            yield GenerationStep(
                deltas=[
                    ChoiceDelta(
                        index=c, text=piece, token_ids=[i], finish_reason="stop" if last else None
                    )
                    for c in range(spec.n)
                ]
            )
