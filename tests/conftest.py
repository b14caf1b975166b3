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
