"""The machine a run happened on (the report says where its numbers come from)."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


def describe() -> dict[str, str]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "CPU count": f"{os.cpu_count()} (usable by this process: {usable or os.cpu_count()})",
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "platform": platform.platform(),
        "load average at start": _load(),
        "openai SDK": _version("openai"),
        "langchain-classic (legacy)": _version("langchain-classic"),
        "uvicorn": _version("uvicorn"),
    }


def load_now() -> str:
    return _load()
