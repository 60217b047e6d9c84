"""API keys and projects: which project a request belongs to.

Keys come from ``--api-key`` (project ``default``) and ``--api-keys FILE`` (one
``KEY PROJECT`` pair a line), the file re-read on SIGHUP and whenever its content changes.
Without any key configured every request is in project ``default``.

Only SHA-256 digests of the keys are kept. A presented key is hashed and its digest is
compared with *every* configured digest by ``hmac.compare_digest``, without stopping at a
match: the time taken depends on the number of keys, not on which key matched or how much
of a guess was right (hashing first also makes the compared lengths equal). Keys never
appear in messages, logs or reprs; file errors name line numbers only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from pydantic import SecretStr

from .errors import unauthorized
from .store.tables import DEFAULT_PROJECT

log = logging.getLogger(__name__)

PROJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")


class KeyFileError(ValueError):
    """The API keys file cannot be used. The message names lines, never a key."""


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


@dataclass(frozen=True)
class _Entry:
    digest: bytes
    project: str

    def __repr__(self) -> str:  # the digest is not the key, but keep it out of logs too
        return f"_Entry(project={self.project!r})"


def parse_keys(text: str, *, source: str, reserved: bytes | None = None) -> list[_Entry]:
    """The ``KEY PROJECT`` lines of a keys file; blank lines and ``#`` comments are skipped.

    ``reserved`` is the digest of ``--api-key`` (project ``default``): the file may repeat it
    only for that project. Every problem is reported, by line number.
    """
    entries: list[_Entry] = []
    seen: dict[bytes, int] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 2:
            problems.append(f"line {number}: expected 'KEY PROJECT' (2 fields), got {len(fields)}")
            continue
        key, project = fields
        if not PROJECT_NAME.match(project):
            problems.append(
                f"line {number}: the project name must be 1-64 letters, digits, '_', '.' or '-'"
            )
            continue
        digest = key_digest(key)
        if digest in seen:
            problems.append(f"line {number}: the same key as line {seen[digest]}")
            continue
        if digest == reserved and project != DEFAULT_PROJECT:
            problems.append(f"line {number}: this key is --api-key, which is project 'default'")
            continue
        seen[digest] = number
        entries.append(_Entry(digest, project))
    if problems:
        raise KeyFileError(f"{source}: " + "; ".join(problems))
    return entries


class KeyRing:
    """The configured keys (as digests) with their projects; the file part can be reloaded.

    Raises :class:`KeyFileError` at construction when the keys file cannot be used, so a
    server never starts with a broken file; a later reload that fails keeps the old keys.
    """

    def __init__(self, api_key: SecretStr | None = None, keys_file: Path | None = None) -> None:
        self.keys_file = keys_file
        self._single = key_digest(api_key.get_secret_value()) if api_key is not None else None
        self._entries: tuple[_Entry, ...] = self._with_single([])
        self._loaded: bytes | None = None  # digest of the file content in use
        self._rejected: bytes | None = None  # the last content (digest) or error that failed
        if keys_file is not None:
            self.reload(force=True)

    def __repr__(self) -> str:
        return f"KeyRing(keys={len(self._entries)}, projects={sorted(self.projects)})"

    def _with_single(self, entries: list[_Entry]) -> tuple[_Entry, ...]:
        single = [] if self._single is None else [_Entry(self._single, DEFAULT_PROJECT)]
        return (*single, *(e for e in entries if e.digest != self._single))

    @property
    def required(self) -> bool:
        """Whether requests must present a key (any key source configured)."""
        return self._single is not None or self.keys_file is not None

    @property
    def projects(self) -> set[str]:
        return {entry.project for entry in self._entries}

    def __len__(self) -> int:
        return len(self._entries)

    def project_for(self, authorization: str | None) -> str | None:
        """The project of an ``Authorization: Bearer KEY`` header, or None if refused."""
        if not self.required:
            return DEFAULT_PROJECT
        scheme, _, token = (authorization or "").partition(" ")
        presented = key_digest(token.strip())
        found: str | None = None
        for entry in self._entries:  # a snapshot: reloads swap the whole tuple
            if hmac.compare_digest(entry.digest, presented):
                found = entry.project
        return found if scheme.lower() == "bearer" else None

    def reload(self, *, force: bool = False) -> bool:
        """Re-read the keys file; True if new keys are now in use.

        Unchanged content is skipped unless ``force`` (SIGHUP). Raises KeyFileError
        (and keeps the current keys) when the file cannot be read or parsed.
        """
        assert self.keys_file is not None
        try:
            content = self.keys_file.read_bytes()
        except OSError as exc:
            self._rejected = f"unreadable: {exc.strerror}".encode()
            raise KeyFileError(f"{self.keys_file}: cannot read it ({exc.strerror})") from None
        digest = hashlib.sha256(content).digest()
        if digest == self._loaded and not force:
            return False
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            self._rejected = digest
            raise KeyFileError(f"{self.keys_file}: not UTF-8 text") from None
        try:
            entries = parse_keys(text, source=str(self.keys_file), reserved=self._single)
        except KeyFileError:
            self._rejected = digest
            raise
        self._entries = self._with_single(entries)
        self._loaded = digest
        self._rejected = None
        return True

    def reload_and_log(self, *, force: bool = False) -> None:
        """Reload, logging the outcome (a failure once per distinct file content)."""
        previous_rejected = self._rejected
        try:
            changed = self.reload(force=force)
        except KeyFileError as exc:
            if force or self._rejected != previous_rejected:
                log.warning(
                    "API keys file not reloaded, keeping the previous %d keys: %s", len(self), exc
                )
            return
        if changed:
            log.info(
                "API keys reloaded from %s: %d keys in %d projects",
                self.keys_file,
                len(self),
                len(self.projects),
            )


async def watch_keys_file(ring: KeyRing, interval: float, wake: asyncio.Event) -> None:
    """Re-read the keys file every ``interval`` seconds, and at once when ``wake`` is set
    (the SIGHUP handler sets it)."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=interval)
        forced = wake.is_set()
        wake.clear()
        ring.reload_and_log(force=forced)


async def request_project(request: Request) -> str:
    """FastAPI dependency: the request's project, or 401 when its key is not accepted.
    (``async`` like every dependency here: FastAPI runs a plain ``def`` one on its thread
    pool, a thread round trip per request for work that never blocks.)"""
    ring: KeyRing = request.app.state.keys
    project = ring.project_for(request.headers.get("authorization"))
    if project is None:
        raise unauthorized()
    return project
