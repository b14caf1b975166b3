"""Token probabilities to entities, with the semantics of Transformers' token-classification
pipeline (``gather_pre_entities``, ``aggregate``, ``group_entities`` and, for texts cut into
windows, ``aggregate_overlapping_entities``), so that every strategy gives the same spans.

Each token comes with its character span in the caller's original string and its flags
(special token, word piece), as the worker's tokenizer found them (see
``server.encoders.workers.text_inputs``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from server.encoders.shared.spec import TOKEN_SPECIAL, TOKEN_SUBWORD

IGNORED = frozenset({"O"})


@dataclass(slots=True)
class Span:
    """One entity (or one token, for the "none" strategy)."""

    entity: str
    score: float
    start: int
    end: int


@dataclass(slots=True)
class _Token:
    scores: np.ndarray
    start: int
    end: int
    is_subword: bool


def _tokens(token_info: np.ndarray, scores: np.ndarray) -> list[_Token]:
    """The pipeline's pre-entities: the real tokens, with their spans and subword flags."""
    return [
        _Token(scores[idx], start, end, bool(flags & TOKEN_SUBWORD))
        for idx, (start, end, flags) in enumerate(token_info.tolist())
        if not flags & TOKEN_SPECIAL
    ]


def _word(group: list[_Token], strategy: str, labels: Sequence[str]) -> Span:
    if strategy == "first":
        scores = group[0].scores
    elif strategy == "max":
        scores = max(group, key=lambda token: token.scores.max()).scores
    elif strategy == "average":
        scores = np.nanmean(np.stack([token.scores for token in group]), axis=0)
    else:
        raise ValueError(f"invalid aggregation strategy {strategy!r}")
    best = int(scores.argmax())
    return Span(labels[best], float(scores[best]), group[0].start, group[-1].end)


def _words(tokens: list[_Token], strategy: str, labels: Sequence[str]) -> list[Span]:
    """One span per word: word pieces are made to agree (``aggregate_words``)."""
    words: list[Span] = []
    group: list[_Token] = []
    for token in tokens:
        if group and not token.is_subword:
            words.append(_word(group, strategy, labels))
            group = []
        group.append(token)
    if group:
        words.append(_word(group, strategy, labels))
    return words


def _tag(entity: str) -> tuple[str, str]:
    if entity.startswith("B-"):
        return "B", entity[2:]
    if entity.startswith("I-"):
        return "I", entity[2:]
    return "I", entity  # not BIO: continues like I-


def _nanmean(values: list[float]) -> float:
    """``np.nanmean`` of a few floats, to the bit: below 8 values numpy sums them in order."""
    if len(values) == 1:
        return values[0]
    if len(values) < 8 and all(value == value for value in values):  # no NaN
        return sum(values) / len(values)
    return float(np.nanmean(values))


def _label(entity: str) -> str:
    """The entity type of a tag: "PER" of "B-PER" (and of "I-PER", "PER")."""
    return entity.split("-", 1)[-1]


def _merge(spans: list[Span]) -> Span:
    return Span(
        _label(spans[0].entity),
        _nanmean([span.score for span in spans]),
        spans[0].start,
        spans[-1].end,
    )


def _group(spans: list[Span]) -> list[Span]:
    """Adjacent spans of one type merge unless the next one begins a new entity (B-). Groups
    of an ignored label ("O") are left out here: no score is computed for what is dropped."""
    groups: list[list[Span]] = []
    for span in spans:
        if groups:
            bi, tag = _tag(span.entity)
            if tag == _tag(groups[-1][-1].entity)[1] and bi != "B":
                groups[-1].append(span)
                continue
        groups.append([span])
    return [_merge(group) for group in groups if _label(group[0].entity) not in IGNORED]


def _window_entities(
    token_info: np.ndarray, scores: np.ndarray, strategy: str, labels: Sequence[str]
) -> list[Span]:
    spans: list[Span]
    if strategy in ("none", "simple"):
        # Each token's best label, for the whole window at once (the best score is the row's
        # maximum, which is the value at its argmax).
        best = scores.argmax(axis=-1).tolist()
        top = scores.max(axis=-1).tolist()
        spans = [
            Span(labels[best[i]], top[i], start, end)
            for i, (start, end, flags) in enumerate(token_info.tolist())
            if not flags & TOKEN_SPECIAL
        ]
    else:
        spans = _words(_tokens(token_info, scores), strategy, labels)
    if strategy != "none":
        spans = _group(spans)
    return [span for span in spans if span.entity not in IGNORED]


def _overlapping(spans: list[Span]) -> list[Span]:
    """Across windows, keep the longest (then highest-scoring) of overlapping entities."""
    if not spans:
        return spans
    spans = sorted(spans, key=lambda span: span.start)
    kept: list[Span] = []
    previous = spans[0]
    for span in spans:
        if previous.start <= span.start < previous.end:
            length, previous_length = span.end - span.start, previous.end - previous.start
            longer = length > previous_length
            if longer or (length == previous_length and span.score > previous.score):
                previous = span
        else:
            kept.append(previous)
            previous = span
    kept.append(previous)
    return kept


def entities(
    windows: Sequence[int],
    scores: np.ndarray,
    token_info: np.ndarray,
    strategy: str,
    labels: Sequence[str],
) -> list[Span]:
    """The entities of a text read in ``windows`` (their token counts), from the
    probabilities and the span and flags (``token_info``) of each of their tokens."""
    spans: list[Span] = []
    start = 0
    for length in windows:
        rows = slice(start, start + length)
        spans.extend(_window_entities(token_info[rows], scores[rows], strategy, labels))
        start += length
    return _overlapping(spans) if len(windows) > 1 else spans
