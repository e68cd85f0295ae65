"""A decompressing stream read ahead by a thread, so decompression overlaps the unpacking.

lzma, zlib and bz2 release the interpreter lock while they decompress: a thread that keeps a few pieces
decompressed ahead turns a tarball's opening from decompression *then* headers and file writes into both
at once on a second core. At most ``DEPTH`` pieces wait (a few MiB); an error of the stream (truncated or
corrupt data) is raised to the reader where the data ends, as the stream itself would have raised it.
"""

from __future__ import annotations

import queue
import sys
import threading
from types import TracebackType
from typing import Protocol, Self

from ostriage.interrupts import block_in_this_thread

__all__ = ["Prefetched"]

_PIECE = 2 * 1024 * 1024


class _Stream(Protocol):
    def read1(self, size: int = -1, /) -> bytes: ...


class Prefetched:
    """``read1`` of ``stream``, read ahead; use as a context manager (the thread stops on exit)."""

    #: pieces decompressed ahead of the reader
    DEPTH = 3
    #: the interpreter's switch interval while the thread runs (seconds; CPython's default is 5 ms)
    SWITCH_INTERVAL = 0.001

    def __init__(self, stream: _Stream) -> None:
        self._queue: queue.Queue[bytes | Exception] = queue.Queue(self.DEPTH)
        self._stop = threading.Event()
        self._rest = b""
        self._end: bytes | Exception | None = None  # b"" at the end of the stream, or the error it raised
        self._thread = threading.Thread(target=self._fill, args=(stream,), name="ostriage-unpack", daemon=True)
        self._thread.start()
        # After each piece the thread needs the interpreter lock back from the unpacking thread, which holds it
        # for the whole switch interval: at the default 5 ms that wait, not the decompression, set the pace
        # (a 200 MiB report: 1.2 s to unpack at 5 ms, 1.0 s at 1 ms, 0.8 s to decompress alone).
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._interval, self.SWITCH_INTERVAL))

    def _fill(self, stream: _Stream) -> None:
        block_in_this_thread()
        try:
            while not self._stop.is_set():
                piece = stream.read1(_PIECE)
                self._put(piece)
                if not piece:
                    return
        except Exception as exc:  # raised again in the reader, where this data would have ended
            self._put(exc)

    def _put(self, item: bytes | Exception) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read1(self, size: int = -1, /) -> bytes:
        if not self._rest:
            if self._end is not None:
                if isinstance(self._end, Exception):
                    raise self._end
                return b""
            item = self._queue.get()
            if isinstance(item, Exception) or not item:
                self._end = item
                return self.read1(size)
            self._rest = item
        if 0 <= size < len(self._rest):
            out, self._rest = self._rest[:size], self._rest[size:]
            return out
        out, self._rest = self._rest, b""
        return out

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
        self._thread.join()
        sys.setswitchinterval(self._interval)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
