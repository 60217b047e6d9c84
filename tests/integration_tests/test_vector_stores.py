"""Vector stores over HTTP with the real SDK: stores, files, batches, parsing outcomes,
bad input, search with filters — on the shared (lexical) server, sync and async."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from langchain_assistants.server.embedded import start_server
from tests.unit_tests.test_retrieval_units import make_docx, make_pdf

TIMEOUT = 90.0


def upload(client: OpenAI, name: str, content: bytes) -> str:
    return client.files.create(file=(name, content), purpose="assistants").id


def settled(client: OpenAI, vector_store_id: str) -> Any:
    """The store once no file is in progress (the server ingests in the background)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        store = client.vector_stores.retrieve(vector_store_id)
        if store.status != "in_progress":
            return store
        assert time.monotonic() < deadline, f"{vector_store_id} still in progress"
        time.sleep(0.05)


def test_create_store_with_files_ingests_every_format(client: OpenAI) -> None:
    files = {
        "notes.txt": b"Plain text about penguins.",
        "guide.md": b"# Guide\n\nMarkdown about walruses.",
        "page.html": b"<html><body><p>HTML about narwhals</p></body></html>",
        "data.json": b'{"animal": "manatee"}',
        "paper.pdf": make_pdf("A PDF about axolotls."),
        "report.docx": make_docx("A DOCX about quokkas."),
        "code.py": b"def capybara():\n    return 'capybara'\n",
    }
    ids = {name: upload(client, name, content) for name, content in files.items()}
    store = client.vector_stores.create(name="zoo", file_ids=list(ids.values()))
    assert store.object == "vector_store" and store.name == "zoo"
    assert store.file_counts.total == len(files)
    store = settled(client, store.id)
    assert store.status == "completed"
    assert store.file_counts.completed == len(files) and store.file_counts.failed == 0
    assert store.usage_bytes > 0
    for name, animal in [
        ("notes.txt", "penguins"),
        ("guide.md", "walruses"),
        ("page.html", "narwhals"),
        ("data.json", "manatee"),
        ("paper.pdf", "axolotls"),
        ("report.docx", "quokkas"),
        ("code.py", "capybara"),
    ]:
        hits = client.vector_stores.search(store.id, query=animal).data
        assert hits and hits[0].file_id == ids[name], animal
        assert hits[0].filename == name and animal in hits[0].content[0].text
        assert 0 < hits[0].score <= 1
    vs_file = client.vector_stores.files.retrieve(ids["notes.txt"], vector_store_id=store.id)
    assert vs_file.status == "completed" and vs_file.last_error is None
    assert vs_file.chunking_strategy is not None
    assert vs_file.chunking_strategy.type == "static"
    assert vs_file.chunking_strategy.static.max_chunk_size_tokens == 800  # type: ignore[union-attr]
    assert vs_file.chunking_strategy.static.chunk_overlap_tokens == 400  # type: ignore[union-attr]


def test_bad_files_fail_with_last_error_and_the_batch_goes_on(client: OpenAI) -> None:
    good = upload(client, "good.txt", b"the good file mentions saffron")
    blank = upload(client, "blank.txt", b"   \n  ")
    binary = upload(client, "binary.txt", bytes(range(256)) * 8)
    corrupt = upload(client, "broken.pdf", b"%PDF-1.4\n%%garbage, not a PDF at all")
    image = upload(client, "picture.png", b"\x89PNG\r\n\x1a\nnot really")
    store = client.vector_stores.create(name="bad")
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=[good, blank, binary, corrupt, image]
    )
    assert batch.status == "completed"
    assert batch.file_counts.completed == 1 and batch.file_counts.failed == 4
    errors = {
        f.id: f.last_error
        for f in client.vector_stores.files.list(store.id, filter="failed", limit=100)
    }
    assert set(errors) == {blank, binary, corrupt, image}
    assert errors[blank] is not None and errors[blank].code == "invalid_file"
    assert "No text" in errors[blank].message
    assert errors[binary] is not None and errors[binary].code == "invalid_file"
    assert "not text" in errors[binary].message
    assert errors[corrupt] is not None and errors[corrupt].code == "invalid_file"
    assert "PDF" in errors[corrupt].message
    assert errors[image] is not None and errors[image].code == "unsupported_file"
    assert [f.id for f in client.vector_stores.files.list(store.id, filter="completed")] == [good]
    assert client.vector_stores.search(store.id, query="saffron").data[0].file_id == good


