"""The sandbox's cgroup tests, run inside a VM whose kernel mounts cgroup v2.

Not collected on the host (the name has no ``test_`` prefix): ``test_sandbox_cgroup2.py``
boots the VM (``kernel_vm.py``) and runs this file there with pytest twice. Once as a host
server sees v2 (its processes at the root, which may enable controllers), and once as in a
container with its own cgroup namespace and a writable ``/sys/fs/cgroup``
(``GUEST_SCENARIO=container``), where the root the server sees is a group with processes.
The same tests run on the test machine's own cgroups (v1) in
``tests/unit_tests/test_sandbox_isolation.py``; this file adds what only v2 has.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from pathlib import Path

from unit_tests.test_sandbox_isolation import (  # the same tests, here on cgroup v2
    run,
    test_cgroup_is_removed_after_each_execution,
    test_code_runs_in_mnt_data_as_the_sandbox_user,
    test_fork_bomb_is_contained,
    test_memory_bomb_across_processes_is_contained,
    test_process_count_is_limited,
)

from langchain_assistants.sandbox import bubblewrap
from langchain_assistants.sandbox.cgroups import (
    CGROUP_ROOT,
    GROUP_NAME,
    LEAF_NAME,
    cgroup_manager,
)

__all__ = [
    "test_cgroup_is_removed_after_each_execution",
    "test_code_runs_in_mnt_data_as_the_sandbox_user",
    "test_fork_bomb_is_contained",
    "test_memory_bomb_across_processes_is_contained",
    "test_process_count_is_limited",
]
CONTAINER = os.environ.get("GUEST_SCENARIO") == "container"


def test_the_sandbox_limits_with_cgroup_v2() -> None:
    assert (CGROUP_ROOT / "cgroup.controllers").is_file()  # this kernel mounts v2 only
    manager = cgroup_manager()
    assert manager is not None and manager.version == 2
    assert manager.memory_parent == CGROUP_ROOT / GROUP_NAME
    assert "cgroup v2 memory+pids" in bubblewrap().description
    own = Path("/proc/self/cgroup").read_text().strip()
    # In a container the server's processes moved into a leaf, so the root could delegate.
    assert own == (f"0::/{LEAF_NAME}" if CONTAINER else "0::/")


def test_an_execution_gets_its_limits_in_its_own_group(tmp_path: Path) -> None:
    """The host reads the group's limits while the code waits for it to say "go"."""
    seen: dict[str, str] = {}

    def read_limits() -> None:
        deadline = time.monotonic() + 120
        while not seen and time.monotonic() < deadline:
            for group in (CGROUP_ROOT / GROUP_NAME).glob("exec-*"):
                with contextlib.suppress(OSError):
                    if (group / "cgroup.procs").read_text().strip():
                        for name in ("memory.max", "memory.swap.max", "pids.max"):
                            seen[name] = (group / name).read_text().strip()
            time.sleep(0.05)
        (tmp_path / "go").touch()

    reader = threading.Thread(target=read_limits)
    reader.start()
    code = """
    import os, time
    while not os.path.exists("go"):
        time.sleep(0.05)
    print("went")
    """
    out, _ = run(code, tmp_path, memory_mb=300, max_processes=7, timeout=120)
    reader.join()
    assert out == "went\n"
    # max_processes + 1: bwrap's own process inside the group counts too.
    assert seen == {"memory.max": str(300 * 1024 * 1024), "memory.swap.max": "0", "pids.max": "8"}
    assert not list((CGROUP_ROOT / GROUP_NAME).glob("exec-*"))  # removed afterwards


def test_processes_the_code_leaves_behind_are_killed(tmp_path: Path) -> None:
    marker = f"left-behind-{uuid.uuid4().hex}"
    code = f"""
    import os
    if os.fork() == 0:
        os.setsid()
        os.execvp("sleep", ["sleep", "300", "{marker}"])
    print("started")
    """
    out, _ = run(code, tmp_path, timeout=30)
    assert out == "started\n"
    alive = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker in Path(f"/proc/{pid}/cmdline").read_text():
                alive.append(pid)
        except OSError:
            continue
    assert not alive, f"{marker} still runs as {alive}"
