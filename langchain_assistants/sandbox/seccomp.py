"""The sandbox's seccomp-bpf syscall filter: defense in depth behind the namespaces.

Namespaces, a read-only runtime and dropped capabilities already keep model-written code
away from the host; a kernel bug reachable from inside would not. This filter makes the
syscalls sandboxed Python never needs, and that widen the kernel's attack surface, fail
before the kernel looks at them. It is a deny-list (everything else is allowed), so numpy,
pandas, matplotlib, threads, subprocesses and multiprocessing are unaffected. Each entry of
:data:`DENIED` says why it is there; the rules on arguments (clone's namespace flags, socket
families, personality) are explained where :func:`_build` adds them.

The program is compiled with libseccomp (through ``pyseccomp``, a ctypes binding to the
system's ``libseccomp.so.2``, Debian ``libseccomp2``) for the interpreter's
architecture (x86_64 or aarch64; others are refused), and bwrap loads it with
``--seccomp FD`` after building the sandbox and right before it starts the code, so its own
set-up (mounts, namespaces) is not affected and every process of the execution inherits it.
Syscalls of another ABI than the native one (i386 ``int 0x80`` and x32 on x86_64, arm32 on
aarch64) kill the process: compat entry points are a classic hiding place for bugs and a way
around a filter written for the native numbers.
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile
from dataclasses import dataclass
from typing import Any

#: ``pyseccomp.Arch`` attribute for each supported ``uname -m`` / libseccomp architecture.
SUPPORTED_ARCHES = {"x86_64": "X86_64", "aarch64": "AARCH64"}
ALLOWED_SOCKET_FAMILIES = (1, 2, 10)  # AF_UNIX, AF_INET, AF_INET6
#: Every ``CLONE_NEW*`` flag ``clone`` takes in its flags word (CLONE_NEWTIME, 0x80, exists
#: only for ``clone3``/``unshare``, both refused whole; in ``clone`` 0x80 is the exit signal).
CLONE_NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
PER_LINUX = 0
SECCOMP_HINT = (
    "The sandbox's seccomp filter needs libseccomp (Debian/Ubuntu: apt-get install "
    "libseccomp2; `make install` does it as root), the Python "
    "package pyseccomp (a dependency of langchain-assistants), x86_64 or aarch64, and a "
    "kernel with seccomp filters (CONFIG_SECCOMP_FILTER); or start the server with "
    "--code-interpreter unsafe-local to run code without kernel isolation (unsafe)."
)


class SeccompUnavailable(RuntimeError):
    """The filter cannot be built here; the message says why."""


@dataclass(frozen=True)
class Denied:
    """Syscalls refused outright with ``error``, and why."""

    syscalls: tuple[str, ...]
    error: int
    why: str


DENIED: tuple[Denied, ...] = (
    Denied(
        ("ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd"),
        errno.EPERM,
        "reading, writing or steering another process of the execution (say, a worker "
        "another cell left running); ptrace has also been a way around seccomp",
    ),
    Denied(
        ("kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module"),
        errno.EPERM,
        "loading or replacing kernel code",
    ),
    Denied(
        ("bpf", "perf_event_open"),
        errno.EPERM,
        "the BPF verifier/JIT and perf events: a long record of privilege escalations, and "
        "perf gives timing side channels",
    ),
    Denied(
        ("userfaultfd",),
        errno.EPERM,
        "pausing the kernel on a page fault mid-copy: the standard tool for winning kernel races",
    ),
    Denied(
        ("keyctl", "add_key", "request_key"),
        errno.EPERM,
        "kernel keyrings are not namespaced (shared with the host's uid) and have had many bugs",
    ),
    Denied(
        (
            "mount",
            "umount",
            "umount2",
            "pivot_root",
            "chroot",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "move_mount",
            "open_tree",
            "mount_setattr",
        ),
        errno.EPERM,
        "bwrap has built the file-system view; changing it (old and new mount API) is what "
        "escapes do",
    ),
    Denied(
        ("unshare", "setns"),
        errno.EPERM,
        "new or other namespaces: a new user namespace gives the code capabilities over fresh "
        "namespaces, exposing kernel code (netfilter, mounts) behind many escalations",
    ),
    Denied(
        ("clone3",),
        errno.ENOSYS,
        "clone3 passes its flags in memory, which a filter cannot read; ENOSYS makes glibc "
        "fall back to clone, whose namespace flags are checked (threads and fork still work)",
    ),
    Denied(
        ("open_by_handle_at", "name_to_handle_at"),
        errno.EPERM,
        "opening files by handle, bypassing the mount view (the 'shocker' container escape)",
    ),
    Denied(
        ("io_uring_setup", "io_uring_enter", "io_uring_register"),
        errno.ENOSYS,
        "io_uring bypasses syscall filtering for its operations and has a poor security "
        "record; ENOSYS reads as a kernel without it, so libraries fall back",
    ),
    Denied(
        (
            "swapon",
            "swapoff",
            "reboot",
            "settimeofday",
            "clock_settime",
            "clock_adjtime",
            "adjtimex",
            "acct",
            "quotactl",
            "quotactl_fd",
            "lookup_dcookie",
            "syslog",
        ),
        errno.EPERM,
        "host administration (swap, reboot, clocks, accounting, quotas) and the kernel log "
        "(which leaks kernel addresses)",
    ),
    Denied(
        ("modify_ldt", "iopl", "ioperm", "uselib"),
        errno.EPERM,
        "x86 descriptor tables and port I/O, the obsolete a.out loader: hardware-level or dead "
        "interfaces with past bugs",
    ),
)


def native_arch() -> str:
    """libseccomp's native architecture (the interpreter's), as ``uname -m`` names it."""
    seccomp = _library()
    native = seccomp.system_arch()
    for name, attribute in SUPPORTED_ARCHES.items():
        if getattr(seccomp.Arch, attribute) == native:
            return name
    raise SeccompUnavailable(
        f"the seccomp filter supports {', '.join(SUPPORTED_ARCHES)}; this interpreter's "
        f"architecture (libseccomp token {native:#x}) is none of them"
    )


@functools.lru_cache(maxsize=4)
def compiled_filter(arch: str | None = None) -> bytes:
    """The BPF program (``struct sock_filter`` array) for ``arch`` (default: native), as
    bwrap's ``--seccomp`` reads it; raises :class:`SeccompUnavailable` saying why not."""
    with tempfile.TemporaryFile() as out:
        _build(arch).export_bpf(out)
        out.seek(0)
        program = out.read()
    if not program or len(program) % 8:
        raise SeccompUnavailable(f"libseccomp exported a malformed program ({len(program)} bytes)")
    return program