def test_upload_and_poll_helpers(client: OpenAI) -> None:
    store = client.vector_stores.create(name="helpers")
    one = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("single.txt", io.BytesIO(b"single file about cobalt"))
    )
    assert one.status == "completed"
    batch = client.vector_stores.file_batches.upload_and_poll(
        store.id,
        files=[("a.txt", b"first about tungsten"), ("b.txt", b"second about bismuth")],
    )
    assert batch.status == "completed" and batch.file_counts.completed == 2
    listed = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    assert len(listed.data) == 2
    made = client.vector_stores.files.create_and_poll(
        file_id=upload(client, "c.txt", b"third about osmium"), vector_store_id=store.id
    )
    assert made.status == "completed"
    assert settled(client, store.id).file_counts.completed == 4


def test_store_crud_expiry_and_metadata(client: OpenAI) -> None:
    store = client.vector_stores.create(
        name="crud", metadata={"team": "a"}, expires_after={"anchor": "last_active_at", "days": 7}
    )
    assert store.expires_after is not None and store.expires_after.days == 7
    assert store.expires_at == store.last_active_at + 7 * 86400  # type: ignore[operator]
    assert store.status == "completed" and store.file_counts.total == 0
    changed = client.vector_stores.update(store.id, name="renamed", metadata={"team": "b"})
    assert changed.name == "renamed" and changed.metadata == {"team": "b"}
    assert client.vector_stores.retrieve(store.id).name == "renamed"
    ids = [s.id for s in client.vector_stores.list(limit=100)]
    assert store.id in ids
    deleted = client.vector_stores.delete(store.id)
    assert deleted.deleted and deleted.id == store.id
    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.retrieve(store.id)
    assert store.id in info.value.message


def test_list_pagination(client: OpenAI) -> None:
    made = [client.vector_stores.create(name=f"page-{i}").id for i in range(3)]
    page = client.vector_stores.list(limit=2, order="asc", after=made[0])
    assert [s.id for s in page.data] == made[1:]
    first = client.vector_stores.list(limit=1, order="desc")
    assert first.data[0].id == made[-1] and first.has_more


def test_file_attributes_filters_and_search_options(client: OpenAI) -> None:
    store = client.vector_stores.create(name="filters")
    specs = [
        ("2019.txt", {"year": 2019, "team": "red", "public": True}),
        ("2021.txt", {"year": 2021, "team": "blue", "public": False}),
        ("2023.txt", {"year": 2023, "team": "red", "public": True}),
    ]
    ids = {}
    for name, attrs in specs:
        fid = upload(client, name, f"quarterly report on turbines for {name}".encode())
        ids[name] = fid
        client.vector_stores.files.create(vector_store_id=store.id, file_id=fid, attributes=attrs)
    settled(client, store.id)
    red = client.vector_stores.search(
        store.id, query="turbines", filters={"type": "eq", "key": "team", "value": "red"}
    )
    assert {h.file_id for h in red} == {ids["2019.txt"], ids["2023.txt"]}
    assert all(h.attributes and h.attributes["team"] == "red" for h in red)
    recent_public = client.vector_stores.search(
        store.id,
        query="turbines",
        filters={
            "type": "and",
            "filters": [
                {"type": "gte", "key": "year", "value": 2020},
                {"type": "eq", "key": "public", "value": True},
            ],
        },
    )
    assert [h.file_id for h in recent_public] == [ids["2023.txt"]]
    either = client.vector_stores.search(
        store.id,
        query="turbines",
        filters={
            "type": "or",
            "filters": [
                {"type": "lt", "key": "year", "value": 2020},
                {"type": "ne", "key": "team", "value": "red"},
            ],
        },
    )
    assert {h.file_id for h in either} == {ids["2019.txt"], ids["2021.txt"]}
    assert len(client.vector_stores.search(store.id, query="turbines", max_num_results=1).data) == 1
    none = client.vector_stores.search(
        store.id, query="turbines", ranking_options={"score_threshold": 0.999}
    )
    assert none.data == []
    # Changing a file's attributes changes what a filter finds.
    client.vector_stores.files.update(
        ids["2021.txt"], vector_store_id=store.id, attributes={"team": "red", "year": 2021}
    )
    red = client.vector_stores.search(
        store.id, query="turbines", filters={"type": "eq", "key": "team", "value": "red"}
    )
    assert len(red.data) == 3
    for bad in (0, 51):
        with pytest.raises(openai.BadRequestError) as info:
            client.vector_stores.search(store.id, query="x", max_num_results=bad)
        assert "max_num_results" in info.value.message
    with pytest.raises(openai.BadRequestError) as info:
        client.vector_stores.search(
            store.id,
            query="x",
            filters={"type": "like", "key": "a", "value": 1},  # type: ignore[arg-type]
        )
    assert "filters.type" in info.value.message


