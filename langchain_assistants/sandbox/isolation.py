"""Process isolation: run the bootstrap inside a bubblewrap (``bwrap``) sandbox.

Each execution gets its own mount, PID, network, IPC, user and UTS namespaces. Its root is
an empty tmpfs holding only a read-only runtime (``/usr``, the ``/lib*``/``/bin`` links, the
Python installation and its site-packages, ``/etc/ld.so.cache``, ``/etc/fonts``, a tiny
generated ``passwd``/``group``), the bootstrap file alone, a fresh ``/proc`` (own processes)
and a minimal ``/dev``. The only writable places are its private ``/tmp`` and ``/dev/shm``
(size-capped tmpfs) and the thread's working directory, bound at ``/mnt/data`` (cwd, ``HOME``). The
environment is cleared (only the plan's minimal variables are set); the network namespace has
nothing but its own loopback. With ``--die-with-parent`` and the PID namespace, killing
bwrap ends every process of the execution, including ones that called ``setsid``. Once the
sandbox is built, bwrap loads the seccomp filter of :mod:`.seccomp` (``--seccomp FD``), which
every process of the execution inherits.

Limits: the bootstrap sets rlimits (address space, CPU time, processes, file size, open files)
in every mode. Where cgroups can be created (root, see :mod:`.cgroups`), each execution also
gets its own memory and pids cgroup, joined before the sandbox starts (``--info-fd`` /
``--block-fd``), and bwrap runs as root with every capability dropped. Without cgroups a root
server drops bwrap to uid 65534 (RLIMIT_NPROC does not bind root), provided the runtime and
the working directory are reachable by it (else: as root, caps dropped, rlimits only). A
non-root server runs bwrap as itself; RLIMIT_NPROC then counts the sandbox's own processes.

:func:`bubblewrap` probes once per executable path whether a trivial sandbox (filter
included) starts here and raises :class:`IsolationUnavailable` with the reason and a fix when
it does not, or when the filter cannot be built.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import re
import select
import shutil
import signal
import site
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .cgroups import CgroupManager, ExecutionCgroup, cgroup_manager
from .seccomp import SECCOMP_HINT, SeccompUnavailable, compiled_filter, filter_fd

SANDBOX_WORKDIR = "/mnt/data"
SANDBOX_BOOTSTRAP = "/opt/langchain-assistants/bootstrap.py"
SANDBOX_UID = 1000
UNPRIVILEGED_UID = 65534
SHM_MB = 64
BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
INSTALL_HINT = (
    "Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install "
    "bubblewrap; `make install` does it as root), or start the server with "
    "--code-interpreter unsafe-local to run code without kernel isolation (unsafe)."
)
USERNS_HINT = (
    "bwrap needs user namespaces: check sysctl user.max_user_namespaces (> 0), "
    "kernel.unprivileged_userns_clone (= 1) and, on Ubuntu, "
    "kernel.apparmor_restrict_unprivileged_userns (= 0); or start the server with "
    "--code-interpreter unsafe-local to run code without kernel isolation (unsafe)."
)
_HANDSHAKE_TIMEOUT = 10.0
_PROBE_TIMEOUT = 20.0
_OPTIONAL_FLAGS = ("--disable-userns", "--size")


class IsolationUnavailable(RuntimeError):
    """Kernel isolation cannot be set up here; the message says why and how to fix it."""


@dataclass
class Launch:
    """How to start one execution's process, and what to do around its start and end."""

    argv: list[str]
    cwd: Path | None
    env: dict[str, str]
    pass_fds: tuple[int, ...] = ()
    user: int | None = None
    cgroup: ExecutionCgroup | None = None
    isolated: bool = False
    #: Set by ``finished``: processes of the execution the kernel killed out of memory.
    oom_kills: int = 0
    _child_ends: list[int] = field(default_factory=list)
    _info_read: int | None = None
    _block_write: int | None = None

    def started(self, pid: int) -> None:
        """Right after the process started: close the child's pipe ends; with a cgroup,
        move the sandbox into it and only then let it run (blocking briefly)."""
        for fd in self._child_ends:
            _close(fd)
        self._child_ends.clear()
        if self.cgroup is None or self._info_read is None or self._block_write is None:
            return
        try:
            try:
                child = _read_child_pid(self._info_read)
            except OSError:
                child = None
            try:
                if child is None:  # bwrap ended (its stderr says why) or hangs
                    raise OSError("no child pid from bwrap")
                self.cgroup.add(child)
            except OSError:
                # No cgroup, no run: never let the code start without the limits we promised.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                return
            with contextlib.suppress(OSError):  # bwrap already gone: nothing to release
                os.write(self._block_write, b"1")
        finally:
            _close(self._info_read)
            _close(self._block_write)
            self._info_read = self._block_write = None

    def finished(self) -> None:
        """After the process was killed: close leftovers and remove the cgroup."""
        for fd in (*self._child_ends, self._info_read, self._block_write):
            if fd is not None:
                _close(fd)
        self._child_ends.clear()
        self._info_read = self._block_write = None
        if self.cgroup is not None:
            self.oom_kills = self.cgroup.oom_kills()
            self.cgroup.close()
            self.cgroup = None

    def exit_code(self, returncode: int | None) -> int | None:
        """bwrap reports a signal death of the code as 128+N; map it back to -N."""
        if self.isolated and returncode is not None and 128 < returncode < 128 + 65:
            return -(returncode - 128)
        return returncode


