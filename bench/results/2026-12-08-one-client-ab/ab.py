"""One-client p50 of the encoders, this checkout against another commit's, on one host at once
(run from the repository root with PYTHONPATH=.):

    git worktree add /tmp/base 8e23ffc
    PYTHONPATH=. python bench/results/2026-12-08-one-client-ab/ab.py /tmp/base

Both servers (the default config's encoders) are up together. Per task, 300 single-input
requests from one client (after 30 warm-up requests), the two servers in alternating order,
four repeats; every pass starts once both are quiet. Then both servers are stopped, started
again in the other order, and measured again (the server started first was the slower one in
an earlier A/B). Prints each pass's p50 and the medians.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
from pathlib import Path

from bench import servers, specs
from bench.load import run_closed_loop
from bench.memory import wait_until_quiet
from bench.payloads import encoder_calls
from bench.sentences import sentences

TASKS = ("embed", "classify", "ner")
REPEATS = 4
REQUESTS = 300
WARMUP = 30


def spec_for(which: str, base: str) -> servers.ServerSpec:
    """Our encoders; for ``base``, the same command run from the other checkout."""
    spec = specs.ours("encoders", tag=f"-{which}")
    if which == "base":
        command = f"cd {base} && exec " + " ".join(spec.argv)
        spec = dataclasses.replace(spec, argv=("bash", "-c", command))
    return spec


def main() -> None:
    base = sys.argv[1]
    config = specs.default_config()
    texts = sentences(5000, seed=11)
    p50s: dict[str, list[float]] = {}
    for phase, order in enumerate((("base", "head"), ("head", "base"))):
        running: dict[str, servers.RunningServer] = {}
        try:
            for which in order:
                running[which] = servers.start(
                    spec_for(which, base), Path(f"/tmp/one-client-ab-{which}")
                )
                print(phase, which, "ready", running[which].ready_s, flush=True)
            for repeat in range(REPEATS):
                chunk = texts[repeat * 300 :][:REQUESTS]
                for task in TASKS:
                    model = str(specs.model_entry(task, config)["name"])
                    for which in order if repeat % 2 == 0 else order[::-1]:
                        url = running[which].base_url
                        run_closed_loop(url, encoder_calls(task, model, chunk[:WARMUP]), 1)
                        wait_until_quiet([s.pid for s in running.values()])
                        load = run_closed_loop(url, encoder_calls(task, model, chunk), 1)
                        p50 = round(statistics.median(load.latencies_s) * 1000, 2)
                        p50s.setdefault(f"{task}-{which}", []).append(p50)
                        print(phase, repeat, task, which, p50, "errors", load.errors, flush=True)
        finally:
            for server in running.values():
                server.stop()
    print(json.dumps(p50s))
    for key, values in sorted(p50s.items()):
        print(key, "median", statistics.median(values), values)


if __name__ == "__main__":
    main()
