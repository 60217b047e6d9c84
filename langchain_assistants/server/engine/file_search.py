"""The hosted ``file_search`` tool: search the run's vector stores, label results to cite.

The model calls a function ``file_search(query)``; the server searches the vector store of
the assistant and of the thread (``tool_resources.file_search.vector_store_ids``), applies
the run's ``max_num_results`` and ``ranking_options.score_threshold``, and hands the model
the results under citation markers (:mod:`.citations`). The ``tool_calls`` step keeps the
full results (chunk text included); what clients see of them depends on ``include[]``
(:func:`public_step`).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from ..errors import APIError
from ..store import Kind, Store
from .citations import search_output
from .hosted import HostedResult
from .tools import FILE_SEARCH, file_search_options

if TYPE_CHECKING:
    from ..retrieval import Retrieval, SearchHit
    from .turn import ModelTurn, ToolCall

#: The ``include[]`` value that shows result chunks in steps.
RESULT_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
#: OpenAI's default for gpt-4-class models.
DEFAULT_MAX_NUM_RESULTS = 20
DEFAULT_RANKING = {"ranker": "default_2024_08_21", "score_threshold": 0.0}
#: How long a search waits for files still being ingested into the thread's store.
INGESTION_WAIT_SECONDS = 60.0


def store_ids(*owners: dict[str, Any] | None) -> list[str]:
    """The ``file_search`` vector store ids of assistants/threads, in order, once each."""
    ids: list[str] = []
    for owner in owners:
        resources = (owner or {}).get("tool_resources") or {}
        for store_id in (resources.get("file_search") or {}).get("vector_store_ids") or []:
            if store_id not in ids:
                ids.append(store_id)
    return ids


def ranking_options(options: dict[str, Any]) -> dict[str, Any]:
    """The ``ranking_options`` a search used: the tool's, filled with the defaults."""
    given = {k: v for k, v in (options.get("ranking_options") or {}).items() if v is not None}
    ranking = {**DEFAULT_RANKING, **given}
    if ranking["ranker"] == "auto":
        ranking["ranker"] = DEFAULT_RANKING["ranker"]
    return ranking


def result_entries(hits: list[SearchHit]) -> list[dict[str, Any]]:
    """Step results with their chunk ``content`` (stored in full, filtered when shown)."""
    return [
        {
            "file_id": hit.file_id,
            "file_name": hit.filename,
            "score": hit.score,
            "content": [{"type": "text", "text": hit.text}],
        }
        for hit in hits
    ]


def _without_content(call: dict[str, Any]) -> dict[str, Any]:
    if call.get("type") != FILE_SEARCH:
        return call
    details = call.get(FILE_SEARCH) or {}
    if not details.get("results"):
        return call
    results = [{k: v for k, v in r.items() if k != "content"} for r in details["results"]]
    return {**call, FILE_SEARCH: {**details, "results": results}}


def public_step(step: dict[str, Any], show_content: bool) -> dict[str, Any]:
    """A run step as a client sees it: file_search ``content`` only if ``include[]`` asked."""
    details = step.get("step_details") or {}
    if show_content or details.get("type") != "tool_calls":
        return step
    calls = [_without_content(c) for c in details.get("tool_calls") or []]
    return {**step, "step_details": {**details, "tool_calls": calls}}


def wants_content(include: list[str] | None) -> bool:
    return RESULT_CONTENT in (include or [])


class FileSearch:
    """Executes ``file_search`` calls against the run's vector stores."""

    name = FILE_SEARCH

    def __init__(self, store: Store, retrieval: Retrieval) -> None:
        self.store = store
        self.retrieval = retrieval

    def pending_entry(self, call: ToolCall) -> dict[str, Any]:
        return {"id": call.id, "type": FILE_SEARCH, FILE_SEARCH: {}}

    async def execute(self, run: dict[str, Any], call: ToolCall, turn: ModelTurn) -> HostedResult:
        query = str(call.args.get("query") or "").strip()
        options = file_search_options(run["tools"])
        ranking = ranking_options(options)
        assistant = await self.store.get(Kind.assistant, run["assistant_id"])
        thread = await self.store.get(Kind.thread, run["thread_id"])
        thread_stores = store_ids(thread)
        vector_store_ids = store_ids(assistant, thread)
        hits: list[SearchHit] = []
        if query and vector_store_ids:
            await self._await_ingestion(thread_stores)
            hits = await self.retrieval.search(
                vector_store_ids,
                query,
                max_num_results=int(options.get("max_num_results") or DEFAULT_MAX_NUM_RESULTS),
                score_threshold=ranking["score_threshold"] or None,
                project=turn.recorder.project,  # only the run's project's stores
            )
        markers = turn.citations.label(hits)
        details = {"ranking_options": ranking, "results": result_entries(hits)}
        entry = {"id": call.id, "type": FILE_SEARCH, FILE_SEARCH: details}
        shown = details if turn.show_result_content else _without_content(entry)[FILE_SEARCH]
        turn.publish_call_delta(call, shown)
        if not query:
            output = "file_search needs a non-empty 'query' argument."
        elif not vector_store_ids:
            output = "file_search has no files to search: no vector store is attached."
        else:
            output = search_output(query, hits, markers)
        return HostedResult(call.id, output, entry)

    async def _await_ingestion(self, vector_store_ids: list[str]) -> None:
        """Wait (bounded) while the thread's store still ingests files, so a run started
        right after a message attachment finds them."""
        deadline = time.monotonic() + INGESTION_WAIT_SECONDS
        delay = 0.05
        while time.monotonic() < deadline:
            pending = 0
            for store_id in vector_store_ids:
                try:
                    vector_store = await self.retrieval.get_vector_store(store_id)
                except APIError:  # deleted meanwhile: nothing to wait for
                    continue
                pending += int(vector_store["file_counts"]["in_progress"])
            if not pending:
                return
            await asyncio.sleep(delay)
            delay = min(0.5, delay * 2)
