"""Our ``SamplingSpec`` as vLLM ``SamplingParams`` (delta outputs, structured outputs)."""

from __future__ import annotations

import json

from vllm.sampling_params import RequestOutputKind, SamplingParams, StructuredOutputsParams

from server.generation.types import SamplingSpec


def sampling_params(spec: SamplingSpec) -> SamplingParams:
    """vLLM sampling parameters that stream only what is new at each step."""
    structured = None
    if spec.json_schema is not None:
        structured = StructuredOutputsParams(json=json.dumps(spec.json_schema))
    elif spec.json_object:
        structured = StructuredOutputsParams(json_object=True)
    return SamplingParams(
        n=spec.n,
        max_tokens=spec.max_tokens,
        temperature=spec.temperature,
        top_p=spec.top_p,
        top_k=spec.top_k,
        min_p=spec.min_p,
        seed=spec.seed,
        stop=list(spec.stop) or None,
        presence_penalty=spec.presence_penalty,
        frequency_penalty=spec.frequency_penalty,
        repetition_penalty=spec.repetition_penalty,
        logprobs=spec.logprobs,
        prompt_logprobs=spec.prompt_logprobs,
        logit_bias=dict(spec.logit_bias) or None,
        ignore_eos=spec.ignore_eos,
        thinking_token_budget=spec.thinking_token_budget,
        structured_outputs=structured,
        output_kind=RequestOutputKind.DELTA,
    )