@dataclass(frozen=True)
class Bubblewrap:
    """A probed, working bubblewrap set-up; :meth:`launch` builds one execution's command."""

    executable: str
    runtime: tuple[str, ...]
    #: The compiled seccomp-bpf program (:mod:`.seccomp`) bwrap applies before the code runs.
    seccomp: bytes
    run_as: int | None = None
    cgroups: CgroupManager | None = None
    drop_caps: bool = False
    supported: frozenset[str] = frozenset()
    #: Used instead when ``run_as`` cannot reach a working directory (as root, caps dropped).
    fallback: Bubblewrap | None = None

    @property
    def description(self) -> str:
        """One line on the limits that apply (for the server's start-up message)."""
        user = (
            f"bwrap as uid {self.run_as}"
            if self.run_as is not None
            else ("bwrap as root, all capabilities dropped" if self.drop_caps else "bwrap")
        )
        limits = (
            f"cgroup v{self.cgroups.version} memory+pids and rlimits"
            if self.cgroups is not None
            else "rlimits"
        )
        return f"kernel sandbox ({user}; seccomp filter; limits: {limits})"

    def launch(
        self,
        python_argv: list[str],
        *,
        env: dict[str, str],
        workdir: Path,
        memory_mb: int,
        max_processes: int,
        tmp_mb: int,
    ) -> Launch:
        """The command for one execution with ``workdir`` as its ``/mnt/data``."""
        unreachable = self.run_as is not None and not reachable_by(workdir.parent, self.run_as)
        if unreachable and self.fallback is not None:
            return self.fallback.launch(
                python_argv,
                env=env,
                workdir=workdir,
                memory_mb=memory_mb,
                max_processes=max_processes,
                tmp_mb=tmp_mb,
            )
        if self.run_as is not None and workdir.stat().st_uid != self.run_as:
            os.chown(workdir, self.run_as, self.run_as)
        argv = [
            self.executable,
            "--unshare-all",
            "--unshare-user",
            "--die-with-parent",
            "--new-session",
            "--uid",
            str(SANDBOX_UID),
            "--gid",
            str(SANDBOX_UID),
            "--hostname",
            "sandbox",
        ]
        if "--disable-userns" in self.supported:
            argv.append("--disable-userns")
        if self.drop_caps:
            argv += ["--cap-drop", "ALL"]
        if "--size" in self.supported and tmp_mb > 0:
            argv += ["--size", str(tmp_mb * 1024 * 1024)]
        # /tmp first, so a runtime that lives under the host's /tmp is bound inside it.
        argv += ["--tmpfs", "/tmp", *self.runtime, "--bind", str(workdir), SANDBOX_WORKDIR]
        # Its own small /dev/shm (POSIX semaphores: multiprocessing), like its own /tmp.
        if "--size" in self.supported:
            argv += ["--size", str(SHM_MB * 1024 * 1024)]
        argv += ["--tmpfs", "/dev/shm"]
        # The root tmpfs (mount points only) and /dev become read-only once all are made.
        argv += ["--remount-ro", "/dev", "--remount-ro", "/"]
        argv += ["--chdir", SANDBOX_WORKDIR, "--clearenv"]
        for name, value in env.items():
            argv += ["--setenv", name, value]
        # bwrap loads the filter last, right before it starts the code (its set-up is done).
        seccomp_fd = filter_fd(self.seccomp)
        argv += ["--seccomp", str(seccomp_fd)]
        launch = Launch(argv=argv, cwd=None, env={}, user=self.run_as, isolated=True)
        launch._child_ends = [seccomp_fd]
        launch.pass_fds = (seccomp_fd,)
        if self.cgroups is not None:
            try:
                launch.cgroup = self.cgroups.create(
                    memory_bytes=memory_mb * 1024 * 1024, max_processes=max_processes + 1
                )
                info_read, info_write = os.pipe()
                block_read, block_write = os.pipe()
            except BaseException:
                launch.finished()
                raise
            launch._info_read, launch._block_write = info_read, block_write
            launch._child_ends += [info_write, block_read]
            launch.pass_fds += (info_write, block_read)
            argv += ["--info-fd", str(info_write), "--block-fd", str(block_read)]
        argv += ["--", *python_argv]
        return launch


