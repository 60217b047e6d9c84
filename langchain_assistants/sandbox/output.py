"""Bounded capture of a child's output stream: memory stays flat however much it prints."""

from __future__ import annotations

import threading

DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024


class BoundedBuffer:
    """Keep the head and the tail of a byte stream, counting what was dropped in between.

    The head gets three quarters of ``max_bytes`` and the tail the rest, so both the first
    lines and the last ones (often an error) survive. Safe to write from one thread while
    another reads the text.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_OUTPUT_BYTES) -> None:
        self.max_bytes = max(0, max_bytes)
        self._head_limit = self.max_bytes * 3 // 4
        self._tail_limit = self.max_bytes - self._head_limit
        self._head = bytearray()
        self._tail = bytearray()
        self._dropped = 0
        self._lock = threading.Lock()

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``, dropping from the middle once the limit is reached."""
        with self._lock:
            room = self._head_limit - len(self._head)
            if room > 0:
                self._head += chunk[:room]
                chunk = chunk[room:]
            if not chunk:
                return
            self._tail += chunk
            excess = len(self._tail) - self._tail_limit
            if excess > 0:
                del self._tail[:excess]
                self._dropped += excess

    @property
    def truncated(self) -> bool:
        return self._dropped > 0

    def text(self) -> str:
        """Decoded output, with a marker where bytes were dropped."""
        with self._lock:
            head, tail, dropped = bytes(self._head), bytes(self._tail), self._dropped
        if not dropped:
            return (head + tail).decode("utf-8", errors="replace")
        marker = f"\n... [output truncated: {dropped} bytes omitted] ...\n"
        return (
            head.decode("utf-8", errors="replace") + marker + tail.decode("utf-8", errors="replace")
        )
