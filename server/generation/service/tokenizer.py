"""``/tokenize`` and ``/detokenize``: a generative model's tokenizer, off the event loop."""

from __future__ import annotations

import asyncio

from server.generation.protocol import (
    DetokenizeRequest,
    DetokenizeResponse,
    TokenizeRequest,
    TokenizeResponse,
)
from server.generation.service.prompts import PromptBuilder


class TokenizerService:
    """Token ids of prompts or chat messages, and text of token ids, for one model."""

    def __init__(self, prompts: PromptBuilder, max_model_len: int) -> None:
        self.prompts = prompts
        self.max_model_len = max_model_len

    def _tokenize(self, request: TokenizeRequest) -> TokenizeResponse:
        prompts = self.prompts
        if request.messages is not None:
            ids = prompts.chat(
                request.messages,
                add_generation_prompt=request.add_generation_prompt,
                continue_final_message=request.continue_final_message,
                template_kwargs=None,
            )
        else:
            ids = prompts.encode(
                request.prompt or "", add_special_tokens=request.add_special_tokens
            )
        return TokenizeResponse(
            count=len(ids),
            max_model_len=self.max_model_len,
            tokens=ids,
            token_strs=prompts.token_strings(ids) if request.return_token_strs else None,
        )

    async def tokenize(self, request: TokenizeRequest) -> TokenizeResponse:
        """The token ids of ``request.prompt`` or of the rendered ``request.messages``."""
        return await asyncio.to_thread(self._tokenize, request)

    def _detokenize(self, request: DetokenizeRequest) -> DetokenizeResponse:
        if request.tokens:
            self.prompts.check_ids(request.tokens, "tokens")
        return DetokenizeResponse(prompt=self.prompts.decode(request.tokens))

    async def detokenize(self, request: DetokenizeRequest) -> DetokenizeResponse:
        """The text of ``request.tokens`` (400 for an id outside the vocabulary)."""
        return await asyncio.to_thread(self._detokenize, request)
