"""A file as large blocks of whole lines, decompressed when it is gzip, xz or bzip2, with bounded memory.

A plain file is read with ``pread`` in ``BLOCK``-sized pieces that end at their last newline: the next read
starts right after it, so nothing is copied or joined. A compressed file is decompressed as a stream and
its pieces are joined at line boundaries; its decompressed bytes count against a ``Budget`` (per file and
in all), like the members of a tarball, so a 600 KB ``.xz`` of 4 GB of identical lines is read only up
to the cap, and the cap is reported.

A line longer than ``max_line`` keeps its first ``max_line`` bytes followed by the truncation marker of
``sources._lines`` (what the line-by-line reader does too); such a line never makes a block larger than
``BLOCK + max_line``.
"""

from __future__ import annotations

import bz2
import lzma
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ostriage.sources._lines import MAX_LINE, TRUNCATED, decode_line, truncation_marker
from ostriage.sources._size import size

__all__ = [
    "BLOCK",
    "READ_ERRORS",
    "Block",
    "Budget",
    "CapReached",
    "Guarded",
    "blocks",
    "line_text",
    "long_line_text",
    "problem_text",
]

#: bytes per read: large enough that per-block costs vanish, small enough to stay in the CPU's cache
BLOCK = 1 << 20
_MIB = 1 << 20
_MAGIC = {b"\x1f\x8b": "gz", b"\xfd7zXZ\x00": "xz", b"BZh": "bz2"}
_MARKER = TRUNCATED.encode()


class _Count:
    """A plain counter; ``Budget`` takes a ``multiprocessing.Value`` instead when files are read in
    several processes."""

    def __init__(self) -> None:
        self.value = 0


@dataclass(slots=True)
class Budget:
    """Decompressed bytes allowed per compressed file and in all (``max_file``/``max_total``), like the
    caps on a tarball's members."""

    max_file: int = 256 * _MIB
    max_total: int = 2048 * _MIB
    counter: Any = field(default_factory=_Count)

    @property
    def used(self) -> int:
        return int(self.counter.value)

    def take(self, n: int) -> None:
        lock = getattr(self.counter, "get_lock", None)
        if lock is None:
            self.counter.value += n
            return
        with lock():
            self.counter.value += n


class CapReached(Exception):
    """Reading stopped at a decompression cap (the blocks before it were delivered)."""

    def __init__(self, limit: int, which: str) -> None:
        super().__init__(f"{which} cap of {limit // _MIB} MiB")
        self.limit = limit
        self.which = which


#: what a failing disk or a corrupt or truncated gzip/xz/bzip2 file raises while being read
READ_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error)


class Guarded:
    """Blocks until the first read error or cap, which is kept in ``error`` instead of raised: what was
    read before it is still evidence."""

    def __init__(self, source: Iterator[Block]) -> None:
        self.source = source
        self.error: Exception | None = None

    def __iter__(self) -> Iterator[Block]:
        try:
            yield from self.source
        except (*READ_ERRORS, CapReached) as exc:
            self.error = exc


def problem_text(exc: Exception, lines: int) -> str:
    """What to report about a file whose reading stopped at ``exc`` after ``lines`` lines.

    >>> problem_text(CapReached(256 * 2**20, "per-file"), 10)
    'decompressed beyond the per-file cap of 256 MiB for compressed logs: only its first 10 lines were read'
    >>> problem_text(EOFError(), 0)
    'unreadable at the start: compressed data ends early (truncated file)'
    """
    if isinstance(exc, CapReached):
        return (f"decompressed beyond the {exc.which} cap of {exc.limit // _MIB} MiB for compressed logs: "
                f"only its first {lines} lines were read")
    where = f"after line {lines}" if lines else "at the start"
    truncated = "compressed data ends early (truncated file)"
    reason = truncated if isinstance(exc, EOFError) else str(exc) or type(exc).__name__
    return f"unreadable {where}: {reason}"


@dataclass(slots=True)
class Block:
    """``data[:end]`` is whole lines (the last one may lack its newline at the end of the file);
    ``cut`` is where a line cut at ``max_line`` starts, -1 when none is."""

    data: bytes
    end: int
    cut: int = -1


