"""uvicorn's access log, without the flood of the SDK's polling.

The SDK's ``create_and_poll`` and friends read a run every few tens of milliseconds (the
server asks them to), so a plain access log prints a line per poll. By default
(``quiet``) successful reads are left out and every write and every error is kept;
``full`` keeps every line, ``off`` none.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Literal

AccessLog = Literal["quiet", "full", "off"]  # the CLI's --access-log choices


class QuietSuccessfulReads(logging.Filter):
    """Drop uvicorn access lines of GET/HEAD requests that succeeded (status < 400)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple) or len(args) < 5:
            return True
        method, status = args[1], args[4]
        try:
            return not (method in ("GET", "HEAD") and int(str(status)) < 400)
        except (TypeError, ValueError):
            return True


def uvicorn_log_config(access_log: AccessLog) -> dict[str, Any]:
    """uvicorn's own logging config with the access-log choice applied."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    if access_log == "quiet":
        config.setdefault("filters", {})["quiet_reads"] = {"()": QuietSuccessfulReads}
        config["handlers"]["access"]["filters"] = ["quiet_reads"]
    return config
