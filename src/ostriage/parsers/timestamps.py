"""Line prefixes of kernel and syslog-style logs: when, on which host, who logged, and the message.

Sources: ``dmesg`` (sos ``sos_commands/kernel/dmesg``), ``dmesg -T`` (``dmesg_-T``), ``dmesg -r``,
``/var/log/kern.log``, ``/var/log/syslog``, ``/var/log/messages``, Ubuntu's ``/var/log/dmesg`` (journal
short-monotonic without host names) and ``journalctl`` text (``sos_commands/logs/journalctl_--no-pager*``)
in the ``short``, ``short-precise``, ``short-iso``, ``short-iso-precise``, ``short-full`` and
``short-monotonic`` formats. Real prefixes::

    [ 4301.999258] audit: type=1400 audit(1644450589.972:424): apparmor="DENIED" ...   (dmesg)
    [Fri Nov 21 14:22:56 2025] python invoked oom-killer: ...                        (dmesg -T)
    Feb  4 09:34:10 compute4 kernel: [    0.000000] Linux version 5.4.0-97-generic    (kern.log)
    Feb 04 10:08:21 compute4 systemd[1]: neutron-l3-agent.service: Failed with ...   (journalctl)
    2025-11-21T14:22:56+0000 host kernel: ...                                        (short-iso)
    [    2.589609] systemd[1]: Inserted module 'autofs4'                            (/var/log/dmesg)

Conventions, chosen once for every parser:

- Wall-clock times are naive datetimes in the host's local time. Syslog and journal ``short`` print
  local time without a zone, so that is the only convention every source can meet; an offset printed
  by ISO formats is kept in ``LinePrefix.utc_offset`` and never applied.
- Formats without a year take it from the caller (``year``); without one their ``timestamp`` is
  ``None``. ``PrefixParser`` carries the year along a stream and advances it when the clock jumps
  back by more than ~half a year (Dec -> Jan), so small out-of-order writes do not count as New Year.
- ``dmesg -T`` times are computed by dmesg from the boot time and are wrong after a suspend; they are
  reported as printed.
- After a bare monotonic stamp, ``word: `` is a kernel subsystem (``audit:``, ``oom_reaper:``), not a
  syslog identifier; only ``ident[pid]:`` and ``kernel:`` are read as identifiers there.

Nothing here raises: a line that matches no known prefix is returned whole as the message.

>>> p = parse_prefix("Feb  4 09:34:10 compute4 kernel: [    0.000000] Linux version 5.4.0", year=2022)
>>> p.timestamp, p.monotonic, p.host, p.ident, p.message
(datetime.datetime(2022, 2, 4, 9, 34, 10), 0.0, 'compute4', 'kernel', 'Linux version 5.4.0')
>>> p = parse_prefix("Feb 04 10:08:21 compute4 systemd[1]: Reloading.")
>>> p.timestamp is None, p.ident, p.pid, p.message
(True, 'systemd', 1, 'Reloading.')
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

__all__ = ["LinePrefix", "PrefixParser", "PrefixStyle", "parse_prefix", "parse_systemd_timestamp"]

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_MON = "|".join(_MONTHS)
_DOW = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"

_PRIORITY = re.compile(r"<\d{1,3}>")
_MONOTONIC = re.compile(r"\[\s*(\d+\.\d+)\] ?")
_CTIME = re.compile(rf"\[(?:{_DOW}) ({_MON}) +(\d{{1,2}}) (\d\d):(\d\d):(\d\d) (\d{{4}})\] ?")
_SYSLOG = re.compile(rf"({_MON}) +(\d{{1,2}}) (\d\d):(\d\d):(\d\d)(?:\.(\d{{1,9}}))? ")
# The common case of syslog and journal "short" lines, in one match: host, then ident[pid].
_SYSLOG_HOST_IDENT = re.compile(
    rf"({_MON}) +(\d{{1,2}}) (\d\d):(\d\d):(\d\d)(?:\.(\d{{1,9}}))? "
    r"([^\s\[\]:]+) ([^\s\[\]]+?)(?:\[(\d+)\])?:(?: |$)"
)
_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:([.,])(\d{1,9}))?(Z|[+-]\d\d(?::?\d\d)?)? "
)
_FULL = re.compile(rf"(?:{_DOW}) (\d{{4}})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{{1,9}}))? \S+ ")
_IDENT = re.compile(r"([^\s\[\]]+?)(?:\[(\d+)\])?:(?: |$)")
_SYSTEMD_TIME = re.compile(
    rf"(?:(?:{_DOW}) )?(\d{{4}})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{{1,9}}))?(?: \S+)?"
)

# A stream whose clock goes back by more than this has crossed New Year; less is out-of-order writes.
_ROLLOVER = timedelta(days=180)


class PrefixStyle(StrEnum):
    """Which prefix a line had (tells the facts layer what kind of clock it carries)."""

    BARE = "bare"
    MONOTONIC = "monotonic"
    CTIME = "ctime"
    SYSLOG = "syslog"
    ISO = "iso"
    FULL = "full"


class LinePrefix(NamedTuple):
    """What a line's prefix says, and the message after it.

    A named tuple rather than a dataclass: one is built for every line of every log, and tuple
    construction is several times cheaper than a frozen dataclass's ``__init__``.
    """

    style: PrefixStyle
    timestamp: datetime | None
    monotonic: float | None
    host: str | None
    ident: str | None
    pid: int | None
    message: str
    utc_offset: timedelta | None = None


class PrefixParser:
    """Parses the prefixes of one stream, carrying its year from line to line.

    >>> parser = PrefixParser(2024)
    >>> [parser.parse(t).timestamp.year for t in ("Dec 31 23:59:59 h k: a", "Jan  1 00:00:01 h k: b")]
    [2024, 2025]
    """

    __slots__ = ("_last", "_year")

    def __init__(self, year: int | None = None) -> None:
        self._year = year
        self._last: datetime | None = None

    @property
    def year(self) -> int | None:
        """The year the next year-less line is assumed to be in."""
        return self._year

    def anchor(self, when: datetime) -> None:
        """Set the stream's clock from a line that carries a full date (e.g. a journal header)."""
        self._year = when.year
        self._last = when

    def parse(self, text: str) -> LinePrefix:
        """Split one line into its prefix fields and message; never raises."""
        if text.startswith("<"):
            m = _PRIORITY.match(text)
            if m:
                text = text[m.end() :]
        if text.startswith("["):
            return self._bracketed(text)
        if text[:1].isdigit():
            return self._iso(text)
        m = _SYSLOG_HOST_IDENT.match(text)
        if m:
            month, day, hh, mm, ss, frac, host, ident, pid = m.groups()
            when = self._yearless(_MONTHS[month], int(day), int(hh), int(mm), int(ss), frac)
            return _identified(PrefixStyle.SYSLOG, when, None, host, ident, pid, text[m.end() :], None)
        m = _SYSLOG.match(text)
        if m:
            month, day, hh, mm, ss, frac = m.groups()
            when = self._yearless(_MONTHS[month], int(day), int(hh), int(mm), int(ss), frac)
            return _with_origin(PrefixStyle.SYSLOG, when, None, text[m.end() :], None)
        m = _FULL.match(text)
        if m:
            when = _datetime(*(int(g) for g in m.groups()[:6]), frac=m.group(7))
            self._observe(when)
            return _with_origin(PrefixStyle.FULL, when, None, text[m.end() :], None)
        return _bare(text)

    def _bracketed(self, text: str) -> LinePrefix:
        m = _MONOTONIC.match(text)
        if m:
            return _with_origin(PrefixStyle.MONOTONIC, None, float(m.group(1)), text[m.end() :], None,
                                strict=True)
        m = _CTIME.match(text)
        if m:
            month, day, hh, mm, ss, year = m.groups()
            when = _datetime(int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss))
            self._observe(when)
            return LinePrefix(PrefixStyle.CTIME, when, None, None, None, None, text[m.end() :])
        return _bare(text)

    def _iso(self, text: str) -> LinePrefix:
        m = _ISO.match(text)
        if not m:
            return _bare(text)
        *fields, sep, frac, zone = m.groups()
        when = _datetime(*(int(f) for f in fields), frac=frac)
        self._observe(when)
        offset = _offset(zone)
        rest = text[m.end() :]
        if sep == ",":
            # ``dmesg --time-format iso`` is the only ISO producer with a comma, and it has no host.
            return LinePrefix(PrefixStyle.ISO, when, None, None, None, None, rest, offset)
        return _with_origin(PrefixStyle.ISO, when, None, rest, offset)

    def _yearless(self, month: int, day: int, hh: int, mm: int, ss: int, frac: str | None) -> datetime | None:
        if self._year is None:
            return None
        when = _datetime(self._year, month, day, hh, mm, ss, frac=frac)
        # compared as "when + rollover < last": "last - rollover" does not exist early in year 1
        if when is not None and self._last is not None and self._last - when > _ROLLOVER and self._year < 9999:
            self._year += 1
            when = _datetime(self._year, month, day, hh, mm, ss, frac=frac)
        self._observe(when)
        return when

    def _observe(self, when: datetime | None) -> None:
        if when is not None:
            self._year = when.year
            self._last = when


