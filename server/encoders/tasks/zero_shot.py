"""Zero-shot classification: an NLI model reads each (text, hypothesis) pair, one hypothesis
per candidate label, as Transformers' zero-shot-classification pipeline does.

Every pair is one input to the batcher, so a request with 20 labels batches like 20
inputs. Single-label: a softmax of the entailment logits over the labels (scores sum to 1);
multi-label (and always for a single label, as the pipeline does): each label alone, a
softmax of its entailment and contradiction logits.
"""

from __future__ import annotations

import numpy as np

from server.core.errors import InvalidRequest
from server.core.scheduling import QueueOrder
from server.encoders.model import EncoderModel
from server.encoders.protocol import Classification, LabelScore
from server.encoders.reading_protocol import ZeroShotRequest, ZeroShotResponse
from server.encoders.tasks.inputs import as_texts, token_usage
from server.encoders.tasks.reply import Reply


def nli_indices(labels: tuple[str, ...]) -> tuple[int, int]:
    """The entailment and contradiction labels' indices (the pipeline's choice: names that
    start with "entail" and "contra"; contradiction defaults to the first other label)."""
    lowered = [label.lower() for label in labels]
    entailment = next(i for i, label in enumerate(lowered) if label.startswith("entail"))
    contradiction = next(
        (i for i, label in enumerate(lowered) if label.startswith("contra")),
        next(i for i in range(len(labels)) if i != entailment),
    )
    return entailment, contradiction


def _hypotheses(request: ZeroShotRequest) -> list[str]:
    labels = [label.strip() for label in request.candidate_labels]
    if not labels or any(not label for label in labels):
        raise InvalidRequest(
            "candidate_labels must hold at least one non-empty label", param="candidate_labels"
        )
    template = request.hypothesis_template
    if "{}" not in template:
        raise InvalidRequest(
            "hypothesis_template must contain '{}' (where the label goes)",
            param="hypothesis_template",
        )
    return [template.replace("{}", label, 1) for label in labels]


def _scores(logits: np.ndarray, entailment: int, contradiction: int, multi: bool) -> np.ndarray:
    """Scores per label from the (labels, NLI classes) logits of one text."""
    if multi:
        pair = logits[:, [contradiction, entailment]]
        pair = np.exp(pair - pair.max(axis=1, keepdims=True))
        return np.asarray(pair[:, 1] / pair.sum(axis=1))
    column = logits[:, entailment]
    exp = np.exp(column - column.max())
    return np.asarray(exp / exp.sum())


async def zero_shot(model: EncoderModel, request: ZeroShotRequest, order: QueueOrder) -> Reply:
    """Candidate labels by score for each text, best first."""
    texts = as_texts(request.input, "input")
    hypotheses = _hypotheses(request)
    pairs = [(text, hypothesis) for text in texts for hypothesis in hypotheses]
    encodings = model.text.encode_pair_list(
        pairs, truncate=model.truncate(request.truncate), param="input"
    )
    features = [model.text.features(e, pair=True) for e in encodings]
    outputs = np.stack(await model.run(features, order))
    entailment, contradiction = nli_indices(model.description.labels)
    labels = request.candidate_labels
    data = []
    for index in range(len(texts)):
        rows = outputs[index * len(labels) : (index + 1) * len(labels)]
        multi = request.multi_label or len(labels) == 1
        scores = _scores(rows, entailment, contradiction, multi)
        ranked = [
            LabelScore(label=labels[i], score=float(scores[i]))
            for i in np.argsort(-scores, kind="stable")
        ]
        data.append(
            Classification(index=index, label=ranked[0].label, score=ranked[0].score, labels=ranked)
        )
    usage = token_usage(features)
    return Reply(ZeroShotResponse(model=model.name, data=data, usage=usage), usage.prompt_tokens)
