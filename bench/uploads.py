"""Section 8: file uploads — throughput and the server's peak memory, by size and blob store.

The server runs in its own process (``langchain-assistants serve``) so its peak resident
memory (``VmHWM`` in ``/proc``) is its own; each size is uploaded through the SDK from a
file handle, then downloaded, on a fresh server per blob store (a directory beside the
SQLite database, and the database's ``file_blobs`` table). The memory number is the growth
of the peak over the idle server's: streaming keeps it flat as files grow.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from openai import OpenAI

from langchain_assistants.testing.cli_server import CliServer, start_cli_server

from .markdown import num, table
from .sizes import Sizes

STORES = ("directory", "database")
MIB = 1024 * 1024


@dataclass(frozen=True)
class UploadRow:
    store: str
    mib: int
    upload_mib_s: float
    download_mib_s: float
    #: Growth of the server's peak RSS over its idle peak, after upload and download.
    peak_growth_mib: float
    idle_peak_mib: float


@contextmanager
def cli_server(tmp: Path, store: str) -> Iterator[CliServer]:
    """``langchain-assistants serve`` in a child process, on a fresh database."""
    with start_cli_server(
        *("--db", str(tmp / f"uploads-{store}.db"), "--file-storage", store),
        *("--log-level", "warning"),
        log=tmp / f"uploads-{store}.log",
    ) as server:
        yield server


def _write_file(path: Path, mib: int) -> None:
    block = bytes(range(256)) * 4096
    with path.open("wb") as out:
        for _ in range(mib):
            out.write(block)


def _measure(client: OpenAI, server: CliServer, source: Path, store: str, mib: int) -> UploadRow:
    idle = server.status_kb("VmHWM") * 1024
    started = time.perf_counter()
    with source.open("rb") as handle:
        created = client.files.create(file=(source.name, handle), purpose="assistants")
    uploaded = time.perf_counter() - started
    started = time.perf_counter()
    with client.with_streaming_response.files.content(created.id) as response:
        received = sum(len(chunk) for chunk in response.iter_bytes(MIB))
    downloaded = time.perf_counter() - started
    if received != mib * MIB:
        raise RuntimeError(f"downloaded {received} bytes of {mib * MIB}")
    growth = server.status_kb("VmHWM") * 1024 - idle
    client.files.delete(created.id)
    return UploadRow(store, mib, mib / uploaded, mib / downloaded, growth / MIB, idle / MIB)


def run(sizes: Sizes, tmp: Path, log: Callable[[str], None]) -> list[UploadRow]:
    rows = []
    for store in STORES:
        for mib in sorted(sizes.upload_mib):
            source = tmp / f"upload-{mib}.bin"
            if not source.exists():
                _write_file(source, mib)
            log(f"uploads: {mib} MiB into the {store} store")
            with (
                cli_server(tmp, store) as server,
                OpenAI(
                    base_url=server.base_url, api_key="bench", max_retries=0, timeout=1800
                ) as client,
            ):
                rows.append(_measure(client, server, source, store, mib))
    return rows


def section(rows: list[UploadRow] | None) -> list[str]:
    lines = [
        "## 8. File uploads",
        "",
        "`files.create` from a file handle, then `files.content` streamed back, each size on a "
        "fresh server process; *peak growth* is how far the server's peak RSS (VmHWM) rose "
        "above the idle server's during both. Uploads are parsed as they stream and written "
        "straight to the blob store, so the growth should stay flat as files grow.",
        "",
    ]
    if not rows:
        return [*lines, "not run", ""]
    lines += table(
        ["blob store", "file MiB", "upload MiB/s", "download MiB/s", "peak growth MiB", "idle MiB"],
        [
            [
                r.store,
                str(r.mib),
                num(r.upload_mib_s),
                num(r.download_mib_s),
                num(r.peak_growth_mib),
                num(r.idle_peak_mib),
            ]
            for r in rows
        ],
    )
    for store in STORES:
        mine = sorted((r for r in rows if r.store == store), key=lambda r: r.mib)
        if len(mine) >= 2:
            small, large = mine[0], mine[-1]
            lines.append(
                f"- {store}: {large.mib / small.mib:g}x the bytes moved the peak growth from "
                f"{num(small.peak_growth_mib)} to {num(large.peak_growth_mib)} MiB."
            )
    return [*lines, ""]
