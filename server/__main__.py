"""``python -m server``: parse settings, prepare nothing, run uvicorn.

Exit codes: 0 clean stop, 2 invalid configuration, 3 a model failed to load or an engine died.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn
from pydantic import ValidationError
from pydantic_settings import SettingsError

from server.core.lifecycle import Drain, Lifecycle

CONFIG_ERROR_EXIT_CODE = 2


class _Server(uvicorn.Server):
    """uvicorn's server with a drain before shutdown, and without re-raising SIGTERM.

    The first SIGTERM/SIGINT begins the drain (new requests get 503, ``/ready`` 503); the
    server shuts down once nothing is in flight or the drain times out. A second signal, or a
    fatal error, skips what is left of the drain. uvicorn would re-raise the signal it caught
    once it has shut down, so the process would die "by SIGTERM"; a clean stop exits 0 (and 3
    after a fatal error).
    """

    def __init__(self, config: uvicorn.Config, lifecycle: Lifecycle) -> None:
        super().__init__(config)
        self.lifecycle = lifecycle
        self.drain: Drain = lifecycle.drain

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain.draining or self.lifecycle.failed:
            self.should_exit = True
        else:
            self.drain.begin()

    async def on_tick(self, counter: int) -> bool:
        if self.drain.finished():
            self.should_exit = True
        return await super().on_tick(counter)

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        stops = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in stops}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _format_validation(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        lines.append(f"  {loc}: {err['msg']}")
    return "invalid configuration:\n" + "\n".join(lines)


def _keys(argv: list[str]) -> int:
    """``python -m server keys ...``: manage the keys of the store."""
    from server.keys.cli import main as keys_main

    try:
        return keys_main(argv)
    except ValidationError as exc:
        print(_format_validation(exc), file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE
    except (SettingsError, FileNotFoundError, ValueError) as exc:
        print(f"invalid configuration: {exc}", file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE


def main(argv: list[str] | None = None) -> int:
    """Run the server until it is stopped; returns the process exit code."""
    from server.core.settings import load_settings

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["keys"]:
        return _keys(args[1:])
    try:
        settings = load_settings(args)
    except ValidationError as exc:
        print(_format_validation(exc), file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE
    except (SettingsError, FileNotFoundError, ValueError) as exc:
        print(f"invalid configuration: {exc}", file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE

    from server.app import create_app
    from server.core.logs import configure_logging
    from server.state import server_state

    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # The drain has already waited for in-flight requests; this only bounds the close.
        timeout_graceful_shutdown=5,
        loop="uvloop",
        http="httptools",
    )
    lifecycle = server_state(app).lifecycle
    _Server(config, lifecycle).run()
    code = lifecycle.exit_code
    logging.getLogger("server").info("stopped with exit code %d", code)
    return code


if __name__ == "__main__":
    sys.exit(main())
