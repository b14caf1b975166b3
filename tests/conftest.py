"""Suite-wide hooks: a failed test that used a real server shows the end of that server's log."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tests.support.server import ServerProcess

LOG_TAIL_CHARS = 6000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        funcargs = getattr(item, "funcargs", {})
        for name, value in funcargs.items():
            if isinstance(value, ServerProcess):
                try:
                    tail = value.log()[-LOG_TAIL_CHARS:]
                except OSError as exc:
                    tail = f"(log unreadable: {exc})"
                report.sections.append((f"server log of fixture '{name}' (tail)", tail))
    return report


@pytest.fixture
def hub_client_online(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let ``huggingface_hub``'s ``InferenceClient`` reach our own server while the suite runs
    with ``HF_HUB_OFFLINE=1`` (set by ``make test``): in offline mode it refuses every request,
    even to a local URL. Only the client in this test process is affected; the server stays
    offline. (A user whose shell sets ``HF_HUB_OFFLINE`` meets the same refusal.)"""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
