"""``python -m bench [SUITE ...] [--quick] [--out DIR]``: run benchmark suites, write results."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from bench import report
from bench.context import Context, log
from bench.machine import REPO, environment
from bench.options import sizes
from bench.result import SuiteResult
from bench.suites import batch, caching, encoders, footprint, generation, mixed, quantize, soak

SUITES: dict[str, Callable[[Context], SuiteResult]] = {
    "generation": generation.run,
    "encoders": encoders.run,
    "mixed": mixed.run,
    "footprint": footprint.run,
    "soak": soak.run,
    "quantize": quantize.run,
    "batch": batch.run,
    "caching": caching.run,
}
ALL = ("generation", "encoders", "mixed", "footprint", "quantize")


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument(
        "suites",
        nargs="*",
        metavar="SUITE",
        help=f"{', '.join(SUITES)} or all (the default: every suite except soak), in order",
    )
    p.add_argument("--quick", action="store_true", help="tiny counts: a smoke test of the harness")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results", help="result folder")
    p.add_argument("--keep-logs", action="store_true", help="keep server/client logs in OUT/logs")
    sized = p.add_argument_group("sizes (override the full or --quick defaults)")
    sized.add_argument(
        "--rounds", type=int, help="repeats of each comparison, medians reported (full: 3)"
    )
    sized.add_argument("--gen-concurrency", type=_ints, help="e.g. 1,8,32")
    sized.add_argument("--gen-prompts", type=int, help="prompts per concurrency level")
    sized.add_argument("--gen-output-len", type=int)
    sized.add_argument("--enc-concurrency", type=_ints, help="e.g. 1,8,64")
    sized.add_argument("--enc-requests", type=int, help="distinct sentences per level")
    sized.add_argument("--ceiling-batch-sizes", type=_ints, help="e.g. 1,8,16,32,64")
    sized.add_argument("--mixed-duration", dest="mixed_duration_s", type=float)
    sized.add_argument("--duration", dest="soak_duration_s", type=float, help="soak seconds")
    sized.add_argument("--soak-warmup", dest="soak_warmup_s", type=float)
    sized.add_argument("--batch-chat-lines", type=int, help="lines of the chat batch (2000)")
    sized.add_argument(
        "--batch-background-lines", type=int, help="lines of the batch beside the TTFT load"
    )
    sized.add_argument("--batch-embed-lines", type=int, help="lines of the embeddings batch")
    sized.add_argument("--batch-ttft-requests", type=int, help="online requests beside a batch")
    sized.add_argument("--batch-output-len", type=int, help="tokens per chat line")
    sized.add_argument("--seed", type=int)
    sized.add_argument("--no-vllm-pooling", dest="vllm_pooling", action="store_const", const=False)
    sized.add_argument(
        "--shared-server",
        action="store_const",
        const=True,
        help="one server with every model for all suites (fewer starts, ratios less clean)",
    )
    return p


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    unknown = sorted(set(args.suites) - {*SUITES, "all"})
    if unknown:
        cli.error(f"unknown suite(s): {', '.join(unknown)}")
    names = [s for name in args.suites or ["all"] for s in (ALL if name == "all" else (name,))]
    chosen = sizes(
        args.quick,
        shared_server=args.shared_server,
        rounds=args.rounds,
        gen_concurrency=args.gen_concurrency,
        gen_prompts=args.gen_prompts,
        gen_output_len=args.gen_output_len,
        enc_concurrency=args.enc_concurrency,
        enc_requests=args.enc_requests,
        ceiling_batch_sizes=args.ceiling_batch_sizes,
        mixed_duration_s=args.mixed_duration_s,
        soak_duration_s=args.soak_duration_s,
        soak_warmup_s=args.soak_warmup_s,
        batch_chat_lines=args.batch_chat_lines,
        batch_background_lines=args.batch_background_lines,
        batch_embed_lines=args.batch_embed_lines,
        batch_ttft_requests=args.batch_ttft_requests,
        batch_output_len=args.batch_output_len,
        seed=args.seed,
        vllm_pooling=args.vllm_pooling,
    )
    env = environment()
    date = time.strftime("%Y-%m-%d")
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    ctx = Context(chosen, workdir)
    failed = False
    started = time.monotonic()
    # A plain SIGTERM would skip the clean-up below and leave servers running.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        for name in names:
            log(f"suite {name}")
            try:
                result = SUITES[name](ctx)
            except Exception:
                log(f"suite {name}: FAILED\n{traceback.format_exc()}")
                failed = True
                continue
            result.parameters["sizes"] = chosen.as_dict()
            paths = report.write(result, env, args.out, date)
            log(f"suite {name}: wrote {', '.join(p.name for p in paths)}")
            for target in result.targets:
                log(f"  {'met ' if target.met else 'MISS'} {target.name}: {target.ratio}")
            if result.passed is False:
                log(f"suite {name}: FAILED its pass criteria")
                failed = True
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        ctx.pool.close()
        if args.keep_logs:
            shutil.copytree(workdir, args.out / "logs", dirs_exist_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)
        log(f"done in {time.monotonic() - started:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
