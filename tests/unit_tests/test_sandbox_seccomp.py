"""The sandbox's seccomp filter: one test per refused capability, through real executions.

Each test runs code in the real bubblewrap sandbox and checks the errno the filter answers,
chosen where the kernel alone would answer differently (succeed, or fail another way), so it
fails without the filter. The refusal paths use a real bwrap wrapped by a script that acts like
bwrap on a kernel without seccomp filters, and an architecture the filter does not support.
"""

from __future__ import annotations

import platform
import shutil
import struct
import textwrap
from pathlib import Path

import pytest

from langchain_assistants.sandbox import IsolationUnavailable, run_python, unavailable_reason
from langchain_assistants.sandbox.seccomp import (
    DENIED,
    SeccompUnavailable,
    compiled_filter,
    pseudo_code,
    unknown_syscalls,
)

PRELUDE = """
import ctypes, errno, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def report(name, rc):
    print(name, 'ok' if rc >= 0 else errno.errorcode[ctypes.get_errno()])
"""
AUDIT_ARCH_AARCH64 = 0xC00000B7
AUDIT_ARCH_X86_64 = 0xC000003E


def run(code: str, workdir: Path) -> dict[str, str]:
    """Run PRELUDE + ``code`` in the sandbox; its ``name result`` lines as a dict."""
    result = run_python(PRELUDE + textwrap.dedent(code), workdir=workdir, timeout=60)
    assert result.ok, result.logs
    return dict(line.split(" ", 1) for line in result.stdout.splitlines())


def test_ptrace_of_itself_or_a_sibling_is_refused(tmp_path: Path) -> None:
    """PTRACE_TRACEME works for any process; attaching to another of the execution's own
    processes would let code steer it. Both get EPERM."""
    out = run(
        """
        import time
        report('traceme', libc.ptrace(0, 0, 0, 0))  # PTRACE_TRACEME
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        report('attach', libc.ptrace(16, pid, 0, 0))  # PTRACE_ATTACH
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        buf = ctypes.create_string_buffer(8)
        iov = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 8)
        report('vm_readv', libc.process_vm_readv(pid, iov, 1, iov, 1, 0))
        """,
        tmp_path,
    )
    assert out == {"traceme": "EPERM", "attach": "EPERM", "vm_readv": "EPERM"}


def test_new_user_and_other_namespaces_are_refused(tmp_path: Path) -> None:
    """unshare, setns and clone with a CLONE_NEW* flag get EPERM (bwrap's --disable-userns
    alone answers ENOSPC for a user namespace); plain fork/clone still works."""
    out = run(
        """
        report('unshare_user', libc.unshare(0x10000000))
        report('unshare_mount', libc.unshare(0x00020000))
        fd = os.open('/proc/self/ns/uts', os.O_RDONLY)
        report('setns', libc.setns(fd, 0))
        # raw clone(CLONE_NEWUSER | SIGCHLD): the flags word glibc's fallback passes too
        child = libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)
        if child == 0:
            os._exit(0)
        report('clone_newuser', child)
        if child > 0:
            os.waitpid(child, 0)
        report('clone3', libc.syscall(435, 0, 0))
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        print('fork', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
        """,
        tmp_path,
    )
    assert out == {
        "unshare_user": "EPERM",
        "unshare_mount": "EPERM",
        "setns": "EPERM",
        "clone_newuser": "EPERM",
        "clone3": "ENOSYS",  # so glibc falls back to clone, whose flags the filter reads
        "fork": "7",
    }


def test_socket_families_other_than_unix_and_inet_are_refused(tmp_path: Path) -> None:
    """AF_NETLINK (which unprivileged code may open), AF_PACKET (EPERM from the kernel, for
    lack of CAP_NET_RAW), AF_ALG, AF_VSOCK and a family number with high garbage bits all
    answer EAFNOSUPPORT; AF_UNIX, AF_INET and AF_INET6 work."""
    out = run(
        """
        for name, family, kind in [('netlink', 16, 3), ('packet', 17, 3), ('alg', 38, 5),
                                   ('vsock', 40, 1), ('unix', 1, 1), ('inet', 2, 1),
                                   ('inet6', 10, 1)]:
            report(name, libc.socket(family, kind, 0))
        report('netlink_high_bits', libc.syscall(41, (1 << 32) | 16, 3, 0))
        report('socketpair_netlink', libc.socketpair(16, 3, 0, (ctypes.c_int * 2)()))
        socket.socketpair()
        print('python_socketpair ok')
        """,
        tmp_path,
    )
    refused = ["netlink", "packet", "alg", "vsock", "netlink_high_bits", "socketpair_netlink"]
    assert out == {
        **dict.fromkeys(refused, "EAFNOSUPPORT"),
        **dict.fromkeys(["unix", "inet", "inet6", "python_socketpair"], "ok"),
    }


