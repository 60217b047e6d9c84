"""``python -m bench --quick`` runs end to end and writes a report with every section.

Timings are never asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

HEADINGS = (
    "# Benchmark: ours vs legacy vs the floor",
    "## Machine",
    "## Targets",
    "## 1. Turn latency",
    "## 2. Tool round trip",
    "## 3. HTTP requests per turn",
    "## 4. Cost vs thread length",
    "## 5. Concurrency",
    "## 6. Server throughput",
    "## 7. Retrieval (vector stores)",
    "## 8. File uploads",
    "## 9. Server in its own process",
    "## What looks slow",
)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_quick_bench_writes_the_report(tmp_path: Path) -> None:
    output = tmp_path / "RESULTS.md"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "LANGCHAIN_ASSISTANTS_", "BENCH_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = output.read_text(encoding="utf-8")
    for heading in HEADINGS:
        assert heading in report
    for column in ("ours", "legacy (defaults)", "floor (raw SSE)"):
        assert f"| {column} |" in report or f"| {column} " in report
    assert "CPU count" in report and "python" in report and "platform" in report
    assert "Traceback" not in result.stderr
