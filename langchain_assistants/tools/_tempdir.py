"""Private temporary directories that live exactly as long as their owner object."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path


def owned_tempdir(owner: object, prefix: str) -> Path:
    """Create a temporary directory removed (silently) when ``owner`` is garbage collected."""
    path = tempfile.mkdtemp(prefix=prefix)
    weakref.finalize(owner, shutil.rmtree, path, ignore_errors=True)
    return Path(path)
