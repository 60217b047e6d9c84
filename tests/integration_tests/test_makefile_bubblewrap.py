"""``make install`` gets bubblewrap and libseccomp on a fresh machine: apt-get as root, else
how to get them.

Runs the Makefile's real ``bubblewrap`` target with a PATH where ``bwrap`` is missing (or
present while ``ldconfig`` lists no libseccomp) and ``apt-get`` / ``id`` are stand-ins that
record what they were asked (nothing is installed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def fake_bin(tmp_path: Path, uid: int, *, bwrap_without_libseccomp: bool | None = None) -> Path:
    """Stand-ins for apt-get and id; with ``bwrap_without_libseccomp`` set, also a bwrap and an
    ldconfig whose cache lists libseccomp (False) or not (True)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    scripts = {
        "apt-get": f'#!/bin/sh\necho "apt-get $*" >> {log}\n',
        "id": f"#!/bin/sh\necho {uid}\n",
    }
    if bwrap_without_libseccomp is not None:
        listed = "" if bwrap_without_libseccomp else "\tlibseccomp.so.2 (libc6,x86-64) => /x\n"
        scripts["bwrap"] = "#!/bin/sh\nexit 0\n"
        scripts["ldconfig"] = f"#!/bin/sh\nprintf '1 libs found in cache\\n{listed}'\n"
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    grep = shutil.which("grep")
    assert grep is not None
    (bin_dir / "grep").symlink_to(grep)
    return bin_dir


@pytest.mark.parametrize("uid", [0, 1000])
@pytest.mark.parametrize("missing", ["bwrap", "libseccomp"])
def test_make_bubblewrap_installs_or_explains(tmp_path: Path, uid: int, missing: str) -> None:
    make = shutil.which("make")
    assert make is not None
    bin_dir = fake_bin(
        tmp_path, uid, bwrap_without_libseccomp=True if missing == "libseccomp" else None
    )
    env = {**os.environ, "PATH": str(bin_dir)}
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
            "apt-get install -y -qq bubblewrap libseccomp2",
        ]
    else:
        assert not log.exists()
        assert "bubblewrap (bwrap) or libseccomp is missing" in result.stdout
        assert "apt-get install bubblewrap libseccomp2" in result.stdout
        assert "--code-interpreter unsafe-local" in result.stdout


def test_make_bubblewrap_does_nothing_when_both_are_there(tmp_path: Path) -> None:
    make = shutil.which("make")
    assert make is not None
    env = {**os.environ, "PATH": str(fake_bin(tmp_path, 0, bwrap_without_libseccomp=False))}
    result = subprocess.run(
        [make, "--no-print-directory", "-C", str(ROOT), "bubblewrap"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert not (tmp_path / "apt.log").exists() and result.stdout == ""
