"""``/tokenize`` and ``/detokenize`` with a generative model's tokenizer."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from server.api.deps import InfoDep, RegistryDep
from server.generation.model import GenerationModel
from server.protocol.tokenize import (
    DetokenizeRequest,
    DetokenizeResponse,
    TokenizeRequest,
    TokenizeResponse,
)

router = APIRouter(tags=["tokenizer"])


@router.post("/tokenize", response_model=TokenizeResponse)
async def tokenize(body: TokenizeRequest, registry: RegistryDep, info: InfoDep) -> TokenizeResponse:
    model = registry.lookup(body.model, GenerationModel, "generate")
    info.model, info.task, info.endpoint = model.name, model.task, "/tokenize"
    prompts = model.service.prompts
    if body.messages is not None:
        ids = await asyncio.to_thread(
            prompts.chat,
            body.messages,
            add_generation_prompt=body.add_generation_prompt,
            continue_final_message=body.continue_final_message,
            template_kwargs=None,
        )
    else:
        ids = prompts.encode(body.prompt or "", add_special_tokens=body.add_special_tokens)
    return TokenizeResponse(
        count=len(ids),
        max_model_len=model.engine.max_model_len,
        tokens=ids,
        token_strs=prompts.token_strings(ids) if body.return_token_strs else None,
    )


@router.post("/detokenize", response_model=DetokenizeResponse)
async def detokenize(
    body: DetokenizeRequest, registry: RegistryDep, info: InfoDep
) -> DetokenizeResponse:
    model = registry.lookup(body.model, GenerationModel, "generate")
    info.model, info.task, info.endpoint = model.name, model.task, "/detokenize"
    prompts = model.service.prompts
    if body.tokens:
        prompts.check_ids(body.tokens, "tokens")
    return DetokenizeResponse(prompt=prompts.decode(body.tokens))
