"""Extractive question answering: answer spans of a context, as Transformers' (4.x)
question-answering pipeline finds them.

A context longer than the model's window is read in overlapping windows (``doc_stride``
tokens shared); every window of every question is one input to the batcher. Per window,
start and end logits outside the context are ruled out, each is normalised (softmax), and
a span scores start x end; answers from every window are merged, best first.
"""

from __future__ import annotations

import numpy as np
from tokenizers import Encoding

from server.core.errors import InvalidRequest
from server.core.scheduling import QueueOrder
from server.encoders.model import EncoderModel
from server.encoders.reading_protocol import QaAnswer, QaRequest, QaResponse, QaResult
from server.encoders.tasks.inputs import as_texts, token_usage
from server.encoders.tasks.reply import Reply

# The pipeline's window: at most this many tokens, or the model's limit if lower.
MAX_SEQ_LEN = 384
_RULED_OUT = -10000.0


def _question(model: EncoderModel, question: str, limit: int) -> str:
    """The question cut to ``limit`` tokens (as the pipeline's max_question_len)."""
    return model.text.first_tokens(question, limit)


def _windows(model: EncoderModel, request: QaRequest, question: str) -> list[Encoding]:
    max_length = min(MAX_SEQ_LEN, model.description.max_length)
    question_tokens = len(model.text.encode_plain(question).ids)
    room = max_length - question_tokens - 4  # [CLS] q [SEP] c [SEP], and one to spare
    if room < 8:
        raise InvalidRequest(
            f"the question leaves no room for the context in a window of {max_length} tokens; "
            "shorten it or lower max_question_len",
            param="question",
        )
    stride = min(request.doc_stride, room // 2)
    return model.text.pair_windows(question, request.context, max_length=max_length, stride=stride)


def _softmax(values: np.ndarray) -> np.ndarray:
    exp = np.exp(values - values.max())
    return np.asarray(exp / exp.sum())


def _window_answers(
    encoding: Encoding, logits: np.ndarray, request: QaRequest, context: str
) -> tuple[list[QaAnswer], float]:
    """This window's best spans, and its null (empty answer) score."""
    in_context = np.array([s == 1 for s in encoding.sequence_ids])
    allowed = in_context.copy()
    allowed[0] = True  # the pipeline keeps [CLS]: its score is the empty answer's
    start = _softmax(np.where(allowed, logits[:, 0], _RULED_OUT))
    end = _softmax(np.where(allowed, logits[:, 1], _RULED_OUT))
    null = float(start[0] * end[0])
    if request.handle_impossible_answer:
        start[0] = end[0] = 0.0
    outer = np.tril(np.triu(start[:, None] * end[None, :]), request.max_answer_len - 1)
    outer[~in_context, :] = 0.0
    outer[:, ~in_context] = 0.0
    flat = outer.ravel()
    count = min(request.top_k, int(np.count_nonzero(flat)))
    best = np.argsort(-flat, kind="stable")[:count]
    answers = []
    for s, e in zip(*np.unravel_index(best, outer.shape), strict=True):
        s, e = int(s), int(e)
        begin, finish = encoding.offsets[s][0], encoding.offsets[e][1]
        if request.align_to_words:
            begin = _word_chars(encoding, s, begin, 0)
            finish = _word_chars(encoding, e, finish, 1)
        answers.append(
            QaAnswer(
                answer=context[begin:finish], start=begin, end=finish, score=float(outer[s, e])
            )
        )
    return answers, null


def _word_chars(encoding: Encoding, token: int, default: int, side: int) -> int:
    """The start (side 0) or end (side 1) in characters of ``token``'s whole word."""
    word = encoding.token_to_word(token)
    chars = encoding.word_to_chars(word, 1) if word is not None else None
    return default if chars is None else chars[side]


def _merge(answers: list[QaAnswer], null: float | None, top_k: int) -> list[QaAnswer]:
    """Best first, each span once (windows overlap), the empty answer where allowed."""
    best: dict[tuple[int, int], QaAnswer] = {}
    for answer in answers:
        key = (answer.start, answer.end)
        if key not in best or best[key].score < answer.score:
            best[key] = answer
    merged = list(best.values())
    if null is not None:
        merged.append(QaAnswer(answer="", start=0, end=0, score=null))
    return sorted(merged, key=lambda a: -a.score)[:top_k]


async def qa(model: EncoderModel, request: QaRequest, order: QueueOrder) -> Reply:
    """The best ``top_k`` answers to each question, from the one shared context."""
    questions = as_texts(request.question, "question")
    if not request.context.strip():
        raise InvalidRequest("context must not be empty", param="context")
    windows = [
        _windows(model, request, _question(model, q, request.max_question_len)) for q in questions
    ]
    features = [model.text.features(w, pair=True) for ws in windows for w in ws]
    outputs = iter(await model.run(features, order))
    data = []
    for index, question_windows in enumerate(windows):
        found: list[QaAnswer] = []
        nulls = []
        for encoding in question_windows:
            answers, null = _window_answers(encoding, next(outputs), request, request.context)
            found.extend(answers)
            nulls.append(null)
        empty = min(nulls) if request.handle_impossible_answer else None
        data.append(QaResult(index=index, answers=_merge(found, empty, request.top_k)))
    usage = token_usage(features)
    return Reply(QaResponse(model=model.name, data=data, usage=usage), usage.prompt_tokens)
