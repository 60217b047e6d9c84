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
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

CLI_KEY = "fault-matrix-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """``python -m langchain_assistants serve`` in its own process group."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    killed: bool = field(default=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, no shutdown code runs."""
        if not self.killed:
            self.killed = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait (a normal shutdown), SIGKILL if it does not stop."""
        if self.killed or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()

    def rss_kb(self) -> int:
        """Resident memory of the server process (VmRSS in /proc/PID/status)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS in /proc status")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def fd_targets(self) -> list[str]:
        """What each open descriptor points at (for a failure message)."""
        targets = []
        for fd in sorted(os.listdir(f"/proc/{self.pid}/fd"), key=int):
            with contextlib.suppress(OSError):
                targets.append(os.readlink(f"/proc/{self.pid}/fd/{fd}"))
        return targets


@contextlib.contextmanager
def cli_server(db: Path, model: str, *extra: str) -> Iterator[ServerProcess]:
    """Start the CLI server on ``db`` and a free loopback port; stop it at the end."""
    port = free_port()
    log = db.with_suffix(f".{port}.log")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "langchain_assistants",
                "serve",
                "--port",
                str(port),
                "--db",
                str(db),
                "--model",
                model,
                "--api-key",
                CLI_KEY,
                "--log-level",
                "warning",
                *extra,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServerProcess(proc, port, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx2.TransportError):
                if httpx2.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


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
