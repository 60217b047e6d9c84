"""Section 9: the server in its own process (the CLI), its CPU time per turn.

``langchain-assistants serve`` runs as a child process with a zero-delay scripted model;
the client (this process) sends one streamed new-thread run at a time over raw HTTP and
reads the SSE stream to its end. Server CPU per turn is the child's user+system CPU time
(``/proc/PID/task/*/schedstat``) spent during those turns, divided by the turns:
no GIL shared with the client, no client work counted. Turns/s here is sequential (one
turn at a time), so it is the inverse of a turn's latency, not a load test.
On PostgreSQL, ``serve --workers 1/2/4`` also runs under concurrent load (``bench.workers``).

The thread-length series runs one turn on existing threads of 10/100/1,000 earlier
messages (seeded untimed), so it shows what a turn costs per earlier message.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from langchain_assistants.testing.cli_server import CliServer

from . import workers as workers_rows
from .child import TurnRates, process_cpu, server_process
from .fixtures import TEXT_PROMPT
from .markdown import table


@dataclass
class ProcessRow(TurnRates):
    """One measurement: ``turns`` sequential turns, wall seconds, server CPU seconds."""

    label: str
    turns: int
    seconds: float
    server_cpu: float
    note: str = ""


def _stream(client: httpx.Client, path: str, body: dict[str, object]) -> None:
    with client.stream("POST", path, json={**body, "stream": True}) as response:
        response.raise_for_status()
        ended = False
        for line in response.iter_lines():
            if line == "event: thread.run.completed":
                ended = True
        if not ended:
            raise RuntimeError("the run did not complete")


def _client(server: CliServer) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url,
        headers={"Authorization": "Bearer bench", "OpenAI-Beta": "assistants=v2"},
        timeout=60.0,
    )


def _measure(
    server: CliServer, label: str, turns: int, prepare: Callable[[], Callable[[], None]]
) -> ProcessRow:
    """Time ``turns`` turns; ``prepare`` (untimed, its CPU not counted) builds each one."""
    wall = cpu = 0.0
    for _ in range(turns):
        turn = prepare()
        before_cpu, start = process_cpu(server.pid), time.perf_counter()
        turn()
        wall += time.perf_counter() - start
        cpu += process_cpu(server.pid) - before_cpu
    return ProcessRow(label, turns, wall, cpu)


def _checkpoint(db: str) -> None:
    """Copy SQLite's write-ahead log into the database file now (untimed), so the seeding's
    writes are not checkpointed, at the server's cost, during a measured turn."""
    if "://" in db:
        return
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _assistant(client: httpx.Client, model: str) -> str:
    response = client.post(
        "/assistants", json={"model": model, "name": "bench process", "instructions": "Be brief."}
    )
    response.raise_for_status()
    return str(response.json()["id"])


def _seed(client: httpx.Client, earlier: int) -> str:
    messages = [
        {
            "role": "user" if i % 2 == 0 else "assistant",
            "content": f"Earlier message number {i} of this conversation, with a few words.",
        }
        for i in range(earlier)
    ]
    response = client.post("/threads", json={"messages": messages})
    response.raise_for_status()
    return str(response.json()["id"])


