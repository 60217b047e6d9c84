"""The suite's throwaway PostgreSQL (langchain_assistants.testing.postgres): a server runs on
it, it restarts (cleanly or like a crash) with its data on the same URL, it runs as an
unprivileged user, and it leaves nothing behind, also when the code using it fails.

These tests start and stop clusters themselves, so they run once, on the SQLite pass (they
use no database fixture); the PostgreSQL pass runs the whole suite on such a cluster."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from openai import OpenAI

from langchain_assistants.server.embedded import start_server
from langchain_assistants.testing.postgres import PostgresCluster, start_postgres

FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_a_server_keeps_its_data_across_restarts(postgres: PostgresCluster) -> None:
    db = postgres.create_database("cluster_restarts")
    model = f"scripted:{FIXTURES / 'default_script.json'}"
    with start_server(db=db, model=model) as srv, OpenAI(base_url=srv.base_url, api_key="k") as c:
        assistant = c.beta.assistants.create(model="gpt-4o", name="kept")
    postgres.restart()
    postgres.stop(mode="immediate")  # like a crash: recovery runs at the next start
    assert not postgres.running
    postgres.start()
    with start_server(db=db, model=model) as srv, OpenAI(base_url=srv.base_url, api_key="k") as c:
        assert c.beta.assistants.retrieve(assistant.id).name == "kept"
    assert postgres.psql("SELECT count(*) FROM assistants", dbname="cluster_restarts") == "1\n"


def test_runs_unprivileged_and_leaves_nothing_behind() -> None:
    with pytest.raises(RuntimeError, match="the test failed"), start_postgres(dbname="x") as pg:
        root, port = pg.data_dir.parent, pg.port
        postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        uid = os.stat(f"/proc/{postmaster}").st_uid
        assert uid != 0 and (os.geteuid() != 0 or pg.psql("SELECT current_user") == "postgres\n")
        assert pg.url == f"postgresql://postgres@127.0.0.1:{port}/x"
        raise RuntimeError("the test failed")
    assert not root.exists()
    deadline = time.monotonic() + 30  # the stopped server's process exits (and is reaped)
    while Path(f"/proc/{postmaster}/cmdline").exists() and _cmdline(postmaster):
        assert time.monotonic() < deadline, "the PostgreSQL server process outlived close()"
        time.sleep(0.1)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()  # empty for a zombie
    except OSError:
        return b""
