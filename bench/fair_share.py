"""``python -m bench.fair_share``: fair share between API keys under contention.

One key floods the embedding model with ``--flood-clients`` concurrent clients (192) while
another key sends one request at a time. Measured twice in one run on one server: with both
clients on the same key (one tenant: first come, first served, as without keys) and with a
key each (the keys take turns in the batcher's queue). Reported: each side's p50, and the
lone client's p50 over the flooder's (target <= 0.3 with two keys). With ``--chat`` the same
for the chat model (``--chat-flood-clients`` clients, priority scheduling on, non-streamed
chat with ``--chat-tokens`` output tokens): its own server, started after the first stops.
``--chat-max-num-seqs`` caps the sequences the engine runs at once: with fewer than the
flooding clients, requests queue in the engine and the admission rule (a key's requests
ranked behind the other keys' earlier ones) decides who runs next; without it every request
runs at once and there is nothing to share. ``--no-embeddings`` measures the chat model only.

Writes ``bench/results/<date>-fair-share.json`` and ``.md`` (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import functools
import json
import multiprocessing
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.load import Call, LoadResult, closed_loop, run_closed_loop
from bench.machine import REPO, environment
from bench.payloads import chat_calls, chat_prompts, encoder_calls
from bench.sentences import sentences
from bench.servers import RunningServer, ServerSpec, launch
from bench.specs import MODELS_DIR, default_config, model_entry

ADMIN_KEY = "bench-admin"
TARGET = 0.3


def _server(models: list[dict[str, Any]], workdir: Path) -> RunningServer:
    config = {
        "models": models,
        "models_dir": str(MODELS_DIR),
        "admin_key": ADMIN_KEY,
        "log_level": "warning",
        "store": {"data_dir": str(workdir / "data")},
    }
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    argv: tuple[str, ...] = (sys.executable, "-m", "server", "--config", str(path))
    argv += ("--port", "{port}", "--host", "127.0.0.1")
    server = launch(ServerSpec("fair-share", argv), workdir)
    server.wait_ready()
    return server


def _key(base_url: str, name: str) -> str:
    reply = httpx.post(
        f"{base_url}/admin/v1/keys",
        json={"name": name},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=30,
    )
    reply.raise_for_status()
    secret: str = reply.json()["key"]
    return secret


async def _contended(
    base_url: str,
    flood: list[Call],
    lone: list[Call],
    clients: int,
    keys: tuple[str, str],
    duration_s: float,
) -> tuple[LoadResult, LoadResult]:
    """The flood and the lone client at once, for ``duration_s``.

    The lone client runs in a process of its own, as another application would: in the
    flooder's event loop its requests would wait behind the flood's on the client side too,
    and the measure would charge that wait to the server.
    """
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        await loop.run_in_executor(pool, int)  # the process is up before both start
        lone_run = loop.run_in_executor(
            pool,
            functools.partial(
                run_closed_loop, base_url, lone, 1, duration_s=duration_s, api_key=keys[1]
            ),
        )
        flooded, alone = await asyncio.gather(
            closed_loop(base_url, flood, clients, duration_s=duration_s, api_key=keys[0]),
            lone_run,
        )
    return flooded, alone


def _measure(
    server: RunningServer,
    flood: list[Call],
    lone: list[Call],
    clients: int,
    duration_s: float,
) -> dict[str, Any]:
    url = server.base_url
    flooder, other = _key(url, "flooder"), _key(url, "lone")
    asyncio.run(closed_loop(url, flood[:32], 8, api_key=flooder))  # warm-up
    runs: dict[str, Any] = {}
    for name, keys in (("one_key", (flooder, flooder)), ("two_keys", (flooder, other))):
        flooded, alone = asyncio.run(_contended(url, flood, lone, clients, keys, duration_s))
        runs[name] = {
            "flooder": flooded.summary(),
            "lone": alone.summary(),
            "lone_p50_over_flooder_p50": round(
                alone.summary()["p50_ms"] / flooded.summary()["p50_ms"], 3
            ),
        }
    return runs


def _embeddings(args: argparse.Namespace, config: dict[str, Any], workdir: Path) -> dict[str, Any]:
    embed = model_entry("embed", config)
    if args.shared_batch_size is not None:
        embed.setdefault("batching", {})["shared_batch_size"] = args.shared_batch_size
    server = _server([embed], workdir)
    try:
        texts = sentences(4096, seed=7)
        calls = encoder_calls("embed", str(embed["name"]), texts)
        return _measure(server, calls[:3000], calls[3000:], args.flood_clients, args.duration)
    finally:
        server.stop()


def run(args: argparse.Namespace) -> dict[str, Any]:
    config = default_config()
    result: dict[str, Any] = {
        **environment(),
        "suite": "fair-share",
        "parameters": {
            "duration_s": args.duration,
            "flood_clients": args.flood_clients,
            "shared_batch_size": args.shared_batch_size,
            "chat": args.chat,
            "chat_flood_clients": args.chat_flood_clients,
            "chat_tokens": args.chat_tokens,
            "chat_max_num_seqs": args.chat_max_num_seqs,
            "chat_enforce_eager": args.chat_enforce_eager,
            "embeddings": args.embeddings,
            "target_lone_over_flooder_p50": TARGET,
        },
    }
    # The host's load (1-minute average) around the run: on a shared host other work competes
    # with the server for the same cores, and every latency here moves with it.
    result["host_load_1m"] = {"before": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        if args.embeddings:
            result["embeddings"] = _embeddings(args, config, Path(tmp) / "embed")
        if args.chat:
            gen = model_entry("generate", config)
            engine = gen.setdefault("engine", {})
            engine["enable_priority_scheduling"] = True
            if args.chat_max_num_seqs is not None:
                engine["max_num_seqs"] = args.chat_max_num_seqs
            if args.chat_enforce_eager:
                engine["enforce_eager"] = True
            server = _server([gen], Path(tmp) / "chat")
            try:
                prompts = chat_prompts(600, seed=11)
                calls = chat_calls(str(gen["name"]), prompts, args.chat_tokens)
                result["chat"] = _measure(
                    server, calls[:500], calls[500:], args.chat_flood_clients, args.duration
                )
            finally:
                server.stop()
    result["host_load_1m"]["after"] = round(os.getloadavg()[0], 2)
    for part in ("embeddings", "chat"):
        if part in result:
            ratio = result[part]["two_keys"]["lone_p50_over_flooder_p50"]
            result[part]["target_met"] = ratio <= TARGET
    return result


def _markdown(result: dict[str, Any]) -> str:
    load = result["host_load_1m"]
    lines = [
        "# Fair share between API keys",
        "",
        f"Machine: {result['machine']['cpu_model']}, {result['machine']['cpu_cores']} cores; "
        f"commit {result['git_commit']}; host load (1 min) {load['before']} before, "
        f"{load['after']} after.",
        "",
        "| model | keys | flooder p50 ms | lone p50 ms | lone / flooder | flooder req | lone req |",
        "|---|---|---|---|---|---|---|",
    ]
    for part in ("embeddings", "chat"):
        for keys in ("one_key", "two_keys"):
            if part not in result:
                continue
            r = result[part][keys]
            lines.append(
                f"| {part} | {keys.replace('_', ' ')} | {r['flooder']['p50_ms']} | "
                f"{r['lone']['p50_ms']} | {r['lone_p50_over_flooder_p50']} | "
                f"{r['flooder']['requests']} | {r['lone']['requests']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fair_share", description=__doc__)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--flood-clients", type=int, default=192)
    parser.add_argument(
        "--shared-batch-size", type=int, help="the embedding model's batching.shared_batch_size"
    )
    parser.add_argument("--chat", action="store_true", help="also measure the chat model")
    parser.add_argument("--chat-flood-clients", type=int, default=16)
    parser.add_argument("--chat-tokens", type=int, default=16)
    parser.add_argument(
        "--chat-max-num-seqs", type=int, help="the chat engine's max_num_seqs (default: vLLM's)"
    )
    parser.add_argument(
        "--chat-enforce-eager", action="store_true", help="start the chat engine in eager mode"
    )
    parser.add_argument(
        "--no-embeddings", dest="embeddings", action="store_false", help="skip the embeddings"
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)
    result = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{datetime.date.today().isoformat()}-fair-share"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(_markdown(result))
    print(_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
