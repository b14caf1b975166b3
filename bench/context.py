"""What every suite gets: the sizes, the server pool and a scratch folder."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.options import Sizes
from bench.pool import ServerPool
from bench.servers import ServerSpec
from bench.specs import Subset, ours


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Context:
    sizes: Sizes
    workdir: Path
    pool: ServerPool = field(init=False)

    def __post_init__(self) -> None:
        self.pool = ServerPool(self.workdir / "servers", log)

    def ours(self, subset: Subset) -> ServerSpec:
        """Our server with ``subset`` of the default models (all of them when shared)."""
        return ours(
            "default" if self.sizes.shared_server else subset, eager=self.sizes.gen_enforce_eager
        )
