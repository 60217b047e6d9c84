"""File bytes to plain text, with kept libraries: pypdf, python-docx, BeautifulSoup (lxml).

A file that cannot become text raises :class:`ParseError` with the ``last_error`` code the
vector-store file reports: ``unsupported_file`` (a format we do not read) or ``invalid_file``
(empty, corrupt, binary where text was promised, or no extractable text).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import PurePath
from typing import Literal

ErrorCode = Literal["unsupported_file", "invalid_file", "server_error"]

_TEXT = """.txt .md .markdown .rst .py .js .mjs .ts .tsx .jsx .java .c .h .cc .cpp .hpp .cs .go
.rb .php .sh .bash .css .scss .tex .csv .tsv .xml .yaml .yml .toml .ini .cfg .sql .rs .kt .swift
.scala .r .lua .pl .log .jsonl"""
TEXT_EXTENSIONS = frozenset(_TEXT.split())
HTML_EXTENSIONS = frozenset({".html", ".htm", ".xhtml"})
SUPPORTED = sorted(TEXT_EXTENSIONS | HTML_EXTENSIONS | {".json", ".pdf", ".docx"})


class ParseError(Exception):
    """Why a file has no text: ``code`` is the vector-store file's ``last_error.code``."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


def extract_text(filename: str, content: bytes) -> str:
    """The text of a file, chosen by its extension (and by its magic bytes if unknown)."""
    if not content:
        raise ParseError("invalid_file", f"The file '{filename}' is empty (0 bytes).")
    extension = PurePath(filename).suffix.lower()
    if extension == ".pdf" or (not extension and content.startswith(b"%PDF-")):
        text = _pdf(filename, content)
    elif extension == ".docx" or (not extension and _is_docx(content)):
        text = _docx(filename, content)
    elif extension in HTML_EXTENSIONS:
        text = _html(_decode(filename, content))
    elif extension == ".json":
        text = _json(filename, _decode(filename, content))
    elif extension in TEXT_EXTENSIONS or not extension:
        text = _decode(filename, content)
    else:
        raise ParseError(
            "unsupported_file",
            f"Files of type '{extension}' are not supported ('{filename}'); "
            f"supported: {', '.join(SUPPORTED)}.",
        )
    # NUL characters (PDF extraction can yield them) cannot be stored in PostgreSQL text.
    text = text.replace("\x00", "")
    if not text.strip():
        raise ParseError("invalid_file", f"No text could be extracted from '{filename}'.")
    return text


def _decode(filename: str, content: bytes) -> str:
    """UTF-8 (or UTF-16 with a byte-order mark); binary content is refused, not guessed."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in content:
        try:
            return content.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Legacy 8-bit text (cp1252) is accepted when it is mostly printable.
            text = content.decode("cp1252", errors="replace")
            printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
            if printable >= 0.97 * len(text):
                return text
    raise ParseError(
        "invalid_file",
        f"The file '{filename}' is not text (binary content, or not UTF-8 encoded).",
    )


def _pdf(filename: str, content: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseError("invalid_file", f"The PDF '{filename}' is encrypted.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ParseError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError) as exc:
        raise ParseError(
            "invalid_file", f"The file '{filename}' could not be read as a PDF: {exc}"
        ) from exc
    return "\n\n".join(p.strip() for p in pages if p.strip())


def _is_docx(content: bytes) -> bool:
    if not content.startswith(b"PK"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _docx(filename: str, content: bytes) -> str:
    import docx

    try:
        document = docx.Document(io.BytesIO(content))
    except Exception as exc:  # python-docx raises zip, XML and KeyError variants
        raise ParseError(
            "invalid_file", f"The file '{filename}' could not be read as a DOCX document: {exc}"
        ) from exc
    parts = [p.text for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells]
            if any(cells):
                parts.append(" | ".join(cells))
    return "\n\n".join(parts)


def _html(markup: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "lxml")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line)


def _json(filename: str, text: str) -> str:
    """Valid JSON, re-indented so that keys and values are separate words for the index."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError("invalid_file", f"The file '{filename}' is not valid JSON: {exc}") from exc
    return json.dumps(value, indent=1, ensure_ascii=False)
