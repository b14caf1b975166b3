"""How a request waits for its turn: its priority and its deadline, from the client.

Both engines honour them: the encoder batcher orders its queue by priority and drops inputs
whose deadline passes before they run; generation passes the priority to vLLM's scheduler
and aborts a request whose first output has not come by the deadline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from server.core.errors import DeadlineExceeded


@dataclass(frozen=True, slots=True)
class QueueOrder:
    """``priority``: lower runs earlier (vLLM's convention); ``deadline``: ``time.monotonic()``
    by which the work must have started, or None; ``tenant``: the API key's name, the unit of
    fair sharing between clients of one priority ("" without keys)."""

    priority: int = 0
    deadline: float | None = None
    tenant: str = ""

    def remaining(self) -> float | None:
        """Seconds left until the deadline (0 once passed), None without one."""
        return time_left(self.deadline)


def time_left(deadline: float | None) -> float | None:
    """Seconds until a ``time.monotonic()`` deadline (0 once passed), None without one."""
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


def deadline_exceeded(where: str) -> DeadlineExceeded:
    """The error for a request whose work had not started by its deadline."""
    return DeadlineExceeded(
        f"the request's deadline (X-Request-Deadline-Ms) passed while it waited in the {where}; "
        "it was not run"
    )