def parse_prefix(text: str, year: int | None = None) -> LinePrefix:
    """Parse one line's prefix (no stream state: use ``PrefixParser`` for a whole log).

    >>> parse_prefix("[Fri Nov 21 14:22:56 2025] python invoked oom-killer").timestamp
    datetime.datetime(2025, 11, 21, 14, 22, 56)
    >>> p = parse_prefix("2025-11-21T14:22:56.123456+00:00 ctl kernel: x")
    >>> p.timestamp.microsecond, p.utc_offset, p.host
    (123456, datetime.timedelta(0), 'ctl')
    """
    return PrefixParser(year).parse(text)


def parse_systemd_timestamp(text: str) -> datetime | None:
    """A systemd-formatted time (``Thu 2022-02-10 09:11:24 UTC``) as naive local time; ``None`` if unset.

    >>> parse_systemd_timestamp("Wed 2022-02-09 22:38:26 UTC")
    datetime.datetime(2022, 2, 9, 22, 38, 26)
    >>> parse_systemd_timestamp("n/a") is None
    True
    """
    m = _SYSTEMD_TIME.fullmatch(text.strip())
    if not m:
        return None
    return _datetime(*(int(g) for g in m.groups()[:6]), frac=m.group(7))


def _bare(text: str) -> LinePrefix:
    return LinePrefix(PrefixStyle.BARE, None, None, None, None, None, text)


