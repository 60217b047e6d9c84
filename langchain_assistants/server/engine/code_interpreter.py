"""The hosted ``code_interpreter`` tool: run the model's code in the sandbox, keep its files.

Each thread has its own working directory under the server's sandbox root (``/mnt/data``
inside the sandbox), so files persist between calls of one thread. Where the code runs is
chosen by :func:`.code_backends.code_backend`. Before a call the run's input files are
staged there; after it, the figures it left open become ``image`` outputs (``image_file``
blocks in the answer) and every file it wrote becomes a stored file the answer can link
(``file_path`` annotations; see ``code_files``). The code's logs go back to the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..settings import ServerSettings
from .code_backends import code_backend
from .code_files import OUTPUT_PURPOSE, CodeFiles, artifact, within, written_note
from .hosted import HostedResult
from .tools import CODE_INTERPRETER

if TYPE_CHECKING:
    from .turn import ModelTurn, ToolCall


def code_outputs(logs: str, image_ids: list[str]) -> list[dict[str, Any]]:
    """A code_interpreter call's ``outputs``: its logs, then one ``image`` per figure."""
    images = [{"type": "image", "image": {"file_id": i}} for i in image_ids]
    return [{"type": "logs", "logs": logs}, *images]


def missing_note(names: list[str]) -> str:
    if not names:
        return ""
    return f"Note: these files were deleted and are no longer available: {', '.join(names)}\n"


class CodeInterpreter:
    """Executes ``code_interpreter`` calls on the configured backend."""

    name = CODE_INTERPRETER

    def __init__(self, settings: ServerSettings, code_files: CodeFiles) -> None:
        self.settings = settings
        self.code_files = code_files
        self.backend = code_backend(settings)

    def unavailable_reason(self) -> str | None:
        """Why code cannot run here (runs using this tool are refused), else None."""
        return self.backend.unavailable_reason()

    async def aclose(self) -> None:
        """Release the backend's resources (E2B's remote sandboxes) at shutdown."""
        await self.backend.aclose()

    def pending_entry(self, call: ToolCall) -> dict[str, Any]:
        code = str(call.args.get("input", ""))
        return {
            "id": call.id,
            "type": CODE_INTERPRETER,
            "code_interpreter": {"input": code, "outputs": []},
        }

    def workdir(self, thread_id: str) -> Path:
        return Path(self.settings.sandbox_root) / thread_id

    async def execute(self, run: dict[str, Any], call: ToolCall, turn: ModelTurn) -> HostedResult:
        code = str(call.args.get("input", ""))
        turn.publish_code_input(call)
        thread_id = run["thread_id"]
        workdir = self.workdir(thread_id)
        # What the run reads and makes belongs to its project (the recorder's).
        code_files = self.code_files.scoped(turn.recorder.project)
        # Copies: deleting a file while the run works never touches what the code reads.
        missing = await code_files.stage(workdir, await code_files.inputs(run))
        result = await self.backend.run(code, thread_id=thread_id, workdir=workdir)
        image_ids = []
        for image in result.images:
            if within(image, workdir) is None:  # a link planted by the code: not a figure
                continue
            stored = await code_files.files.put_path(
                image, filename=image.name, purpose=OUTPUT_PURPOSE
            )
            image_ids.append(stored["id"])
        written = await code_files.collect(workdir, result.files)
        logs = missing_note(missing) + result.logs + written_note(written)
        outputs = code_outputs(logs, image_ids)
        turn.publish_code_outputs(call, outputs)
        entry = {
            "id": call.id,
            "type": CODE_INTERPRETER,
            "code_interpreter": {"input": code, "outputs": outputs},
        }
        return HostedResult(call.id, logs, entry, image_ids, artifact(image_ids, written))
