"""Pure parts of code-interpreter files: file_path annotations, input names, run outputs."""

from __future__ import annotations

from langchain_core.messages import messages_to_dict

from langchain_assistants.server.engine.annotations import file_path_annotations, ordered
from langchain_assistants.server.engine.code_files import (
    RunOutputs,
    assign_names,
    attachment_file_ids,
    files_note,
    link_for,
)
from langchain_assistants.server.engine.conversation import tool_result_entries

LINK = "sandbox:/mnt/data/out.csv"


def test_a_link_in_markdown_is_annotated_at_its_offsets() -> None:
    text = f"Download [the data]({LINK}) now."
    (annotation,) = file_path_annotations(text, {LINK: "file-1"})
    assert text[annotation["start_index"] : annotation["end_index"]] == LINK
    assert annotation == {
        "type": "file_path",
        "text": LINK,
        "start_index": text.index(LINK),
        "end_index": text.index(LINK) + len(LINK),
        "file_path": {"file_id": "file-1"},
    }


def test_whole_paths_only_and_a_full_stop_ends_a_link() -> None:
    assert file_path_annotations(f"{LINK}.bak is old", {LINK: "f"}) == []
    assert file_path_annotations(f"{LINK}x", {LINK: "f"}) == []
    (end_of_sentence,) = file_path_annotations(f"See {LINK}.", {LINK: "f"})
    assert end_of_sentence["text"] == LINK


def test_every_mention_and_the_longer_of_overlapping_links() -> None:
    longer = "sandbox:/mnt/data/out.csv/part"
    text = f"{LINK} and {LINK} and {longer}"
    found = file_path_annotations(text, {LINK: "a", longer: "b"})
    assert [(a["start_index"], a["file_path"]["file_id"]) for a in found] == [
        (0, "a"),
        (text.index(" and ") + 5, "a"),
        (text.rindex(longer), "b"),
    ]
    assert ordered(found[2:], found[:2]) == found


def test_unknown_links_stay_text() -> None:
    assert file_path_annotations("sandbox:/mnt/data/other.csv", {LINK: "f"}) == []


def test_names_are_unique_and_never_hidden() -> None:
    files = [
        {"id": "file-a", "filename": "data.csv", "bytes": 1},
        {"id": "file-b", "filename": "data.csv", "bytes": 2},
        {"id": "file-c", "filename": ".env", "bytes": 3},
    ]
    assert [f.name for f in assign_names(files)] == ["data.csv", "file-b-data.csv", "file-c-env"]


def test_only_code_interpreter_attachments_are_inputs() -> None:
    messages = [
        {"attachments": [{"file_id": "f1", "tools": [{"type": "code_interpreter"}]}]},
        {"attachments": [{"file_id": "f2", "tools": [{"type": "file_search"}]}]},
    ]
    assert attachment_file_ids(messages) == ["f1"]


def test_the_note_lists_inputs_and_says_how_to_link() -> None:
    note = files_note(assign_names([{"id": "f", "filename": "s.csv", "bytes": 9}]))
    assert "s.csv (9 bytes)" in note and link_for("<name>") in note
    assert "s.csv" not in files_note([])


def test_outputs_come_back_from_the_stored_transcript() -> None:
    produced = {"images": ["img"], "files": [{"file_id": "f1", "link": LINK}]}
    transcript = tool_result_entries([("call_1", "logs")], artifacts={"call_1": produced})
    restored = RunOutputs.from_transcript(messages_to_dict([]) + transcript)
    assert restored.images == ["img"] and restored.links() == {LINK: "f1"}
    assert restored.attachments() == [{"file_id": "f1", "tools": [{"type": "code_interpreter"}]}]
