"""Files for the hosted code_interpreter: in (staged into the thread's working directory)
and out (what the code wrote becomes stored files that the answer links).

In: the files of ``tool_resources.code_interpreter.file_ids`` on the assistant and the
thread, and of message attachments with the ``code_interpreter`` tool, are copied into the
working directory under their filenames (the sandbox shows that directory at
``/mnt/data``). Out: every file a call created or changed there is stored (purpose
``assistants_output``); the model is told its link ``sandbox:/mnt/data/<path>``, and
mentions of that link in the answer become ``file_path`` annotations.

What a run produced is kept in its stored transcript (as the tool messages' ``artifact``),
not in memory, so a run that pauses for ``requires_action`` still shows it afterwards.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..store import Kind, Store
from ..store.files import FileStore
from .tools import CODE_INTERPRETER

#: Where OpenAI's code_interpreter keeps files; answers link them as ``sandbox:`` + path.
SANDBOX_DATA_DIR = "/mnt/data"
LINK_SCHEME = "sandbox:"
#: The most files one ``tool_resources.code_interpreter`` may list.
MAX_RESOURCE_FILES = 20
#: Which file id is staged under which name (hidden: not an output of the code).
MANIFEST = ".staged-files.json"
OUTPUT_PURPOSE = "assistants_output"


@dataclass(frozen=True)
class InputFile:
    """A file the code can read: its id and its name in the working directory."""

    file_id: str
    name: str
    size: int


def link_for(relative: str) -> str:
    """The link the model writes for a file at ``relative`` in the working directory."""
    return f"{LINK_SCHEME}{SANDBOX_DATA_DIR}/{relative}"


# -- in -------------------------------------------------------------------------------------


def resource_file_ids(tool_resources: dict[str, Any] | None) -> list[str]:
    code = (tool_resources or {}).get(CODE_INTERPRETER) or {}
    return [str(i) for i in code.get("file_ids") or []]


def attachment_file_ids(messages: Iterable[dict[str, Any]]) -> list[str]:
    """Ids of files attached to messages for the code_interpreter tool, oldest first."""
    ids = []
    for message in messages:
        for attachment in message.get("attachments") or []:
            if any(t.get("type") == CODE_INTERPRETER for t in attachment.get("tools") or []):
                ids.append(str(attachment["file_id"]))
    return ids


def assign_names(files: list[dict[str, Any]]) -> list[InputFile]:
    """Unique names for the files: the first keeps its filename, a later file with the same
    name is prefixed with its id (so nothing overwrites another input)."""
    taken: set[str] = set()
    out = []
    for file in files:
        name = PurePosixPath(file["filename"]).name or file["id"]
        if name in taken or name.startswith("."):
            name = f"{file['id']}-{name.lstrip('.')}"
        taken.add(name)
        out.append(InputFile(file["id"], name, int(file["bytes"])))
    return out


def files_note(inputs: list[InputFile]) -> str:
    """What the model is told about files, appended to the code_interpreter description."""
    note = (
        " Files you create in the working directory are given to the user: to offer one, "
        f"write its link, {link_for('<name>')}, in your answer."
    )
    if inputs:
        listed = ", ".join(f"{f.name} ({f.size} bytes)" for f in inputs)
        note = (
            " The user's files are in the current working directory "
            f"(shown to the user as {SANDBOX_DATA_DIR}); open them by name: {listed}." + note
        )
    return note


# -- out ------------------------------------------------------------------------------------


@dataclass
class RunOutputs:
    """The figures and files a run's code produced so far, rebuilt from its transcript."""

    images: list[str] = field(default_factory=list)
    #: ``{"file_id", "link"}`` per written file.
    files: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def from_transcript(cls, transcript: list[dict[str, Any]]) -> RunOutputs:
        outputs = cls()
        for entry in transcript:
            artifact = entry.get("data", {}).get("artifact")
            if entry.get("type") == "tool" and isinstance(artifact, dict):
                outputs.add(artifact)
        return outputs

    def add(self, artifact: dict[str, Any]) -> None:
        self.images += [str(i) for i in artifact.get("images") or []]
        self.files += [dict(f) for f in artifact.get("files") or []]

    def links(self) -> dict[str, str]:
        """Link → file id (a file written twice links to its latest version)."""
        return {f["link"]: f["file_id"] for f in self.files}

    def attachments(self) -> list[dict[str, Any]]:
        """The answer message's ``attachments``: each written file, for code_interpreter."""
        seen: dict[str, None] = dict.fromkeys(self.links().values())
        return [{"file_id": i, "tools": [{"type": CODE_INTERPRETER}]} for i in seen]


