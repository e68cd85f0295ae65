"""When was the evidence taken: the clock lines sos and systemd print.

Sources: command ``date`` and ``date --utc`` (sos ``sos_commands/date/date``, ``date_--utc``; sos runs
every command with ``LC_ALL=C``, so the C-locale layout is the only one), ``timedatectl``
(``sos_commands/systemd/timedatectl``), sos's own logs (``sos_logs/sos.log``, ``ui.log``) and the
``start_time`` of ``sos_reports/manifest.json``.

Times printed by ``date`` carry a zone *abbreviation* (``UTC``, ``CET``, ``+03``) which, apart from
UTC and numeric forms, does not name an offset unambiguously (``IST`` is three different zones).
The offset is therefore taken from the zone only when it is unambiguous, else from the difference
between ``date`` and ``date --utc``, which sos runs a moment apart. A time whose offset cannot be
known is returned naive: it is still the host's wall clock, which is what its logs are written in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["DateStamp", "collection_time", "parse_date", "parse_sos_log_time", "parse_timedatectl"]

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_UTC_NAMES = frozenset({"UTC", "GMT", "UCT", "Z", "Universal", "Zulu"})

# C locale `date`: "%a %b %e %H:%M:%S %Z %Y"; %e pads the day with a space, hence \s+.
# Digits are ASCII digits (re.ASCII): a str pattern's \d also takes "١٢٣", which int() reads and
# datetime.fromisoformat refuses.
_DATE = re.compile(
    r"^\s*[A-Z][a-z]{2}\s+(?P<mon>[A-Z][a-z]{2})\s+(?P<day>\d{1,2})\s+"
    r"(?P<time>\d{1,2}:\d{2}:\d{2})\s+(?P<zone>\S+)\s+(?P<year>\d{4})\s*$", re.ASCII
)
_NUMERIC_ZONE = re.compile(r"^(?P<sign>[+-])(?P<h>\d{2})(?::?(?P<m>\d{2}))?$", re.ASCII)
# timedatectl: "      Local time: Thu 2022-02-10 16:19:48 UTC"
_TIMEDATECTL = re.compile(
    r"^\s*(?P<key>Local time|Universal time):\s+\w{3}\s+"
    r"(?P<stamp>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\s+(?P<zone>\S+)\s*$", re.ASCII
)
# sos logs: "2022-02-10 16:19:07,403 INFO: ..."
_SOS_LOG = re.compile(r"^(?P<stamp>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),\d+\s", re.ASCII)
# A local/UTC pair taken a moment apart differs from the true offset by that moment; real offsets
# are whole quarter hours (Nepal is +05:45), so rounding to 15 minutes recovers the exact one.
_OFFSET_QUANTUM = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class DateStamp:
    """One ``date`` line: the wall-clock time as printed and the zone as printed."""

    wall: datetime
    zone: str

    def offset(self) -> timedelta | None:
        """UTC offset when the zone names one unambiguously (``UTC``, ``+0530``), else ``None``.

        >>> parse_date("Thu Feb 10 16:19:17 +0530 2022").offset()
        datetime.timedelta(seconds=19800)
        >>> parse_date("Thu Feb 10 16:19:17 CET 2022").offset() is None
        True
        """
        return _zone_offset(self.zone)


def parse_date(text: str) -> DateStamp | None:
    """Parse the one line ``date`` prints in the C locale; ``None`` when it is not one.

    >>> parse_date("Thu Feb 10 16:19:17 UTC 2022")
    DateStamp(wall=datetime.datetime(2022, 2, 10, 16, 19, 17), zone='UTC')
    >>> parse_date("Thu Feb  3 09:05:01 CET 2022").wall.day
    3
    >>> parse_date("date: command not found") is None
    True
    """
    match = _DATE.match(text)
    if match is None or match["mon"] not in _MONTHS:
        return None
    hour, minute, second = (int(x) for x in match["time"].split(":"))
    try:
        wall = datetime(
            int(match["year"]), _MONTHS[match["mon"]], int(match["day"]), hour, minute, second
        )
    except ValueError:
        return None
    return DateStamp(wall, match["zone"])


def collection_time(local: DateStamp | None, utc: DateStamp | None = None) -> datetime | None:
    """The host's wall-clock time, with its UTC offset whenever that can be known.

    >>> local = parse_date("Thu Feb 10 17:19:17 CET 2022")
    >>> collection_time(local, parse_date("Thu Feb 10 16:19:16 UTC 2022")).isoformat()
    '2022-02-10T17:19:17+01:00'
    >>> collection_time(parse_date("Thu Feb 10 16:19:17 UTC 2022")).isoformat()
    '2022-02-10T16:19:17+00:00'
    >>> collection_time(None, parse_date("Thu Feb 10 16:19:17 UTC 2022")).isoformat()
    '2022-02-10T16:19:17+00:00'
    >>> collection_time(parse_date("Thu Feb 10 17:19:17 CET 2022")).tzinfo is None
    True
    """
    if local is None:
        if utc is None:
            return None
        return utc.wall.replace(tzinfo=UTC) if utc.offset() == timedelta(0) else utc.wall
    offset = local.offset()
    if offset is None and utc is not None and utc.offset() == timedelta(0):
        offset = _round_offset(local.wall - utc.wall)
    if offset is None:
        return local.wall
    return local.wall.replace(tzinfo=_tz(offset, local.zone))


def parse_timedatectl(lines: Iterable[str]) -> datetime | None:
    """Collection time from ``timedatectl`` output (its ``Local time`` and ``Universal time`` lines).

    >>> parse_timedatectl([
    ...     "               Local time: Thu 2022-02-10 17:19:48 CET",
    ...     "           Universal time: Thu 2022-02-10 16:19:48 UTC",
    ... ]).isoformat()
    '2022-02-10T17:19:48+01:00'
    """
    found: dict[str, tuple[datetime, str]] = {}
    for line in lines:
        match = _TIMEDATECTL.match(line)
        if match and (stamp := _wall(match["stamp"])) is not None:
            found[match["key"]] = (stamp, match["zone"])
    if "Local time" not in found:
        if "Universal time" in found:
            return found["Universal time"][0].replace(tzinfo=UTC)
        return None
    wall, zone = found["Local time"]
    offset = _zone_offset(zone)
    if offset is None and "Universal time" in found:
        offset = _round_offset(wall - found["Universal time"][0])
    return wall if offset is None else wall.replace(tzinfo=_tz(offset, zone))


def parse_sos_log_time(line: str) -> datetime | None:
    """The (naive, host-local) timestamp at the start of a sos log line.

    >>> parse_sos_log_time("2022-02-10 16:19:07,403 INFO:  Setting up archive ...")
    datetime.datetime(2022, 2, 10, 16, 19, 7)
    """
    match = _SOS_LOG.match(line)
    return _wall(match["stamp"]) if match else None


def _wall(stamp: str) -> datetime | None:
    """``YYYY-MM-DD HH:MM:SS`` as a datetime; ``None`` for a date no calendar has (month 13, 30 February)."""
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        return None


def _zone_offset(zone: str) -> timedelta | None:
    if zone in _UTC_NAMES:
        return timedelta(0)
    match = _NUMERIC_ZONE.match(zone)
    if match is None:
        return None
    size = timedelta(hours=int(match["h"]), minutes=int(match["m"] or 0))
    return -size if match["sign"] == "-" else size


def _round_offset(delta: timedelta) -> timedelta | None:
    quarters = round(delta / _OFFSET_QUANTUM)
    offset = quarters * _OFFSET_QUANTUM
    # Real offsets lie within -12h..+14h; anything else means the two clocks are not a pair.
    return offset if timedelta(hours=-12) <= offset <= timedelta(hours=14) else None


def _tz(offset: timedelta, name: str) -> timezone:
    if offset == timedelta(0) and name in _UTC_NAMES:
        return UTC
    return timezone(offset, name) if not _NUMERIC_ZONE.match(name) else timezone(offset)
