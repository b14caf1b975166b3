"""A streaming ``multipart/form-data`` reader for uploads: the file part's bytes are handed
over as they arrive (never the whole file in memory), the small fields are kept."""

from __future__ import annotations

from python_multipart.multipart import MultipartParser, parse_options_header

from server.core.errors import InvalidRequest

MAX_FIELD_BYTES = 64 * 1024


def boundary_of(content_type: str | None) -> bytes:
    """The multipart boundary of a Content-Type header (400 if it is not multipart)."""
    kind, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InvalidRequest("the body must be multipart/form-data with a 'file' part")
    return boundary


class MultipartReader:
    """Feed it the raw body; the ``file`` part's bytes collect in :attr:`pending` (the caller
    takes them out), other parts become :attr:`fields`."""

    def __init__(self, boundary: bytes) -> None:
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_started = False
        self.file_ended = False
        self.pending = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._name: str | None = None
        self._is_file = False
        self._text = bytearray()
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def feed(self, data: bytes) -> None:
        try:
            self._parser.write(data)
        except Exception as exc:  # the parser's own errors: a malformed body
            raise InvalidRequest(f"malformed multipart body ({type(exc).__name__})") from exc

    def _part_begin(self) -> None:
        self._headers, self._name, self._is_file = {}, None, False
        self._text = bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if self._name == "file":
            if self.file_started:
                raise InvalidRequest("only one 'file' part may be sent", param="file")
            self._is_file, self.file_started = True, True
            self.filename = (filename or b"upload.jsonl").decode("utf-8", "replace")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.pending += data[start:end]
            return
        self._text += data[start:end]
        if len(self._text) > MAX_FIELD_BYTES:
            raise InvalidRequest(f"the form field '{self._name}' is too long")

    def _part_end(self) -> None:
        if self._is_file:
            self.file_ended = True
        elif self._name:
            self.fields[self._name] = self._text.decode("utf-8", "replace")
