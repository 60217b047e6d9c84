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
    # The bench starts its own PostgreSQL (make install installs it): section 9 has the
    # one-at-a-time rows and a `serve --workers N` row per quick worker count, measured.
    section_9 = report.split("## 9. Server in its own process", 1)[1].split("\n## ", 1)[0]
    assert "| PostgreSQL | new thread |" in section_9
    assert "`serve --workers N` on PostgreSQL" in section_9
    for workers in (1, 2):
        rows = [
            line
            for line in section_9.splitlines()
            if line.startswith(f"| PostgreSQL | {workers} |")
        ]
        assert len(rows) == 1, section_9
        cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
        assert "not run" not in cells[-1] and "failed" not in cells[-1], rows[0]
        assert int(cells[3]) > 0 and float(cells[5]) > 0  # turns done; CPU counted
    assert "| PostgreSQL | 2 |" in section_9 and "workers " in section_9  # CPU by process
