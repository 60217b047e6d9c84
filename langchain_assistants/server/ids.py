"""Object ids in the Assistants style: a type prefix and 24 random base-62 characters."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """Return a fresh id such as ``run_4Kq...`` (prefix ``asst``, ``thread``, ``msg``, ...)."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))