def measure(
    *, db: str, model: str, workdir: Path, turns: int, lengths: tuple[int, ...]
) -> list[ProcessRow]:
    """New-thread turns, then turns on threads of each length, on one server process:
    the first run on a thread (nothing of it read yet by this process) and the next run
    after one earlier run (the usual case in a conversation)."""
    rows = []
    with server_process(db=db, model=model, workdir=workdir) as server, _client(server) as http:
        assistant = _assistant(http, model)
        new_thread: dict[str, object] = {
            "assistant_id": assistant,
            "thread": {"messages": [{"role": "user", "content": TEXT_PROMPT}]},
        }

        def new_thread_turn() -> Callable[[], None]:
            return lambda: _stream(http, "/threads/runs", new_thread)

        _measure(server, "warm-up", max(3, turns // 5), new_thread_turn)
        rows.append(_measure(server, "new thread", turns, new_thread_turn))
        body: dict[str, object] = {
            "assistant_id": assistant,
            "additional_messages": [{"role": "user", "content": TEXT_PROMPT}],
        }
        reps = max(3, turns // 4)
        for earlier in lengths:

            def fresh(n: int = earlier) -> Callable[[], None]:
                thread_id = _seed(http, n)
                _checkpoint(db)
                return lambda: _stream(http, f"/threads/{thread_id}/runs", body)

            def next_turn(n: int = earlier) -> Callable[[], None]:
                thread_id = _seed(http, n)
                # The seeding is checkpointed first, so the previous turn (untimed) finds
                # the server's page cache as a conversation would, warm.
                _checkpoint(db)
                _stream(http, f"/threads/{thread_id}/runs", body)  # untimed: the previous turn
                return lambda: _stream(http, f"/threads/{thread_id}/runs", body)

            rows.append(_measure(server, f"{earlier} earlier messages, first run", reps, fresh))
            rows.append(_measure(server, f"{earlier} earlier messages, next run", reps, next_turn))
    return rows


@dataclass
class ProcessSection:
    """Section 9's rows per database (``rows`` empty and ``note`` set when not run);
    ``workers``: the ``serve --workers N`` rows (PostgreSQL only, None on SQLite)."""

    database: str
    rows: list[ProcessRow]
    note: str = ""
    workers: list[workers_rows.WorkersRow] | None = None


def run_all(
    *,
    sqlite_db: str,
    postgres_url: str | None,
    model: str,
    workdir: Path,
    turns: int,
    lengths: tuple[int, ...],
    log: Callable[[str], None],
    postgres_note: str = "not run: no PostgreSQL",
    workers: tuple[int, ...] = (),
    clients: int = 8,
    workers_turns: int = 0,
    workers_rounds: int = 5,
    workers_idle_s: float = 10.0,
) -> list[ProcessSection]:
    """Section 9 on SQLite, and on PostgreSQL when ``postgres_url`` is given (else its rows
    say ``postgres_note``), with the ``--workers`` rows for each count in ``workers``."""
    sections = []
    for database, db in (("SQLite", sqlite_db), ("PostgreSQL", postgres_url)):
        postgres = database == "PostgreSQL"
        if db is None:
            sections.append(ProcessSection(database, [], postgres_note, workers=[]))
            continue
        log(f"9. server in its own process ({database})")
        try:
            rows = measure(db=db, model=model, workdir=workdir, turns=turns, lengths=lengths)
        except (RuntimeError, httpx.HTTPError) as exc:
            rows, note = [], workers_rows.not_run(exc)
        else:
            note = ""
        counted = None
        if postgres:
            log(f"9. serve --workers {'/'.join(map(str, workers))} ({database}, {clients} clients)")
            counted = workers_rows.run(
                db=db,
                model=model,
                workdir=workdir,
                counts=workers,
                clients=clients,
                turns=workers_turns,
                rounds=workers_rounds,
                idle_s=workers_idle_s,
            )
        sections.append(ProcessSection(database, rows, note, workers=counted))
    return sections


def section(sections: list[ProcessSection] | None) -> list[str]:
    """The report's section 9: the one-at-a-time table, then the workers table."""
    lines = [
        "## 9. Server in its own process",
        "",
        "`langchain-assistants serve` as a child process (zero-delay scripted model, log level "
        "info); one streamed run at a time over raw HTTP, read to its end. *Server CPU/turn* "
        "is the child's CPU time during the turns (`/proc/PID/task/*/schedstat`), so no "
        "client work and no shared GIL is counted; turns/s is one turn at a time (1 / "
        "latency). *first run*: a thread of n earlier messages seeded (untimed), then its "
        "first run; *next run*: one untimed run first, then the measured one (the usual "
        "case in a conversation: this process has read the thread before). On SQLite the "
        "seeding's write-ahead log is checkpointed (untimed) right after it, so no measured "
        "turn pays for checkpointing it.",
        "",
    ]
    rows = []
    for part in sections or []:
        if not part.rows:
            rows.append((part.database, "-", "-", "-", "-", part.note))
        for row in part.rows:
            rows.append(
                (
                    part.database,
                    row.label,
                    str(row.turns),
                    f"{row.turns_per_s:.1f}",
                    f"{row.cpu_per_turn * 1000:.1f}",
                    row.note,
                )
            )
    header = ["database", "turn", "turns", "turns/s", "server CPU/turn (ms)", "note"]
    lines += table(header, rows)
    for part in sections or []:
        if part.workers is not None:
            lines += workers_rows.section(part.database, part.workers, part.note)
    return [*lines, ""]