def _with_origin(
    style: PrefixStyle,
    when: datetime | None,
    monotonic: float | None,
    rest: str,
    offset: timedelta | None,
    *,
    strict: bool = False,
) -> LinePrefix:
    """Read ``[host] ident[pid]: `` after a timestamp; ``strict`` after a bare monotonic stamp."""
    host: str | None = None
    m = _IDENT.match(rest)
    if not (m and _is_ident(m, strict)):
        head, sep, tail = rest.partition(" ")
        m = _IDENT.match(tail) if sep else None
        if m and _is_ident(m, strict):
            host, rest = head, tail
        elif strict or not sep:
            return LinePrefix(style, when, monotonic, None, None, None, rest, offset)
        else:
            return LinePrefix(style, when, monotonic, head, None, None, tail, offset)
    return _identified(style, when, monotonic, host, m.group(1), m.group(2), rest[m.end() :], offset)


def _identified(
    style: PrefixStyle,
    when: datetime | None,
    monotonic: float | None,
    host: str | None,
    ident: str,
    pid: str | None,
    message: str,
    offset: timedelta | None,
) -> LinePrefix:
    if ident == "kernel" and monotonic is None and message.startswith("["):
        inner = _MONOTONIC.match(message)
        if inner:
            monotonic, message = float(inner.group(1)), message[inner.end() :]
    return LinePrefix(style, when, monotonic, host, ident, int(pid) if pid else None, message, offset)


def _is_ident(m: re.Match[str], strict: bool) -> bool:
    return not strict or m.group(2) is not None or m.group(1) == "kernel"


def _datetime(
    year: int, month: int, day: int, hh: int, mm: int, ss: int, *, frac: str | None = None
) -> datetime | None:
    micro = int(frac[:6].ljust(6, "0")) if frac else 0
    try:
        return datetime(year, month, day, hh, mm, ss, micro)
    except ValueError:  # Feb 29 in a guessed non-leap year, or a corrupt field
        return None


def _offset(zone: str | None) -> timedelta | None:
    if zone is None:
        return None
    if zone == "Z":
        return timedelta(0)
    digits = zone[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    return timedelta(minutes=-minutes if zone[0] == "-" else minutes)
