"""Tool calls out of the JSON that structured outputs forced for ``tool_choice: required``.

The grammar makes the output ``[{"name": ..., "arguments": {...}}, ...]`` (or one such object
when ``parallel_tool_calls`` is false). The scanner reads it one piece at a time, as the
engine streams it, and reports each call's name once it is complete and the raw text of its
arguments as it arrives. A whole output fed at once gives the same calls, so streamed and
non-streamed calls are the same text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

_WHITESPACE = " \t\r\n"


@dataclass
class CallEvent:
    """A call's name (once) or a fragment of its arguments, for call ``index``."""

    index: int
    name: str | None = None
    arguments: str = ""


@dataclass
class _ForcedCall:
    name: str | None = None
    arguments: list[str] = field(default_factory=list)


class ForcedCallScanner:
    """An incremental reader of the forced tool-call JSON (a small JSON lexer)."""

    def __init__(self, array: bool) -> None:
        self._call_depth = 2 if array else 1  # nesting of a call object's members
        self._stack: list[str] = []
        self._in_string = False
        self._escape = False
        self._capture: list[str] | None = None  # a key or value string of a call object
        self._capture_is_key = False
        self._expect_key = False
        self._key: str | None = None
        self._value_pending = False
        self._in_args = False
        self._args_is_container = False
        self._index = -1
        self.calls: list[_ForcedCall] = []

    def feed(self, text: str) -> list[CallEvent]:
        events: list[CallEvent] = []
        args: list[str] = []

        def flush_args() -> None:
            if args:
                fragment = "".join(args)
                self.calls[self._index].arguments.append(fragment)
                events.append(CallEvent(self._index, arguments=fragment))
                args.clear()

        for ch in text:
            if self._in_string:
                self._string_char(ch, events)
                if self._in_args:
                    args.append(ch)
                continue
            at_call = len(self._stack) == self._call_depth
            if self._in_args and at_call and not self._args_is_container and ch in ",}":
                self._in_args = False  # a primitive value ends before the separator
                flush_args()
            if self._value_pending and at_call and ch not in _WHITESPACE:
                self._value_pending = False
                if self._key == "arguments" and self._index >= 0:
                    self._in_args = True
                    self._args_is_container = ch in "{["
            if self._in_args:
                args.append(ch)
            self._structure(ch, at_call)
            if self._in_args and self._args_is_container and len(self._stack) == self._call_depth:
                self._in_args = False  # the arguments object just closed
                flush_args()
        flush_args()
        return events

    def _string_char(self, ch: str, events: list[CallEvent]) -> None:
        if self._capture is not None:
            self._capture.append(ch)
        if self._escape:
            self._escape = False
        elif ch == "\\":
            self._escape = True
        elif ch == '"':
            self._in_string = False
            if self._capture is not None:
                value = json.loads('"' + "".join(self._capture[:-1]) + '"')
                self._capture = None
                if self._capture_is_key:
                    self._key = value
                elif self._key == "name" and self._index >= 0:
                    self.calls[self._index].name = value
                    events.append(CallEvent(self._index, name=value))

    def _structure(self, ch: str, at_call: bool) -> None:
        depth = len(self._stack)
        if ch == '"':
            self._in_string = True
            if at_call and not self._in_args and self._stack[-1] == "{":
                self._capture = []
                self._capture_is_key = self._expect_key
        elif ch in "{[":
            if ch == "{" and depth == self._call_depth - 1:
                self._index += 1
                self.calls.append(_ForcedCall())
                self._expect_key, self._key = True, None
            self._stack.append(ch)
        elif ch in "}]":
            if self._stack:
                self._stack.pop()
        elif at_call and ch == ":":
            self._expect_key, self._value_pending = False, True
        elif at_call and ch == ",":
            self._expect_key = True
