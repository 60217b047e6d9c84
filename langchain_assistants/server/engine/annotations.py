"""Pure functions: the annotations of an answer's text, one function per annotation kind.

Annotations point into the text by character offsets (``start_index``/``end_index``, the
span of ``text``), as OpenAI's messages do; :func:`ordered` merges kinds by position.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# Characters that may continue a path: a link ends where they stop.
_PATH_CHAR = re.compile(r"[\w\-./~%+]")


def file_path_annotations(text: str, links: Mapping[str, str]) -> list[dict[str, Any]]:
    """``file_path`` annotations for each mention of a known link in ``text``.

    ``links`` maps a link as the model writes it (``sandbox:/mnt/data/out.csv``) to the id
    of the stored file. A mention counts only as a whole path: ``out.csv`` does not match
    inside ``out.csv.bak``, but a trailing full stop or bracket ends it.
    """
    found: list[tuple[int, int, str]] = []
    for link, file_id in links.items():
        for match in re.finditer(re.escape(link), text):
            end = match.end()
            if end < len(text) and _PATH_CHAR.match(text[end]) and not _ends_sentence(text, end):
                continue
            found.append((match.start(), end, file_id))
    # Where two links overlap (``a/b`` and ``a/b/c``), the longer one wins.
    found.sort(key=lambda item: (item[0], -(item[1] - item[0])))
    annotations: list[dict[str, Any]] = []
    last_end = -1
    for start, end, file_id in found:
        if start < last_end:
            continue
        annotations.append(
            {
                "type": "file_path",
                "text": text[start:end],
                "start_index": start,
                "end_index": end,
                "file_path": {"file_id": file_id},
            }
        )
        last_end = end
    return annotations


def _ends_sentence(text: str, end: int) -> bool:
    """A ``.`` right after a link that is followed by nothing path-like ends the sentence."""
    return text[end] == "." and (end + 1 == len(text) or not _PATH_CHAR.match(text[end + 1]))


def ordered(*kinds: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Annotations of several kinds in text order."""
    merged = [a for kind in kinds for a in kind]
    return sorted(merged, key=lambda a: (a["start_index"], a["end_index"]))
