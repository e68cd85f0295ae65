"""Which files are rotations of a log, oldest first.

logrotate leaves, next to ``x``: numbered rotations ``x.1``, ``x.2.gz``, ... (higher is older)
or, with ``dateext``, dated ones ``x-20220210``, ``x-2022021013``, ``x-20220210.gz``,
``x-20220210-1644505200`` (older dates first). Both kinds may be compressed (gz, xz, bz2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["rotation_order"]

_COMPRESSED = r"(?:\.(?:gz|xz|bz2))?"


def rotation_order(base: str, names: Iterable[str]) -> list[str]:
    """Of ``names`` (file names in the log's directory), the log's rotations and the log itself,
    oldest first: numbered rotations from the highest number down, then dated rotations by
    date, then ``base``.

    >>> rotation_order("a.log", ["a.log", "a.log.1.gz", "a.log.2.gz", "b.log", "a.log.10.gz", "a.log.1"])
    ['a.log.10.gz', 'a.log.2.gz', 'a.log.1', 'a.log.1.gz', 'a.log']
    >>> rotation_order("syslog", ["syslog-20220210.gz", "syslog", "syslog-20220203", "syslog.bak"])
    ['syslog-20220203', 'syslog-20220210.gz', 'syslog']
    """
    numbered = re.compile(re.escape(base) + r"\.(\d+)" + _COMPRESSED + "$")
    dated = re.compile(re.escape(base) + r"-(\d{8}(?:\d{2})?(?:-\d+)?)" + _COMPRESSED + "$")
    by_number: list[tuple[int, str]] = []
    by_date: list[tuple[str, str]] = []
    present = False
    for name in names:
        if name == base:
            present = True
        elif match := numbered.match(name):
            # Same number twice (x.1 and x.1.gz while logrotate runs): the plain one sorts first.
            by_number.append((-int(match[1]), name))
        elif match := dated.match(name):
            by_date.append((match[1], name))
    ordered = [name for _, name in sorted(by_number)] + [name for _, name in sorted(by_date)]
    return [*ordered, base] if present else ordered
