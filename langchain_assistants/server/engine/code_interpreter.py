"""The hosted ``code_interpreter`` tool: run the model's code in the sandbox, keep figures.

Each thread has its own working directory under the server's sandbox root, so files
persist between calls of one thread. The code's logs go back to the model; the figures
it leaves open become stored files (``image`` outputs, ``image_file`` blocks in the answer).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...sandbox import arun_python
from ..settings import ServerSettings
from ..store import Store
from .hosted import HostedResult
from .tools import CODE_INTERPRETER

if TYPE_CHECKING:
    from .turn import ModelTurn, ToolCall


def code_outputs(logs: str, image_ids: list[str]) -> list[dict[str, Any]]:
    """A code_interpreter call's ``outputs``: its logs, then one ``image`` per figure."""
    images = [{"type": "image", "image": {"file_id": i}} for i in image_ids]
    return [{"type": "logs", "logs": logs}, *images]


class CodeInterpreter:
    """Executes ``code_interpreter`` calls in the local sandbox."""

    name = CODE_INTERPRETER

    def __init__(self, settings: ServerSettings, store: Store) -> None:
        self.settings = settings
        self.store = store

    def workdir(self, thread_id: str) -> Path:
        return Path(self.settings.sandbox_root) / thread_id

    async def execute(self, run: dict[str, Any], call: ToolCall, turn: ModelTurn) -> HostedResult:
        code = str(call.args.get("input", ""))
        turn.publish_code_input(call)
        result = await arun_python(
            code,
            workdir=self.workdir(run["thread_id"]),
            timeout=self.settings.code_timeout_seconds,
            memory_mb=self.settings.code_memory_mb,
        )
        image_ids = []
        for image in result.images:
            stored = await turn.recorder.save_file(image.name, image.read_bytes())
            image_ids.append(stored["id"])
        outputs = code_outputs(result.logs, image_ids)
        turn.publish_code_outputs(call, outputs)
        entry = {
            "id": call.id,
            "type": CODE_INTERPRETER,
            "code_interpreter": {"input": code, "outputs": outputs},
        }
        return HostedResult(call.id, result.logs, entry, image_ids)
