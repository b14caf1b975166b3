"""int8 against fp32 ONNX Runtime through the server's own worker code, on the shipped
held-out data: classification accuracy, NER entity F1, embedding cosine and retrieval
agreement, and inputs/s of each (interleaved pairs, so the host's drift falls on both).

Runs in its own process (``python -m bench.quantize_eval embed=DIR classify=DIR ner=DIR``)
and prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from prepare.finetune import Span, load_classification, load_spans, score_entities
from server.encoders.shared.ipc import RunBatch
from server.encoders.shared.spec import Features, ModelDescription, WorkerSpec
from server.encoders.tasks.entities import entities
from server.encoders.tokenization import TextEncoder
from server.encoders.workers.text_inputs import TextTokenizer

# The worker's stage for one batch (see server.encoders.workers.main.Forward).
Forward = Callable[[RunBatch], np.ndarray]
VARIANTS = ("fp32", "int8")
BATCH = 32
NEIGHBOURS = 10


def load(
    task: str, path: Path, quantize: str | None, threads: int
) -> tuple[Forward, ModelDescription]:
    """The worker's forward stage on ONNX Runtime (fp32 or int8)."""
    from server.encoders.workers.main import _load

    spec = WorkerSpec(
        model=path.name,
        task=task,
        path=str(path),
        device="cpu",
        dtype="float32",
        threads=threads,
        backend="onnx",
        quantize=quantize,
    )
    forward, description = _load(spec)
    expected = "onnx-int8" if quantize else "onnx"
    if description.backend != expected:
        raise RuntimeError(f"{path}: got {description.backend}, wanted {expected}")
    return forward, description


def run_sorted(forward: Forward, features: Sequence[Features]) -> list[np.ndarray]:
    """Outputs per input, in batches of BATCH sorted by length (as the batcher sends them)."""
    order = sorted(range(len(features)), key=lambda i: len(features[i]))
    out: dict[int, np.ndarray] = {}
    for start in range(0, len(order), BATCH):
        chunk = order[start : start + BATCH]
        lengths = np.array([len(features[i]) for i in chunk], dtype=np.int32)
        ids = np.concatenate([features[i].ids for i in chunk])
        result = forward(RunBatch(0, ids, lengths, None))
        rows = (
            list(result)
            if result.shape[0] == len(chunk)
            else np.split(result, np.cumsum(lengths)[:-1])
        )
        out.update(zip(chunk, rows, strict=True))
    return [out[i] for i in range(len(features))]


def timed(forward: Forward, features: Sequence[Features], rounds: int) -> list[float]:
    """Inputs/s of each of ``rounds`` passes."""
    speeds = []
    for _ in range(rounds):
        started = time.perf_counter()
        run_sorted(forward, features)
        speeds.append(round(len(features) / (time.perf_counter() - started), 1))
    return speeds


def _retrieval(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Top-1 agreement and mean overlap of the NEIGHBOURS nearest neighbours (self excluded)."""

    def ranks(x: np.ndarray) -> np.ndarray:
        sims = x @ x.T
        np.fill_diagonal(sims, -np.inf)
        return np.argsort(-sims, axis=1)[:, :NEIGHBOURS]

    ra, rb = ranks(a), ranks(b)
    overlap = np.mean([len(set(x) & set(y)) / NEIGHBOURS for x, y in zip(ra, rb, strict=True)])
    return {
        "top1_agreement": float(np.mean(ra[:, 0] == rb[:, 0])),
        f"overlap_at_{NEIGHBOURS}": float(overlap),
    }


def evaluate(task: str, path: Path, threads: int, rounds: int) -> dict[str, Any]:
    """Quality and speed of fp32 and int8 for one task."""
    loaded = {v: load(task, path, "int8" if v == "int8" else None, threads) for v in VARIANTS}
    description = loaded["fp32"][1]
    text = TextEncoder(description)
    if task == "ner":
        rows = load_spans("ner", "test")
        texts = [r.text for r in rows]
    else:
        labelled = load_classification("sentiment", "test")
        texts = [r.text for r in labelled]
        if task == "embed":
            texts += [r.text for r in load_spans("ner", "test")]
    features = [text.features(e) for e in text.encode_now(texts, truncate=True, param="input")]
    outputs = {v: run_sorted(loaded[v][0], features) for v in VARIANTS}
    speeds: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for i in range(rounds):
        for v in VARIANTS if i % 2 == 0 else VARIANTS[::-1]:
            speeds[v] += timed(loaded[v][0], features, 1)
    result: dict[str, Any] = {"task": task, "inputs": len(texts), "inputs_per_s": speeds}
    result["int8_vs_fp32_speed"] = [
        round(q / f, 3) for q, f in zip(speeds["int8"], speeds["fp32"], strict=True)
    ]
    if task == "embed":
        a, b = np.stack(outputs["fp32"]), np.stack(outputs["int8"])
        cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        result |= {"cosine_mean": float(cosine.mean()), "cosine_min": float(cosine.min())}
        result |= _retrieval(a, b)
    elif task == "classify":
        labels = description.labels
        for v in VARIANTS:
            predicted = [labels[int(p.argmax())] for p in outputs[v]]
            result[f"accuracy_{v}"] = float(
                np.mean([p == r.label for p, r in zip(predicted, labelled, strict=True)])
            )
        result["label_agreement"] = float(
            np.mean(
                [
                    f.argmax() == q.argmax()
                    for f, q in zip(outputs["fp32"], outputs["int8"], strict=True)
                ]
            )
        )
    else:
        tokens = TextTokenizer(description)
        for v in VARIANTS:
            spans = [
                [
                    Span(s.start, s.end, s.entity)
                    for s in entities(
                        [len(e.ids)], o, tokens.token_info(t, e), "simple", description.labels
                    )
                ]
                for t, e, o in zip(
                    texts,
                    text.encode_now(texts, truncate=True, param="input"),
                    outputs[v],
                    strict=True,
                )
            ]
            scores = score_entities([r.entities for r in rows], spans)
            result[f"entity_f1_{v}"] = round(scores.f1, 4)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quantize_eval", description=__doc__)
    parser.add_argument("models", nargs="+", metavar="TASK=MODEL_DIR")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    out = {}
    for pair in args.models:
        task, _, path = pair.partition("=")
        out[task] = evaluate(task, Path(path), args.threads, args.rounds)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
