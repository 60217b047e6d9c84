"""The server install ships what the code interpreter's users expect: numpy, pandas and
matplotlib come with ``[server]`` and ``[all]`` (through the ``code-interpreter`` extra)."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_LIBRARIES = {"numpy", "pandas", "matplotlib"}


def extra_requirements(extra: str) -> set[str]:
    requires = importlib.metadata.requires("langchain-assistants") or []
    names = set()
    for line in requires:
        requirement = Requirement(line)
        if requirement.marker is not None and requirement.marker.evaluate({"extra": extra}):
            names.add(requirement.name)
    return names


@pytest.mark.parametrize("extra", ["code-interpreter", "server", "all"])
def test_extras_pull_in_the_sandbox_libraries(extra: str) -> None:
    assert extra_requirements(extra) >= SANDBOX_LIBRARIES


@pytest.mark.slow
def test_fresh_venv_server_install_resolves_the_sandbox_libraries(tmp_path: Path) -> None:
    """What ``pip install 'langchain-assistants[server]'`` would install in a fresh venv
    (resolved from the package index, nothing installed: ``--dry-run --report``)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    report = tmp_path / "report.json"
    subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            "--dry-run",
            "--report",
            str(report),
            f"{ROOT}[server]",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    names = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    assert names >= SANDBOX_LIBRARIES
