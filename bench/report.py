"""``RESULTS.md``: the preamble, the machine, one section per scenario."""

from __future__ import annotations

import math
import time
from collections import Counter

from . import findings, process, retrieval, targets, uploads
from .contenders import FLOOR, LEGACY, NAMES, ORDER, OURS
from .markdown import errors, num, table
from .results import Cell, LengthRow, Results, Samples, by_level
from .stats import ms, ratio, times


def _endpoints(samples: Samples) -> str:
    if not samples.n:
        return "-"
    parts = [f"{key} x{num(n / samples.n)}" for key, n in samples.requests.most_common()]
    return "<br>".join(parts) or "-"


# --------------------------------------------------------------------------- preamble


def _preamble(results: Results) -> list[str]:
    sizes = ", ".join(f"{k}={v}" for k, v in results.sizes.items())
    quick = " --quick" if results.mode == "quick" else ""
    return [
        "# Benchmark: ours vs legacy vs the floor",
        "",
        f"Written by `python -m bench{quick}` (`make bench`) on "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')} in {results.elapsed:.0f} s, mode "
        f"**{results.mode}**. One run on a shared, noisy machine: read the **ratios** "
        "(contenders measured side by side, interleaved, in the same run), not the absolute "
        "times.",
        "",
        "- **ours**: `langchain_assistants.OpenAIAssistantRunnable(as_agent=True)` at its "
        "defaults (streaming).",
        "- **legacy (defaults)**: `langchain_classic.agents.openai_assistant."
        "OpenAIAssistantRunnable(as_agent=True)` at its defaults (`check_every_ms=1000`: it "
        "polls the run once a second).",
        "- **floor (raw SSE)**: the official SDK's streaming helpers consumed to the end: "
        "`client.beta.threads.create_and_run_stream(...)` + `until_done()` (new thread), "
        "`runs.stream(..., additional_messages=[...])` (existing thread), "
        "`runs.submit_tool_outputs_stream` (tool outputs). It is the least any client can "
        "do for a turn on this server and model, so it stands in for the server-side run "
        "duration, which the API cannot give: `run.completed_at - run.started_at` is in "
        "whole seconds.",
        "- One **bundled server** for all three: `create_app(...)` wrapped in a counting "
        "ASGI middleware (requests by client and endpoint, TCP connections), served by "
        "uvicorn in a background thread on 127.0.0.1, SQLite in a temporary directory; "
        "SQLAlchemy events count its SQL statements and commits. Each assistant's `model` is "
        "a `scripted:PATH` spec: 50 ms per turn (spread over the streamed chunks), or zero "
        "for throughput.",
        "- Client and server share one process and one GIL, as an embedded server does. "
        "*Client CPU* is the CPU time of the thread driving the turns; *server CPU* is the "
        "rest of the process (uvicorn's thread and SQLite's worker threads). Every "
        "contender pays the shared GIL alike; absolute throughput is a lower bound for a "
        "server in its own process.",
        f"- Sizes: {sizes}.",
        "",
    ]


def _machine(results: Results) -> list[str]:
    return ["## Machine", "", *table(["", ""], list(results.machine.items()))]


# --------------------------------------------------------------------------- sections


def _sequential_rows(samples: dict[str, Samples]) -> list[tuple[str, ...]]:
    def row(label: str, value: str) -> tuple[str, ...]:
        return (label, *(_format(samples[t], value) for t in ORDER))

    return [
        row("median (ms)", "median"),
        row("p90 (ms)", "p90"),
        row("turns measured", "n"),
        row("HTTP requests per turn", "requests_per_turn"),
        row("new TCP connections per turn", "connections_per_turn"),
        row("client CPU per turn (ms)", "client_cpu_per_turn"),
        row("server CPU per turn (ms)", "server_cpu_per_turn"),
        row("SQL statements per turn", "statements_per_turn"),
        row("DB commits per turn", "commits_per_turn"),
    ]


def _format(samples: Samples, value: str) -> str:
    number = getattr(samples, value)
    if value in ("median", "p90", "client_cpu_per_turn", "server_cpu_per_turn"):
        return ms(number)
    return num(float(number))


def _latency(title: str, intro: str, samples: dict[str, Samples]) -> list[str]:
    ours, legacy, floor = (samples[t] for t in ORDER)
    lines = [title, "", intro, ""]
    lines += table(["", *(NAMES[t] for t in ORDER)], _sequential_rows(samples))
    lines += [
        f"Ratios of medians: **legacy/ours = {times(ratio(legacy.median, ours.median))}**, "
        f"**ours/floor = {times(ratio(ours.median, floor.median))}** "
        f"(ours - floor = {ms(ours.median - floor.median)} ms).",
        "",
    ]
    return lines


