"""The hosted ``code_interpreter`` tool: run the model's code in the sandbox, keep figures.

Each thread has its own working directory under the server's sandbox root (``/mnt/data``
inside the sandbox), so files persist between calls of one thread. Where the code runs is
chosen by :func:`.code_backends.code_backend`. The code's logs go back to the model; the
figures it leaves open become stored files (``image`` outputs, ``image_file`` blocks).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..settings import ServerSettings
from ..store import Store
from .code_backends import code_backend
from .hosted import HostedResult
from .tools import CODE_INTERPRETER

if TYPE_CHECKING:
    from .turn import ModelTurn, ToolCall


def code_outputs(logs: str, image_ids: list[str]) -> list[dict[str, Any]]:
    """A code_interpreter call's ``outputs``: its logs, then one ``image`` per figure."""
    images = [{"type": "image", "image": {"file_id": i}} for i in image_ids]
    return [{"type": "logs", "logs": logs}, *images]


class CodeInterpreter:
    """Executes ``code_interpreter`` calls on the configured backend."""

    name = CODE_INTERPRETER

    def __init__(self, settings: ServerSettings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.backend = code_backend(settings)

    def unavailable_reason(self) -> str | None:
        """Why code cannot run here (runs using this tool are refused), else None."""
        return self.backend.unavailable_reason()

    async def aclose(self) -> None:
        """Release the backend's resources (E2B's remote sandboxes) at shutdown."""
        await self.backend.aclose()

    def workdir(self, thread_id: str) -> Path:
        return Path(self.settings.sandbox_root) / thread_id

    async def execute(self, run: dict[str, Any], call: ToolCall, turn: ModelTurn) -> HostedResult:
        code = str(call.args.get("input", ""))
        turn.publish_code_input(call)
        thread_id = run["thread_id"]
        result = await self.backend.run(code, thread_id=thread_id, workdir=self.workdir(thread_id))
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
