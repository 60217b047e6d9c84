"""Citation markers: labelling search results, finding them in answers, surviving a pause."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_assistants.server.engine.citations import (
    CitationBook,
    annotation_deltas,
    file_citations,
    first_marker,
    marker,
    search_output,
)
from langchain_assistants.testing.scripted import fill_placeholders


@dataclass(frozen=True)
class Hit:
    file_id: str
    filename: str
    score: float
    text: str


HITS = [Hit("file-a", "a.md", 0.9, "Alpha fact."), Hit("file-b", "b.md", 0.5, "Beta fact.")]


def test_markers_follow_openais_form_and_count_searches() -> None:
    book = CitationBook()
    assert book.label(HITS) == ["【0:0†a.md】", "【0:1†b.md】"]
    assert book.label(HITS[:1]) == ["【1:0†a.md】"]
    assert marker(4, 0, "x】y") == "【4:0†x]y】"  # a name cannot close the marker early


def test_search_output_labels_each_result_and_says_how_to_cite() -> None:
    book = CitationBook()
    markers = book.label(HITS)
    text = search_output("facts", HITS, markers)
    assert "【0:0†a.md】" in text and "Alpha fact." in text and "【0:1†b.md】" in text
    assert "cite" in text
    assert text.index("【0:0†a.md】 (") < text.index("Alpha fact.") < text.index("【0:1†b.md】 (")
    assert "nothing" in search_output("facts", [], [])


def test_known_markers_become_file_citations_and_unknown_stay_text() -> None:
    book = CitationBook()
    book.label(HITS)
    answer = "Alpha【0:0†a.md】 and beta【0:1†source】, not【7:0†zzz.md】 nor【0:0†old.md】."
    annotations = file_citations(answer, book)
    assert [a["text"] for a in annotations] == ["【0:0†a.md】", "【0:1†source】"]
    first = annotations[0]
    assert answer[first["start_index"] : first["end_index"]] == "【0:0†a.md】"
    assert first["type"] == "file_citation"
    assert first["file_citation"] == {"file_id": "file-a", "quote": "Alpha fact."}
    assert annotations[1]["file_citation"]["file_id"] == "file-b"
    assert [d["index"] for d in annotation_deltas(annotations)] == [0, 1]


def test_the_book_survives_a_round_trip_through_the_database_state() -> None:
    book = CitationBook()
    book.label(HITS)
    restored = CitationBook.from_state(book.to_state())
    assert restored == book
    assert restored.label(HITS[:1]) == ["【1:0†a.md】"]
    assert CitationBook.from_state(None) == CitationBook()


def test_scripted_model_can_cite_the_first_marker_of_a_tool_output() -> None:
    output = search_output("q", HITS, CitationBook().label(HITS))
    assert first_marker(output) == "【0:0†a.md】"
    assert fill_placeholders("It says so {first_citation}.", output) == "It says so 【0:0†a.md】."
    assert fill_placeholders("none {first_citation}", "no markers") == "none "
