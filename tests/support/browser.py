"""A real browser for tests: Debian's Chromium driven by Playwright, and local "other origins".

Playwright's own browser download does not work on these machines, so the system Chromium is
launched instead (``apt-get install chromium chromium-driver``). Without it, or without
Playwright, :func:`require_browser` skips the test, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import http.server
import importlib.util
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# Debian's Chromium; elsewhere, point PLAYGROUND_CHROMIUM at one.
CHROMIUM = Path(os.environ.get("PLAYGROUND_CHROMIUM", "/usr/bin/chromium"))
# Quiet on a closed network: no update checks, sync, QUIC or first-run work.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_missing() -> str | None:
    """Why no browser test can run here; None when they can."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing (apt-get install chromium chromium-driver)"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install -e '.[dev]')"
    return None


def require_browser() -> None:
    """Skip the test without a browser; under ``CI=true``, fail it instead."""
    missing = browser_missing()
    if missing is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests must run under CI=true: {missing}")
    pytest.skip(f"browser tests skipped: {missing}")


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium, closed (with Playwright's driver) on exit."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def checked_page(browser: Browser) -> Iterator[Page]:
    """A fresh page (own storage); fails the test on any uncaught error in the page's scripts."""
    context = browser.new_context(viewport={"width": 1280, "height": 820})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert errors == [], f"errors in the page's scripts: {errors}"


class _BlankPage(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>app</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def local_origins(count: int) -> Iterator[list[str]]:
    """``count`` origins (``http://localhost:PORT``), each serving a blank page.

    Real servers rather than ``page.route``: Chromium lets a page reach a loopback address only
    from a page that was itself loaded from one (local network access).
    """
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BlankPage) for _ in range(count)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield [f"http://localhost:{server.server_address[1]}" for server in servers]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