def pseudo_code(arch: str | None = None) -> str:
    """libseccomp's readable rendering of the filter (for reading and tests)."""
    with tempfile.TemporaryFile() as out:
        _build(arch).export_pfc(out)
        out.seek(0)
        return out.read().decode()


def filter_fd(program: bytes) -> int:
    """A file descriptor holding ``program`` at offset 0 (not inheritable: pass it with
    ``pass_fds``), for ``bwrap --seccomp FD``."""
    fd = os.memfd_create("langchain-assistants-seccomp", os.MFD_CLOEXEC)
    try:
        view = memoryview(program)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        os.close(fd)
        raise
    return fd


def unknown_syscalls() -> list[str]:
    """Denied syscalls the installed libseccomp cannot name, so cannot filter (empty with
    libseccomp 2.5.4 or later)."""
    seccomp = _library()
    names = [name for denied in DENIED for name in denied.syscalls]
    return [n for n in names if seccomp.resolve_syscall(seccomp.Arch.NATIVE, n) == _UNKNOWN_SYSCALL]


def _library() -> Any:
    """The ``pyseccomp`` module (it loads libseccomp on import)."""
    try:
        import pyseccomp
    except ImportError as exc:
        raise SeccompUnavailable(f"the Python package pyseccomp is not installed ({exc})") from exc
    except (OSError, RuntimeError) as exc:  # "Unable to find libseccomp"
        raise SeccompUnavailable(f"libseccomp cannot be loaded ({exc})") from exc
    return pyseccomp


