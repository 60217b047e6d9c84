"""A real Linux kernel in a throwaway virtual machine, for what depends on the kernel's set-up.

The sandbox limits memory and processes with cgroup v1 or v2, whichever the host mounts;
a test machine has one of them. To test the other on a real kernel, this boots Debian's
kernel (package ``linux-image-amd64``) under QEMU (``qemu-system-x86``, software
emulation: no KVM needed) with a busybox (``busybox-static``) initramfs built per call.
The guest sees this machine's root file system read-only over 9p, so it runs the same
Python, virtualenv and bubblewrap; ``/tmp`` is its own tmpfs (with the script's working
directory shared again at its own path, in case it lies under ``/tmp``), ``/sys/fs/cgroup``
a ``cgroup2`` mount, and ``/tmp/out`` a directory shared with the host, writable, where
the guest script runs and leaves what it has to say. ``make install`` installs the packages.
"""

from __future__ import annotations

import lzma
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

QEMU = "qemu-system-x86_64"
BUSYBOX = "/bin/busybox"
#: Loaded in the initramfs to mount the host's root (their dependencies come first).
MODULES = ("virtio_pci", "9pnet_virtio", "9p")
GUEST_OUT = "/tmp/out"

INIT = """#!/bin/busybox sh
B=/bin/busybox
$B mkdir -p /proc /sys /dev /host
$B mount -t proc proc /proc
$B mount -t devtmpfs dev /dev
for m in {modules}; do $B insmod /modules/$m || $B echo "init: insmod $m failed"; done
P="trans=virtio,version=9p2000.L,msize=512000"
$B mount -t 9p -o $P,ro,cache=loose host /host || $B echo "init: no host root"
$B mount -t sysfs sys /host/sys
$B mount -t cgroup2 cgroup2 /host/sys/fs/cgroup
$B mount -t devtmpfs dev /host/dev
$B mkdir -p /host/dev/shm /host/dev/pts
$B mount -t tmpfs shm /host/dev/shm
$B mount -t devpts pts /host/dev/pts
$B mount -t tmpfs tmp /host/tmp
$B mount -t tmpfs run /host/run
$B mkdir -p /host{out} /host{cwd}
$B mount -t 9p -o $P out /host{out}
$B mount -t 9p -o $P,ro,cache=loose cwd /host{cwd}
$B umount /proc
exec $B switch_root /host /bin/sh {out}/.boot.sh
"""

# Runs in the guest's real root: the script, its exit status, then power off.
BOOT = """mount -t proc proc /proc
ip link set lo up 2>/dev/null
cd {cwd}
sh {out}/guest.sh > {out}/guest.log 2>&1
echo $? > {out}/guest.rc
sync
echo o > /proc/sysrq-trigger
sleep 60  # the power-off is asynchronous: PID 1 must not exit first (a kernel panic)
"""


@dataclass(frozen=True)
class GuestRun:
    """What a guest script did: its exit status (None: it never finished), its combined
    output, and the kernel's console."""

    returncode: int | None
    output: str
    console: str


def kernel_image() -> Path | None:
    """The newest installed Debian kernel, or None."""
    images = sorted(Path("/boot").glob("vmlinuz-*"), key=lambda p: p.stat().st_mtime)
    return images[-1] if images else None


def unavailable_reason() -> str | None:
    """Why no VM can be booted here (what to install), or None."""
    if shutil.which(QEMU) is None:
        return f"{QEMU} is missing (Debian package qemu-system-x86; make install)"
    if not _is_static(BUSYBOX):  # the initramfs has no C library
        return f"no static {BUSYBOX} (Debian package busybox-static; make install)"
    if kernel_image() is None:
        return "no kernel in /boot (Debian package linux-image-amd64; make install)"
    return None


def _is_static(path: str) -> bool:
    """Whether ``path`` is an executable that needs no dynamic loader (``ldd`` refuses it)."""
    if not Path(path).is_file():
        return False
    return subprocess.run(["ldd", path], capture_output=True).returncode != 0