def bubblewrap(executable: str = "bwrap") -> Bubblewrap:
    """The working bubblewrap set-up for ``executable`` (probed once), or raise
    :class:`IsolationUnavailable` naming the reason."""
    probed = _probe(executable)
    if isinstance(probed, str):
        raise IsolationUnavailable(probed)
    return probed


def unavailable_reason(executable: str = "bwrap") -> str | None:
    """Why kernel isolation cannot be used here, or None when it can."""
    probed = _probe(executable)
    return probed if isinstance(probed, str) else None


def unsafe_launch(python_argv: list[str], *, env: dict[str, str], workdir: Path) -> Launch:
    """No kernel isolation: the bootstrap runs as a plain child in ``workdir`` (unsafe)."""
    return Launch(argv=python_argv, cwd=workdir, env=env)


@functools.lru_cache(maxsize=8)
def _probe(executable: str) -> Bubblewrap | str:
    """A working set-up, or the reason (with a fix) why there is none. Runs a trivial
    sandbox for real. As root: bwrap as root (caps dropped) when cgroups work, else first as
    uid 65534, then as root; otherwise as ourselves."""
    if not sys.platform.startswith("linux"):
        return f"Kernel isolation needs Linux (bubblewrap); this is {sys.platform}. {INSTALL_HINT}"
    path = shutil.which(executable)
    if path is None:
        return f"bubblewrap is not installed: {executable!r} was not found. {INSTALL_HINT}"
    try:
        help_text = subprocess.run(
            [path, "--help"], capture_output=True, text=True, timeout=_PROBE_TIMEOUT
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bubblewrap ({path}) could not be run: {exc}. {INSTALL_HINT}"
    supported = frozenset(flag for flag in _OPTIONAL_FLAGS if re.search(rf"{flag}\b", help_text))
    try:
        seccomp = compiled_filter()
    except SeccompUnavailable as exc:
        return f"the sandbox's seccomp filter cannot be built here: {exc}. {SECCOMP_HINT}"
    runtime = _runtime_binds(_runtime_dir())
    candidates = [Bubblewrap(path, runtime, seccomp, supported=supported)]
    if os.geteuid() == 0:
        # Root: cgroups limit memory and processes where we can make them; otherwise drop
        # to an unprivileged uid, under which RLIMIT_NPROC binds.
        cgroups = cgroup_manager()
        as_root = Bubblewrap(
            path, runtime, seccomp, None, cgroups, drop_caps=True, supported=supported
        )
        candidates = [as_root]
        if cgroups is None:
            unprivileged = Bubblewrap(
                path, runtime, seccomp, UNPRIVILEGED_UID, supported=supported, fallback=as_root
            )
            candidates = [unprivileged, as_root]
    errors = []
    for candidate in candidates:
        error = _try(candidate)
        if error is None:
            return candidate
        errors.append(error)
    detail = errors[-1] or "no output"
    hint = INSTALL_HINT
    if "namespace" in detail or "uid map" in detail:
        hint = USERNS_HINT
    elif "seccomp" in detail.lower():
        hint = SECCOMP_HINT
    return f"bubblewrap ({path}) cannot start a sandbox here: {detail}. {hint}"


def _try(candidate: Bubblewrap) -> str | None:
    """Start a trivial sandboxed interpreter; None if it worked, else bwrap's complaint."""
    with tempfile.TemporaryDirectory(prefix="sandbox-probe-") as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)
        launch: Launch | None = None
        try:
            launch = candidate.launch(
                [sys.executable, "-I", "-c", "import os; os.listdir('/mnt/data')"],
                env={"PATH": "/usr/bin:/bin"},
                workdir=workdir,
                memory_mb=0,
                max_processes=16,
                tmp_mb=1,
            )
            proc = subprocess.Popen(
                launch.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=launch.env,
                pass_fds=launch.pass_fds,
                user=launch.user,
                group=launch.user,
                extra_groups=[] if launch.user is not None else None,
                start_new_session=True,
            )
            launch.started(proc.pid)
            _, stderr = proc.communicate(timeout=_PROBE_TIMEOUT)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"{type(exc).__name__}: {exc}"
        finally:
            if launch is not None:
                launch.finished()
        if proc.returncode == 0:
            return None
        return stderr.decode(errors="replace").strip() or f"exit code {proc.returncode}"