def test_file_content_delete_and_deleting_the_file_itself(client: OpenAI) -> None:
    store = client.vector_stores.create(name="removal")
    keep = upload(client, "keep.txt", b"kept file talks about marmalade")
    drop = upload(client, "drop.txt", b"removed file talks about marmalade and jam")
    gone = upload(client, "gone.txt", b"deleted file talks about marmalade and toast")
    client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=[keep, drop, gone]
    )
    content = client.vector_stores.files.content(file_id=drop, vector_store_id=store.id)
    assert [c.text for c in content] == ["removed file talks about marmalade and jam"]
    assert len(client.vector_stores.search(store.id, query="marmalade").data) == 3
    deleted = client.vector_stores.files.delete(drop, vector_store_id=store.id)
    assert deleted.deleted and deleted.object == "vector_store.file.deleted"
    client.files.delete(gone)  # the Files API delete takes it out of every store
    hits = client.vector_stores.search(store.id, query="marmalade").data
    assert [h.file_id for h in hits] == [keep]
    store = client.vector_stores.retrieve(store.id)
    assert store.file_counts.total == 1 and store.file_counts.completed == 1
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve(drop, vector_store_id=store.id)
    assert client.files.retrieve(drop).id == drop  # the file itself stays


def test_static_chunking_strategy_over_http(client: OpenAI) -> None:
    long_text = " ".join(f"token{i}" for i in range(2000)).encode()
    fid = upload(client, "long.txt", long_text)
    store = client.vector_stores.create(
        name="static",
        file_ids=[fid],
        chunking_strategy={
            "type": "static",
            "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50},
        },
    )
    settled(client, store.id)
    chunks = list(client.vector_stores.files.content(file_id=fid, vector_store_id=store.id))
    assert len(chunks) > 20
    got = client.vector_stores.files.retrieve(fid, vector_store_id=store.id)
    assert got.chunking_strategy.static.max_chunk_size_tokens == 100  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError) as info:
        client.vector_stores.create(
            file_ids=[fid],
            chunking_strategy={
                "type": "static",
                "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 51},
            },
        )
    assert info.value.body["param"] == "chunking_strategy.static.chunk_overlap_tokens"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as info:
        client.vector_stores.files.create(
            vector_store_id=store.id,
            file_id=fid,
            chunking_strategy={
                "type": "static",
                "static": {"max_chunk_size_tokens": 50, "chunk_overlap_tokens": 0},
            },
        )
    assert "max_chunk_size_tokens" in info.value.message


def test_unknown_ids_answer_4xx_naming_them(client: OpenAI) -> None:
    real = upload(client, "real.txt", b"real")
    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.retrieve("vs_nowhere")
    assert "vs_nowhere" in info.value.message
    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.search("vs_nowhere", query="x")
    assert "vs_nowhere" in info.value.message
    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.files.create(vector_store_id="vs_nowhere", file_id=real)
    assert "vs_nowhere" in info.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        client.vector_stores.create(file_ids=[real, "file-missing"])
    assert "file-missing" in bad.value.message and bad.value.body["param"] == "file_ids[1]"  # type: ignore[index]
    store = client.vector_stores.create(name="unknowns")
    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.files.create(vector_store_id=store.id, file_id="file-missing")
    assert "file-missing" in info.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        client.vector_stores.file_batches.create(store.id, file_ids=[real, "file-ghost"])
    assert "file-ghost" in bad.value.message
    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.file_batches.retrieve("vsfb_nowhere", vector_store_id=store.id)
    assert "vsfb_nowhere" in info.value.message
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve("file-missing", vector_store_id=store.id)
    # Nothing was half-created by the refused requests.
    assert client.vector_stores.retrieve(store.id).file_counts.total == 0


def test_ten_thousand_files_in_one_batch_is_refused_and_the_server_stays_up(
    client: OpenAI,
) -> None:
    store = client.vector_stores.create(name="huge")
    ids = [f"file-{i:06d}" for i in range(10_000)]
    with pytest.raises(openai.BadRequestError) as info:
        client.vector_stores.file_batches.create(store.id, file_ids=ids)
    assert "2000" in info.value.message and info.value.body["param"] == "file_ids"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as info:
        client.vector_stores.create(file_ids=ids[:501])
    assert "500" in info.value.message
    assert client.vector_stores.retrieve(store.id).file_counts.total == 0


def test_cancel_a_batch(client: OpenAI) -> None:
    store = client.vector_stores.create(name="cancel")
    ids = [upload(client, f"n{i}.txt", f"note {i} about gravel".encode()) for i in range(30)]
    batch = client.vector_stores.file_batches.create(store.id, file_ids=ids)
    cancelled = client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    assert cancelled.status in ("cancelled", "completed")
    final = settled(client, store.id)
    counts = client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id)
    assert counts.file_counts.in_progress == 0
    assert counts.file_counts.completed + counts.file_counts.cancelled == 30
    assert final.file_counts.cancelled == counts.file_counts.cancelled
    if counts.file_counts.cancelled:
        assert counts.status == "cancelled"
        cancelled_ids = {
            f.id for f in client.vector_stores.files.list(store.id, filter="cancelled", limit=100)
        }
        hits = client.vector_stores.search(store.id, query="gravel", max_num_results=50)
        assert not cancelled_ids & {h.file_id for h in hits}


