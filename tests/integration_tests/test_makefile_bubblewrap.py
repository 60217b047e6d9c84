"""``make install`` gets bubblewrap on a fresh machine: apt-get as root, else how to get it.

Runs the Makefile's real ``bubblewrap`` target with a PATH where ``bwrap`` is missing and
``apt-get`` / ``id`` are stand-ins that record what they were asked (nothing is installed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def fake_bin(tmp_path: Path, uid: int) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "apt-get $*" >> {log}\n')
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    for name in ("apt-get", "id"):
        (bin_dir / name).chmod(0o755)
    return bin_dir


@pytest.mark.parametrize("uid", [0, 1000])
def test_make_bubblewrap_installs_or_explains(tmp_path: Path, uid: int) -> None:
    make = shutil.which("make")
    assert make is not None
    env = {**os.environ, "PATH": str(fake_bin(tmp_path, uid))}
    result = subprocess.run(
        [make, "--no-print-directory", "-C", str(ROOT), "bubblewrap"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    log = tmp_path / "apt.log"
    if uid == 0:
        assert log.read_text().splitlines() == [
            "apt-get update -qq",
            "apt-get install -y -qq bubblewrap",
        ]
    else:
        assert not log.exists()
        assert "bubblewrap (bwrap) is missing" in result.stdout
        assert "apt-get install bubblewrap" in result.stdout
        assert "--code-interpreter unsafe-local" in result.stdout
