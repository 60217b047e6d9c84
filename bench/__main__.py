"""``python -m bench [--quick] [--output PATH]``: run every scenario, write the report.

One bundled server (uvicorn in a thread, SQLite, request counting) serves all three
contenders; a second server runs on PostgreSQL: ``BENCH_POSTGRES_URL``, or else a throwaway
cluster the run starts and removes itself (``bench.postgres``).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from . import contenders as c
from . import load, machine, process, report, retrieval, scenarios, uploads
from .fixtures import create_assistants, write_script
from .postgres import BenchPostgres, bench_postgres
from .results import Cell, Results, ThroughputRow
from .scenarios import log
from .server import BenchServer
from .sizes import FULL, QUICK, Sizes

DEFAULT_OUTPUT = Path(__file__).parent / "RESULTS.md"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="report path")
    return parser.parse_args(argv)


async def _throughput(base_url: str, assistant_id: str, sizes: Sizes) -> list[Cell]:
    cells = []
    factories: dict[str, Callable[[], c.AsyncContender]] = {
        c.FLOOR: lambda: c.AsyncFloor(base_url, assistant_id),
        c.OURS: lambda: c.async_ours(base_url, assistant_id),
    }
    for tag, factory in factories.items():
        log(f"throughput: {tag}, {sizes.throughput_clients} clients, {sizes.throughput_s:g} s")
        cells.append(
            await load.sustained(
                factory(), sizes.throughput_clients, sizes.throughput_warmup_s, sizes.throughput_s
            )
        )
    return cells


def _postgres(
    postgres: BenchPostgres, model_50: str, model_0: str, sizes: Sizes
) -> list[ThroughputRow]:
    if not postgres.url:
        return [ThroughputRow("PostgreSQL", None, postgres.note)]
    try:
        server = BenchServer(model=model_50, db=postgres.url)
    except RuntimeError:
        note = f"not run: the server could not open the PostgreSQL database ({postgres.source})"
        return [ThroughputRow("PostgreSQL", None, note)]
    with server:
        setup = c.sync_client(server.base_url, "setup")
        try:
            assistants = create_assistants(setup, model_50, model_0)
        except Exception as exc:
            note = f"not run: {type(exc).__name__} while creating assistants"
            return [ThroughputRow("PostgreSQL", None, note)]
        cells = asyncio.run(_throughput(server.base_url, assistants.fast, sizes))
    return [ThroughputRow("PostgreSQL", cell) for cell in cells]


def run(sizes: Sizes, mode: str) -> Results:
    started = time.perf_counter()
    info = machine.describe()
    with (
        tempfile.TemporaryDirectory(prefix="langchain-assistants-bench-") as tmp,
        bench_postgres() as postgres,
    ):
        info["PostgreSQL"] = postgres.source
        model_50 = write_script(Path(tmp), "delay_50ms", 50)
        model_0 = write_script(Path(tmp), "delay_0ms", 0)
        with BenchServer(model=model_50) as server:
            base_url = server.base_url
            setup = c.sync_client(base_url, "setup")
            assistants = create_assistants(setup, model_50, model_0)
            sync: list[c.SyncContender] = [
                c.ours(base_url, assistants),
                c.legacy(base_url, assistants),
                c.Floor(base_url, assistants),
            ]
            log("1. turn latency")
            turn = scenarios.turn_latency(server, sync, sizes)
            log("2. tool round trip")
            tool = scenarios.tool_round_trip(server, sync, sizes)
            log("4. cost vs thread length")
            lengths = scenarios.thread_length(server, setup, sync, sizes)
            log("5. concurrency")
            factories: dict[str, Callable[[], c.AsyncContender]] = {
                c.OURS: lambda: c.async_ours(base_url, assistants.text),
                c.LEGACY: lambda: c.async_legacy(base_url, assistants.text),
                c.FLOOR: lambda: c.AsyncFloor(base_url, assistants.text),
            }
            cells = asyncio.run(load.concurrency(server, factories, sizes, log))
            log("6. server throughput (SQLite)")
            sqlite = asyncio.run(_throughput(base_url, assistants.fast, sizes))
        throughput = [ThroughputRow("SQLite", cell) for cell in sqlite]
        throughput += _postgres(postgres, model_50, model_0, sizes)
        log("7. retrieval")
        retrieved = retrieval.run(sizes, log)
        log("8. file uploads")
        uploaded = uploads.run(sizes, Path(tmp), log)
        in_process = process.run_all(
            sqlite_db=f"{tmp}/process.db",
            postgres_url=postgres.url,
            postgres_note=postgres.note,
            model=model_0,
            workdir=Path(tmp),
            turns=sizes.process_turns,
            lengths=sizes.process_lengths,
            workers=sizes.workers,
            clients=sizes.workers_clients,
            workers_turns=sizes.workers_turns,
            workers_rounds=sizes.workers_rounds,
            workers_idle_s=sizes.workers_idle_s,
            log=log,
        )
    info["load average at end"] = machine.load_now()
    return Results(
        mode=mode,
        machine=info,
        turn=turn,
        tool=tool,
        lengths=lengths,
        concurrency=cells,
        throughput=throughput,
        sizes=sizes.describe(),
        elapsed=time.perf_counter() - started,
        retrieval=retrieved,
        uploads=uploaded,
        process=in_process,
    )


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    sizes, mode = (QUICK, "quick") if args.quick else (FULL, "full")
    results = run(sizes, mode)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report.render(results), encoding="utf-8")
    log(f"wrote {args.output} in {results.elapsed:.0f} s")


if __name__ == "__main__":
    main()
