"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb, start, stop, restart, remove.

The suite runs the server on a real PostgreSQL it starts itself (``make install`` installs
the Debian ``postgresql`` package). One cluster lives in a private temporary directory,
listens on a free loopback port (its Unix socket stays in that directory) and trusts local
connections; everything is removed at ``close()``, also when a test fails::

    with start_postgres() as pg:          # initdb + start + CREATE DATABASE assistants
        start_server(db=pg.url, ...)      # postgresql://postgres@127.0.0.1:PORT/assistants
        pg.restart()                      # same data, same port: e.g. under a running server
        pg.stop(mode="immediate")         # like a crash: recovery runs at the next start()
        pg.start()
        other = pg.create_database("other")   # a fresh, empty database's URL

PostgreSQL refuses to run as root, so when we are root every PostgreSQL program runs as the
``postgres`` system user the Debian package creates, and the directory is owned by it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal

__all__ = [
    "PostgresCluster",
    "PostgresUnavailableError",
    "find_postgres_bindir",
    "start_postgres",
]

StopMode = Literal["smart", "fast", "immediate"]

# Settings for a disposable test cluster: no fsync (a PostgreSQL crash or ``stop(immediate)``
# still loses nothing committed; only an OS crash would), enough connections for several
# servers' pools, and nothing but loopback.
_TEST_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "300",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
    "logging_collector": "off",
}


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL's server programs (initdb, pg_ctl) are not installed, or cannot run."""


def find_postgres_bindir() -> Path | None:
    """Where ``initdb``/``pg_ctl``/``postgres`` live: ``pg_config --bindir``, Debian's
    ``/usr/lib/postgresql/<ver>/bin`` (newest version first), or ``PATH``; None if absent."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
            candidates.append(Path(out))
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: _version_key(Path(p).parent.name),
        reverse=True,
    )
    candidates.extend(Path(p) for p in versions)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """One disposable PostgreSQL cluster (see the module docstring).

    ``url`` is ``postgresql://postgres@127.0.0.1:PORT/DBNAME`` (trust auth, no password);
    ``url_for(name)`` the URL of another database on the same cluster. The port stays the
    same across ``stop()``/``start()``/``restart()``, so URLs handed out remain valid.
    """

    user = "postgres"

    def __init__(
        self, *, dbname: str = "assistants", bindir: Path | None = None, port: int | None = None
    ) -> None:
        found = bindir or find_postgres_bindir()
        if found is None:
            raise PostgresUnavailableError(
                "PostgreSQL is not installed (no initdb/pg_ctl found): run `make install` "
                "(installs the Debian package `postgresql`) or install it yourself."
            )
        self.bindir = found
        self.dbname = dbname
        self.port = port or _free_port()
        self._run_as = _unprivileged_user()
        self._root = Path(tempfile.mkdtemp(prefix="langchain-assistants-pg-"))
        self.data_dir = self._root / "data"
        self.socket_dir = self._root
        self.log_file = self._root / "postgres.log"
        if self._run_as is not None:
            os.chown(self._root, self._run_as.pw_uid, self._run_as.pw_gid)
        self.running = False

    @property
    def url(self) -> str:
        return self.url_for(self.dbname)

    def url_for(self, dbname: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def init(self) -> None:
        """``initdb`` the data directory and write the test settings into postgresql.conf."""
        self._pg(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        settings = {
            **_TEST_SETTINGS,
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
        }
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# langchain-assistants test cluster\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until it accepts connections."""
        self._pg(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(int(timeout)),
            "start",
            timeout=timeout + 10,
        )
        self.running = True

    def stop(self, mode: StopMode = "fast", timeout: float = 60.0) -> None:
        """Stop the server: ``fast`` disconnects clients and shuts down cleanly,
        ``immediate`` aborts like a crash (the next ``start()`` runs recovery)."""
        self._pg(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-m",
            mode,
            "-w",
            "-t",
            str(int(timeout)),
            "stop",
            timeout=timeout + 10,
        )
        self.running = False

    def restart(self, mode: StopMode = "fast") -> None:
        """Stop and start again: same data, same port, same URLs."""
        self.stop(mode=mode)
        self.start()

    def create_database(self, name: str) -> str:
        """Create an empty database on this cluster and return its URL."""
        self._pg(
            "createdb", "-h", str(self.socket_dir), "-p", str(self.port), "-U", self.user, name
        )
        return self.url_for(name)

    def psql(self, sql: str, dbname: str | None = None) -> str:
        """Run one SQL command through ``psql`` (as the superuser) and return its output."""
        return self._pg(
            "psql",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            dbname or self.dbname,
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        )

    def close(self) -> None:
        """Stop the server (if running) and remove the whole directory."""
        try:
            if self.running or (self.data_dir / "postmaster.pid").exists():
                with contextlib.suppress(PostgresUnavailableError):
                    self.stop(mode="immediate")
        finally:
            shutil.rmtree(self._root, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server log (for failure messages)."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresCluster(url={self.url!r}, running={self.running})"

    def _pg(self, program: str, *args: str, timeout: float = 120.0) -> str:
        """Run a PostgreSQL program (as the unprivileged user when we are root)."""
        command: Sequence[str] = [str(self.bindir / program), *args]
        user = self._run_as
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=self._root,
                user=None if user is None else user.pw_uid,
                group=None if user is None else user.pw_gid,
                extra_groups=None if user is None else [],
                env={**os.environ, "LC_ALL": "C", "PGTZ": "UTC"},
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresUnavailableError(f"{program} could not run: {exc}") from exc
        if done.returncode != 0:
            raise PostgresUnavailableError(
                f"{program} failed ({done.returncode}): {done.stderr.strip() or done.stdout}\n"
                f"{self.log_tail()}"
            )
        return done.stdout


def _unprivileged_user() -> pwd.struct_passwd | None:
    """The user PostgreSQL runs as: None (ourselves) unless we are root, then ``postgres``."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError as exc:
        raise PostgresUnavailableError(
            "Running as root, PostgreSQL needs an unprivileged user: the `postgres` user "
            "(created by the Debian package) does not exist."
        ) from exc


@contextlib.contextmanager
def start_postgres(
    *, dbname: str = "assistants", bindir: Path | None = None
) -> Iterator[PostgresCluster]:
    """A started cluster with database ``dbname``; stopped and removed on exit (also on error)."""
    cluster = PostgresCluster(dbname=dbname, bindir=bindir)
    try:
        cluster.init()
        cluster.start()
        cluster.create_database(dbname)
        yield cluster
    finally:
        cluster.close()
