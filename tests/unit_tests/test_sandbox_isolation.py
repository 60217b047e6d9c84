"""The kernel sandbox contains model-written code: one test per escape an attacker would try.

Every test runs real code in the real bubblewrap sandbox (``make install`` installs it); the
refusal path points the sandbox at a bwrap executable that does not exist.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from langchain_core.tools import ToolException

from langchain_assistants.sandbox import (
    IsolationUnavailable,
    SandboxSettings,
    bubblewrap,
    run_python,
    unavailable_reason,
)
from langchain_assistants.sandbox.artifacts import write_into
from langchain_assistants.sandbox.cgroups import cgroup_manager
from langchain_assistants.tools import LocalSandboxBackend, PythonCodeTool


def run(code: str, workdir: Path, **kwargs: object) -> tuple[str, str]:
    result = run_python(textwrap.dedent(code), workdir=workdir, **kwargs)  # type: ignore[arg-type]
    return result.stdout, result.stderr


def test_isolation_is_available_here() -> None:
    assert unavailable_reason() is None
    assert "kernel sandbox" in bubblewrap().description


def test_code_runs_in_mnt_data_as_the_sandbox_user(tmp_path: Path) -> None:
    out, _ = run(
        "import os, pwd; print(os.getcwd(), os.environ['HOME'], pwd.getpwuid(os.getuid()).pw_name)",
        tmp_path,
    )
    assert out == "/mnt/data /mnt/data sandbox\n"


def test_host_etc_passwd_is_not_visible(tmp_path: Path) -> None:
    host = Path("/etc/passwd").read_text()
    out, _ = run("print(open('/etc/passwd').read())", tmp_path)
    assert out.startswith("sandbox:x:1000:1000:")
    assert host.splitlines()[0] not in out and "root:" not in out


def test_server_files_and_other_threads_are_invisible(tmp_path: Path) -> None:
    db_dir = tmp_path / "server"
    db_dir.mkdir()
    (db_dir / "assistants.db").write_text("secret rows")
    root = tmp_path / "sandbox"
    other = root / "thread_other"
    other.mkdir(parents=True)
    (other / "private.txt").write_text("other thread's data")
    mine = root / "thread_mine"
    checkout = os.path.dirname(sys.prefix)  # the venv's parent: here, the source checkout
    targets = [str(db_dir), str(root), str(other), "/mnt", "/mnt/data/..", checkout, "/home"]
    code = f"""
    import os
    for path in {targets!r}:
        try:
            print(path, sorted(os.listdir(path)))
        except OSError as exc:
            print(path, type(exc).__name__)
    """
    out, _ = run(code, mine)
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    for path in (str(db_dir), str(root), str(other), "/home"):
        assert lines[path] == "FileNotFoundError", lines
    assert lines["/mnt"] == "['data']" and lines["/mnt/data/.."] == "['data']"
    # Only the venv's mount point, never the checkout's files (an editable install).
    assert lines[checkout] == str([os.path.basename(sys.prefix)])


def test_writes_outside_mnt_data_and_tmp_fail_and_tmp_is_private(tmp_path: Path) -> None:
    marker = f"sandbox-marker-{uuid.uuid4().hex}"
    places = ["/etc/x", "/x", "/usr/x", "/opt/x", "/dev/x", "/mnt/x", "/var/x", sys.prefix + "/x"]
    code = f"""
    for path in {places!r} + ['/tmp/{marker}', '/dev/shm/{marker}', '/mnt/data/kept.txt']:
        try:
            open(path, 'w').write('x')
            print('WROTE', path)
        except OSError as exc:
            print('refused', path, type(exc).__name__)
    """
    out, _ = run(code, tmp_path)
    assert out.count("WROTE") == 3, out
    assert f"WROTE /tmp/{marker}" in out and "WROTE /mnt/data/kept.txt" in out
    assert not Path("/tmp", marker).exists()  # the sandbox's /tmp is its own
    assert not Path("/dev/shm", marker).exists()  # and so is its /dev/shm
    assert (tmp_path / "kept.txt").read_text() == "x"


def test_multiprocessing_works_in_the_sandbox(tmp_path: Path) -> None:
    code = (
        "import multiprocessing as mp\nwith mp.Pool(2) as pool:\n    print(pool.map(abs, [-1, -2]))"
    )
    assert run(code, tmp_path)[0] == "[1, 2]\n"


def test_proc_shows_only_the_sandbox_processes(tmp_path: Path) -> None:
    code = """
    import os
    pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
    print(len(pids), os.getpid())
    for pid in pids:
        print(open(f'/proc/{pid}/cmdline').read().replace('\\0', ' ')[:60])
    """
    out, _ = run(code, tmp_path)
    count, own = out.splitlines()[0].split()
    assert int(count) <= 3 and int(own) <= 3  # bwrap's init and the cell (plus a reaper)
    assert "pytest" not in out and "uvicorn" not in out


def test_environment_has_no_server_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-server-secret")
    out, _ = run("import os; print(sorted(os.environ))", tmp_path)
    assert "OPENAI_API_KEY" not in out and "sk-fake" not in out
    assert "'HOME'" in out and "'MPLCONFIGDIR'" in out


def test_process_count_is_limited(tmp_path: Path) -> None:
    code = """
    import os, time
    count = 0
    try:
        while count < 1000:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            count += 1
    except OSError as exc:
        print('refused after', count, type(exc).__name__)
    """
    out, _ = run(code, tmp_path, max_processes=20, timeout=30)
    assert out.startswith("refused after"), out
    assert int(out.split()[2]) < 25


def test_file_size_is_limited(tmp_path: Path) -> None:
    code = """
    try:
        open('big.bin', 'wb').write(bytes(3 * 1024 * 1024))
        print('WROTE')
    except OSError as exc:
        print('refused', exc.strerror)
    """
    out, _ = run(code, tmp_path, max_file_mb=1)
    assert out == "refused File too large\n"
    assert (tmp_path / "big.bin").stat().st_size <= 1024 * 1024


@pytest.mark.slow
def test_fork_bomb_is_contained(tmp_path: Path) -> None:
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    result = run_python(code, workdir=tmp_path, timeout=3, max_output_bytes=4096)
    assert not result.ok
    assert subprocess.run(["true"], check=False).returncode == 0  # the host still forks
    assert run_python("print('after')", workdir=tmp_path).stdout == "after\n"


def test_memory_bomb_across_processes_is_contained(tmp_path: Path) -> None:
    """Children each under the per-process cap; together over it: the cgroup (where the
    server may create cgroups) kills them, otherwise each stays capped by RLIMIT_AS."""
    code = """
    import os
    pids = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            try:
                blob = bytearray(150 * 1024 * 1024)
                for i in range(0, len(blob), 4096):
                    blob[i] = 1
                os._exit(0)
            except MemoryError:
                os._exit(3)
        pids.append(pid)
    codes = [os.waitpid(pid, 0)[1] for pid in pids]
    print('ok' if all(c == 0 for c in codes) else 'contained', codes)
    """
    result = run_python(textwrap.dedent(code), workdir=tmp_path, memory_mb=256, timeout=60)
    out = result.stdout
    if cgroup_manager() is not None:
        assert out.startswith("contained"), out
        # The kernel's count, not a guess from the signal: the model is told what happened.
        assert result.oom_kills >= 1
        assert "Out of memory: the kernel killed" in result.logs, result.logs
    else:
        assert out.startswith("ok"), out  # rlimits are per process: 4 x 150 MiB fits


@pytest.mark.parametrize("technique", ["raw_socket", "ctypes_connect", "child_process"])
def test_network_to_the_host_is_unreachable(tmp_path: Path, technique: str) -> None:
    """Bypassing the audit hook (raw sockets, libc via ctypes, a child without the hook)
    still reaches nothing: the network namespace has only its own loopback."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        code = {
            "raw_socket": f"""
                import socket
                try:
                    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
                    s.sendto(b'x' * 40, ('127.0.0.1', {port}))
                    print('SENT')
                except OSError as exc:
                    print('blocked', type(exc).__name__)
            """,
            "ctypes_connect": f"""
                import ctypes, socket, struct
                libc = ctypes.CDLL(None, use_errno=True)
                fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
                addr = struct.pack('=H', socket.AF_INET) + struct.pack('!H', {port})
                addr += socket.inet_aton('127.0.0.1') + bytes(8)
                rc = libc.connect(fd, ctypes.c_char_p(addr), len(addr))
                print('CONNECTED' if rc == 0 else 'blocked', ctypes.get_errno())
            """,
            "child_process": f"""
                import subprocess, sys
                inner = "import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
                print('blocked' if subprocess.run([sys.executable, '-c', inner]).returncode
                      else 'CONNECTED')
            """,
        }[technique]
        out, _ = run(code, tmp_path)
        server.settimeout(0.3)
        with pytest.raises(TimeoutError):
            server.accept()
    assert out.startswith("blocked"), out


