"""int8 (ORT dynamic quantization) against fp32 ONNX Runtime: speed and quality on the
shipped held-out data, through the server's worker code (see ``bench.quantize_eval``).

Not a default: int8 changes the outputs, so it is an opt-in (``quantize: int8``) whose price
this suite states."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench.context import Context, log
from bench.machine import REPO
from bench.result import SuiteResult, Table
from bench.specs import model_dir, model_entry
from bench.stats import median_known

TASKS = ("embed", "classify", "ner")


def run(ctx: Context) -> SuiteResult:
    """fp32 and int8 of each bundled encoder, passes alternating, medians of the ratios."""
    models = {task: model_dir(model_entry(task)) for task in TASKS}
    rounds = max(ctx.sizes.rounds, 2)
    argv = [sys.executable, "-m", "bench.quantize_eval"]
    argv += [f"{task}={path}" for task, path in models.items()]
    argv += ["--threads", str(ctx.sizes.ceiling_threads), "--rounds", str(rounds)]
    log("quantize: fp32 and int8 in one process")
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"quantize evaluation failed:\n{done.stderr[-3000:]}")
    measured: dict[str, dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    result = SuiteResult(
        "quantize",
        {
            "models": {t: str(p.name) for t, p in models.items()},
            "threads": ctx.sizes.ceiling_threads,
            "rounds": rounds,
            "batch": "32, sorted by length, through the worker's forward stage",
            "data": "prepare/data sentiment.test (classify, embed) and ner.test (ner, embed)",
            "design": "fp32 and int8 sessions loaded side by side; timed passes alternate"
            " which goes first; each speed ratio is the median of its pairs",
        },
        results=measured,
    )
    for task in TASKS:
        result.ratios[f"{task}_int8_vs_fp32_speed"] = median_known(
            measured[task]["int8_vs_fp32_speed"]
        )
    embed, classify, ner = (measured[t] for t in TASKS)
    result.tables.append(
        Table(
            "int8 against fp32 (ONNX Runtime)",
            (
                "task",
                "fp32 inputs/s",
                "int8 inputs/s",
                "speed ratio",
                "quality fp32",
                "quality int8",
            ),
            [
                (
                    "embed",
                    median_known(embed["inputs_per_s"]["fp32"]),
                    median_known(embed["inputs_per_s"]["int8"]),
                    result.ratios["embed_int8_vs_fp32_speed"],
                    "cosine 1.0, top-1 1.0",
                    f"cosine mean {embed['cosine_mean']:.4f} (min {embed['cosine_min']:.4f}),"
                    f" top-1 neighbour {embed['top1_agreement']:.3f},"
                    f" overlap@10 {embed['overlap_at_10']:.3f}",
                ),
                (
                    "classify",
                    median_known(classify["inputs_per_s"]["fp32"]),
                    median_known(classify["inputs_per_s"]["int8"]),
                    result.ratios["classify_int8_vs_fp32_speed"],
                    f"accuracy {classify['accuracy_fp32']:.3f}",
                    f"accuracy {classify['accuracy_int8']:.3f},"
                    f" label agreement {classify['label_agreement']:.3f}",
                ),
                (
                    "ner",
                    median_known(ner["inputs_per_s"]["fp32"]),
                    median_known(ner["inputs_per_s"]["int8"]),
                    result.ratios["ner_int8_vs_fp32_speed"],
                    f"entity F1 {ner['entity_f1_fp32']:.3f}",
                    f"entity F1 {ner['entity_f1_int8']:.3f}",
                ),
            ],
        )
    )
    return result
