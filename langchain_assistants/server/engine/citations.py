"""Pure functions: label file_search results with citation markers, and find them again.

OpenAI's models cite a retrieved chunk by writing a marker ``【{m}:{n}†{filename}】`` into
the answer (``m``: which search of the run, ``n``: which result of that search). The
search output the model reads labels each result with its marker; when the finished
answer contains one we know, the message gets a ``file_citation`` annotation for it.
Markers are matched by ``m:n`` and the file name (or ``†source``, which models often write
instead); an unknown marker is left as plain text. Indexes count characters (code points).

The :class:`CitationBook` is the run's memory of the markers it handed out; it is saved
with the run's engine state, so citations still resolve after a ``requires_action`` pause.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

#: A marker as OpenAI writes it; groups: search ordinal, result index, file name.
MARKER = re.compile(r"【(\d+):(\d+)†([^】]*)】")
#: How much of the cited chunk an annotation quotes (``file_citation.quote``).
QUOTE_CHARS = 1000


class Hit(Protocol):
    """What a search result needs to be cited (``retrieval.SearchHit`` fits)."""

    @property
    def file_id(self) -> str: ...
    @property
    def filename(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def text(self) -> str: ...


def marker(search: int, result: int, filename: str) -> str:
    """The citation marker of result ``result`` of the run's search ``search``."""
    return f"【{search}:{result}†{filename.replace('】', ']')}】"


@dataclass(frozen=True)
class Source:
    """What a marker points at."""

    file_id: str
    filename: str
    quote: str


@dataclass
class CitationBook:
    """The markers a run handed out (by ``"m:n"``) and how many searches it made."""

    sources: dict[str, Source] = field(default_factory=dict)
    searches: int = 0

    def label(self, hits: Sequence[Hit]) -> list[str]:
        """Give one new search's hits their markers (in order) and remember them."""
        search = self.searches
        self.searches += 1
        markers = []
        for n, hit in enumerate(hits):
            self.sources[f"{search}:{n}"] = Source(hit.file_id, hit.filename, hit.text)
            markers.append(marker(search, n, hit.filename))
        return markers

    def source_of(self, match: re.Match[str]) -> Source | None:
        """The source a marker names: by ``m:n``, if its name is that file's (or
        ``source``, as OpenAI's models often write). A marker copied from an earlier run's
        answer that names another file is not taken for this run's result."""
        source = self.sources.get(f"{match.group(1)}:{match.group(2)}")
        name = match.group(3).strip()
        if source is None or name not in (source.filename.replace("】", "]"), "source", ""):
            return None
        return source

    # -- the run's engine state --------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "searches": self.searches,
            "sources": {
                key: {"file_id": s.file_id, "filename": s.filename, "quote": s.quote}
                for key, s in self.sources.items()
            },
        }

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> CitationBook:
        state = state or {}
        sources = {
            key: Source(str(s["file_id"]), str(s["filename"]), str(s.get("quote", "")))
            for key, s in (state.get("sources") or {}).items()
        }
        return cls(sources=sources, searches=int(state.get("searches", 0)))


def search_output(query: str, hits: Sequence[Hit], markers: Sequence[str]) -> str:
    """The tool message the model reads: each result under its marker, and how to cite."""
    if not hits:
        return f"file_search found nothing for {query!r} in the attached files."
    lines = [
        f"file_search results for {query!r}. When you use a result, cite it by writing its "
        f"marker exactly as shown (for example {markers[0]}) right after the statement it "
        "supports.",
    ]
    for hit, label in zip(hits, markers, strict=True):
        lines += ["", f"{label} (file {hit.filename}, score {hit.score:.3f})", hit.text.strip()]
    return "\n".join(lines)


def first_marker(text: str) -> str:
    """The first citation marker in ``text`` (empty if none)."""
    found = MARKER.search(text)
    return found.group(0) if found else ""


def file_citations(text: str, book: CitationBook) -> list[dict[str, Any]]:
    """``file_citation`` annotations for the known markers in an answer, in text order."""
    annotations = []
    for match in MARKER.finditer(text):
        source = book.source_of(match)
        if source is None:
            continue
        annotations.append(
            {
                "type": "file_citation",
                "text": match.group(0),
                "start_index": match.start(),
                "end_index": match.end(),
                "file_citation": {"file_id": source.file_id, "quote": source.quote[:QUOTE_CHARS]},
            }
        )
    return annotations


def annotation_deltas(
    annotations: Iterable[dict[str, Any]], start: int = 0
) -> list[dict[str, Any]]:
    """Annotations as ``thread.message.delta`` entries (each with its ``index``)."""
    return [{"index": start + i, **a} for i, a in enumerate(annotations)]
