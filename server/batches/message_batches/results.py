"""A message batch's results: each line's outcome as Anthropic's result lines.

A line runs through ``/v1/messages`` like any batch line; its stored output line carries the
endpoint's answer byte for byte (a message, or an error already in Anthropic's shape). Lines
that never ran are ``canceled`` or ``expired`` by how the batch ended.
"""

from __future__ import annotations

import json
from typing import Any

from server.batches.message_batches.protocol import MessageRequestCounts
from server.store.batches import Counts

# How a batch that ended leaves the lines it never ran.
UNRUN = {"cancelled": "canceled", "expired": "expired"}
FAILED_BATCH = "the batch failed before this request ran"


def _error(status: int, body: Any) -> dict[str, Any]:
    """The ``error`` of an errored result: the endpoint's own error body, or one built from
    what it answered (never expected: every answer of ``/v1/messages`` is in this shape)."""
    if isinstance(body, dict) and body.get("type") == "error":
        return body
    message = json.dumps(body) if not isinstance(body, str) else body
    kind = "invalid_request_error" if status < 500 else "api_error"
    return {"type": "error", "error": {"type": kind, "message": message}}


def result(state_output: str | None, batch_status: str) -> dict[str, Any]:
    """The ``result`` of one line: its stored output line, or None for a line never run."""
    if state_output is None:
        if batch_status in UNRUN:
            return {"type": UNRUN[batch_status]}
        return {"type": "errored", "error": _error(500, FAILED_BATCH)}
    response = json.loads(state_output)["response"]
    status, body = int(response["status_code"]), response["body"]
    if status < 300:
        return {"type": "succeeded", "message": body}
    return {"type": "errored", "error": _error(status, body)}


def result_line(custom_id: str, output: str | None, batch_status: str) -> bytes:
    """One line of the results file (JSONL)."""
    line = {"custom_id": custom_id, "result": result(output, batch_status)}
    return json.dumps(line, separators=(",", ":")).encode() + b"\n"


def request_counts(counts: Counts, ended: bool, batch_status: str) -> MessageRequestCounts:
    """Anthropic's counts: lines still to run are ``processing`` until the batch ends, then
    ``canceled``, ``expired`` or (a failed batch) ``errored``."""
    unrun = counts.total - counts.done - counts.failed
    found = MessageRequestCounts(succeeded=counts.done, errored=counts.failed)
    if not ended:
        found.processing = unrun
    elif batch_status == "cancelled":
        found.canceled = unrun
    elif batch_status == "expired":
        found.expired = unrun
    else:
        found.errored += unrun
    return found
