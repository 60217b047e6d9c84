"""The keys file and the key ring: parsing, projects, reloads, and keys kept out of text."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from langchain_assistants.server.auth import KeyFileError, KeyRing, parse_keys

KEY_A = "sk-unit-alpha-0123456789"
KEY_B = "sk-unit-beta-0123456789"


def test_parse_skips_blanks_and_comments() -> None:
    entries = parse_keys(f"\n# team\n  {KEY_A}\talpha  \n\n{KEY_B} beta\n", source="keys")
    assert [e.project for e in entries] == ["alpha", "beta"]
    assert KEY_A not in repr(entries)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"{KEY_A}\n", "line 1: expected 'KEY PROJECT' (2 fields), got 1"),
        (f"{KEY_A} alpha extra\n", "line 1: expected 'KEY PROJECT' (2 fields), got 3"),
        (f"{KEY_A} bad/name\n", "line 1: the project name"),
        (f"{KEY_A} alpha\n{KEY_A} beta\n", "line 2: the same key as line 1"),
    ],
)
def test_parse_reports_lines_never_keys(text: str, problem: str) -> None:
    with pytest.raises(KeyFileError) as info:
        parse_keys(text, source="keys.txt")
    assert problem in str(info.value) and str(info.value).startswith("keys.txt: ")
    assert KEY_A not in str(info.value)


def test_ring_maps_keys_to_projects(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{KEY_A} alpha\n")
    ring = KeyRing(SecretStr(KEY_B), keys)
    assert ring.project_for(f"Bearer {KEY_A}") == "alpha"
    assert ring.project_for(f"bearer {KEY_B}") == "default"  # the single --api-key
    assert ring.project_for(f"Basic {KEY_A}") is None
    assert ring.project_for("Bearer sk-other") is None and ring.project_for(None) is None
    assert KEY_A not in repr(ring) and KEY_B not in repr(ring)


def test_no_keys_means_everything_in_default() -> None:
    ring = KeyRing()
    assert not ring.required and ring.project_for(None) == "default"


def test_the_single_key_cannot_be_moved_to_another_project(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{KEY_B} default\n")
    assert KeyRing(SecretStr(KEY_B), keys).project_for(f"Bearer {KEY_B}") == "default"
    keys.write_text(f"{KEY_B} alpha\n")
    with pytest.raises(KeyFileError, match="line 1: this key is --api-key"):
        KeyRing(SecretStr(KEY_B), keys)


def test_a_failed_reload_keeps_the_previous_keys(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{KEY_A} alpha\n")
    ring = KeyRing(None, keys)
    assert ring.reload() is False  # unchanged content is not parsed again
    keys.write_text("garbage\n")
    with pytest.raises(KeyFileError):
        ring.reload()
    assert ring.project_for(f"Bearer {KEY_A}") == "alpha"
    keys.unlink()
    with pytest.raises(KeyFileError, match="cannot read it"):
        ring.reload()
    assert ring.project_for(f"Bearer {KEY_A}") == "alpha"
    keys.write_text(f"{KEY_B} beta\n")
    assert ring.reload() is True
    assert ring.project_for(f"Bearer {KEY_A}") is None
    assert ring.project_for(f"Bearer {KEY_B}") == "beta"
