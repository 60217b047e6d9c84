"""Shared fixtures: one bundled server per test session, on loopback, over real HTTP.

Tests choose their model per assistant: ``scripted_model(rules)`` writes a script file and
returns the ``scripted:PATH`` spec to pass as the assistant's (or run's) ``model``; the
server resolves it per run, so every test owns its script and tests stay independent. A
server of a test's own needs ``allowed_models=SCRIPT_FILES`` (``integration_tests/helpers``)
for that: script files are refused by default.

The database is chosen per session with ``--db`` (default: env ``LANGCHAIN_ASSISTANTS_TEST_DB``,
else ``sqlite``): ``sqlite`` (a file per server), ``postgres`` (a throwaway PostgreSQL
cluster the session starts and removes, see ``langchain_assistants.testing.postgres``), or a
``postgresql://`` URL of your own server. On PostgreSQL only tests that use a database
(the ``server`` fixture or ``new_database``) are collected; the others ran on the SQLite pass.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI, OpenAI
from sqlalchemy.engine import make_url

from langchain_assistants.server.embedded import RunningServer, start_server
from langchain_assistants.testing.postgres import PostgresCluster, start_postgres

warnings.filterwarnings("ignore", category=DeprecationWarning, module="openai")

API_KEY = "sk-test-local"
FIXTURES = Path(__file__).parent / "fixtures"
# Fixtures through which a test reaches the session's database.
DATABASE_FIXTURES = frozenset({"server", "client", "async_client", "new_database"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default=os.environ.get("LANGCHAIN_ASSISTANTS_TEST_DB") or "sqlite",
        help="sqlite (default) | postgres (a throwaway cluster) | postgresql://user@host:port/db",
    )


def _db_choice(config: pytest.Config) -> str:
    return str(config.getoption("--db"))


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {_db_choice(config)}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, deselect what never touches a database or is marked ``sqlite_only``."""
    if _db_choice(config) == "sqlite":
        return
    keep, drop = [], []
    for item in items:
        uses_db = DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        (keep if uses_db and not item.get_closest_marker("sqlite_only") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster for this session (started on first use, then removed).

    On the PostgreSQL pass the shared ``server`` runs on it: a test that stops or restarts
    PostgreSQL should use a cluster of its own (``start_postgres()``) or no database
    fixture (then it runs on the SQLite pass only, where this cluster serves nobody else)."""
    with start_postgres() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def new_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], str]]:
    """``new_database()`` → the ``--db`` spec of a fresh, empty database of the session's kind:
    a SQLite file, a new database on the session's PostgreSQL cluster, or one created on
    your own server (dropped at the end). For tests that need a server of their own."""
    choice = _db_choice(request.config)
    counter = itertools.count(1)
    created: list[str] = []
    if choice == "sqlite":

        def make() -> str:
            return str(tmp_path_factory.mktemp("db") / "assistants.db")

    elif choice == "postgres":
        cluster: PostgresCluster = request.getfixturevalue("postgres")

        def make() -> str:
            return cluster.create_database(f"test_{next(counter)}")

    else:

        def make() -> str:
            name = f"langchain_assistants_test_{os.getpid()}_{next(counter)}"
            asyncio.run(_admin(choice, f'CREATE DATABASE "{name}"'))
            created.append(name)
            return _with_database(choice, name)

    yield make
    for name in created:
        asyncio.run(_admin(choice, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(url: str, sql: str) -> None:
    """Run one statement on the server of ``url`` (CREATE/DROP DATABASE: no transaction)."""
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """The shared server, on the session's database (``--db``)."""
    choice = _db_choice(request.config)
    if choice == "sqlite":
        db = str(tmp_path_factory.mktemp("db") / "assistants.db")
    elif choice == "postgres":
        db = request.getfixturevalue("postgres").url
    else:
        db = choice
    with start_server(
        db=db,
        model=f"scripted:{FIXTURES / 'default_script.json'}",
        # Every test brings its own script file (``scripted_model``): opt in to them.
        allowed_models=["scripted:*"],
        api_key=API_KEY,
        sandbox_dir=tmp_path_factory.mktemp("sandbox"),
    ) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as c:
        yield c


@pytest.fixture
async def async_client(server: RunningServer) -> Any:
    async with AsyncOpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as c:
        yield c


@pytest.fixture
def scripted_model(tmp_path: Path) -> Callable[..., str]:
    """Write a ScriptedChatModel script and return its ``scripted:PATH`` model spec."""
    counter = iter(range(1_000_000))

    def make(rules: list[dict[str, Any]], **top: Any) -> str:
        path = tmp_path / f"script_{next(counter)}.json"
        path.write_text(json.dumps({"rules": rules, **top}))
        return f"scripted:{path}"

    return make