def test_numpy_pandas_matplotlib_work_and_figures_become_images(tmp_path: Path) -> None:
    code = """
    import numpy as np, pandas as pd, matplotlib.pyplot as plt
    frame = pd.DataFrame({'x': np.arange(5), 'y': np.arange(5) ** 2})
    plt.plot(frame.x, frame.y)
    print(int(frame.y.sum()))
    """
    result = run_python(textwrap.dedent(code), workdir=tmp_path, timeout=120)
    assert result.ok, result.logs
    assert result.stdout == "30\n"
    assert len(result.images) == 1 and result.images[0].read_bytes().startswith(b"\x89PNG")


def test_missing_bwrap_refuses_with_a_clear_reason(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-bwrap")
    reason = unavailable_reason(missing)
    assert reason is not None and "bubblewrap is not installed" in reason
    assert "apt-get install bubblewrap" in reason and "unsafe-local" in reason
    with pytest.raises(IsolationUnavailable, match="bubblewrap is not installed"):
        run_python("print('ran')", workdir=tmp_path, bwrap=missing)
    assert not list(tmp_path.iterdir())  # nothing ran, nothing was created
    tool = PythonCodeTool(
        backend=LocalSandboxBackend(tmp_path, settings=SandboxSettings(bwrap=missing)),
        handle_tool_error=False,
    )
    with pytest.raises(ToolException, match=r"unavailable.*unsafe_local=True"):
        tool.invoke({"python_code": "print('ran')"})


def test_unsafe_local_opt_in_runs_without_kernel_isolation(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-bwrap")
    backend = LocalSandboxBackend(
        tmp_path / "work", settings=SandboxSettings(bwrap=missing), unsafe_local=True
    )
    output = PythonCodeTool(backend=backend).invoke("import os; print(os.getcwd())")
    assert str(tmp_path / "work") in output  # the host path: no /mnt/data, no namespaces
    result = run_python("import os; print(os.getcwd())", workdir=tmp_path, unsafe_local=True)
    assert result.stdout == f"{tmp_path}\n"


def test_cgroup_is_removed_after_each_execution(tmp_path: Path) -> None:
    manager = cgroup_manager()
    if manager is None:  # no writable cgroups here: rlimits are the limits (checked above)
        assert "rlimits" in bubblewrap().description
        return
    out, _ = run("print(open('/proc/self/cgroup').read())", tmp_path)
    groups = set(re.findall(r"exec-[\w-]+", out))
    assert groups  # the execution ran in its own group ...
    # ... which is gone (other servers on this machine may be adding groups meanwhile)
    assert not groups & set(os.listdir(manager.pids_parent))


def test_links_planted_by_the_code_are_never_followed_by_the_server(tmp_path: Path) -> None:
    """A cell links its figure name and a "result" to host files; the server (root) reads
    neither, and writing a file where the cell left a link replaces the link."""
    code = """
    import json, os
    config = json.loads(open('/proc/self/cmdline').read().split('\\0')[-2])
    os.makedirs(config['output_dir'], exist_ok=True)
    figure = os.path.join(config['output_dir'], config['run_id'] + '-figure-1.png')
    os.symlink('/etc/hostname', figure)
    os.symlink('/etc/passwd', 'result.csv')
    os.symlink('/etc', 'subdir')
    open('real.txt', 'w').write('ok')
    """
    result = run_python(textwrap.dedent(code), workdir=tmp_path)
    assert result.ok, result.logs
    assert result.images == []
    assert result.files == [tmp_path / "real.txt"]
    write_into(tmp_path, "result.csv", b"uploaded")
    write_into(tmp_path, "subdir/inner.txt", b"nested")
    assert (tmp_path / "result.csv").read_bytes() == b"uploaded"
    assert not (tmp_path / "result.csv").is_symlink()
    assert not (tmp_path / "subdir").is_symlink() and not Path("/etc/inner.txt").exists()
    with pytest.raises(ValueError):
        write_into(tmp_path, "../escape.txt", b"x")


def test_user_namespaces_disabled_is_named_with_the_sysctls_to_check(tmp_path: Path) -> None:
    """A bwrap that cannot create namespaces (as on kernels that forbid unprivileged user
    namespaces): the reason quotes bwrap and names the settings to check."""
    fake = tmp_path / "bwrap"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = --help ]; then echo "usage: bwrap --unshare-all --size"; exit 0; fi\n'
        "echo 'bwrap: No permissions to creating new namespace, likely because the kernel "
        "does not allow non-privileged user namespaces.' >&2\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    reason = unavailable_reason(str(fake))
    assert reason is not None
    assert "cannot start a sandbox here: bwrap: No permissions to creating new namespace" in reason
    assert "user.max_user_namespaces" in reason and "unprivileged_userns_clone" in reason
    assert "--code-interpreter unsafe-local" in reason
