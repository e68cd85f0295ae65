"""How long the host had been up: ``/proc/uptime`` (exact) or the ``uptime`` command (to the minute).

Sources: ``/proc/uptime`` (``3368.01 2625.49``: seconds up, seconds idle summed over CPUs) and sos
``uptime`` / ``sos_commands/host/uptime`` (procps: `` 16:19:19 up 17:41,  2 users,  load average: ...``;
also ``up 6 days,  3:02``, ``up 12 min``, ``up 1 day, 12 min``). With the collection time they give the
boot time, which turns dmesg's seconds-since-boot into wall-clock times.

>>> from ostriage.evidence import numbered
>>> parse_proc_uptime(numbered("3368.01 2625.49"))
datetime.timedelta(seconds=3368, microseconds=10000)
>>> parse_uptime(numbered(" 16:19:19 up 6 days,  3:02,  2 users,  load average: 3.58, 3.27, 2.58"))
datetime.timedelta(days=6, seconds=10920)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

from ostriage.evidence import Line

__all__ = ["parse_proc_uptime", "parse_uptime"]

_UP = re.compile(r"\bup\s+(?:(?P<days>\d+)\s+days?,?\s*)?(?:(?P<h>\d+):(?P<m>\d+)|(?P<min>\d+)\s+min)?")


def parse_proc_uptime(lines: Iterable[Line]) -> timedelta | None:
    """
    >>> from ostriage.evidence import numbered
    >>> [parse_proc_uptime(numbered(t)) for t in ("inf 1", "nan 1", "-5 1", "1e300 1")]
    [None, None, None, None]
    """
    for line in lines:
        first = line.text.split()[:1]
        try:
            seconds = float(first[0]) if first else -1.0
            # "inf", "nan", a negative time or one beyond timedelta's range: not an uptime
            return timedelta(seconds=seconds) if seconds >= 0 else None
        except (ValueError, OverflowError):
            return None
    return None


def parse_uptime(lines: Iterable[Line]) -> timedelta | None:
    """
    >>> from ostriage.evidence import numbered
    >>> parse_uptime(numbered("10:01:02 up 12 min,  1 user,  load average: 0.00")), parse_uptime(numbered("x"))
    (datetime.timedelta(seconds=720), None)
    """
    for line in lines:
        m = _UP.search(line.text)
        if m and any(m.group(g) for g in ("days", "h", "min")):
            try:
                return timedelta(days=int(m["days"] or 0), hours=int(m["h"] or 0),
                                 minutes=int(m["m"] or m["min"] or 0))
            except OverflowError:  # "up 99999999999 days": more than timedelta holds
                return None
    return None
