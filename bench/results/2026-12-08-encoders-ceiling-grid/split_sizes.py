"""The 2 x 1 split of the ONNX Runtime ceiling at each batch size, per task, twice (run from
the repository root: ``PYTHONPATH=. python bench/results/2026-12-08-encoders-ceiling-grid/
split_sizes.py classify,embed,ner``): the suite's 2,048 sentences (seed 0), sorted by length."""

from __future__ import annotations

import sys

from bench import specs
from bench.ceiling import measure_split
from bench.sentences import sentences

SIZES = (8, 16, 32, 64)


def main() -> None:
    texts = sentences(2048, seed=0)
    for repeat in range(2):
        for task in sys.argv[1].split(","):
            folder = specs.model_dir(specs.model_entry(task))
            rates = {size: measure_split(task, folder, texts, size, 2, 1, "onnx") for size in SIZES}
            print(task, repeat, rates, flush=True)


if __name__ == "__main__":
    main()