def test_kernel_keyrings_are_refused(tmp_path: Path) -> None:
    out = run(
        """
        KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING = 0, -3
        report('keyctl', libc.syscall(250, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1))
        report('add_key', libc.syscall(248, b'user', b'k', b'v', 1, -3))
        report('request_key', libc.syscall(249, b'user', b'k', None, 0))
        """,
        tmp_path,
    )
    assert out == dict.fromkeys(["keyctl", "add_key", "request_key"], "EPERM")


def test_io_uring_is_refused(tmp_path: Path) -> None:
    out = run(
        """
        params = ctypes.create_string_buffer(120)  # struct io_uring_params
        report('io_uring_setup', libc.syscall(425, 8, params))
        report('io_uring_enter', libc.syscall(426, 0, 0, 0, 0, 0, 0))
        """,
        tmp_path,
    )
    assert out == {"io_uring_setup": "ENOSYS", "io_uring_enter": "ENOSYS"}


def test_mounts_and_root_changes_are_refused(tmp_path: Path) -> None:
    """The kernel looks the target up before checking privileges (ENOENT for a missing one);
    the filter refuses before that, for every mount call and the new mount API."""
    out = run(
        """
        report('mount', libc.mount(b'none', b'/no/such/dir', b'tmpfs', 0, None))
        report('umount2', libc.umount2(b'/no/such/dir', 0))
        report('pivot_root', libc.syscall(155, b'/no/such/a', b'/no/such/b'))
        report('chroot', libc.chroot(b'/no/such/dir'))
        report('fsopen', libc.syscall(430, b'tmpfs', 0))
        report('open_tree', libc.syscall(428, -100, b'/no/such/dir', 0))
        """,
        tmp_path,
    )
    assert out == dict.fromkeys(
        ["mount", "umount2", "pivot_root", "chroot", "fsopen", "open_tree"], "EPERM"
    )


def test_kernel_surface_and_host_administration_are_refused(tmp_path: Path) -> None:
    """The rest of the deny-list: BPF, perf, userfaultfd, file handles, personality flags
    that weaken mitigations (PER_LINUX itself stays allowed)."""
    out = run(
        """
        report('bpf', libc.syscall(321, 0, None, 0))
        report('perf_event_open', libc.syscall(298, None, 0, -1, -1, 0))
        report('userfaultfd', libc.syscall(323, 0))
        report('name_to_handle_at', libc.syscall(303, -100, b'/', None, None, 0))
        report('open_by_handle_at', libc.syscall(304, -100, None, 0))
        report('personality_no_aslr', libc.personality(0x0040000))
        report('personality_linux', libc.personality(0))
        report('settimeofday', libc.syscall(164, None, None))
        report('syslog', libc.syscall(103, 3, None, 0))
        """,
        tmp_path,
    )
    assert out == {
        **{name: "EPERM" for name in out if name != "personality_linux"},
        "personality_linux": "ok",
    }
    assert len(out) == 9


FOREIGN_ABI_GETPID = {
    # getpid with the x32 bit (nr | 0x40000000): x32 is another ABI on the same arch token.
    "x32": "ctypes.CDLL(None).syscall(0x40000000 | 39)",
    # getpid through the i386 entry (int 0x80) from machine code: mov eax, 20; int 0x80; ret
    "i386": """
import mmap
page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
page.write(bytes.fromhex('b814000000cd80c3'))
ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))()
""",
}


@pytest.mark.skipif(platform.machine() != "x86_64", reason="x32 and i386 are x86_64's other ABIs")
@pytest.mark.parametrize("abi", sorted(FOREIGN_ABI_GETPID))
def test_syscalls_of_another_abi_kill_the_process(tmp_path: Path, abi: str) -> None:
    """The filter is written for x86_64 numbers; a syscall entering through the x32 or the
    i386 ABI kills the process with SIGSYS (unfiltered, this kernel answers the i386 getpid
    with the pid and the x32 one with ENOSYS, x32 being compiled out here)."""
    code = f"import ctypes\nprint('before', flush=True)\n{FOREIGN_ABI_GETPID[abi]}\nprint('after')"
    result = run_python(code, workdir=tmp_path, timeout=60)
    assert result.stdout == "before\n", result.logs
    assert result.exit_code == -31  # SIGSYS


def test_libraries_threads_and_processes_work_under_the_filter(tmp_path: Path) -> None:
    """The filter is in place (Seccomp: 2) for the code and its children, and numpy, pandas,
    matplotlib, threads, subprocesses and multiprocessing work."""
    code = """
    import concurrent.futures, multiprocessing, subprocess, sys, threading
    import numpy as np, pandas as pd, matplotlib.pyplot as plt
    status = dict(line.split(':\\t') for line in open('/proc/self/status').read().splitlines())
    print('mode', status['Seccomp'])
    frame = pd.DataFrame({'x': np.arange(5)})
    plt.plot(frame.x, frame.x ** 2)
    print('frame', int((frame.x ** 2).sum()))
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        print('threads', sum(pool.map(lambda n: n * n, range(10))))
    with multiprocessing.Pool(2) as pool:
        print('processes', sum(pool.map(abs, [-1, -2])))
    child = "print(open('/proc/self/status').read().split('Seccomp:')[1].split()[0])"
    print('child', subprocess.run([sys.executable, '-c', child], capture_output=True,
                                  text=True).stdout.strip())
    """
    result = run_python(textwrap.dedent(code), workdir=tmp_path, timeout=120)
    assert result.ok, result.logs
    assert result.stdout.splitlines() == [
        "mode 2",
        "frame 30",
        "threads 285",
        "processes 3",
        "child 2",
    ]
    assert len(result.images) == 1


def test_every_denied_syscall_is_known_to_libseccomp() -> None:
    """None of the deny-list is silently left out by the installed libseccomp."""
    assert unknown_syscalls() == []
    assert {"ptrace", "bpf", "mount", "unshare", "io_uring_setup"} <= {
        name for denied in DENIED for name in denied.syscalls
    }


def test_aarch64_gets_its_own_filter_and_other_architectures_are_refused() -> None:
    """The aarch64 program checks the aarch64 ABI and has the same rules; an architecture
    the filter does not know is refused with the reason."""
    program = compiled_filter("aarch64")
    assert len(program) % 8 == 0
    constants = {struct.unpack_from("<HBBI", program, i)[3] for i in range(0, len(program), 8)}
    assert AUDIT_ARCH_AARCH64 in constants and AUDIT_ARCH_X86_64 not in constants
    text = pseudo_code("aarch64")
    for name in ("ptrace", "unshare", "keyctl", "io_uring_setup", "mount", "socket", "clone"):
        assert f'filter for syscall "{name}"' in text, name
    assert "invalid architecture action\naction KILL_PROCESS" in text
    with pytest.raises(SeccompUnavailable, match="supports x86_64, aarch64; not s390x"):
        compiled_filter("s390x")


def test_a_bwrap_that_cannot_load_the_filter_refuses_the_sandbox(tmp_path: Path) -> None:
    """bwrap on a kernel without seccomp filters fails on ``--seccomp``: the sandbox is
    refused (no code runs unfiltered) and the reason says what is needed."""
    real = shutil.which("bwrap")
    assert real is not None  # `make install` installs it
    fake = tmp_path / "bwrap"
    fake.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do\n'
        '  if [ "$arg" = --seccomp ]; then\n'
        "    echo 'bwrap: prctl(PR_SET_SECCOMP): Invalid argument' >&2; exit 1\n"
        "  fi\n"
        "done\n"
        f'exec {real} "$@"\n'
    )
    fake.chmod(0o755)
    reason = unavailable_reason(str(fake))
    assert reason is not None
    assert "cannot start a sandbox here: bwrap: prctl(PR_SET_SECCOMP): Invalid argument" in reason
    assert "CONFIG_SECCOMP_FILTER" in reason and "libseccomp2" in reason
    assert "--code-interpreter unsafe-local" in reason
    workdir = tmp_path / "work"
    with pytest.raises(IsolationUnavailable, match="PR_SET_SECCOMP"):
        run_python("open('ran.txt', 'w')", workdir=workdir, bwrap=str(fake))
    assert not workdir.exists()
