"""Fill-mask: the likeliest tokens at each mask token, as Transformers' fill-mask pipeline
answers (the worker sends back vocabulary probabilities only at the mask positions)."""

from __future__ import annotations

import numpy as np

from server.core.errors import InvalidRequest
from server.core.scheduling import QueueOrder
from server.encoders.model import EncoderModel
from server.encoders.reading_protocol import (
    FillMaskRequest,
    FillMaskResponse,
    FillMaskResult,
    MaskCandidate,
)
from server.encoders.tasks.inputs import as_texts, token_usage
from server.encoders.tasks.reply import Reply


def _target_ids(model: EncoderModel, targets: list[str]) -> np.ndarray:
    """Each target's token id (a word outside the vocabulary: its first token), each once."""
    ids: dict[int, None] = {}
    for target in targets:
        token_id = model.text.token_to_id(target)
        if token_id is None:
            pieces = model.text.encode_plain(target).ids
            if not pieces:
                raise InvalidRequest(f"target {target!r} has no token", param="targets")
            token_id = pieces[0]
        ids[token_id] = None
    if not ids:
        raise InvalidRequest("targets must not be empty", param="targets")
    return np.fromiter(ids, dtype=np.int64)


async def fill_mask(model: EncoderModel, request: FillMaskRequest, order: QueueOrder) -> Reply:
    """The ``top_k`` candidates for every mask token of every input."""
    texts = as_texts(request.input, "input")
    mask_token, mask_id = model.description.mask_token, model.description.mask_id
    for i, text in enumerate(texts):
        if mask_token is None or mask_token not in text:
            where = "input" if isinstance(request.input, str) else f"input[{i}]"
            raise InvalidRequest(
                f"{where} has no mask token: this model's is {mask_token}", param="input"
            )
    encodings = await model.text.encode(
        texts, truncate=model.truncate(request.truncate), param="input"
    )
    features = [model.text.features(e) for e in encodings]
    for i, f in enumerate(features):
        if not np.any(f.ids == mask_id):  # cut away with the end of a long input
            raise InvalidRequest(f"input[{i}]: the mask token was truncated away", param="input")
    outputs = await model.run(features, order)
    targets = _target_ids(model, request.targets) if request.targets is not None else None
    data = []
    for index, (feature, probabilities) in enumerate(zip(features, outputs, strict=True)):
        ids = feature.ids.astype(np.int64)
        positions = np.flatnonzero(ids == mask_id)
        masks = []
        for position, row in zip(positions, probabilities, strict=True):
            candidates = targets if targets is not None else np.arange(len(row))
            scores = row[candidates]
            best = np.argsort(-scores, kind="stable")[: request.top_k]
            found = []
            for k in best:
                token = int(candidates[k])
                filled = ids.copy()
                filled[position] = token
                found.append(
                    MaskCandidate(
                        token=token,
                        token_str=model.text.decode([token], clean_up_tokenization_spaces=False),
                        score=float(scores[k]),
                        # The pipeline keeps special tokens (the other masks) when several.
                        sequence=model.text.decode(
                            filled.tolist(),
                            clean_up_tokenization_spaces=True,
                            skip_special_tokens=len(positions) == 1,
                        ),
                    )
                )
            masks.append(found)
        data.append(FillMaskResult(index=index, masks=masks))
    usage = token_usage(features)
    return Reply(FillMaskResponse(model=model.name, data=data, usage=usage), usage.prompt_tokens)
