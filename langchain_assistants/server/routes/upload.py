"""Streaming ``multipart/form-data`` uploads: the file part goes straight to a blob writer.

Starlette's form parser would spool the file to a temporary file first (a second copy on
disk); here python-multipart's push parser runs on the request stream and each piece of
the file part is written to the blob store as it arrives, so memory stays flat for any
size and the size is known without a second pass. The body is always read to its end,
even after a limit is exceeded, so the client receives the error instead of a reset.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from ..errors import APIError, bad_request
from ..store.blobs import BlobWriter

MAX_FIELD_BYTES = 64 * 1024


class UploadError(Exception):
    """The body is not a well-formed multipart upload."""


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)


@dataclass
class UploadForm:
    """What the form held besides the file's bytes (those went to the writer)."""

    fields: dict[str, str]
    filename: str | None
    size: int
    too_large: bool


class _Collector:
    """python-multipart callbacks: fields kept (bounded), file bytes queued for the writer."""

    def __init__(self, file_field: str) -> None:
        self.file_field = file_field
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.pending: list[bytes] = []
        self.seen_file = False
        self._part = _Part()
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""

    def on_part_begin(self) -> None:
        self._part = _Part()
        self._disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._part.name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            self._part.filename = options[b"filename"].decode("utf-8", "replace")

    def _is_file(self) -> bool:
        return self._part.name == self.file_field and self._part.filename is not None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file():
            if not self.seen_file:
                self.pending.append(data[start:end])
        elif len(self._part.data) + (end - start) <= MAX_FIELD_BYTES:
            self._part.data += data[start:end]
        else:
            raise UploadError(f"form field '{self._part.name}' is too long")

    def on_part_end(self) -> None:
        if self._is_file():
            if not self.seen_file:
                self.filename = self._part.filename
            self.seen_file = True
        else:
            self.fields[self._part.name] = self._part.data.decode("utf-8", "replace")


async def receive_upload(
    content_type: str,
    body: AsyncIterable[bytes],
    writer: BlobWriter,
    *,
    max_bytes: int,
    file_field: str = "file",
) -> UploadForm:
    """Parse the multipart ``body``, writing the ``file_field`` part's bytes to ``writer``.

    Stops writing (but keeps reading) once the file exceeds ``max_bytes``. Raises
    :class:`APIError` (400) for a body that is not multipart; the caller commits or aborts
    the writer.
    """
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise bad_request("Uploads must be multipart/form-data with a 'file' part.", param="file")
    collector = _Collector(file_field)
    callbacks = {
        name: getattr(collector, name)
        for name in (
            "on_part_begin",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_part_data",
            "on_part_end",
        )
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    size = 0
    too_large = False
    try:
        async for chunk in body:
            parser.write(chunk)
            for piece in collector.pending:
                size += len(piece)
                if size > max_bytes:
                    too_large = True
                if not too_large:
                    await writer.write(piece)
            collector.pending.clear()
        parser.finalize()
    except (UploadError, FormParserError) as exc:
        raise APIError(400, f"Malformed multipart upload: {exc}", param="file") from exc
    return UploadForm(collector.fields, collector.filename, size, too_large)