def within(path: Path, root: Path) -> Path | None:
    """``path`` relative to ``root`` if it is a regular file there, else None.

    The code may leave symlinks (to host files, seen from outside the sandbox); following
    one would hand the user a file the code could not read, so links are never followed.
    """
    try:
        if path.is_symlink() or not path.is_file():
            return None
        return path.resolve().relative_to(root.resolve())
    except (OSError, ValueError):
        return None


def artifact(image_ids: list[str], files: list[dict[str, str]]) -> dict[str, Any]:
    """What one call produced, as stored with its tool message in the transcript."""
    return {"images": image_ids, "files": files}


def written_note(files: list[dict[str, str]]) -> str:
    """The line the model (and the step's logs) get about the files a call wrote."""
    if not files:
        return ""
    links = "\n".join(f["link"] for f in files)
    return f"Files saved for the user (link them in your answer):\n{links}\n"


class CodeFiles:
    """Stages a run's input files and stores the files its code writes."""

    def __init__(self, store: Store, files: FileStore, *, max_file_bytes: int) -> None:
        self.store = store
        self.files = files
        self.max_file_bytes = max_file_bytes

    def scoped(self, project: str | None) -> CodeFiles:
        """The same, reading and storing files of ``project`` only (a run's project)."""
        if project is None:
            return self
        return CodeFiles(
            self.store.scoped(project),
            self.files.scoped(project),
            max_file_bytes=self.max_file_bytes,
        )

    async def inputs(
        self, run: dict[str, Any], thread_messages: list[dict[str, Any]] | None = None
    ) -> list[InputFile]:
        """The files this run's code can read (deleted ones are left out)."""
        assistant = await self.store.get(Kind.assistant, run["assistant_id"]) or {}
        thread = await self.store.get(Kind.thread, run["thread_id"]) or {}
        if thread_messages is None:
            thread_messages = await self.store.thread_messages(run["thread_id"])
        ids = (
            resource_file_ids(assistant.get("tool_resources"))
            + resource_file_ids(thread.get("tool_resources"))
            + attachment_file_ids(thread_messages)
        )
        found = []
        for file_id in dict.fromkeys(ids):
            file = await self.files.get(file_id)
            if file is not None:
                found.append(file)
        return assign_names(found)

    async def tool_note(self, run: dict[str, Any], thread_messages: list[dict[str, Any]]) -> str:
        """The files note for the code_interpreter description ("" without that tool)."""
        if not any(tool.get("type") == CODE_INTERPRETER for tool in run.get("tools") or []):
            return ""
        return files_note(await self.inputs(run, thread_messages))

    async def stage(self, workdir: Path, inputs: list[InputFile]) -> list[str]:
        """Copy the inputs into ``workdir`` (once per file); returns names now missing
        because their file was deleted meanwhile."""
        workdir.mkdir(parents=True, exist_ok=True)
        manifest_path = workdir / MANIFEST
        manifest: dict[str, str] = {}
        with contextlib.suppress(OSError, ValueError):
            manifest = dict(json.loads(manifest_path.read_text()))
        missing = []
        for item in inputs:
            target = workdir / item.name
            if manifest.get(item.name) == item.file_id and target.is_file():
                continue
            if await self.files.copy_to(item.file_id, target) is None:
                missing.append(item.name)
                continue
            manifest[item.name] = item.file_id
        manifest_path.write_text(json.dumps(manifest))
        return missing

    async def collect(self, workdir: Path, changed: list[Path]) -> list[dict[str, str]]:
        """Store each file the code created or changed; ``{"file_id", "link"}`` per file."""
        out = []
        for path in changed:
            relative = within(path, workdir)
            if relative is None or path.stat().st_size > self.max_file_bytes:
                continue
            stored = await self.files.put_path(path, filename=path.name, purpose=OUTPUT_PURPOSE)
            out.append({"file_id": stored["id"], "link": link_for(relative.as_posix())})
        return out
