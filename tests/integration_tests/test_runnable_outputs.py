"""What a finished turn returns: text output, ids, usage, attachments, annotations, files."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from openai import OpenAI

from langchain_assistants.client import OpenAIAssistantFinish, OpenAIAssistantRunnable

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CODE = (
    "import pathlib\n"
    "import matplotlib.pyplot as plt\n"
    "pathlib.Path('report.csv').write_text('a,b\\n1,2\\n')\n"
    "plt.bar(['a', 'b'], [1, 2])\n"
    "print('wrote report.csv')"
)

RULES = [
    {
        "match": "report",
        "turns": [
            {"tool_calls": [{"name": "code_interpreter", "args": {"input": CODE}}]},
            {"content": "Done: {last_tool_output}"},
        ],
    },
    {"match": "", "turns": [{"content": "Just text."}]},
]


@pytest.fixture
def runnable(client: OpenAI, scripted_model: Callable[..., str]) -> OpenAIAssistantRunnable:
    return OpenAIAssistantRunnable.create_assistant(
        name="outputs",
        instructions="",
        tools=[{"type": "code_interpreter"}],
        model=scripted_model(RULES),
        client=client,
        as_agent=True,
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_finish_return_values(runnable: OpenAIAssistantRunnable, mode: str) -> None:
    inputs = {"content": "make a report"}
    if mode == "sync":
        finish = await asyncio.to_thread(runnable.invoke, inputs)
    else:
        finish = await runnable.ainvoke(inputs)
    assert isinstance(finish, OpenAIAssistantFinish)
    values = finish.return_values
    assert isinstance(values["output"], str)
    assert values["output"].startswith("Done: wrote report.csv")
    assert values["thread_id"] == finish.thread_id
    assert values["run_id"] == finish.run_id
    assert set(values["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    for key in ("attachments", "annotations", "files"):
        assert isinstance(values[key], list)


async def test_code_interpreter_files_can_be_downloaded(
    runnable: OpenAIAssistantRunnable,
) -> None:
    finish = await runnable.ainvoke({"content": "make a report"})
    files: list[dict[str, Any]] = finish.return_values["files"]
    # The CSV the code wrote (linked in the answer: a file_path annotation), then the chart.
    assert [(f["type"], f.get("filename")) for f in files] == [
        ("file", "report.csv"),
        ("image", None),
    ]
    assert await runnable.adownload_file(files[0]["file_id"]) == b"a,b\n1,2\n"
    data = await runnable.adownload_file(files[1]["file_id"])
    assert data.startswith(b"\x89PNG")
    assert runnable.download_file(files[1]["file_id"]) == data
    annotations = finish.return_values["annotations"]
    assert [a.text for a in annotations] == ["sandbox:/mnt/data/report.csv"]


def test_raw_messages_when_not_an_agent(client: OpenAI, scripted_model: Callable[..., str]) -> None:
    raw = OpenAIAssistantRunnable.create_assistant(
        name="raw",
        instructions="",
        tools=[{"type": "code_interpreter"}],
        model=scripted_model(RULES),
        client=client,
    )
    messages = raw.invoke({"content": "hello"})
    assert [type(m).__name__ for m in messages] == ["Message"]
    assert messages[0].role == "assistant"
    assert messages[0].content[0].text.value == "Just text."
