"""A 200 MB upload and download through the SDK with a server in its own process, on both
blob stores: the bytes arrive intact and the server's peak memory (VmHWM) grows by far
less than the file's size."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

SIZE = 200 * 1024 * 1024
# The server may grow by some buffers, never by a copy of the file.
MAX_GROWTH = 48 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.fixture(params=["directory", "database"])
def cli_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, int, Path | None]]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "langchain_assistants.cli",
            "serve",
            "--port",
            str(port),
            "--db",
            str(tmp_path / "big.db"),
            "--log-level",
            "warning",
            "--file-storage",
            request.param,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        # Where the bytes should be on disk (None: in the database).
        yield (
            url + "/v1",
            proc.pid,
            tmp_path / "big-files" if request.param == "directory" else None,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_200mb_upload_and_download_stream(
    cli_server: tuple[str, int, Path | None], tmp_path: Path
) -> None:
    base_url, pid, files_dir = cli_server
    source = tmp_path / "big.bin"
    digest = hashlib.sha256()
    block = bytes(range(256)) * 4096  # 1 MiB
    with source.open("wb") as out:
        for i in range(SIZE // len(block)):
            piece = block[i % 256 :] + block[: i % 256]
            digest.update(piece)
            out.write(piece)
    with OpenAI(base_url=base_url, api_key="k", max_retries=0, timeout=600) as client:
        before = _peak_rss(pid)
        with source.open("rb") as handle:
            created = client.files.create(file=("big.bin", handle), purpose="assistants")
        upload_growth = _peak_rss(pid) - before
        assert created.bytes == SIZE
        downloaded = hashlib.sha256()
        with client.with_streaming_response.files.content(created.id) as response:
            for chunk in response.iter_bytes(1 << 20):
                downloaded.update(chunk)
        growth = _peak_rss(pid) - before
        assert downloaded.hexdigest() == digest.hexdigest()
        assert upload_growth < MAX_GROWTH, f"upload grew the server by {upload_growth >> 20} MiB"
        assert growth < MAX_GROWTH, f"download grew the server by {growth >> 20} MiB"
        stored = (files_dir or tmp_path / "big-files") / created.id
        assert stored.exists() is (files_dir is not None)
        assert client.files.delete(created.id).deleted
        assert not stored.exists()
        assert client.files.list().data == []
