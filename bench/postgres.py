"""The PostgreSQL the bench runs on: ``BENCH_POSTGRES_URL`` if set, else a throwaway cluster.

The cluster is the test suite's (``langchain_assistants.testing.postgres``: initdb in a
temporary directory, a free loopback port, ``fsync=off``), started for the run and removed
after it. Without PostgreSQL's server programs the PostgreSQL rows say why they did not run.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from langchain_assistants.testing.postgres import PostgresUnavailableError, start_postgres

POSTGRES_ENV = "BENCH_POSTGRES_URL"


@dataclass(frozen=True)
class BenchPostgres:
    """``url`` to run on (None: not available, ``note`` says why); ``source`` for the report."""

    url: str | None
    source: str
    note: str = ""


def _version(bindir: Path) -> str:
    """``PostgreSQL 15.14`` (from ``postgres --version``), or just ``PostgreSQL``."""
    try:
        out = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "PostgreSQL"
    found = re.search(r"\(PostgreSQL\) (\S+)", out)  # "postgres (PostgreSQL) 15.18 (Debian …)"
    return f"PostgreSQL {found.group(1)}" if found else "PostgreSQL"


@contextmanager
def bench_postgres() -> Iterator[BenchPostgres]:
    """The run's PostgreSQL, for the duration of the ``with`` block."""
    override = os.environ.get(POSTGRES_ENV)
    if override:
        yield BenchPostgres(override, f"`{POSTGRES_ENV}`")
        return
    with ExitStack() as stack:
        try:
            cluster = stack.enter_context(start_postgres(dbname="bench"))
        except PostgresUnavailableError as exc:
            reason = str(exc).splitlines()[0]
            yield BenchPostgres(None, "not found", f"not run: no PostgreSQL ({reason})")
            return
        yield BenchPostgres(
            cluster.url,
            f"a throwaway local cluster started by the bench ({_version(cluster.bindir)}, "
            f"`fsync=off`; set `{POSTGRES_ENV}` to use another)",
        )
