"""``image_file`` blocks of thread messages as the model sees them: inline data URLs.

A user message may show the model an uploaded image (``{"type": "image_file",
"image_file": {"file_id"}}``, typically purpose ``vision``). Chat models take images as
URLs, so each such file's bytes are read once per run and passed as a ``data:`` URL. Files
that are gone, too large or not images stay a short text note (see ``conversation``).
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Iterable
from typing import Any

from ..store.files import FileStore

#: OpenAI's per-image limit for vision input.
MAX_IMAGE_BYTES = 20 * 1024 * 1024


def image_file_ids(messages: Iterable[dict[str, Any]]) -> list[str]:
    """Ids of the files user messages show as images, in order, without repeats."""
    ids = [
        str(block["image_file"]["file_id"])
        for message in messages
        if message.get("role") == "user"
        for block in message.get("content") or []
        if block.get("type") == "image_file"
    ]
    return list(dict.fromkeys(ids))


async def image_urls(files: FileStore, messages: Iterable[dict[str, Any]]) -> dict[str, str]:
    """File id → ``data:`` URL for each image file the messages show that can be sent."""
    urls = {}
    for file_id in image_file_ids(messages):
        info = await files.get(file_id)
        if info is None or info["bytes"] > MAX_IMAGE_BYTES:
            continue
        mime = mimetypes.guess_type(info["filename"])[0] or ""
        if not mime.startswith("image/"):
            continue
        data = await files.read_bytes(file_id)
        if data is not None:
            urls[file_id] = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return urls
