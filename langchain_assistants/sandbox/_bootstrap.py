"""Child-side bootstrap: confine this process, then run one cell of user code.

Executed as a script (``python -I _bootstrap.py CONFIG_JSON``) in the sandbox child, never
imported by the parent; normally already inside the bubblewrap sandbox (see ``isolation.py``),
whose namespaces are the real containment. It reads the user's code from stdin, drops network
access once more (a network namespace when permitted, plus an audit hook, for the unsafe local
mode), sets its rlimits (memory, CPU time, processes, file size, open files), runs the code
like a notebook cell (a final expression's value is displayed) and saves any open matplotlib
figures as PNGs. Only the standard library is used so it starts fast in isolated mode.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import ctypes
import faulthandler
import json
import linecache
import os
import resource
import sys
import traceback
import types
import warnings
from typing import Any

CELL_FILENAME = "<cell>"
CLONE_NEWNET = 0x40000000

_BLOCKED_EVENTS = frozenset(
    {
        "socket.connect",
        "socket.bind",
        "socket.sendto",
        "socket.sendmsg",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.getnameinfo",
    }
)


def enter_network_namespace() -> None:
    """Move into a fresh network namespace (only loopback, down) if the kernel allows it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.unshare(CLONE_NEWNET)
    except (OSError, AttributeError):
        pass  # Not permitted or not Linux: the audit hook below still applies.


def block_network_hook(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook refusing every socket-level network operation (cannot be removed)."""
    if event in _BLOCKED_EVENTS:
        raise PermissionError(f"Network access is disabled in this sandbox ({event})")


def limit_resources(config: dict[str, Any]) -> None:
    """Set the rlimits (soft = hard, so the code cannot raise them) and disable core dumps.

    Address space, CPU seconds, processes (of this user in the sandbox's user namespace),
    file size and open files; a 0 means no limit. Unsupported ones are skipped (macOS).
    """
    limits = [(resource.RLIMIT_CORE, 0)]
    for name, key, scale in (
        ("RLIMIT_AS", "memory_mb", 1024 * 1024),
        ("RLIMIT_CPU", "cpu_seconds", 1),
        ("RLIMIT_NPROC", "max_processes", 1),
        ("RLIMIT_FSIZE", "max_file_bytes", 1),
        ("RLIMIT_NOFILE", "max_open_files", 1),
    ):
        value = int(config.get(key) or 0) * scale
        if value > 0 and hasattr(resource, name):
            limits.append((getattr(resource, name), value))
    for kind, value in limits:
        with contextlib.suppress(ValueError, OSError):  # e.g. RLIMIT_AS on macOS
            resource.setrlimit(kind, (value, value))


def split_cell(code: str) -> tuple[types.CodeType | None, types.CodeType | None]:
    """Compile ``code`` as (statements, final expression or None), like a REPL cell."""
    tree = ast.parse(code, CELL_FILENAME, "exec")
    last: ast.Expression | None = None
    if tree.body and isinstance(final := tree.body[-1], ast.Expr):
        tree.body.pop()
        last = ast.Expression(final.value)
    body = compile(tree, CELL_FILENAME, "exec") if tree.body else None
    expr = compile(last, CELL_FILENAME, "eval") if last is not None else None
    return body, expr


def run_cell(code: str, namespace: dict[str, Any]) -> int:
    """Run the cell; print a traceback (without bootstrap frames) on error. Returns exit code."""
    linecache.cache[CELL_FILENAME] = (len(code), None, code.splitlines(True), CELL_FILENAME)
    try:
        body, expr = split_cell(code)
        if body is not None:
            exec(body, namespace)
        if expr is not None:
            value = eval(expr, namespace)
            sys.displayhook(value)
    except SystemExit as exc:
        return _exit_code(exc.code)
    except BaseException as exc:
        tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
        if isinstance(exc, SyntaxError):
            tb = None
        traceback.print_exception(type(exc), exc, tb)
        return 1
    return 0


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def save_figures(output_dir: str, prefix: str) -> None:
    """Save every open matplotlib figure as PNG, if the cell used pyplot."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    try:
        numbers = list(plt.get_fignums())
        if numbers:
            os.makedirs(output_dir, exist_ok=True)
        for index, number in enumerate(numbers, start=1):
            path = os.path.join(output_dir, f"{prefix}-figure-{index}.png")
            plt.figure(number).savefig(path, format="png")
        plt.close("all")
    except Exception as exc:
        print(f"[sandbox] could not save matplotlib figures: {exc!r}", file=sys.stderr)


def main() -> None:
    config = json.loads(sys.argv[1])
    enter_network_namespace()
    limit_resources(config)
    code = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    sys.stdin.close()
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the process
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    faulthandler.enable()
    warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")
    sys.argv = [""]
    sys.path.insert(0, os.getcwd())
    sys.addaudithook(block_network_hook)

    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = module
    exit_code = run_cell(code, module.__dict__)
    save_figures(config["output_dir"], config["run_id"])
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # The cell may have closed its streams.
            stream.flush()
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
