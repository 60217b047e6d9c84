"""The seed page's notebook runs top to bottom, so it never rots."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "openai_assistants.ipynb"


def _outputs(nb: nbformat.NotebookNode) -> str:
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", "") + str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


def test_notebook_executes_with_computed_values(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("LANGCHAIN_ASSISTANTS_DEMO_MODEL", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    text = _outputs(nb)
    assert "-32.22425314473263" in text
    assert "24.815" in text
    assert "-14.983253144732629" in text
    # Chat with a document: the cited answer, its marker replaced by the source's number.
    assert "From October to March the lamp is lit at 15:40 [0]." in text
    assert "[0] lighthouse-handbook.md (file-" in text
