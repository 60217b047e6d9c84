"""Files: metadata rows in the database, bytes in the blob store, kept in step.

The order of writes means a row never points at missing bytes: a new file's blob is
committed before its row is inserted, and a deleted file's row goes before its blob. A
crash in between leaves at worst an orphan blob, never a row without bytes; orphans are
swept at the next start (:meth:`FileStore.sweep`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, select

from ..wire import file_object, new_file_id
from .blobs import (
    STALE_PARTIAL_SECONDS,
    BlobStore,
    BlobWriter,
    copy_to_path,
    read_all,
    write_path,
)
from .repository import Kind, Store
from .tables import FileRow

log = logging.getLogger(__name__)


class FileStore:
    """Create, read and delete files; the one place that touches file bytes."""

    def __init__(self, store: Store, blobs: BlobStore) -> None:
        self.store = store
        self.blobs = blobs

    def scoped(self, project: str | None) -> FileStore:
        """A view whose rows belong to ``project`` (see ``Store.scoped``); the same bytes.
        ``None`` keeps this view (the unscoped one sees every project)."""
        return self if project is None else FileStore(self.store.scoped(project), self.blobs)

    # -- creating ---------------------------------------------------------------------

    def new_upload(self) -> tuple[str, BlobWriter]:
        """A fresh file id and the writer for its bytes; finish with :meth:`save_upload`."""
        file_id = new_file_id()
        return file_id, self.blobs.writer(file_id)

    async def save_upload(
        self, file_id: str, writer: BlobWriter, *, filename: str, purpose: str
    ) -> dict[str, Any]:
        """Commit the written bytes, then record the file; returns the file object."""
        size = await writer.commit()
        return await self._insert(file_id, filename, purpose, size)

    async def put_bytes(self, data: bytes, *, filename: str, purpose: str) -> dict[str, Any]:
        file_id, writer = self.new_upload()
        try:
            await writer.write(data)
        except BaseException:
            await writer.abort()
            raise
        return await self.save_upload(file_id, writer, filename=filename, purpose=purpose)

    async def put_path(self, path: Path, *, filename: str, purpose: str) -> dict[str, Any]:
        """Store the file at ``path`` (streamed, e.g. a sandbox output)."""
        file_id = new_file_id()
        size = await write_path(self.blobs, file_id, path)
        return await self._insert(file_id, filename, purpose, size)

    async def _insert(self, file_id: str, filename: str, purpose: str, size: int) -> dict[str, Any]:
        data = file_object(filename, size, purpose=purpose, file_id=file_id)
        try:
            await self.store.insert(Kind.file, data, purpose=purpose)
        except BaseException:
            await self.blobs.delete(file_id)
            raise
        return data

    # -- reading ----------------------------------------------------------------------

    async def get(self, file_id: str) -> dict[str, Any] | None:
        return await self.store.get(Kind.file, file_id)

    async def content(self, file_id: str) -> AsyncIterator[bytes] | None:
        """The file's bytes as chunks, or None if there is no such file.

        The first chunk is read before returning, so a missing blob answers None here
        rather than failing half-way through a response.
        """
        if await self.get(file_id) is None:
            return None
        chunks = self.blobs.read(file_id)
        try:
            first = await anext(chunks)
        except (KeyError, StopAsyncIteration):
            return None if not await self.blobs.exists(file_id) else _empty()
        return _prepend(first, chunks)

    async def read_bytes(self, file_id: str) -> bytes | None:
        """A file's whole content in memory (small files only), or None."""
        if await self.get(file_id) is None:
            return None
        try:
            return await read_all(self.blobs, file_id)
        except KeyError:
            return None

    async def copy_to(self, file_id: str, path: Path) -> int | None:
        """Write the file's bytes to ``path`` atomically; None if it no longer exists."""
        try:
            return await copy_to_path(self.blobs, file_id, path)
        except KeyError:
            return None

    # -- deleting ---------------------------------------------------------------------

    async def sweep(self) -> None:
        """At start-up: drop partial writes and blobs without a file row (a crash between
        the two writes), old enough that no upload in another process still owns them."""
        await self.blobs.sweep()
        database = make_url(self.store.url).render_as_string(hide_password=True)
        if not await self.blobs.owned_by(database):
            log.warning(
                "%s is shared with another database: blobs without a row are kept",
                self.blobs.description,
            )
            return
        keys = await self.blobs.old_keys(time.time() - STALE_PARTIAL_SECONDS)
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            async with self.store.session(write=False) as s:
                known = set(
                    (await s.scalars(select(FileRow.id).where(FileRow.id.in_(batch)))).all()
                )
            for key in batch:
                if key not in known:
                    await self.blobs.delete(key)

    async def delete(self, file_id: str) -> bool:
        """Delete the row, then the bytes; False if there was no such file."""
        deleted = await self.store.delete(Kind.file, file_id)
        if deleted:  # (a view of another project deletes nothing, bytes included)
            await self.blobs.delete(file_id)
        return deleted


async def _empty() -> AsyncIterator[bytes]:
    return
    yield  # pragma: no cover - makes this an async generator


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk
