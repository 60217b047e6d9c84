"""Per-execution control groups: a memory and a process-count cap the kernel enforces.

Where the server may create cgroups (as root, typically), each execution gets its own
group with ``memory`` and ``pids`` limits, so a memory bomb or a fork bomb is stopped by
the kernel for that execution alone, and every process left in it is killed at the end.

* cgroup v2 (``/sys/fs/cgroup`` is ``cgroup2``): a ``langchain-assistants`` group with the
  ``memory`` and ``pids`` controllers enabled, one child per execution (``memory.max``,
  ``pids.max``, ``cgroup.kill`` at the end). The group is made at the root of the
  hierarchy, where the no-internal-process rule does not apply. Where that fails because
  the root the server sees is itself a group with processes in it (a container with its
  own cgroup namespace and a writable ``/sys/fs/cgroup``), the server's own group is used
  the way delegation intends: its processes move into a ``leaf`` child, and the
  ``langchain-assistants`` group becomes that leaf's sibling.
* cgroup v1 (``/sys/fs/cgroup/memory`` and ``/sys/fs/cgroup/pids``, also the "hybrid"
  layout): one child per execution in both hierarchies, under the server's own group
  (``memory.limit_in_bytes``, ``pids.max``).

:func:`cgroup_manager` checks once whether this works here (it creates and removes a test
group); when it does not, the sandbox keeps its rlimits, which always apply as the floor.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
GROUP_NAME = "langchain-assistants"
#: Where a delegated group's processes move, so that the group may enable controllers.
LEAF_NAME = "leaf"
_CONTROLLERS = {"memory", "pids"}
_ENABLE_ATTEMPTS = 5
_REMOVE_ATTEMPTS = 50


@dataclass(frozen=True)
class ExecutionCgroup:
    """The group(s) of one execution: add its first process, then ``close`` at the end."""

    dirs: tuple[Path, ...]
    version: int

    def add(self, pid: int) -> None:
        """Move ``pid`` into the group; everything it forks afterwards stays in it."""
        for directory in self.dirs:
            (directory / "cgroup.procs").write_text(str(pid))

    def oom_kills(self) -> int:
        """How many of the group's processes the kernel killed for want of memory (the
        ``oom_kill`` count of v2's ``memory.events`` or v1's ``memory.oom_control``)."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            lines = (self.dirs[0] / name).read_text().splitlines()
        except OSError:
            return 0
        for line in lines:
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def close(self) -> None:
        """Kill whatever still runs in the group and remove it (quietly, best effort)."""
        for directory in self.dirs:
            if self.version == 2:
                with contextlib.suppress(OSError):
                    (directory / "cgroup.kill").write_text("1")
            for pid in _members(directory):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        for directory in self.dirs:
            for _ in range(_REMOVE_ATTEMPTS):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY until the killed processes are gone
                    time.sleep(0.02)


