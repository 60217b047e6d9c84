"""The notebook is stored with its outputs, and they are what a fresh run prints today."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"


def _execute_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notebook_execute", NOTEBOOKS / "execute.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_stored_outputs_match_a_fresh_execution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LANGCHAIN_ASSISTANTS_DEMO_MODEL", raising=False)
    runner = _execute_module()
    stored = nbformat.read(runner.NOTEBOOK, as_version=4)
    fresh = runner.execute(workdir=tmp_path)
    expected = runner.comparable_outputs(stored)
    assert runner.comparable_outputs(fresh) == expected, "run `make notebook` and commit it"
    text = "\n".join(expected)
    assert "-32.22425314473263" in text
    assert "<image/png>" in text  # the code interpreter's figure, shown inline
    assert "Once upon a time" in text  # streamed tokens
    assert "24.815" in text and "-14.983253144732629" in text
    assert "From October to March the lamp is lit at 15:40 [0]." in text
    assert "Error" not in text and "Traceback" not in text
