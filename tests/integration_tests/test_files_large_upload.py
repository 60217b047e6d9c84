"""A 200 MB upload and download through the SDK with a server in its own process, on both
blob stores: the bytes arrive intact and the server's peak memory (VmHWM) grows by far
less than the file's size."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from langchain_assistants.testing.cli_server import CliServer, start_cli_server

SIZE = 200 * 1024 * 1024
# The server may grow by some buffers, never by a copy of the file.
MAX_GROWTH = 48 * 1024 * 1024


@pytest.fixture(params=["directory", "database"])
def cli_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[CliServer, Path | None]]:
    """The server and where the bytes should be on disk (None: in the database)."""
    with start_cli_server(
        *("--db", str(tmp_path / "big.db"), "--log-level", "warning"),
        *("--file-storage", request.param),
        log=tmp_path / "server.log",
    ) as server:
        yield server, tmp_path / "big-files" if request.param == "directory" else None


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_200mb_upload_and_download_stream(
    cli_server: tuple[CliServer, Path | None], tmp_path: Path
) -> None:
    server, files_dir = cli_server
    source = tmp_path / "big.bin"
    digest = hashlib.sha256()
    block = bytes(range(256)) * 4096  # 1 MiB
    with source.open("wb") as out:
        for i in range(SIZE // len(block)):
            piece = block[i % 256 :] + block[: i % 256]
            digest.update(piece)
            out.write(piece)
    with OpenAI(base_url=server.base_url, api_key="k", max_retries=0, timeout=600) as client:
        before = server.status_kb("VmHWM") * 1024
        with source.open("rb") as handle:
            created = client.files.create(file=("big.bin", handle), purpose="assistants")
        upload_growth = server.status_kb("VmHWM") * 1024 - before
        assert created.bytes == SIZE
        downloaded = hashlib.sha256()
        with client.with_streaming_response.files.content(created.id) as response:
            for chunk in response.iter_bytes(1 << 20):
                downloaded.update(chunk)
        growth = server.status_kb("VmHWM") * 1024 - before
        assert downloaded.hexdigest() == digest.hexdigest()
        assert upload_growth < MAX_GROWTH, f"upload grew the server by {upload_growth >> 20} MiB"
        assert growth < MAX_GROWTH, f"download grew the server by {growth >> 20} MiB"
        stored = (files_dir or tmp_path / "big-files") / created.id
        assert stored.exists() is (files_dir is not None)
        assert client.files.delete(created.id).deleted
        assert not stored.exists()
        assert client.files.list().data == []
