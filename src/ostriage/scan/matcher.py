"""Find many literals in a block of bytes in one pass.

Two engines give the same answer: Hyperscan (``hyperscan`` on PyPI, Intel's multi-pattern matcher, one
pass over the block whatever the number of literals) and the standard library (one ``bytes.find`` sweep per
literal). Which one runs was chosen by measurement on an inflated real bundle (bench/matchers.py; the
README's dependency table has the numbers): Hyperscan when its wheel imports and accepts this CPU, else the
standard library. ``OSTRIAGE_MATCHER=stdlib`` forces the fallback (tests compare the two).

Literals come in two kinds: *every* occurrence of an ``each`` literal is reported; a ``once`` literal is
reported at most once per block (its first occurrence): enough to learn that it is there, without a
report for every line of a process that logs millions of them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

__all__ = ["Matcher", "compile_literals", "engine_name"]

#: environment variable that forces an engine (``stdlib`` or ``hyperscan``)
ENGINE_VARIABLE = "OSTRIAGE_MATCHER"


class Matcher(Protocol):
    """Literal search over a block; ``find`` returns ``(start offset, literal index)`` sorted by offset."""

    name: str

    def find(self, block: bytes | bytearray, end: int) -> list[tuple[int, int]]: ...


class _Stdlib:
    """One ``bytes.find`` sweep per literal (C speed per literal, so cost grows with their number)."""

    name = "stdlib"

    def __init__(self, each: Sequence[bytes], once: Sequence[bytes]) -> None:
        self.each = tuple(each)
        self.once = tuple(once)

    def find(self, block: bytes | bytearray, end: int) -> list[tuple[int, int]]:
        hits: list[tuple[int, int]] = []
        for index, literal in enumerate(self.each):
            at = block.find(literal, 0, end)
            while at >= 0:
                hits.append((at, index))
                at = block.find(literal, at + 1, end)
        base = len(self.each)
        for index, literal in enumerate(self.once, base):
            at = block.find(literal, 0, end)
            if at >= 0:
                hits.append((at, index))
        hits.sort()
        return hits


class _Hyperscan:
    """One Hyperscan pass for every literal; ``once`` literals carry ``HS_FLAG_SINGLEMATCH``."""

    name = "hyperscan"

    def __init__(self, each: Sequence[bytes], once: Sequence[bytes]) -> None:
        import hyperscan

        literals = [*each, *once]
        self.lengths = [len(x) for x in literals]
        self.db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        flags = [0] * len(each) + [hyperscan.HS_FLAG_SINGLEMATCH] * len(once)
        self.db.compile(expressions=literals, ids=list(range(len(literals))), elements=len(literals),
                        flags=flags, literal=True)

    def find(self, block: bytes | bytearray, end: int) -> list[tuple[int, int]]:
        hits: list[tuple[int, int]] = []
        lengths = self.lengths

        def report(index: int, _start: int, stop: int, _flags: int, _context: object) -> None:
            if stop <= end:
                hits.append((stop - lengths[index], index))

        # Hyperscan reads any buffer (its stub says str or bytes only)
        self.db.scan(block if end == len(block) else memoryview(block)[:end],  # type: ignore[type-var]
                     match_event_handler=report)
        hits.sort()
        return hits


def engine_name() -> str:
    """The engine ``compile_literals`` will use here."""
    return compile_literals([b"x"]).name


def compile_literals(each: Sequence[bytes], once: Sequence[bytes] = ()) -> Matcher:
    """A matcher for ``each`` (every occurrence) and ``once`` (first occurrence per block) literals;
    indexes number ``each`` first, then ``once``. Empty literals are not allowed.

    >>> m = compile_literals([b"ID ranges", b"Killed process"], once=[b" 857 INFO "])
    >>> m.find(b"a 857 INFO geneve ID ranges: x 857 INFO ID ranges", 50)
    [(1, 2), (18, 0), (40, 0)]
    """
    if not all(each) or not all(once):
        raise ValueError("empty literal")
    forced = os.environ.get(ENGINE_VARIABLE, "")
    if forced != "stdlib" and (each or once):
        try:
            return _Hyperscan(each, once)
        except Exception:
            # No wheel for this platform, or a CPU Hyperscan refuses (it needs SSSE3): the standard
            # library gives the same answer, only slower. A forced engine that cannot load is an error.
            if forced == "hyperscan":
                raise
    return _Stdlib(each, once)
