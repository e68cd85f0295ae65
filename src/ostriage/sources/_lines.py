"""Bytes to text lines, safely: bounded line length, any byte sequence decodes, compressed or not.

Evidence files are whatever the host wrote: logs with binary garbage, a 1 GiB file without a
single newline, rotated logs compressed with gzip, xz or bzip2. Lines come out one at a time from
fixed-size reads, so memory stays bounded by ``max_line`` whatever the input.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from collections.abc import Iterator
from typing import BinaryIO, Protocol

__all__ = ["CHUNK", "MAX_LINE", "Readable", "decode_line", "decompressing", "iter_lines", "truncation_marker"]

#: Longest line kept (bytes); the rest of a longer line is dropped and the drop is marked.
MAX_LINE = 64 * 1024
#: Size of each read.
CHUNK = 64 * 1024

# Compressed files are recognised by name *and* by their magic bytes: logrotate names what it
# compressed, and a file named .gz that is not gzip is read as it is rather than dropped.
_MAGIC: dict[str, bytes] = {".gz": b"\x1f\x8b", ".xz": b"\xfd7zXZ\x00", ".bz2": b"BZh"}


class Readable(Protocol):
    """Anything with a binary ``read(size)``."""

    def read(self, size: int = ..., /) -> bytes: ...


#: what every truncation marker contains, to recognise a cut line
TRUNCATED = " [ostriage: line truncated, "


def truncation_marker(dropped: int) -> str:
    """What replaces the end of an over-long line.

    >>> truncation_marker(10)
    ' [ostriage: line truncated, 10 more bytes]'
    """
    return f"{TRUNCATED}{dropped} more bytes]"


def decompressing(name: str, raw: BinaryIO) -> BinaryIO | io.BufferedIOBase:
    """Wrap ``raw`` in a decompressor when ``name`` and the first bytes agree on a format.

    ``raw`` must be seekable (a regular file): its first bytes are peeked and put back.
    """
    for suffix, magic in _MAGIC.items():
        if name.endswith(suffix):
            head = raw.read(len(magic))
            raw.seek(0)
            if head != magic:
                return raw
            if suffix == ".gz":
                return gzip.GzipFile(fileobj=raw, mode="rb")
            if suffix == ".xz":
                return lzma.LZMAFile(raw, mode="rb")
            return bz2.BZ2File(raw, mode="rb")
    return raw


def iter_lines(stream: Readable, max_line: int = MAX_LINE, first: bytes = b"") -> Iterator[str]:
    """Decoded lines of ``stream`` without their terminators (``\\n``, ``\\r\\n``).

    Bytes that are not UTF-8 become U+FFFD. A line longer than ``max_line`` bytes keeps its first
    ``max_line`` bytes followed by ``truncation_marker``. ``first`` is data already read from
    the stream (a command's first chunk). Read errors propagate to the caller, which knows
    what the stream is.

    >>> import io
    >>> list(iter_lines(io.BytesIO(b"a\\r\\nb\\xff\\nlast")))
    ['a', 'b\\ufffd', 'last']
    >>> list(iter_lines(io.BytesIO(b"x" * 10 + b"\\ny"), max_line=4))
    ['xxxx [ostriage: line truncated, 6 more bytes]', 'y']
    """
    pending = bytearray(first)
    dropped = 0  # bytes of the current line beyond max_line, already discarded
    # a line of at most this many characters is within max_line bytes whatever they are (UTF-8: 4 at most)
    short = max_line // 4
    while True:
        start = 0
        if not dropped and (last := pending.rfind(b"\n")) >= 0:
            # The common case, at the decoder's speed: every complete line at once. An invalid sequence never
            # spans a newline (a byte of its own in UTF-8), so this decodes each line as ``_decode`` would.
            text = pending[:last].decode("utf-8", errors="replace")
            lines = text.split("\n")
            if max(map(len, lines)) <= short:
                if "\r" in text:
                    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
                yield from lines
                start = last + 1
        while (end := pending.find(b"\n", start)) >= 0:
            yield _decode(pending[start:end], max_line, dropped)
            dropped = 0
            start = end + 1
        del pending[:start]
        if len(pending) > max_line:
            dropped += len(pending) - max_line
            del pending[max_line:]
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        pending += chunk
    if pending or dropped:
        yield _decode(pending, max_line, dropped)


def decode_line(raw: bytes | bytearray, max_line: int = MAX_LINE) -> str:
    """One raw line (without its ``\\n``) as ``iter_lines`` gives it: ``\\r`` dropped, cut at ``max_line``.

    >>> decode_line(b"abc\\r"), decode_line(b"abcdef", max_line=3)
    ('abc', 'abc [ostriage: line truncated, 3 more bytes]')
    """
    return _decode(raw, max_line, 0)


def _decode(raw: bytes | bytearray, max_line: int, dropped: int) -> str:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if len(raw) > max_line:
        dropped += len(raw) - max_line
        raw = raw[:max_line]
    text = bytes(raw).decode("utf-8", errors="replace")
    return text + truncation_marker(dropped) if dropped else text
