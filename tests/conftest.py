"""Shared fixtures: one bundled server per test session, on loopback, over real HTTP.

Tests choose their model per assistant: ``scripted_model(rules)`` writes a script file and
returns the ``scripted:PATH`` spec to pass as the assistant's (or run's) ``model``; the
server resolves it per run, so every test owns its script and tests stay independent.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI, OpenAI

from langchain_assistants.server.embedded import RunningServer, start_server

warnings.filterwarnings("ignore", category=DeprecationWarning, module="openai")

API_KEY = "sk-test-local"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The shared server: SQLite, or the database URL in LANGCHAIN_ASSISTANTS_TEST_DB
    (e.g. ``postgresql://user@127.0.0.1/assistants``) to run the suite on PostgreSQL."""
    db = os.environ.get("LANGCHAIN_ASSISTANTS_TEST_DB") or str(
        tmp_path_factory.mktemp("db") / "assistants.db"
    )
    with start_server(
        db=db,
        model=f"scripted:{FIXTURES / 'default_script.json'}",
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
