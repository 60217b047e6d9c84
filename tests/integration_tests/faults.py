"""Real faults for the fault matrix: a CLI server process to SIGKILL and measure, a SQLite
file made immutable, a database directory on a tiny filesystem that fills up.

Everything here acts on the operating system (processes, ``chattr``, ``mount``), never on
our own code. Making a file immutable and mounting a filesystem need root (or
CAP_LINUX_IMMUTABLE / CAP_SYS_ADMIN): as another user they run through ``sudo -n``
(passwordless sudo, as on CI runners).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from langchain_assistants.testing.cli_server import CliServer, start_cli_server
from langchain_assistants.testing.postgres import PostgresCluster

CLI_KEY = "fault-matrix-key"


@contextlib.contextmanager
def cli_server(db: Path, model: str, *extra: str) -> Iterator[CliServer]:
    """Start the CLI server on ``db`` and a free loopback port; stop it at the end."""
    with start_cli_server(
        *("--db", str(db), "--model", model, "--api-key", CLI_KEY, "--log-level", "warning"),
        *extra,
        log=db.with_suffix(".log"),
    ) as server:
        yield server


@contextlib.contextmanager
def postgres_stopped(pg: PostgresCluster) -> Iterator[None]:
    """PostgreSQL away for the block (a fast shutdown), started again on the same port."""
    pg.stop(mode="fast")
    try:
        yield
    finally:
        pg.start()


def privileged(*command: str, check: bool = True) -> None:
    """Run a command that needs root: directly as root, else through ``sudo -n``."""
    prefix = [] if os.geteuid() == 0 or not shutil.which("sudo") else ["sudo", "-n"]
    done = subprocess.run([*prefix, *command], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed (needs root): {done.stderr.strip()}")


def _chattr(flag: str, paths: list[Path]) -> None:
    privileged("chattr", flag, *map(str, paths))


@contextlib.contextmanager
def immutable(db: Path) -> Iterator[None]:
    """Make the SQLite file and its WAL immutable (``chattr +i``): even root's open file
    descriptors cannot write them any more, unlike ``chmod``, which root ignores."""
    paths = [p for p in (db, db.with_name(db.name + "-wal")) if p.exists()]
    _chattr("+i", paths)
    try:
        try:  # check that the fault really holds
            with open(db, "r+b") as probe:
                probe.seek(0, os.SEEK_END)
                probe.write(b"")
                os.write(probe.fileno(), b"")
        except OSError:
            pass
        else:
            raise AssertionError("chattr +i did not make the database read-only")
        yield
    finally:
        _chattr("-i", paths)


@contextlib.contextmanager
def small_filesystem(directory: Path, size_kb: int) -> Iterator[Path]:
    """A tmpfs of ``size_kb`` mounted on ``directory`` (created empty)."""
    directory.mkdir(parents=True, exist_ok=True)
    privileged("mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=1777", "tmpfs", str(directory))
    try:
        yield directory
    finally:
        privileged("umount", "-l", str(directory), check=False)


@contextlib.contextmanager
def disk_full(directory: Path) -> Iterator[None]:
    """Fill the filesystem of ``directory`` to the last byte; free it at the end."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as out:
        block = b"\0" * 65536
        with contextlib.suppress(OSError):  # ENOSPC: the disk is full
            for _ in range(100_000):  # bounded: 6.5 GB at most
                out.write(block)
        with contextlib.suppress(OSError):  # the last partial block
            for _ in range(65536):
                out.write(b"\0")
    probe = directory / "probe"
    try:
        probe.write_bytes(b"\0" * 4096)
    except OSError:
        pass
    else:
        raise AssertionError("the filesystem is not full")
    try:
        yield
    finally:
        filler.unlink()
        probe.unlink(missing_ok=True)


def checkpoint_truncate(db: Path) -> None:
    """Move the WAL into the database file and empty it, so that the next write must
    allocate new space (SQLite otherwise reuses WAL space it already has)."""
    import sqlite3

    conn = sqlite3.connect(db, timeout=30)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        conn.close()


def integrity_check(db: Path) -> str:
    import sqlite3

    conn = sqlite3.connect(db, timeout=30)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()
