"""The in-process ceiling: the same model folder run directly with Transformers, all cores'
threads, at each batch size; tokenization and post-processing included, as the server does.

Runs in its own process (``python -m bench.ceiling embed=DIR classify=DIR ...``) so that its
threads and memory do not mix with the load generator's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.machine import REPO
from bench.sentences import sentences

Forward = Callable[[list[str]], Any]


def _forward(task: str, model_dir: Path) -> Forward:
    """A function from a batch of texts to the task's output (numpy arrays)."""
    import torch
    from transformers import (
        AutoModel,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    loader = {
        "embed": AutoModel,
        "classify": AutoModelForSequenceClassification,
        "ner": AutoModelForTokenClassification,
    }[task]
    model = loader.from_pretrained(model_dir, dtype=torch.float32).eval()

    @torch.inference_mode()
    def run(texts: list[str]) -> Any:
        enc = tokenizer(
            texts,
            padding=True,
            truncation=True,
            return_tensors="pt",
            return_offsets_mapping=task == "ner",
        )
        offsets = enc.pop("offset_mapping", None)
        out = model(**enc)
        if task == "embed":
            mask = enc["attention_mask"].unsqueeze(-1).to(out.last_hidden_state.dtype)
            summed = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(summed, dim=-1).numpy()
        probs = out.logits.softmax(-1)
        if task == "classify":
            return probs.numpy()
        return probs.argmax(-1).numpy(), probs.max(-1).values.numpy(), offsets

    return run


def measure(
    task: str, model_dir: Path, texts: Sequence[str], batch_sizes: Sequence[int], threads: int
) -> dict[str, Any]:
    """Inputs per second at each batch size (after one warm-up batch) and the best of them."""
    import torch

    torch.set_num_threads(threads)
    run = _forward(task, model_dir)
    per_batch: dict[str, float] = {}
    for size in batch_sizes:
        for i in range(0, min(len(texts), 2 * size), size):  # warm up this shape
            run(list(texts[i : i + size]))
        started = time.perf_counter()
        for i in range(0, len(texts), size):
            run(list(texts[i : i + size]))
        per_batch[str(size)] = round(len(texts) / (time.perf_counter() - started), 2)
    best = max(per_batch, key=lambda k: per_batch[k])
    return {
        "task": task,
        "inputs": len(texts),
        "threads": threads,
        "inputs_per_s_by_batch": per_batch,
        "best_batch_size": int(best),
        "best_inputs_per_s": per_batch[best],
    }


def run_ceilings(
    models: dict[str, Path],
    *,
    count: int,
    seed: int,
    batch_sizes: Sequence[int],
    threads: int,
    timeout_s: float = 3600,
) -> dict[str, dict[str, Any]]:
    """:func:`measure` for each ``task: model folder`` in one fresh Python process."""
    argv = [
        sys.executable,
        "-m",
        "bench.ceiling",
        *(f"{task}={path}" for task, path in models.items()),
        "--count",
        str(count),
        "--seed",
        str(seed),
        "--batch-sizes",
        ",".join(map(str, batch_sizes)),
        "--threads",
        str(threads),
    ]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"in-process ceiling failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__)
    parser.add_argument("models", nargs="+", metavar="TASK=MODEL_DIR", help="embed, classify, ner")
    parser.add_argument("--count", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-sizes", default="1,8,16,32,64")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    texts = sentences(args.count, seed=args.seed)
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    out = {}
    for pair in args.models:
        task, _, path = pair.partition("=")
        if task not in ("embed", "classify", "ner") or not path:
            parser.error(f"expected TASK=MODEL_DIR with TASK embed, classify or ner: {pair}")
        out[task] = measure(task, Path(path), texts, sizes, args.threads)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
