"""The Files API through the real SDK: upload, list (purpose, pagination), retrieve, content,
delete, on both blob stores; limits and bad input answer 4xx and leave nothing behind."""

from __future__ import annotations

import io
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from langchain_assistants.server.embedded import RunningServer, start_server

LIMIT = 4096


@pytest.fixture(scope="module", params=["directory", "database"])
def files_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, Path]]:
    """A server with a small upload limit, its bytes in a directory or in the database
    (on the suite's PostgreSQL when LANGCHAIN_ASSISTANTS_TEST_DB names one)."""
    tmp = tmp_path_factory.mktemp(f"files-{request.param}")
    with start_server(
        db=os.environ.get("LANGCHAIN_ASSISTANTS_TEST_DB") or str(tmp / "files.db"),
        file_storage=request.param,
        files_dir=tmp / "blobs",
        max_file_bytes=LIMIT,
        sandbox_dir=tmp / "sandbox",
    ) as srv:
        yield srv, tmp / "blobs"


@pytest.fixture
def fclient(files_server: tuple[RunningServer, Path]) -> Iterator[OpenAI]:
    with OpenAI(base_url=files_server[0].base_url, api_key="k", max_retries=0) as c:
        yield c


def _partials(blob_dir: Path) -> list[Path]:
    return list(blob_dir.glob(".partial-*")) if blob_dir.is_dir() else []


