"""Lines of evidence: the unit every parser consumes and every finding cites.

A ``Line`` remembers where it came from (the path as the user will see it: a sosreport-relative
file, an absolute path on a live host, or ``$ command`` for a command run live) and its 1-based
line number, so any record built from it can be cited as ``path:number``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

__all__ = ["Line", "numbered"]


class Line(NamedTuple):
    """One line of evidence, without its line terminator."""

    path: str
    number: int
    text: str

    def cite(self) -> str:
        """``path:number``, the way reports point at evidence.

        >>> Line("var/log/kern.log", 12, "x").cite()
        'var/log/kern.log:12'
        """
        return f"{self.path}:{self.number}"


def numbered(text: str | Iterable[str], path: str = "<input>", start: int = 1) -> Iterator[Line]:
    """Number raw text (a string or an iterable of lines) as ``Line`` records.

    Used by sources after decoding, and by tests and doctests to feed parsers.

    >>> [tuple(x) for x in numbered("a\\nb\\n", "f")]
    [('f', 1, 'a'), ('f', 2, 'b')]
    """
    raw = text.splitlines() if isinstance(text, str) else text
    for number, line in enumerate(raw, start):
        yield Line(path, number, line.rstrip("\r\n"))
