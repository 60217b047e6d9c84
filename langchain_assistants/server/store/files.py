"""Files: metadata rows in the database, bytes in the blob store, kept in step.

The order of writes means a row never points at missing bytes: a new file's blob is
committed before its row is inserted, and a deleted file's row goes before its blob. A
crash in between leaves at worst an orphan blob, never a row without bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ..wire import file_object, new_file_id
from .blobs import BlobStore, BlobWriter, copy_to_path, read_all, write_path
from .repository import Kind, Store


class FileStore:
    """Create, read and delete files; the one place that touches file bytes."""

    def __init__(self, store: Store, blobs: BlobStore) -> None:
        self.store = store
        self.blobs = blobs

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

    async def delete(self, file_id: str) -> bool:
        """Delete the row, then the bytes; False if there was no such file."""
        deleted = await self.store.delete(Kind.file, file_id)
        await self.blobs.delete(file_id)
        return deleted


async def _empty() -> AsyncIterator[bytes]:
    return
    yield  # pragma: no cover - makes this an async generator


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk
