"""What looks slow in our server and client, with this run's numbers and code pointers."""

from __future__ import annotations

from .contenders import FLOOR, LEGACY, OURS
from .markdown import num
from .results import Results, Samples, by_level, lowest_level
from .stats import ms

#: Why our client makes a request the floor does not, by endpoint (see client/flow.py).
WHY_CALL = {
    "GET /threads/{id}/messages": "the run's messages, listed after the stream "
    "(`client/flow.py::turn` answers from the stream only when that stream created the "
    "run; after `submit_tool_outputs` it lists, since that stream cannot tell whether an "
    "earlier leg wrote messages)",
    "GET /threads/{id}/runs": "the active-run check before writing to an existing thread "
    "(`client/flow.py::_clear_thread`)",
    "POST /threads/{id}/messages": "the user message sent on its own, where it could ride "
    "on the run as `additional_messages`",
}
#: How to drop each of those requests.
FIX_CALL = {
    "GET /threads/{id}/messages": "skip the list when the streams already delivered the "
    "run's messages",
    "GET /threads/{id}/runs": "check for an active run only when the run request answers "
    "400 (thread busy), then retry",
    "POST /threads/{id}/messages": "send the message as `additional_messages` of the "
    "streamed `runs.create`",
}


def plural(count: float, word: str) -> str:
    return f"{num(count)} {word}" + ("" if count == 1 else "s")


def extra_calls(ours: Samples, floor: Samples) -> list[str]:
    """Endpoints ours calls more often per turn than the floor does."""
    return [
        endpoint
        for endpoint, count in ours.requests.most_common()
        if count / max(ours.n, 1) > floor.requests.get(endpoint, 0) / max(floor.n, 1)
    ]


def explain_extras(cases: list[tuple[str, dict[str, Samples]]]) -> str:
    """``endpoint (where): why; ...`` for the requests ours makes beyond the floor."""
    where: dict[str, list[str]] = {}
    for name, samples in cases:
        for endpoint in extra_calls(samples[OURS], samples[FLOOR]):
            where.setdefault(endpoint, []).append(name)
    return "; ".join(
        f"`{endpoint}` ({', '.join(names)}): {WHY_CALL.get(endpoint, 'not explained here')}"
        for endpoint, names in where.items()
    )


def section(results: Results) -> list[str]:
    """What looks slow in our server and client, with this run's numbers."""
    turn, lengths = results.turn, results.lengths
    floor, ours = turn[FLOOR], turn[OURS]
    single = lowest_level(results)
    lines = [
        "## What looks slow (server and client)",
        "",
        f"- **Server, per-turn database work**: a new-thread text turn costs the server "
        f"{num(floor.statements_per_turn)} SQL statements in {num(floor.commits_per_turn)} "
        f"separate transactions (floor client) and {ms(floor.server_cpu_per_turn)} ms of "
        "server CPU at a 50 ms model; section 6 shows the server, not the client, caps "
        "throughput (in this section's shared process the client's GIL share is counted "
        "too; section 9 has the server alone). What is left per turn: the statements "
        "themselves (keyed Core statements, inline on SQLite: `server/store/statements.py`, "
        "`server/store/sqlite_driver.py`), the HTTP/SSE stack (middlewares, a dozen SSE "
        'frames) and the run\'s wire objects; see README "What a turn costs the server".',
    ]
    if len(lengths) >= 2:
        first, last = lengths[0].samples[FLOOR], lengths[-1].samples[FLOOR]
        lines.append(
            f"- **Server, thread length**: the floor's turn goes from {ms(first.median)} to "
            f"{ms(last.median)} ms and its server CPU from {ms(first.server_cpu_per_turn)} to "
            f"{ms(last.server_cpu_per_turn)} ms per turn between {lengths[0].earlier} and "
            f"{lengths[-1].earlier} earlier messages: a run on a thread this process has not "
            "read yet reads and converts all of it once (`engine/thread_history.py`); later "
            "runs check it with one query and read only new messages (section 9)."
        )
    lines += [
        _round_trips(results),
        f"- **Client and SDK, connections**: with the sync client every streamed request "
        f"opened a new TCP connection ({num(ours.connections_per_turn)} per turn for ours, "
        f"{num(floor.connections_per_turn)} for the floor; legacy, which does not stream, "
        f"{num(turn[LEGACY].connections_per_turn)})"
        + (
            f", the async client {num(single[OURS].connections_per_turn)} (ours) and "
            f"{num(single[FLOOR].connections_per_turn)} (floor)"
            if OURS in single and FLOOR in single
            else ""
        )
        + ". The SDK's `Stream` stops at the `[DONE]` event and closes the response, "
        "apparently before the chunked body's end has been read, so the sync transport "
        "drops the connection. Cheap on loopback; a TLS handshake per turn against a "
        "remote server.",
        "- **Legacy**: polls once a second (a 50 ms turn takes ~1 s), lists the whole thread "
        "after every run (its request count grows with thread length, section 3), "
        + _legacy_failures(results)
        + "its default async client "
        "drops the base URL (the bench passes both clients), and with `intermediate_steps` "
        "its `ainvoke` calls the sync `_wait_for_run` (blocking HTTP and `time.sleep` on "
        "the event loop); that path is not exercised by these text turns." + _legacy_load(results),
        "",
    ]
    return lines


def _legacy_load(results: Results) -> str:
    """Legacy vs ours at the highest concurrency level."""
    levels = by_level(results.concurrency)
    if not levels:
        return ""
    top = max(levels)
    legacy, ours = levels[top].get(LEGACY), levels[top].get(OURS)
    if legacy is None or ours is None:
        return ""
    return (
        f" Under load ({top} conversations) it makes {num(legacy.requests_per_turn)} "
        f"requests per turn (ours {num(ours.requests_per_turn)}), spends "
        f"{ms(legacy.client_cpu_per_turn)} ms of client CPU per turn (ours "
        f"{ms(ours.client_cpu_per_turn)}) and its loop lag p99 is {ms(legacy.lag_p99)} ms "
        f"(ours {ms(ours.lag_p99)}): its conversations poll in step, once a second, so their "
        "polls and responses reach the loop in bursts."
    )


def _round_trips(results: Results) -> str:
    """Ours' requests per turn against the floor's, and what the extra ones are."""
    cases = [("new thread", results.turn), ("tool round trip", results.tool)]
    cases += [(f"existing thread, {r.earlier} messages", r.samples) for r in results.lengths[:1]]
    counts = "; ".join(
        f"{name}: {plural(s[OURS].requests_per_turn, 'request')} (floor "
        f"{num(s[FLOOR].requests_per_turn)})"
        for name, s in cases
    )
    extras = explain_extras(cases)
    if not extras:
        return f"- **Client, round trips**: ours makes as many requests as the floor ({counts})."
    return (
        f"- **Client, extra round trips**: per turn, {counts}. Beyond the floor: {extras}. "
        "Each extra request is a round trip plus server CPU."
    )


def _legacy_failures(results: Results) -> str:
    cells = [c for c in results.concurrency if c.tag == LEGACY]
    failed = sum(sum(c.errors.values()) for c in cells)
    total = sum(c.turns for c in cells)
    if not failed:
        return ""
    return f"its `ainvoke` failed {failed} of {total} turns (section 5), "
