"""Blob storage: the bytes of files, by key, written as a stream and published atomically.

Two implementations of one interface:

- :class:`DirectoryBlobStore` keeps each blob as a file in a directory (the default beside a
  SQLite database). A write goes to a hidden ``.partial-*`` file that is fsynced and renamed
  into place on :meth:`BlobWriter.commit`, so a reader never sees half a blob.
- :class:`DatabaseBlobStore` keeps blobs as 1 MiB ``bytea``/BLOB chunks in the
  ``file_blobs`` table (the default on PostgreSQL): every server process using that database
  reaches the bytes, with no shared filesystem to set up. Chunks are written under a
  temporary key and renamed to the real key in one statement on commit.

Neither holds a whole blob in memory: writes are buffered up to one chunk, reads yield
chunks. Partial writes left by a crash are swept at start-up (:meth:`BlobStore.sweep`),
and so are complete blobs whose file row never came or is gone (``FileStore.sweep``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, func, select, update

from .repository import Store
from .tables import FileBlobRow

CHUNK_BYTES = 1024 * 1024
PARTIAL_PREFIX = ".partial-"
# A partial write untouched for this long belongs to a process that died.
STALE_PARTIAL_SECONDS = 3600
#: Blob keys are file ids (``file-…``; ``file_…`` from earlier versions).
FILE_KEY_PREFIXES = ("file-", "file_")
#: Names the database a blob directory belongs to (see ``BlobStore.owned_by``).
OWNER_MARKER = ".database"


class BlobWriter(Protocol):
    """One blob being written: ``write`` chunks, then ``commit`` (or ``abort``)."""

    @property
    def size(self) -> int: ...

    async def write(self, data: bytes) -> None: ...

    async def commit(self) -> int:
        """Publish the blob under its key; returns its size in bytes."""
        ...

    async def abort(self) -> None:
        """Discard what was written; the key stays absent. Safe to call twice."""
        ...


class BlobStore(Protocol):
    """Where file bytes live; keys are file ids."""

    #: Shown at start-up: where the bytes are.
    description: str

    def writer(self, key: str) -> BlobWriter: ...

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks; raises ``KeyError`` if it does not exist."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the blob if present."""
        ...

    async def sweep(self) -> None:
        """Remove partial writes abandoned by a crashed process."""
        ...

    async def old_keys(self, older_than: float) -> list[str]:
        """Keys of complete blobs last written before ``older_than`` (a Unix time)."""
        ...

    async def owned_by(self, database: str) -> bool:
        """Whether this store belongs to ``database`` alone, so that a blob without a row
        there is an orphan (a directory shared by two databases is not)."""
        ...


async def read_all(blobs: BlobStore, key: str) -> bytes:
    """A small blob's bytes in memory (images, test helpers); raises ``KeyError``."""
    return b"".join([chunk async for chunk in blobs.read(key)])


async def write_path(blobs: BlobStore, key: str, path: Path) -> int:
    """Store the file at ``path`` as blob ``key`` (streamed); returns its size."""
    writer = blobs.writer(key)
    try:
        with path.open("rb") as source:
            while chunk := await asyncio.to_thread(source.read, CHUNK_BYTES):
                await writer.write(chunk)
        return await writer.commit()
    except BaseException:
        await writer.abort()
        raise


async def copy_to_path(blobs: BlobStore, key: str, path: Path) -> int:
    """Write blob ``key`` to ``path`` atomically (temp file + rename); returns its size."""
    temp = path.with_name(f"{PARTIAL_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")
    size = 0
    try:
        with temp.open("wb") as target:
            async for chunk in blobs.read(key):
                await asyncio.to_thread(target.write, chunk)
                size += len(chunk)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return size


# -- a directory ----------------------------------------------------------------------------