@dataclass(frozen=True)
class CgroupManager:
    """Creates execution groups under ``parents`` (one per hierarchy used)."""

    version: int
    memory_parent: Path
    pids_parent: Path

    def create(self, *, memory_bytes: int, max_processes: int) -> ExecutionCgroup:
        """A fresh group for one execution with its limits written (0 means no limit)."""
        name = f"exec-{uuid.uuid4().hex[:16]}"
        if self.version == 2:
            directory = self.memory_parent / name
            directory.mkdir()
            group = ExecutionCgroup((directory,), 2)
            try:
                _write_limit(directory / "memory.max", memory_bytes)
                _write(directory / "memory.swap.max", "0")
                _write_limit(directory / "pids.max", max_processes)
            except OSError:
                group.close()
                raise
            return group
        memory, pids = self.memory_parent / name, self.pids_parent / name
        memory.mkdir()
        try:
            pids.mkdir()
        except OSError:
            memory.rmdir()
            raise
        group = ExecutionCgroup((memory, pids), 1)
        try:
            if memory_bytes > 0:
                (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
                _write(memory / "memory.memsw.limit_in_bytes", str(memory_bytes))
            _write_limit(pids / "pids.max", max_processes)
        except OSError:
            group.close()
            raise
        return group


@functools.lru_cache(maxsize=1)
def cgroup_manager() -> CgroupManager | None:
    """The cgroup manager for this host, or None when cgroups cannot be used (checked once)."""
    for candidate in (_v2_manager, _v1_manager):
        try:
            manager = candidate()
            if manager is not None:
                manager.create(memory_bytes=64 * 1024 * 1024, max_processes=8).close()
                return manager
        except OSError:
            continue
    return None


def _v2_manager() -> CgroupManager | None:
    if not (CGROUP_ROOT / "cgroup.controllers").is_file():
        return None
    if not _words(CGROUP_ROOT / "cgroup.controllers") >= _CONTROLLERS:
        return None
    try:
        _enable_controllers(CGROUP_ROOT)
    except OSError:  # EBUSY: this root has processes (a namespace's root), so delegate
        parent = _delegated_parent(CGROUP_ROOT / _own_v2_group().lstrip("/"))
    else:
        parent = CGROUP_ROOT / GROUP_NAME
        parent.mkdir(exist_ok=True)
    _enable_controllers(parent)
    return CgroupManager(2, parent, parent)


def _delegated_parent(own: Path) -> Path:
    """Make ``own`` (the server's group) a parent of groups: move every process in it into
    its ``leaf`` child, enable the controllers for its children, and return its
    ``langchain-assistants`` child. Processes may join ``own`` meanwhile (another worker
    starting, ``docker exec``), so the move is repeated until enabling succeeds."""
    if not _words(own / "cgroup.controllers") >= _CONTROLLERS:
        raise OSError(f"cgroup {own} lacks the memory and pids controllers")
    leaf = own / LEAF_NAME
    leaf.mkdir(exist_ok=True)
    for attempt in range(_ENABLE_ATTEMPTS):
        for pid in _members(own):
            with contextlib.suppress(ProcessLookupError, FileNotFoundError):
                (leaf / "cgroup.procs").write_text(str(pid))
        try:
            _enable_controllers(own)
            break
        except OSError:  # EBUSY: a process joined ``own`` after the move
            if attempt == _ENABLE_ATTEMPTS - 1:
                raise
    parent = own / GROUP_NAME
    parent.mkdir(exist_ok=True)
    return parent


def _enable_controllers(group: Path) -> None:
    """Let ``group``'s children use the memory and pids controllers (a no-op if they may)."""
    if not _words(group / "cgroup.subtree_control") >= _CONTROLLERS:
        (group / "cgroup.subtree_control").write_text("+memory +pids")


def _own_v2_group() -> str:
    """This process's group in the v2 hierarchy (``0::/path`` in ``/proc/self/cgroup``)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return line[3:]
    raise OSError("this process is in no cgroup v2 group")


def _words(path: Path) -> set[str]:
    return set(path.read_text().split())


def _v1_manager() -> CgroupManager | None:
    memory_root, pids_root = CGROUP_ROOT / "memory", CGROUP_ROOT / "pids"
    if not (memory_root / "cgroup.procs").is_file() or not (pids_root / "cgroup.procs").is_file():
        return None
    own = _own_v1_groups()
    memory_parent = memory_root / own.get("memory", "/").lstrip("/") / GROUP_NAME
    pids_parent = pids_root / own.get("pids", "/").lstrip("/") / GROUP_NAME
    memory_parent.mkdir(exist_ok=True)
    pids_parent.mkdir(exist_ok=True)
    return CgroupManager(1, memory_parent, pids_parent)


def _own_v1_groups() -> dict[str, str]:
    """This process's group per v1 controller, from ``/proc/self/cgroup``."""
    groups: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            if controller:
                groups[controller] = path
    return groups


def _members(directory: Path) -> list[int]:
    try:
        return [int(pid) for pid in (directory / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _write_limit(path: Path, value: int) -> None:
    path.write_text(str(value) if value > 0 else "max")


def _write(path: Path, text: str) -> None:
    """Write an optional control file (absent when, e.g., swap accounting is off)."""
    with contextlib.suppress(OSError):
        path.write_text(text)