def _requests(results: Results) -> list[str]:
    cases = [("new thread, text answer", results.turn), ("tool round trip", results.tool)]
    cases += [
        (f"existing thread, {r.earlier} earlier messages", r.samples) for r in results.lengths
    ]
    header = ["turn", *(NAMES[t] for t in ORDER)]
    lines = [
        "## 3. HTTP requests per turn (counted at the server)",
        "",
        "Counted by the ASGI middleware, per client (`x-bench-client` header).",
        "",
    ]
    lines += table(header, [(n, *(num(s[t].requests_per_turn) for t in ORDER)) for n, s in cases])
    lines += ["Which requests, per turn:", ""]
    lines += table(header, [(n, *(_endpoints(s[t]) for t in ORDER)) for n, s in cases])
    return lines


def _lengths(rows: list[LengthRow]) -> list[str]:
    lines = [
        "## 4. Cost vs thread length",
        "",
        "A text answer on an existing thread with n earlier messages (alternating user / "
        "assistant), each turn on a freshly seeded thread so that n is exact (seeding is "
        "not timed). The floor is one `runs.stream(..., additional_messages=[...])`; which "
        "requests ours and legacy make is in section 3.",
        "",
    ]
    body = []
    for row in rows:
        s = row.samples
        body.append(
            (
                str(row.earlier),
                *(ms(s[t].median) for t in ORDER),
                times(ratio(s[LEGACY].median, s[OURS].median)),
                times(ratio(s[OURS].median, s[FLOOR].median)),
                ms(s[OURS].median - s[FLOOR].median),
                *(num(s[t].requests_per_turn) for t in ORDER),
                ms(s[FLOOR].server_cpu_per_turn),
            )
        )
    header = [
        "earlier messages",
        *(f"{NAMES[t]} median (ms)" for t in ORDER),
        "legacy/ours",
        "ours/floor",
        "ours - floor (ms)",
        *(f"requests/turn {t}" for t in ORDER),
        "server CPU/turn, floor (ms)",
    ]
    lines += table(header, body)
    if len(rows) >= 2:
        first, last = rows[0].samples, rows[-1].samples
        growth = ", ".join(
            f"x{ratio(last[t].median, first[t].median):.2f} for {NAMES[t]}" for t in ORDER
        )
        lines += [
            f"From {rows[0].earlier} to {rows[-1].earlier} earlier messages the median turn "
            f"grows {growth}.",
            "",
        ]
    return lines


CELL_HEADER = [
    "conversations",
    "client",
    "turns",
    "wall (s)",
    "turns/s",
    "p50 (ms)",
    "p99 (ms)",
    "loop lag p99 (ms)",
    "loop lag max (ms)",
    "requests/turn",
    "new conns/turn",
    "client CPU/turn (ms)",
    "server CPU/turn (ms)",
    "errors",
    "status",
]


def _cell_row(cell: Cell) -> tuple[str, ...]:
    status = "ok"
    if cell.timed_out:
        status = f"**timed out**, partial ({cell.turns}/{cell.planned} turns)"
    return (
        str(cell.clients),
        NAMES[cell.tag],
        f"{cell.turns}/{cell.planned}",
        f"{cell.wall:.1f}",
        f"{cell.turns_per_s:.1f}",
        ms(cell.p50),
        ms(cell.p99),
        ms(cell.lag_p99),
        ms(cell.lag_max),
        num(cell.requests_per_turn),
        num(cell.connections_per_turn),
        ms(cell.client_cpu_per_turn),
        ms(cell.server_cpu_per_turn),
        errors(cell.errors),
        status,
    )