def line_text(raw: bytes, max_line: int) -> str:
    """The text of one raw line of a block, as the line-by-line reader gives it: a line these blocks
    already cut (its first ``max_line`` bytes, then the marker) is kept as it is.

    >>> line_text(b"abcdef", 3), line_text(b"abc" + truncation_marker(9).encode(), 3)
    ('abc [ostriage: line truncated, 3 more bytes]', 'abc [ostriage: line truncated, 9 more bytes]')
    """
    if len(raw) > max_line and raw.startswith(_MARKER, max_line):
        return raw[:max_line].decode("utf-8", errors="replace") + raw[max_line:].decode()
    return decode_line(raw, max_line)


def long_line_text(number: int, max_line: int) -> str:
    """The note for a file with a line cut at ``max_line`` (given once per file, like the line reader).

    >>> long_line_text(41, 65536)
    'line 41 is longer than 64 KiB: only its start is read'
    """
    return f"line {number} is longer than {size(max_line)}: only its start is read"


def compression(name: str, head: bytes) -> str | None:
    """``gz``/``xz``/``bz2`` when the name says so *and* the first bytes agree, else ``None``.

    >>> compression("kern.log.2.gz", b"\\x1f\\x8b\\x08"), compression("kern.log.2.gz", b"Jan  1")
    ('gz', None)
    >>> compression("kern.log", b"BZh")
    """
    for magic, kind in _MAGIC.items():
        if name.endswith("." + kind) and head.startswith(magic):
            return kind
    return None


def blocks(fd: int, name: str, budget: Budget | None = None, max_line: int = MAX_LINE,
           size: int = BLOCK, progress: Callable[[int], None] | None = None) -> Iterator[Block]:
    """Blocks of whole lines of the open file ``fd`` (named ``name``, for its compression suffix);
    ``progress`` is told how many bytes of the file each read consumed.

    Raises what reading or decompression raises (``OSError``, ``EOFError``, ``lzma.LZMAError``,
    ``zlib.error``), and ``CapReached`` after the last block within a decompression cap.
    """
    kind = compression(name, os.pread(fd, 6, 0))
    tell = progress or (lambda _n: None)
    if kind is None:
        yield from _plain(fd, max_line, size, tell)
    else:
        yield from _lines(_coalesced(_decompressed(fd, kind, budget or Budget(), size, tell), size), max_line)


def _plain(fd: int, max_line: int, size: int, tell: Callable[[int], None]) -> Iterator[Block]:
    offset = 0
    while True:
        data = os.pread(fd, size, offset)
        if not data:
            return
        cut = data.rfind(b"\n") + 1
        if len(data) < size:  # end of file: the last line may have no newline
            tell(len(data))
            yield Block(data, len(data))
            return
        if cut:
            tell(cut)
            yield Block(data, cut)
            offset += cut
            continue
        # a line longer than a whole block: keep its start, skip to its end
        skipped = len(data)
        while True:
            more = os.pread(fd, size, offset + skipped)
            nl = more.find(b"\n")
            if nl >= 0 or len(more) < size:
                skipped += nl if nl >= 0 else len(more)
                break
            skipped += len(more)
        tell(skipped + 1)
        line = data[:max_line] + truncation_marker(skipped - max_line).encode()
        at_end = nl < 0
        yield Block(line + (b"" if at_end else b"\n"), len(line) + (0 if at_end else 1), 0)
        if at_end:
            return
        offset += skipped + 1