def test_upload_retrieve_content_delete(fclient: OpenAI) -> None:
    data = b"name,score\nada,3\n"
    created = fclient.files.create(file=("scores.csv", data), purpose="assistants")
    assert created.id.startswith("file-") and created.object == "file"
    assert (created.bytes, created.filename, created.purpose) == (
        len(data),
        "scores.csv",
        "assistants",
    )
    assert created.status == "processed"
    assert fclient.files.retrieve(created.id) == created
    assert fclient.files.content(created.id).content == data
    deleted = fclient.files.delete(created.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (created.id, True, "file")
    with pytest.raises(openai.NotFoundError, match="No file found"):
        fclient.files.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        fclient.files.content(created.id)
    with pytest.raises(openai.NotFoundError):
        fclient.files.delete(created.id)


def test_every_assistant_purpose_is_accepted_and_filtered(fclient: OpenAI) -> None:
    ids = {
        purpose: fclient.files.create(file=(f"{purpose}.txt", b"x"), purpose=purpose).id  # type: ignore[arg-type]
        for purpose in ("assistants", "vision", "user_data")
    }
    for purpose, file_id in ids.items():
        listed = [f.id for f in fclient.files.list(purpose=purpose)]
        assert file_id in listed
        assert not set(listed) & (set(ids.values()) - {file_id})


def test_pagination_limit_order_after(fclient: OpenAI) -> None:
    ids = [
        fclient.files.create(file=(f"p{i}.txt", b"page"), purpose="user_data").id for i in range(5)
    ]
    first = fclient.files.list(purpose="user_data", limit=2, order="asc", after=ids[0])
    assert [f.id for f in first.data] == ids[1:3] and first.has_more
    rest = fclient.files.list(purpose="user_data", limit=2, order="asc", after=ids[2])
    assert [f.id for f in rest.data] == ids[3:5] and not rest.has_more
    newest = fclient.files.list(purpose="user_data", limit=1, order="desc")
    assert [f.id for f in newest.data] == [ids[-1]]
    walked = [f.id for f in fclient.files.list(purpose="user_data", limit=2, order="asc")]
    assert walked[-5:] == ids  # the SDK's auto-pagination follows after= cursors


def test_bad_purpose_is_400_naming_purpose(fclient: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        fclient.files.create(file=("a.jsonl", b"{}"), purpose="fine-tune")
    assert err.value.param == "purpose" and "fine-tune" in err.value.message


def test_empty_file_is_400(fclient: OpenAI, files_server: tuple[RunningServer, Path]) -> None:
    before = len(fclient.files.list().data)
    with pytest.raises(openai.BadRequestError) as err:
        fclient.files.create(file=("empty.txt", b""), purpose="assistants")
    assert err.value.param == "file" and "empty" in err.value.message
    assert len(fclient.files.list().data) == before
    assert not _partials(files_server[1])


def test_oversize_file_is_413_and_nothing_is_kept(
    fclient: OpenAI, files_server: tuple[RunningServer, Path]
) -> None:
    before = len(fclient.files.list().data)
    with pytest.raises(openai.APIStatusError) as err:
        fclient.files.create(file=("big.bin", io.BytesIO(b"z" * (LIMIT + 1))), purpose="assistants")
    assert err.value.status_code == 413
    assert err.value.body["param"] == "file" and str(LIMIT) in err.value.message  # type: ignore[index]
    assert len(fclient.files.list().data) == before
    assert not _partials(files_server[1])
    exact = fclient.files.create(file=("ok.bin", b"z" * LIMIT), purpose="assistants")
    assert exact.bytes == LIMIT


def test_filename_loses_directories(fclient: OpenAI) -> None:
    created = fclient.files.create(file=("../../etc/notes.md", b"# hi"), purpose="assistants")
    assert created.filename == "notes.md"


def test_missing_parts_are_400(files_server: tuple[RunningServer, Path]) -> None:
    import httpx

    url = files_server[0].base_url + "/files"
    no_file = httpx.post(url, data={"purpose": "assistants"})
    assert no_file.status_code == 400 and no_file.json()["error"]["param"] == "file"
    no_purpose = httpx.post(url, files={"file": ("a.txt", b"a")})
    assert no_purpose.status_code == 400 and no_purpose.json()["error"]["param"] == "purpose"
    not_multipart = httpx.post(url, json={"purpose": "assistants"})
    assert not_multipart.status_code == 400


def test_client_disconnect_mid_upload_leaves_nothing(
    fclient: OpenAI, files_server: tuple[RunningServer, Path]
) -> None:
    server, blob_dir = files_server
    before = len(fclient.files.list().data)
    host, port = server.base_url.split("//")[1].split("/")[0].split(":")
    head = (
        b"--B\r\n"
        b'Content-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="cut.txt"\r\n\r\n'
    )
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /v1/files HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: multipart/form-data; boundary=B\r\n"
            b"Content-Length: 100000\r\n\r\n" + head + b"q" * 2000
        )
        time.sleep(0.3)  # let the server start writing the part (not a timing assertion)
    deadline = time.monotonic() + 30
    while _partials(blob_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _partials(blob_dir)
    assert len(fclient.files.list().data) == before


async def test_async_client_round_trip(files_server: tuple[RunningServer, Path]) -> None:
    async with AsyncOpenAI(base_url=files_server[0].base_url, api_key="k", max_retries=0) as c:
        created = await c.files.create(file=("a.txt", b"async bytes"), purpose="vision")
        assert (await c.files.retrieve(created.id)).filename == "a.txt"
        assert (await c.files.content(created.id)).content == b"async bytes"
        listed = [f.id async for f in c.files.list(purpose="vision")]
        assert created.id in listed
        assert (await c.files.delete(created.id)).deleted
        with pytest.raises(openai.NotFoundError):
            await c.files.retrieve(created.id)
        with pytest.raises(openai.BadRequestError) as err:
            await c.files.create(file=("a.txt", b"x"), purpose="batch")
        assert err.value.param == "purpose"


def test_blob_store_keeps_bytes_where_configured(files_server: tuple[RunningServer, Path]) -> None:
    server, blob_dir = files_server
    with OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as c:
        created = c.files.create(file=("where.txt", b"here"), purpose="assistants")
        on_disk = blob_dir / created.id
        database = "database" in str(blob_dir.parent.name)
        assert on_disk.exists() is (not database)
        c.files.delete(created.id)
        assert not on_disk.exists()


def test_partial_writes_of_a_crashed_process_are_swept_at_start(tmp_path: Path) -> None:
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    stale, fresh = blobs / ".partial-file-old-1", blobs / ".partial-file-new-2"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"another process is writing this")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    with start_server(db=str(tmp_path / "s.db"), files_dir=blobs, sandbox_dir=tmp_path / "sb"):
        assert not stale.exists() and fresh.exists()


def test_a_database_of_the_previous_version_keeps_its_files(tmp_path: Path) -> None:
    """Figures stored by the earlier schema (bytes in files.content) move to the blob store."""
    import json
    import sqlite3

    db = tmp_path / "old.db"
    data = {
        "id": "file_oldfigure",
        "object": "file",
        "bytes": 4,
        "created_at": 1,
        "filename": "figure-1.png",
        "purpose": "assistants_output",
        "status": "processed",
    }
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE files (seq INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "
            "id VARCHAR(64) NOT NULL UNIQUE, created_at BIGINT NOT NULL, data JSON NOT NULL, "
            "content BLOB NOT NULL)"
        )
        conn.execute(
            "INSERT INTO files (id, created_at, data, content) VALUES (?, 1, ?, ?)",
            ("file_oldfigure", json.dumps(data), b"\x89PNG"),
        )
    with (
        start_server(db=str(db), sandbox_dir=tmp_path / "sb") as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        assert c.files.content("file_oldfigure").content == b"\x89PNG"
        assert [f.id for f in c.files.list(purpose="assistants_output")] == ["file_oldfigure"]
        new = c.files.create(file=("new.txt", b"new"), purpose="assistants")
        assert c.files.content(new.id).content == b"new"
    with sqlite3.connect(db) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(files)")}
    assert "content" not in columns and "purpose" in columns
    assert (tmp_path / "old-files" / "file_oldfigure").read_bytes() == b"\x89PNG"


def test_stale_partial_chunks_in_the_database_are_swept_but_live_ones_stay(
    tmp_path: Path,
) -> None:
    import sqlite3

    db = tmp_path / "chunks.db"
    with start_server(db=str(db), file_storage="database", sandbox_dir=tmp_path / "sb"):
        pass  # creates the tables
    old, now = int(time.time()) - 2 * 3600, int(time.time())
    rows = [
        (".partial-file-dead-1", 0, old),  # a crashed upload
        (".partial-file-long-2", 0, old),  # a long upload still writing: newest chunk fresh
        (".partial-file-long-2", 1, now),
    ]
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO file_blobs (blob_key, part, created_at, data) VALUES (?, ?, ?, x'00')",
            rows,
        )
    with start_server(db=str(db), file_storage="database", sandbox_dir=tmp_path / "sb"):
        pass
    with sqlite3.connect(db) as conn:
        left = conn.execute("SELECT blob_key, part FROM file_blobs ORDER BY part").fetchall()
    assert left == [(".partial-file-long-2", 0), (".partial-file-long-2", 1)]


def test_a_body_arriving_in_tiny_pieces_is_parsed_intact(
    files_server: tuple[RunningServer, Path],
) -> None:
    """Part boundaries split across network reads, and boundary-like bytes in the data."""
    import httpx

    payload = b"--B not a boundary\r\n--Bx\r\n\x00\xff" * 20
    body = (
        b'--B\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="odd.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + payload + b"\r\n--B--\r\n"
    )

    def pieces() -> Iterator[bytes]:
        i, size = 0, 1
        while i < len(body):
            yield body[i : i + size]
            i, size = i + size, size % 7 + 1

    url = files_server[0].base_url + "/files"
    response = httpx.post(
        url, content=pieces(), headers={"content-type": "multipart/form-data; boundary=B"}
    )
    assert response.status_code == 200, response.text
    created = response.json()
    assert (created["filename"], created["bytes"]) == ("odd.bin", len(payload))
    assert httpx.get(f"{url}/{created['id']}/content").content == payload


@pytest.mark.parametrize("storage", ["directory", "database"])
def test_blobs_without_a_file_row_are_swept_at_start(tmp_path: Path, storage: str) -> None:
    """A crash between writing the bytes and the row leaves an orphan blob: swept once old;
    files with rows, and things in the directory that are not blobs, stay."""
    import sqlite3

    db, blobs = tmp_path / "o.db", tmp_path / "blobs"
    settings = {"file_storage": storage, "files_dir": blobs, "sandbox_dir": tmp_path / "sb"}
    with (
        start_server(db=str(db), **settings) as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        kept = c.files.create(file=("kept.txt", b"kept"), purpose="assistants")
        orphan = c.files.create(file=("orphan.txt", b"orphan"), purpose="assistants")
    old = time.time() - 2 * 3600
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM files WHERE id = ?", (orphan.id,))
        conn.execute("UPDATE file_blobs SET created_at = ?", (int(old),))
    unrelated = blobs / "notes.txt"
    blobs.mkdir(exist_ok=True)
    unrelated.write_text("not a blob")
    for path in blobs.iterdir():
        os.utime(path, (old, old))
    with (
        start_server(db=str(db), **settings) as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        assert c.files.content(kept.id).content == b"kept"
    with sqlite3.connect(db) as conn:
        keys = {row[0] for row in conn.execute("SELECT DISTINCT blob_key FROM file_blobs")}
    on_disk = {p.name for p in blobs.iterdir()}
    assert orphan.id not in keys | on_disk
    assert kept.id in (keys if storage == "database" else on_disk)
    assert unrelated.exists()


def test_a_directory_shared_by_two_databases_keeps_the_others_blobs(tmp_path: Path) -> None:
    blobs = tmp_path / "shared"
    first = {"files_dir": blobs, "sandbox_dir": tmp_path / "sb"}
    with (
        start_server(db=str(tmp_path / "a.db"), **first) as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        theirs = c.files.create(file=("a.txt", b"of database a"), purpose="assistants")
    old = time.time() - 2 * 3600
    os.utime(blobs / theirs.id, (old, old))
    with start_server(db=str(tmp_path / "b.db"), **first):
        pass
    assert (blobs / theirs.id).read_bytes() == b"of database a"