def reachable_by(directory: Path, uid: int) -> bool:
    """Whether ``uid`` (no supplementary groups) can traverse every directory down to
    ``directory``; bwrap resolves bind sources as the uid it runs as."""
    for path in (directory, *directory.parents):
        try:
            st = path.stat()
        except OSError:
            return False
        if not st.st_mode & (stat.S_IXUSR if st.st_uid == uid else stat.S_IXOTH):
            return False
    return True


def hand_over(path: Path, executable: str = "bwrap") -> None:
    """Give a file the server put in a working directory to the sandbox's uid, so the code
    can modify it (only when bwrap runs as an unprivileged uid; otherwise a no-op)."""
    probed = _probe(executable)
    if isinstance(probed, Bubblewrap) and probed.run_as is not None:
        with contextlib.suppress(OSError):
            os.chown(path, probed.run_as, probed.run_as)


def _runtime_dir() -> Path:
    """A private directory (this process's lifetime) with the bootstrap and passwd/group."""
    directory = Path(tempfile.mkdtemp(prefix="langchain-assistants-runtime-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    os.chmod(directory, 0o755)  # readable by the unprivileged uid bwrap may run as
    shutil.copyfile(BOOTSTRAP, directory / "bootstrap.py")
    (directory / "passwd").write_text(
        f"sandbox:x:{SANDBOX_UID}:{SANDBOX_UID}:sandbox:{SANDBOX_WORKDIR}:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    (directory / "group").write_text(f"sandbox:x:{SANDBOX_UID}:\nnogroup:x:65534:\n")
    for name in ("bootstrap.py", "passwd", "group"):
        os.chmod(directory / name, 0o644)
    return directory


def _runtime_binds(runtime_dir: Path) -> tuple[str, ...]:
    """bwrap arguments for the read-only runtime, computed once."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = f"/{name}"
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    bound = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]
    for path in _python_dirs():
        if not any(_inside(path, other) for other in bound):
            args += ["--ro-bind", path, path]
            bound.append(path)
    for path in ("/etc/ld.so.cache", "/etc/fonts"):  # the dynamic linker; fontconfig
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    args += ["--ro-bind", str(runtime_dir / "passwd"), "/etc/passwd"]
    args += ["--ro-bind", str(runtime_dir / "group"), "/etc/group"]
    args += ["--ro-bind", str(runtime_dir / "bootstrap.py"), SANDBOX_BOOTSTRAP]
    args += ["--proc", "/proc", "--dev", "/dev"]
    return tuple(args)


def _python_dirs() -> list[str]:
    """The interpreter's prefixes and site-packages (never the source checkout itself)."""
    candidates = [sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix]
    candidates += site.getsitepackages()
    executable = os.path.realpath(sys.executable)
    candidates.append(os.path.dirname(os.path.dirname(executable)))
    unique = sorted({os.path.abspath(path) for path in candidates if os.path.isdir(path)})
    return [path for path in unique if not any(_inside(path, o) for o in unique if o != path)]


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _read_child_pid(fd: int) -> int | None:
    """bwrap's ``--info-fd`` JSON (``{"child-pid": N, ...}``); None if bwrap ended first."""
    data = b""
    while True:
        ready, _, _ = select.select([fd], [], [], _HANDSHAKE_TIMEOUT)
        if not ready:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
        with contextlib.suppress(ValueError, KeyError, TypeError):
            return int(json.loads(data)["child-pid"])
    with contextlib.suppress(ValueError, KeyError, TypeError):
        return int(json.loads(data)["child-pid"])
    return None


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