class _FileWriter:
    def __init__(self, root: Path, key: str) -> None:
        self._final = root / key
        self._temp = root / f"{PARTIAL_PREFIX}{key}-{uuid.uuid4().hex[:8]}"
        self._file = self._temp.open("wb")
        self._buffer = bytearray()
        self.size = 0

    async def write(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= CHUNK_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        if self._buffer:
            data, self._buffer = bytes(self._buffer), bytearray()
            await asyncio.to_thread(self._file.write, data)

    async def commit(self) -> int:
        await self._flush()
        await asyncio.to_thread(self._finish)
        return self.size

    def _finish(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._temp, self._final)

    async def abort(self) -> None:
        self._buffer = bytearray()
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._temp.unlink()


class DirectoryBlobStore:
    """Blobs as files named by key in ``root`` (created on first use)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.description = f"directory {self.root}"

    def _path(self, key: str) -> Path:
        if not key or "/" in key or key.startswith("."):
            raise KeyError(key)
        return self.root / key

    def writer(self, key: str) -> _FileWriter:
        self._path(key)
        self.root.mkdir(parents=True, exist_ok=True)
        return _FileWriter(self.root, key)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        try:
            source = self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise KeyError(key) from exc
        with source:
            while chunk := await asyncio.to_thread(source.read, CHUNK_BYTES):
                yield chunk

    async def exists(self, key: str) -> bool:
        try:
            return self._path(key).is_file()
        except KeyError:
            return False

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError, KeyError):
            self._path(key).unlink()

    async def owned_by(self, database: str) -> bool:
        marker = self.root / OWNER_MARKER
        try:
            return marker.read_text() == database
        except FileNotFoundError:
            self.root.mkdir(parents=True, exist_ok=True)
            marker.write_text(database)
            return True
        except OSError:
            return False

    async def old_keys(self, older_than: float) -> list[str]:
        if not self.root.is_dir():
            return []
        keys = []
        for path in self.root.iterdir():
            with contextlib.suppress(OSError):
                # Only names we give blobs (file ids): the directory may hold other things.
                if path.name.startswith(FILE_KEY_PREFIXES) and path.stat().st_mtime < older_than:
                    keys.append(path.name)
        return keys

    async def sweep(self) -> None:
        if not self.root.is_dir():
            return
        cutoff = time.time() - STALE_PARTIAL_SECONDS
        for path in self.root.glob(f"{PARTIAL_PREFIX}*"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()


# -- the database ---------------------------------------------------------------------------


class _RowWriter:
    def __init__(self, store: Store, key: str) -> None:
        self._store = store
        self._key = key
        self._temp_key = f"{PARTIAL_PREFIX}{key}-{uuid.uuid4().hex[:8]}"
        self._buffer = bytearray()
        self._part = 0
        self.size = 0

    async def write(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= CHUNK_BYTES:
            chunk = bytes(self._buffer[:CHUNK_BYTES])
            del self._buffer[:CHUNK_BYTES]
            await self._insert(chunk)

    async def _insert(self, chunk: bytes) -> None:
        async with self._store.session(write=True) as s:
            s.add(
                FileBlobRow(
                    blob_key=self._temp_key,
                    part=self._part,
                    created_at=int(time.time()),
                    data=chunk,
                )
            )
        self._part += 1

    async def commit(self) -> int:
        if self._buffer or self._part == 0:
            await self._insert(bytes(self._buffer))
            self._buffer = bytearray()
        async with self._store.session(write=True) as s:
            await s.execute(
                update(FileBlobRow)
                .where(FileBlobRow.blob_key == self._temp_key)
                .values(blob_key=self._key)
            )
        return self.size

    async def abort(self) -> None:
        self._buffer = bytearray()
        async with self._store.session(write=True) as s:
            await s.execute(delete(FileBlobRow).where(FileBlobRow.blob_key == self._temp_key))


class DatabaseBlobStore:
    """Blobs as ordered chunks in the ``file_blobs`` table of the server's database."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.description = "database table file_blobs"

    def writer(self, key: str) -> _RowWriter:
        return _RowWriter(self.store, key)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        part = 0
        while True:
            async with self.store.session(write=False) as s:
                chunk = await s.scalar(
                    select(FileBlobRow.data).where(
                        FileBlobRow.blob_key == key, FileBlobRow.part == part
                    )
                )
            if chunk is None:
                if part == 0:
                    raise KeyError(key)
                return
            if chunk:
                yield bytes(chunk)
            part += 1

    async def exists(self, key: str) -> bool:
        async with self.store.session(write=False) as s:
            found = await s.scalar(
                select(FileBlobRow.part).where(FileBlobRow.blob_key == key).limit(1)
            )
        return found is not None

    async def delete(self, key: str) -> None:
        async with self.store.session(write=True) as s:
            await s.execute(delete(FileBlobRow).where(FileBlobRow.blob_key == key))

    async def owned_by(self, database: str) -> bool:
        return True  # the table is inside that database

    async def old_keys(self, older_than: float) -> list[str]:
        query = (
            select(FileBlobRow.blob_key)
            .where(~FileBlobRow.blob_key.startswith(PARTIAL_PREFIX))
            .group_by(FileBlobRow.blob_key)
            .having(func.max(FileBlobRow.created_at) < older_than)
        )
        async with self.store.session(write=False) as s:
            return list((await s.scalars(query)).all())

    async def sweep(self) -> None:
        # A partial blob is stale when its newest chunk is: a long upload still writing
        # (perhaps in another process) keeps adding fresh chunks.
        cutoff = int(time.time()) - STALE_PARTIAL_SECONDS
        stale = (
            select(FileBlobRow.blob_key)
            .where(FileBlobRow.blob_key.startswith(PARTIAL_PREFIX))
            .group_by(FileBlobRow.blob_key)
            .having(func.max(FileBlobRow.created_at) < cutoff)
        )
        async with self.store.session(write=True) as s:
            await s.execute(delete(FileBlobRow).where(FileBlobRow.blob_key.in_(stale)))
