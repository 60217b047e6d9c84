"""Run a notebook top to bottom and store it with its outputs (``make notebook``).

The suite runs the notebook afresh and checks that its outputs match the stored ones
(:func:`comparable_outputs`), so what GitHub shows is what the code prints today. Only
what differs on every run is masked: object ids and the embedded server's port.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).with_name("openai_assistants.ipynb")
_VOLATILE = re.compile(r"\b(asst|thread|run|msg|step|call|vs|file)[_-][A-Za-z0-9]{8,}\b")
_PORT = re.compile(r"127\.0\.0\.1:\d+")


def execute(path: Path = NOTEBOOK, *, workdir: Path | None = None) -> nbformat.NotebookNode:
    """The notebook executed in ``workdir`` (a temporary directory by default)."""
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        cwd = str(workdir or tmp)
        NotebookClient(
            nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": cwd}}
        ).execute()
    return nb


def comparable_outputs(nb: nbformat.NotebookNode) -> list[str]:
    """Each code cell's outputs as one text: printed text (however the kernel split it),
    results, errors, and ``<image/png>`` for each figure; ids and ports masked."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif out.get("output_type") == "error":
                parts.append(f"{out.get('ename')}: {out.get('evalue')}\n")
            elif "image/png" in data:
                parts.append("<image/png>\n")
            else:
                parts.append(str(data.get("text/plain", "")) + "\n")
        text = "".join(parts)
        cells.append(_PORT.sub("127.0.0.1:<port>", _VOLATILE.sub(r"\1_<id>", text)))
    return cells


def main() -> int:
    if os.environ.get("LANGCHAIN_ASSISTANTS_DEMO_MODEL"):
        print("Unset LANGCHAIN_ASSISTANTS_DEMO_MODEL: stored outputs come from the scripted model.")
        return 2
    nb = execute()
    nbformat.write(nb, NOTEBOOK)
    print(f"stored {NOTEBOOK} with its outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
