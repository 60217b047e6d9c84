"""What a cell produced: changed files in the working directory and saved figure images."""

from __future__ import annotations

import os
from pathlib import Path

# (mtime_ns, size) per file: enough to notice files a cell created or rewrote.
Snapshot = dict[Path, tuple[int, int]]

MAX_SCANNED_FILES = 10_000
MAX_REPORTED_FILES = 100


def snapshot_dir(root: Path, *, exclude: Path | None = None) -> Snapshot:
    """Stat the visible files under ``root`` (hidden entries, ``exclude`` and caches skipped)."""
    snapshot: Snapshot = {}
    excluded = os.path.realpath(exclude) if exclude is not None else None
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [
            name
            for name in dirnames
            if not _hidden(name) and os.path.realpath(os.path.join(dirpath, name)) != excluded
        ]
        for name in filenames:
            if _hidden(name):
                continue
            path = Path(dirpath, name)
            try:
                stat = path.stat()
            except OSError:
                continue
            snapshot[path] = (stat.st_mtime_ns, stat.st_size)
            if len(snapshot) >= MAX_SCANNED_FILES:
                return snapshot
    return snapshot


def changed_files(before: Snapshot, after: Snapshot) -> list[Path]:
    """Files present in ``after`` that are new or differ from ``before``, sorted."""
    changed = [path for path, stamp in after.items() if before.get(path) != stamp]
    return sorted(changed)[:MAX_REPORTED_FILES]


def figure_images(output_dir: Path, run_id: str) -> list[Path]:
    """PNGs the child bootstrap saved for this run, in figure order."""
    if not output_dir.is_dir():
        return []
    images = output_dir.glob(f"{run_id}-figure-*.png")
    return sorted(images, key=lambda path: _figure_number(path.stem))


def _figure_number(stem: str) -> int:
    tail = stem.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__pycache__"
