"""Runs inside a child process: vLLM's serving benchmark (``vllm bench serve``) once per run
of the plan (a server at one concurrency level), recording the CPU time of each run apart from
the (heavy) import.

``python -m bench.vllm_bench_runner PLAN.json``: the plan names, per run, the common CLI
arguments (server, model, dataset), the max concurrency, prompt count, dataset seed, result file
and the key its CPU time is recorded under in ``cpu_file``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    plan = json.loads(Path(argv[0]).read_text())
    cpu0 = time.process_time()
    from vllm.benchmarks.serve import add_cli_args
    from vllm.benchmarks.serve import main as bench_main
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    cpu: dict[str, float] = {"import": time.process_time() - cpu0}
    for run in plan["runs"]:
        parser = FlexibleArgumentParser()
        add_cli_args(parser)
        args = parser.parse_args(
            [
                *run["common"],
                "--seed",
                str(run["seed"]),
                "--max-concurrency",
                str(run["concurrency"]),
                "--num-prompts",
                str(run["num_prompts"]),
                "--num-warmups",
                "0",
                "--save-result",
                "--result-filename",
                run["result_file"],
            ]
        )
        started = time.process_time()
        bench_main(args)
        cpu[run["key"]] = time.process_time() - started
    Path(plan["cpu_file"]).write_text(json.dumps(cpu))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
