"""Start-up upgrade of databases written by earlier versions of the server.

Before the blob store, the ``files`` table kept each figure's bytes in a ``content`` column
and had no ``purpose`` column. On such a database this moves every file's bytes into the
blob store (bytes first, so a crash half-way loses nothing and the next start resumes),
adds ``purpose`` and drops ``content``. ``create_all`` only creates missing tables, so
this is the one place an existing table changes shape.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import inspect, text

from .blobs import BlobStore
from .repository import Store

log = logging.getLogger(__name__)


def _file_columns(conn: Any) -> set[str]:
    inspector = inspect(conn)
    if not inspector.has_table("files"):
        return set()
    return {column["name"] for column in inspector.get_columns("files")}


async def upgrade_files_table(store: Store, blobs: BlobStore) -> None:
    """Bring an old ``files`` table to the current shape (a no-op on a current one)."""
    async with store.engine.connect() as conn:
        columns = await conn.run_sync(_file_columns)
    if not columns or ("content" not in columns and "purpose" in columns):
        return
    log.warning("upgrading the files table: moving file bytes to %s", blobs.description)
    if "purpose" not in columns:
        async with store.session(write=True) as s:
            await s.execute(
                text(
                    "ALTER TABLE files ADD COLUMN purpose VARCHAR(32) "
                    "NOT NULL DEFAULT 'assistants_output'"
                )
            )
            await s.execute(text("CREATE INDEX IF NOT EXISTS ix_files_purpose ON files (purpose)"))
    if "content" in columns:
        async with store.session(write=False) as s:
            ids = list((await s.scalars(text("SELECT id FROM files"))).all())
        for file_id in ids:
            if await blobs.exists(file_id):
                continue
            async with store.session(write=False) as s:
                content = await s.scalar(
                    text("SELECT content FROM files WHERE id = :id"), {"id": file_id}
                )
            writer = blobs.writer(file_id)
            await writer.write(bytes(content or b""))
            await writer.commit()
        async with store.session(write=True) as s:
            await s.execute(text("ALTER TABLE files DROP COLUMN content"))
