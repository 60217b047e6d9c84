"""What a cell produced: changed files in the working directory and saved figure images.

The working directory is written by untrusted code, so the server (possibly root) never
follows links found in it: only regular files count as produced, and :func:`write_into`
places files without following a link the code may have left where the file goes.
"""

from __future__ import annotations

import os
import stat
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
                info = path.lstat()
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):  # a link could point at any host file
                continue
            snapshot[path] = (info.st_mtime_ns, info.st_size)
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
    images = [path for path in output_dir.glob(f"{run_id}-figure-*.png") if _regular(path)]
    return sorted(images, key=lambda path: _figure_number(path.stem))


def write_into(workdir: Path, relative: str, data: bytes) -> Path:
    """Write ``data`` at ``workdir/relative`` without following any link on the way (a
    link the sandboxed code planted there is replaced, never written through); missing
    directories are created. Raises ``ValueError`` for a path leaving ``workdir``."""
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or ".." in parts:
        raise ValueError(f"not a relative path inside the working directory: {relative!r}")
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    directory = os.open(workdir, flags)
    try:
        for part in parts[:-1]:
            try:
                child = os.open(part, flags, dir_fd=directory)
            except FileNotFoundError:
                os.mkdir(part, dir_fd=directory)
                child = os.open(part, flags, dir_fd=directory)
            except OSError:  # a link or a file in the way: remove it, make a directory
                os.unlink(part, dir_fd=directory)
                os.mkdir(part, dir_fd=directory)
                child = os.open(part, flags, dir_fd=directory)
            os.close(directory)
            directory = child
        name = parts[-1]
        try:
            if stat.S_ISLNK(os.stat(name, dir_fd=directory, follow_symlinks=False).st_mode):
                os.unlink(name, dir_fd=directory)
        except FileNotFoundError:
            pass
        fd = os.open(
            name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644, dir_fd=directory
        )
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    finally:
        os.close(directory)
    return workdir.joinpath(*parts)


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _figure_number(stem: str) -> int:
    tail = stem.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__pycache__"
