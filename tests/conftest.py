"""Suite-wide hooks: a failed test that used a real server shows the end of that server's log,
and the run ends with the seconds each slow module took (server starts included), so that the
tail of a CI log says where the suite's time goes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Generator

import pytest

from tests.support.server import ServerProcess

LOG_TAIL_CHARS = 6000
SLOWEST_MODULES = 12
_module_seconds: defaultdict[str, float] = defaultdict(float)


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


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _module_seconds[report.nodeid.split("::")[0]] += report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _module_seconds:
        return
    slowest = sorted(_module_seconds.items(), key=lambda kv: -kv[1])[:SLOWEST_MODULES]
    total = sum(_module_seconds.values())
    terminalreporter.write_sep("-", f"slowest modules (of {total:.0f} s in tests and fixtures)")
    for module, seconds in slowest:
        terminalreporter.write_line(f"{seconds:8.1f}s  {module}")