class _Inflater:
    """One decompression stream, fed raw bytes and asked for at most ``limit`` bytes at a time."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.d: zlib._Decompress | lzma.LZMADecompressor | bz2.BZ2Decompressor = (
            zlib.decompressobj(wbits=31) if kind == "gz" else lzma.LZMADecompressor() if kind == "xz"
            else bz2.BZ2Decompressor())
        self.tail = b""  # zlib's input not consumed yet (lzma and bz2 keep theirs inside)
        self.full = False  # the last call filled its limit: more output may wait without new input
        self.started = False

    @property
    def eof(self) -> bool:
        return self.d.eof

    def needs_input(self) -> bool:
        if isinstance(self.d, (lzma.LZMADecompressor, bz2.BZ2Decompressor)):
            return self.d.needs_input and not self.full
        return not self.tail and not self.full

    def step(self, data: bytes, limit: int) -> bytes:
        self.started = self.started or bool(data)
        if isinstance(self.d, (lzma.LZMADecompressor, bz2.BZ2Decompressor)):
            out = self.d.decompress(data, max_length=limit)
        else:
            out = self.d.decompress(self.tail + data, limit)
            self.tail = self.d.unconsumed_tail
        self.full = len(out) >= limit
        return out

    def leftover(self) -> bytes:
        """Input after the end of this stream (the next member of a concatenated file)."""
        return self.d.unused_data if self.d.eof else b""


def _decompressed(fd: int, kind: str, budget: Budget, size: int, tell: Callable[[int], None]) -> Iterator[bytes]:
    inflater = _Inflater(kind)
    offset = 0
    produced = 0
    pending = b""  # raw input not given to the inflater yet
    while True:
        if not pending and inflater.needs_input():
            pending = os.pread(fd, size, offset)
            offset += len(pending)
            tell(len(pending))
            if not pending:
                if inflater.started and not inflater.eof:
                    raise EOFError("compressed data ends early")
                return
            if not inflater.started and not pending.strip(b"\0"):
                pending = b""  # NUL padding after the last member
                continue
        used = budget.used
        room = min(budget.max_file - produced, budget.max_total - used)
        data, pending = pending, b""
        chunk = inflater.step(data, min(size, room + 1))
        if inflater.eof:
            # concatenated members (gzip -c a b, pigz, several bzip2 streams) follow in the same file
            pending = inflater.leftover()
            if not pending.strip(b"\0"):
                pending = b""  # NUL padding after the last member
            inflater = _Inflater(kind)
        if len(chunk) > room:
            per_file = budget.max_file - produced <= budget.max_total - used
            limit, which = (budget.max_file, "per-file") if per_file else (budget.max_total, "total")
            chunk = chunk[:room]
            produced += len(chunk)
            budget.take(len(chunk))
            if chunk:
                yield chunk
            raise CapReached(limit, which)
        produced += len(chunk)
        budget.take(len(chunk))
        if chunk:
            yield chunk


def _coalesced(chunks: Iterator[bytes], size: int) -> Iterator[bytes]:
    """Decompressed pieces joined to at least ``size`` bytes: a block, with its neighbours, must hold any
    record up to a block long, whatever sizes the decompressor hands out."""
    pending: list[bytes] = []
    held = 0
    try:
        for chunk in chunks:
            pending.append(chunk)
            held += len(chunk)
            if held >= size:
                yield b"".join(pending)
                pending.clear()
                held = 0
    except (*READ_ERRORS, CapReached):
        # reading stopped at a cap or a damaged byte: what came before it is delivered first
        if pending:
            yield b"".join(pending)
        raise
    if pending:
        yield b"".join(pending)


def _lines(chunks: Iterator[bytes], max_line: int) -> Iterator[Block]:
    carry = b""
    dropped = 0  # bytes dropped from the current over-long line (its first max_line bytes are in carry)
    held: Block | None = None  # the last block, kept back so that the file's unterminated last line joins it
    stopped: Exception | None = None
    for chunk in _until_error(chunks):
        if isinstance(chunk, Exception):
            stopped = chunk
            break
        cut = -1
        if dropped:
            nl = chunk.find(b"\n")
            if nl < 0:
                dropped += len(chunk)
                continue
            dropped += nl
            carry += truncation_marker(dropped).encode()
            dropped = 0
            chunk = chunk[nl:]
            cut = 0
        data = carry + chunk if carry else chunk
        end = data.rfind(b"\n") + 1
        carry = data[end:]
        if end:
            if held is not None:
                yield held
            held = Block(data, end, cut)
        if len(carry) > max_line:
            dropped = len(carry) - max_line
            carry = carry[:max_line]
    tail = carry + (truncation_marker(dropped).encode() if dropped else b"")
    if stopped is not None:
        tail = b""  # a line cut by the error is not a line
    if held is None:
        if tail:
            yield Block(tail, len(tail), 0 if dropped else -1)
    else:
        if tail:
            start = held.end
            held = Block(held.data[: held.end] + tail, held.end + len(tail), held.cut if held.cut >= 0 else
                         (start if dropped else -1))
        yield held
    if stopped is not None:
        raise stopped


def _until_error(chunks: Iterator[bytes]) -> Iterator[bytes | Exception]:
    """The chunks, then the read error or cap that ended them (handed over, not raised)."""
    try:
        yield from chunks
    except (*READ_ERRORS, CapReached) as exc:
        yield exc
