"""When a batch is over, and what it ends as: the pure rules, apart from the store."""

from __future__ import annotations

from server.store.batches import Counts

# The timestamp each final status sets.
STAMP_OF = {
    "completed": "completed_at",
    "cancelled": "cancelled_at",
    "expired": "expired_at",
    "failed": "failed_at",
}


def final_status(status: str, counts: Counts, expires_at: float, now: float) -> str | None:
    """What a batch in ``status`` ends as now (None: not over yet). Lines still running
    finish first, even for a cancelled or expired batch, so that their work is kept."""
    if status not in ("in_progress", "cancelling") or counts.running:
        return None
    if status == "cancelling":
        return "cancelled"
    if counts.queued == 0:
        return "completed"
    if now >= expires_at:
        return "expired"
    return None