def _concurrency(results: Results) -> list[str]:
    cells = results.concurrency
    lines = [
        "## 5. Concurrency (one event loop)",
        "",
        "N conversations at once as asyncio tasks on one loop, each running turns back to "
        "back (text answer on a new thread, model delay 50 ms): ours via `ainvoke`, legacy "
        "via its `ainvoke`, the floor via `AsyncOpenAI` `create_and_run_stream`. turns/s = "
        "finished turns / wall time; a failed turn counts as finished (see errors). *Loop "
        "lag*: how late a 5 ms sleeper on the same loop wakes; a client that blocks the loop "
        "shows here (it also includes waiting for the GIL while the in-process server runs, "
        "which every client pays alike). Each cell is capped at "
        f"{results.sizes.get('cell_cap_s')} s; unfinished turns are then cancelled.",
        "",
    ]
    lines += table(CELL_HEADER, [_cell_row(cell) for cell in cells])
    ratio_rows = []
    for level, by_tag in sorted(by_level(cells).items()):
        ours, legacy, floor = (by_tag.get(t) for t in ORDER)
        ratio_rows.append(
            (
                str(level),
                times(ratio(ours.turns_per_s, floor.turns_per_s)) if ours and floor else "-",
                times(ratio(ours.turns_per_s, legacy.turns_per_s)) if ours and legacy else "-",
                times(ratio(legacy.p50, ours.p50)) if ours and legacy else "-",
            )
        )
    lines += ["Ratios:", ""]
    lines += table(
        ["conversations", "ours/floor turns/s", "ours/legacy turns/s", "legacy/ours p50"],
        ratio_rows,
    )
    lines += [
        "Once turns/s stops growing with N the server is saturated: every client is then "
        "held to what the server's CPU per turn allows (section 6), ratios between clients "
        "shrink, and latency grows with N.",
        "",
    ]
    legacy_errors = Counter[str]()
    for cell in cells:
        if cell.tag == LEGACY:
            legacy_errors.update(cell.errors)
    if legacy_errors:
        lines += [
            f"Legacy `ainvoke` failed {sum(legacy_errors.values())} times "
            f"({errors(legacy_errors)}). `AttributeError: 'tuple' object has no attribute "
            "'run_id'` is a bug in `langchain_classic`'s `_aget_response`: it awaits "
            "`messages.list(...)` (an `AsyncCursorPage`) and iterates it with a plain `for`, "
            "which walks the pydantic model's fields. It fails only after the run completed "
            "and its messages were fetched, so its timings still measure its polling.",
            "",
        ]
    return lines


def _throughput(results: Results) -> list[str]:
    sizes = results.sizes
    lines = [
        "## 6. Server throughput",
        "",
        f"{sizes.get('throughput_clients')} concurrent async clients, zero-delay scripted "
        "model, full turns (new thread + user message, run streamed to completion) back to "
        f"back for {sizes.get('throughput_s')} s after a {sizes.get('throughput_warmup_s')} s "
        "warm-up; turns/s, latency and CPU count the turns that ended inside that window. "
        "*Ceiling*: 1000 / server CPU ms per turn, the turns/s one fully busy core could "
        "serve at that cost.",
        "",
    ]
    rows = []
    for row in results.throughput:
        if row.cell is None:
            rows.append((row.database, "-", "-", "-", "-", "-", "-", "-", "-", row.note))
            continue
        cell = row.cell
        ceiling = ratio(1.0, cell.server_cpu_per_turn)
        rows.append(
            (
                row.database,
                NAMES[cell.tag],
                f"{cell.turns_per_s:.1f}",
                ms(cell.p50),
                ms(cell.p99),
                ms(cell.client_cpu_per_turn),
                ms(cell.server_cpu_per_turn),
                "-" if math.isnan(ceiling) else f"{ceiling:.0f}",
                errors(cell.errors),
                "timed out" if cell.timed_out else "ok",
            )
        )
    header = [
        "database",
        "client",
        "turns/s",
        "p50 (ms)",
        "p99 (ms)",
        "client CPU/turn (ms)",
        "server CPU/turn (ms)",
        "ceiling (turns/s/core)",
        "errors",
        "status",
    ]
    lines += table(header, rows)
    return lines


# --------------------------------------------------------------------------- document


def render(results: Results) -> str:
    lines = _preamble(results)
    lines += _machine(results)
    lines += targets.section(results)
    lines += _latency(
        "## 1. Turn latency",
        "A new thread and a text answer (model delay 50 ms), one turn at a time, contenders "
        "interleaved; sync `invoke`.",
        results.turn,
    )
    lines += _latency(
        "## 2. Tool round trip",
        "A run that calls a function tool: start it on a new thread until `requires_action`, "
        "submit the tool output, get the answer; both legs timed together.",
        results.tool,
    )
    lines += _requests(results)
    lines += _lengths(results.lengths)
    lines += _concurrency(results)
    lines += _throughput(results)
    lines += retrieval.section(results.retrieval)
    lines += uploads.section(results.uploads)
    lines += process.section(results.process)
    lines += findings.section(results)
    return "\n".join(lines).rstrip() + "\n"
