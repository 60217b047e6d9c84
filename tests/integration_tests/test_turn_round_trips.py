"""How often a turn waits for PostgreSQL, counted on the wire by a loopback proxy.

A streamed create-and-run turn stores the thread, its message and the run in one
transaction, runs every one-statement read or write without ``BEGIN``/``COMMIT``
(autocommit), and keeps a transaction only where writes belong together: the step with
its message, and the end (message, step and run completed). Before, the same turn made
8 transactions and about 30 round trips.
"""

from __future__ import annotations

import warnings

import pytest
from openai import OpenAI

from langchain_assistants.server.embedded import start_server
from langchain_assistants.testing.postgres import PostgresCluster

from .pg_wire import CountingProxy

TURNS = 5


def _turn(client: OpenAI, assistant_id: str) -> None:
    with client.beta.threads.create_and_run(
        assistant_id=assistant_id,
        thread={"messages": [{"role": "user", "content": "hello"}]},
        stream=True,
    ) as stream:
        events = [event.event for event in stream]
    assert "thread.run.completed" in events


@pytest.fixture
def counted(postgres: PostgresCluster) -> CountingProxy:
    return CountingProxy(postgres.port)


def test_a_new_thread_turn_makes_three_transactions(
    postgres: PostgresCluster, counted: CountingProxy
) -> None:
    url = postgres.create_database("round_trips")
    with counted as proxy:
        through_proxy = url.replace(f":{postgres.port}/", f":{proxy.port}/")
        with start_server(db=through_proxy, model="scripted:demo") as server:
            client = OpenAI(base_url=server.base_url, api_key=server.api_key)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                assistant = client.beta.assistants.create(model="scripted:demo")
                for _ in range(2):  # warm: statements prepared, pool filled
                    _turn(client, assistant.id)
                proxy.counts.reset()
                for _ in range(TURNS):
                    _turn(client, assistant.id)
                counts = proxy.counts
                begins = counts.statements("BEGIN") / TURNS
                commits = counts.statements("COMMIT") / TURNS
                trips = counts.round_trips / TURNS
    # Background work (lease renewals, sweeps) may add a little over five turns.
    assert begins <= 3.4, counts.queries
    assert commits <= 3.4, counts.queries
    assert trips <= 22, (trips, counts.types)
    # The stored turn is whole: the thread with its message, the run completed.
    with start_server(db=url, model="scripted:demo") as server:
        client = OpenAI(base_url=server.base_url, api_key=server.api_key)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            runs = [
                run
                for thread in _threads(client, postgres, url)
                for run in client.beta.threads.runs.list(thread_id=thread)
            ]
    assert len(runs) == TURNS + 2
    assert {run.status for run in runs} == {"completed"}


def _threads(client: OpenAI, postgres: PostgresCluster, url: str) -> list[str]:
    """Thread ids in the database (the API has no list of threads)."""
    dbname = url.rsplit("/", 1)[1]
    out = postgres.psql("SELECT id FROM threads ORDER BY seq", dbname=dbname)
    ids = [line.strip() for line in out.splitlines() if line.strip().startswith("thread_")]
    for thread_id in ids:
        messages = client.beta.threads.messages.list(thread_id=thread_id, order="asc")
        assert [m.role for m in messages] == ["user", "assistant"]
    return ids