async def test_async_client_end_to_end(async_client: AsyncOpenAI) -> None:
    fid = (
        await async_client.files.create(
            file=("async.txt", b"async ingestion of the word heliotrope"), purpose="assistants"
        )
    ).id
    store = await async_client.vector_stores.create(name="async")
    vs_file = await async_client.vector_stores.files.create_and_poll(
        file_id=fid, vector_store_id=store.id, attributes={"kind": "note"}
    )
    assert vs_file.status == "completed" and vs_file.attributes == {"kind": "note"}
    batch = await async_client.vector_stores.file_batches.upload_and_poll(
        store.id, files=[("x.md", b"# heliotrope\nmarkdown"), ("y.txt", b"unrelated")]
    )
    assert batch.file_counts.completed == 2
    page = await async_client.vector_stores.search(store.id, query="heliotrope")
    assert page.data[0].file_id in {fid} | {
        f.id async for f in async_client.vector_stores.files.list(store.id)
    }
    listed = [f async for f in async_client.vector_stores.files.list(store.id, filter="completed")]
    assert len(listed) == 3
    with pytest.raises(openai.NotFoundError):
        await async_client.vector_stores.retrieve("vs_async_nowhere")
    assert (await async_client.vector_stores.delete(store.id)).deleted


def test_batch_with_per_file_attributes_and_strategies(client: OpenAI) -> None:
    store = client.vector_stores.create(name="per-file")
    long_text = " ".join(f"gear{i}" for i in range(600)).encode()
    small = upload(client, "small.txt", b"per-file attributes on a small file about kelp")
    big = upload(client, "big.txt", long_text)
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id,
        files=[
            {"file_id": small, "attributes": {"shelf": "a"}},
            {
                "file_id": big,
                "attributes": {"shelf": "b"},
                "chunking_strategy": {
                    "type": "static",
                    "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0},
                },
            },
        ],
    )
    assert batch.file_counts.completed == 2
    got = {f.id: f for f in client.vector_stores.files.list(store.id)}
    assert got[small].attributes == {"shelf": "a"} and got[big].attributes == {"shelf": "b"}
    assert got[big].chunking_strategy.static.max_chunk_size_tokens == 100  # type: ignore[union-attr]
    assert got[small].chunking_strategy.static.max_chunk_size_tokens == 800  # type: ignore[union-attr]
    shelf_a = client.vector_stores.search(
        store.id, query="kelp gear1", filters={"type": "eq", "key": "shelf", "value": "a"}
    )
    assert {h.file_id for h in shelf_a} == {small}
    with pytest.raises(openai.BadRequestError) as info:
        client.vector_stores.file_batches.create(
            store.id, files=[{"file_id": small, "attributes": {f"k{i}": i for i in range(17)}}]
        )
    assert "files[0].attributes" in info.value.message


def test_vector_stores_belong_to_the_project_of_their_key(tmp_path: Path) -> None:
    key_a, key_b = "sk-alpha-" + "a" * 24, "sk-beta-" + "b" * 24
    keys = tmp_path / "keys.txt"
    keys.write_text(f"{key_a} alpha\n{key_b} beta\n")
    with start_server(
        db=str(tmp_path / "projects.db"),
        api_keys_file=keys,
        sandbox_dir=tmp_path / "sb",
        files_dir=tmp_path / "f",
    ) as srv:
        a = OpenAI(base_url=srv.base_url, api_key=key_a, max_retries=0)
        b = OpenAI(base_url=srv.base_url, api_key=key_b, max_retries=0)
        fid = upload(a, "alpha.txt", b"alpha's private note about cinnabar")
        store = a.vector_stores.create(name="alpha", file_ids=[fid])
        settled(a, store.id)
        assert a.vector_stores.search(store.id, query="cinnabar").data
        for call in (
            lambda: b.vector_stores.retrieve(store.id),
            lambda: b.vector_stores.search(store.id, query="cinnabar"),
            lambda: b.vector_stores.files.list(store.id),
            lambda: b.vector_stores.files.create(vector_store_id=store.id, file_id=fid),
            lambda: b.vector_stores.delete(store.id),
        ):
            with pytest.raises(openai.NotFoundError) as info:
                call()
            assert store.id in info.value.message
        assert store.id not in {s.id for s in b.vector_stores.list()}
        own = b.vector_stores.create(name="beta")
        with pytest.raises(openai.NotFoundError) as info:
            b.vector_stores.files.create(vector_store_id=own.id, file_id=fid)  # alpha's file
        assert fid in info.value.message
        assert {s.id for s in a.vector_stores.list()} == {store.id}