def _build(arch: str | None) -> Any:
    """A libseccomp filter context holding every rule, for ``arch`` only."""
    seccomp = _library()
    arch = arch or native_arch()
    if arch not in SUPPORTED_ARCHES:
        raise SeccompUnavailable(
            f"the seccomp filter supports {', '.join(SUPPORTED_ARCHES)}; not {arch}"
        )
    target = getattr(seccomp.Arch, SUPPORTED_ARCHES[arch])
    try:
        rules = seccomp.SyscallFilter(seccomp.ALLOW)
        native = seccomp.system_arch()
        if target != native:  # compiled for another machine (tests, cross-checks)
            rules.add_arch(target)
            rules.remove_arch(native)
        # Any syscall of another ABI (i386 and x32 on x86_64, arm32 on aarch64) kills: the
        # rules are written for native numbers. libseccomp sends x32 numbers here too.
        rules.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
        for denied in DENIED:
            for name in denied.syscalls:
                _add(seccomp, rules, seccomp.ERRNO(denied.error), name)
        # No new namespaces through clone either (see unshare); its flags are argument 0 on
        # x86_64 and aarch64 alike. One rule per flag: any of them set refuses.
        for flag in CLONE_NAMESPACE_FLAGS.values():
            _add(seccomp, rules, seccomp.ERRNO(errno.EPERM), "clone", (0, "MASKED_EQ", flag, flag))
        refuse_family = seccomp.ERRNO(errno.EAFNOSUPPORT)
        for call in ("socket", "socketpair"):
            # Only AF_UNIX, AF_INET, AF_INET6: AF_NETLINK, AF_PACKET, AF_ALG, AF_VSOCK, ... are
            # large, bug-prone kernel parsers. EAFNOSUPPORT is what a kernel without the
            # family answers, which Python and glibc treat as "not available".
            # libseccomp takes one comparison per argument and rule: refuse every family
            # below the largest allowed one by value, and everything above it at once (full
            # 64-bit comparisons, so high garbage bits are refused too).
            for family in range(max(ALLOWED_SOCKET_FAMILIES)):
                if family not in ALLOWED_SOCKET_FAMILIES:
                    _add(seccomp, rules, refuse_family, call, (0, "EQ", family, 0))
            _add(seccomp, rules, refuse_family, call, (0, "GT", max(ALLOWED_SOCKET_FAMILIES), 0))
        # Only PER_LINUX (querying is refused too): ADDR_NO_RANDOMIZE or READ_IMPLIES_EXEC
        # would weaken exploit mitigations for the programs the code starts.
        _add(seccomp, rules, seccomp.ERRNO(errno.EPERM), "personality", (0, "NE", PER_LINUX, 0))
    except OSError as exc:
        raise SeccompUnavailable(f"libseccomp refused the filter for {arch}: {exc}") from exc
    return rules


def _add(
    seccomp: Any, rules: Any, action: int, name: str, *comparisons: tuple[int, str, int, int]
) -> None:
    """Add one rule; a syscall this libseccomp cannot name (older than the syscall) is
    skipped, see :func:`unknown_syscalls`. Names missing on an architecture are fine:
    libseccomp leaves them out of that architecture's program."""
    if seccomp.resolve_syscall(seccomp.Arch.NATIVE, name) == _UNKNOWN_SYSCALL:
        return
    args = [seccomp.Arg(index, getattr(seccomp, op), a, b) for index, op, a, b in comparisons]
    rules.add_rule(action, name, *args)


_UNKNOWN_SYSCALL = -1  # libseccomp's __NR_SCMP_ERROR
