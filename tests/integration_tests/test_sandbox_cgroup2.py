"""The sandbox on a cgroup v2 kernel: its cgroup tests pass in a VM that mounts v2 only.

The test machine mounts cgroup v1, so this boots a real kernel with cgroup v2 in a
throwaway VM (``kernel_vm.py``) and runs ``cgroup2_guest.py`` there with pytest twice:

1. as a server on a v2 host sees it: its processes at the root of the hierarchy;
2. as in a container with its own cgroup namespace and a writable ``/sys/fs/cgroup``: the
   root the server sees is a group that has processes in it (the server, and a sibling
   standing in for the container's init), so it can't enable controllers until they move
   into a leaf group. The sibling must still run afterwards, in that leaf.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .kernel_vm import GUEST_OUT, run_in_vm, unavailable_reason

REPO = Path(__file__).resolve().parents[2]
GUEST_TESTS = "tests/integration_tests/cgroup2_guest.py"

GUEST_SCRIPT = """
PYTEST="{python} -m pytest -q -p no:cacheprovider --noconftest -o addopts= {tests}"
$PYTEST > {out}/host.log 2>&1; echo $? > {out}/host.rc

# A container: a group with processes and its own cgroup namespace, cgroupfs remounted.
mkdir /sys/fs/cgroup/box
sleep 900 & SIBLING=$!
echo $SIBLING > /sys/fs/cgroup/box/cgroup.procs
sh -c 'echo $$ > /sys/fs/cgroup/box/cgroup.procs; exec unshare --cgroup --mount sh -c \
  "umount /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && \
   GUEST_SCENARIO=container exec $0"' "$PYTEST" > {out}/container.log 2>&1
echo $? > {out}/container.rc
kill -0 $SIBLING && cat /proc/$SIBLING/cgroup > {out}/sibling.cgroup
"""


@pytest.mark.slow
@pytest.mark.timeout(1000)  # a software-emulated VM: about 2 minutes here
def test_sandbox_cgroup_tests_pass_on_a_cgroup_v2_kernel(tmp_path: Path) -> None:
    reason = unavailable_reason()
    assert reason is None, reason  # make install provides QEMU, busybox and a kernel
    script = GUEST_SCRIPT.format(python=sys.executable, tests=GUEST_TESTS, out=GUEST_OUT)
    guest = run_in_vm(script, tmp_path, cwd=REPO, timeout=900)
    out = tmp_path / "out"
    report = {
        name: (out / name).read_text(errors="replace") if (out / name).is_file() else "(none)"
        for name in ("host.log", "container.log", "sibling.cgroup")
    }
    detail = f"{report}\nguest: {guest.output}\nconsole: {guest.console[-3000:]}"
    assert guest.returncode == 0, detail
    for scenario in ("host", "container"):
        assert (out / f"{scenario}.rc").read_text().strip() == "0", detail
        assert (
            " passed" in report[f"{scenario}.log"] and "skipped" not in report[f"{scenario}.log"]
        ), detail
    assert report["sibling.cgroup"].strip() == "0::/box/leaf", detail