def run_in_vm(
    script: str, work: Path, *, cwd: Path, timeout: float = 600, memory_mb: int = 1536
) -> GuestRun:
    """Boot a VM, run the shell ``script`` as root in it (in ``cwd``, a host directory the
    guest sees read-only), and power it off. ``work``: a host directory for the initramfs
    and the shared ``/tmp/out``."""
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    kernel = kernel_image()
    assert kernel is not None
    out = work / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "guest.sh").write_text(script)
    (out / ".boot.sh").write_text(BOOT.format(cwd=cwd, out=GUEST_OUT))
    initrd = work / "initrd.cpio"
    _write_initramfs(initrd, kernel, cwd)
    command = [  # software emulation: KVM, where present, may not run nested guests
        *(QEMU, "-accel", "tcg,thread=multi", "-cpu", "max", "-smp", "2"),
        *("-m", str(memory_mb), "-nographic", "-no-reboot", "-nic", "none"),
        *("-kernel", str(kernel), "-initrd", str(initrd)),
        *("-append", "console=ttyS0 quiet panic=-1 sysrq_always_enabled=1"),
        "-virtfs",
        "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap",
        "-virtfs",
        f"local,path={out},mount_tag=out,security_model=none",
        # ``cwd`` again on its own: it may lie under /tmp, which the guest's tmpfs hides.
        "-virtfs",
        f"local,path={cwd},mount_tag=cwd,security_model=none,readonly=on,multidevs=remap",
    ]
    try:
        console = subprocess.run(
            command, capture_output=True, text=True, errors="replace", timeout=timeout
        ).stdout
    except subprocess.TimeoutExpired as expired:  # its output is bytes, whatever text= says
        partial = expired.stdout or b""
        text = partial.decode(errors="replace") if isinstance(partial, bytes) else partial
        console = f"(timed out after {timeout} s)\n{text}"
    rc = out / "guest.rc"
    log = out / "guest.log"
    return GuestRun(
        int(rc.read_text()) if rc.is_file() else None,
        log.read_text(errors="replace") if log.is_file() else "",
        console,
    )


def _write_initramfs(path: Path, kernel: Path, cwd: Path) -> None:
    """An uncompressed initramfs: busybox, the 9p modules of ``kernel`` and ``INIT``."""
    release = kernel.name.removeprefix("vmlinuz-")
    modules = _modules_in_load_order(Path("/usr/lib/modules") / release, MODULES)
    files: list[tuple[str, bytes, int]] = [("bin/busybox", Path(BUSYBOX).read_bytes(), 0o755)]
    names = []
    for module in modules:
        data = module.read_bytes()
        if module.suffix == ".xz":
            data = lzma.decompress(data)
        name = module.name.removesuffix(".xz")
        names.append(name)
        files.append((f"modules/{name}", data, 0o644))
    init = INIT.format(modules=" ".join(names), out=GUEST_OUT, cwd=cwd)
    files.append(("init", init.encode(), 0o755))
    with path.open("wb") as archive:
        for directory in ("bin", "modules"):
            archive.write(_cpio_entry(directory, b"", stat.S_IFDIR | 0o755))
        for name, data, mode in files:
            archive.write(_cpio_entry(name, data, stat.S_IFREG | mode))
        archive.write(_cpio_entry("TRAILER!!!", b"", 0))


def _modules_in_load_order(root: Path, wanted: tuple[str, ...]) -> list[Path]:
    """``wanted`` modules' files with their dependencies first, from ``modules.dep``."""
    deps: dict[str, list[str]] = {}
    for line in (root / "modules.dep").read_text().splitlines():
        module, _, needs = line.partition(":")
        deps[module] = needs.split()
    by_name = {re.sub(r"\.ko(\.xz)?$", "", os.path.basename(m)): m for m in deps}
    order: list[str] = []

    def load(module: str) -> None:
        for dependency in reversed(deps[module]):
            load(dependency)
        if module not in order:
            order.append(module)

    for name in wanted:
        if name not in by_name:
            raise RuntimeError(f"kernel module {name} is not in {root} (built in?)")
        load(by_name[name])
    return [root / m for m in order]


def _cpio_entry(name: str, data: bytes, mode: int) -> bytes:
    """One entry of a ``newc`` cpio archive (the initramfs format)."""
    encoded = name.encode() + b"\0"
    fields = [0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
    header = b"070701" + b"".join(b"%08X" % value for value in fields)
    entry = header + encoded
    entry += b"\0" * (-len(entry) % 4)
    return entry + data + b"\0" * (-len(data) % 4)
