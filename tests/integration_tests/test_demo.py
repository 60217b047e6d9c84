"""``make demo``'s job: every seed-page flow, offline, with real computed values."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_runs_offline_and_prints_computed_values() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "LANGCHAIN_ASSISTANTS_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "langchain_assistants.demo"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "SCRIPTED" in out  # it says the model is scripted
    for flow in (
        "1. Using only OpenAI tools",
        "2. As a LangChain agent",
        "3. Custom execution",
        "4. Using an existing thread",
        "5. Using an existing assistant",
        "6. Chat with a document",
    ):
        assert flow in out
    assert "-32.22425314473263" in out  # 10 - 4 ** 2.7, really computed
    assert "24.815" in out  # 67 / 2.7
    assert "-14.983253144732629" in out  # + 17.241 on the same thread
    # The shipped document, uploaded, searched and cited (the quote is the real passage).
    assert "From October to March the lamp is lit at 15:40 [0]." in out
    assert "[0] lighthouse-handbook.md (file-" in out
    assert '"From October to March the lamp is lit at 15:40 and put out at 08:10;' in out
    assert "Traceback" not in out + result.stderr
    assert "Done: every flow of the seed page ran." in out


def test_demo_reports_errors_readably() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "langchain_assistants.demo",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--api-key",
            "k",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "demo failed:" in result.stderr and "Traceback" not in result.stderr
