"""An xz or bzip2 stream decompressed in large pieces, for a reader on another thread.

``lzma.LZMAFile`` and ``bz2.BZ2File`` feed their decompressor 8 KiB of input at a time and take the
interpreter lock back after every call. On the thread that decompresses a tarball ahead (``_prefetch``) each
of those hand-overs waits for the unpacking thread to let go of the lock (up to the 5 ms switch interval):
a 200 MiB report costs thousands of them. Here one call turns up to ``PIECE`` bytes out of as much input as
that needs, so the lock changes hands a few hundred times at most, and the data before a corrupt spot that
is lost with the failing call is at most one piece.

The semantics are the file objects': concatenated streams are read one after the other, what follows the
last stream and is not a stream (padding, garbage) ends the data quietly, and input that ends inside a
stream raises ``EOFError``.
"""

from __future__ import annotations

import bz2
import lzma
from collections.abc import Callable
from typing import BinaryIO, Protocol

__all__ = ["Inflating", "bzip2", "xz"]

#: most decompressed bytes one call produces
PIECE = 2 * 1024 * 1024
_INPUT = 256 * 1024


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = -1, /) -> bytes: ...


class Inflating:
    """``read1`` of the decompressed data of ``raw``."""

    def __init__(self, raw: BinaryIO, new: Callable[[], _Decompressor], trailing: type[Exception]) -> None:
        self._raw = raw
        self._new = new
        self._trailing = trailing
        self._decompressor = new()
        self._done = False

    def read1(self, size: int = -1, /) -> bytes:
        if size == 0:
            return b""
        limit = PIECE if size < 0 else min(size, PIECE)
        while not self._done:
            out = self._step(limit)
            if out:
                return out
        return b""

    def _step(self, limit: int) -> bytes:
        decompressor = self._decompressor
        if decompressor.eof:
            rest = decompressor.unused_data or self._raw.read(_INPUT)
            if not rest:
                self._done = True
                return b""
            self._decompressor = decompressor = self._new()
            try:
                return decompressor.decompress(rest, limit)
            except self._trailing:
                self._done = True  # what follows the last stream is not a stream: its end, as the file objects read it
                return b""
        if decompressor.needs_input:
            data = self._raw.read(_INPUT)
            if not data:
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            return decompressor.decompress(data, limit)
        return decompressor.decompress(b"", limit)


def xz(raw: BinaryIO) -> Inflating:
    return Inflating(raw, lzma.LZMADecompressor, lzma.LZMAError)


def bzip2(raw: BinaryIO) -> Inflating:
    return Inflating(raw, bz2.BZ2Decompressor, OSError)
