"""The retrieval ingestion worker through real database faults: an outage is one WARNING
when it starts (no traceback), quiet while it lasts (its polling backs off), one INFO line
when the database is back; an unexpected error logs its traceback once, not every pass.
Afterwards a queued file is ingested."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

from langchain_assistants.server.embedded import start_server
from langchain_assistants.testing.postgres import PostgresCluster, start_postgres

from .faults import postgres_stopped
from .test_vector_stores import settled, upload

INGEST_LOGGER = "langchain_assistants.server.retrieval.ingest"


def _wait_for(check: Callable[[], Any], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL stopped under the server (a cluster of its own) and started again.
    (A read-only SQLite file is no outage for the worker: with nothing waiting, its claim
    writes nothing, so SQLite lets it through.)"""
    caplog.set_level(logging.DEBUG, logger=INGEST_LOGGER)

    def ingest_records() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == INGEST_LOGGER]

    with (
        start_postgres() as pg,
        start_server(db=pg.url, sandbox_dir=tmp_path / "sb", files_dir=tmp_path / "files") as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        before = c.vector_stores.create(file_ids=[upload(c, "before.txt", b"a note on flint")])
        assert settled(c, before.id).file_counts.completed == 1
        quiet = len(ingest_records())
        with postgres_stopped(pg):
            # Three failed polling passes: each one leaves a record (DEBUG after the first).
            _wait_for(lambda: len(ingest_records()) >= quiet + 3, "three passes in the outage")
        after = c.vector_stores.create(file_ids=[upload(c, "after.txt", b"a note on chalk")])
        assert settled(c, after.id).file_counts.completed == 1
    records = ingest_records()
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in records]
    assert "database unavailable" in warnings[0].getMessage()
    assert not [r for r in records if r.levelno >= logging.ERROR]
    assert all(r.exc_info is None for r in records)  # no traceback for an outage
    resumed = [r for r in records if r.levelno == logging.INFO and "resumed" in r.getMessage()]
    assert len(resumed) == 1, [r.getMessage() for r in records]


def test_an_unexpected_claim_error_logs_its_traceback_once(
    postgres: PostgresCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The queue's ``claimed_by`` column renamed under the server (the claim's SQL fails:
    a programming error, not an outage), and named back."""
    caplog.set_level(logging.DEBUG, logger=INGEST_LOGGER)

    def ingest_records() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == INGEST_LOGGER]

    url = postgres.create_database("ingest_unexpected")
    rename = "ALTER TABLE vector_store_files RENAME COLUMN {} TO {}"
    with (
        start_server(db=url, sandbox_dir=tmp_path / "sb", files_dir=tmp_path / "files") as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        quiet = len(ingest_records())
        postgres.psql(rename.format("claimed_by", "claimed_by_gone"), dbname="ingest_unexpected")
        try:
            _wait_for(lambda: len(ingest_records()) >= quiet + 3, "three failing passes")
        finally:
            postgres.psql(
                rename.format("claimed_by_gone", "claimed_by"), dbname="ingest_unexpected"
            )
        store = c.vector_stores.create(file_ids=[upload(c, "late.txt", b"a note on slate")])
        assert settled(c, store.id).file_counts.completed == 1
    records = ingest_records()
    errors = [r for r in records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in records]
    assert errors[0].exc_info is not None and "claimed_by" in str(errors[0].exc_info[1])
    assert not [r for r in records if r.levelno == logging.WARNING]
