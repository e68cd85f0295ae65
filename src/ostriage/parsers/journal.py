"""The systemd journal (text or JSON), and systemd's own messages about units.

Sources: ``journalctl --no-pager`` as sos collects it (``sos_commands/logs/journalctl_--no-pager``,
``journalctl_--no-pager_--boot``, sos 4.2 ``journalctl_--no-pager_--catalog_--boot`` and ``..._--boot_-1``,
per-unit files such as ``sos_commands/openvswitch/journalctl_--no-pager_--unit_ovs-vswitchd``), the
``short``, ``short-precise``, ``short-iso``, ``short-iso-precise``, ``short-full`` and ``short-monotonic``
output formats, syslog files (``/var/log/syslog``, ``/var/log/messages``: same line format), and
``journalctl -o json`` (one object per line). Real text, from the ussuri sosreport::

    -- Logs begin at Fri 2022-02-04 09:34:04 UTC, end at Thu 2022-02-10 16:19:19 UTC. --
    Feb 04 10:08:21 compute4 systemd[1]: neutron-l3-agent.service: Main process exited, code=exited, st...
    Feb 04 10:08:21 compute4 systemd[1]: neutron-l3-agent.service: Failed with result 'exit-code'.
    Feb 04 10:08:21 compute4 systemd[1]: neutron-l3-agent.service: Scheduled restart job, restart count...
    Feb 04 10:08:21 compute4 systemd[1]: Stopped OpenStack Neutron L3 agent.
    -- Reboot --

The header's first date gives the year of year-less lines (``year`` is only the fallback). ``--catalog``
help text (lines starting ``-- ``), ``-- Reboot --``, ``-- Boot <id> --`` and ``-- No entries --`` are not
entries; reboots are counted in ``JournalEntry.boot``. Indented lines continue the previous entry's
message (journalctl indents the later lines of a multi-line message). Malformed lines are skipped,
nothing raises; the JSON reader also skips objects it cannot decode.

>>> from ostriage.evidence import numbered
>>> text = [
...     "-- Logs begin at Fri 2022-02-04 09:34:04 UTC, end at Thu 2022-02-10 16:19:19 UTC. --",
...     "Feb 04 10:08:21 compute4 systemd[1]: neutron-l3-agent.service: Scheduled restart job,"
...     " restart counter is at 1.",
... ]
>>> (entry,) = parse_journal_text(numbered(text))
>>> entry.timestamp, entry.ident, entry.pid
(datetime.datetime(2022, 2, 4, 10, 8, 21), 'systemd', 1)
>>> (event,) = unit_events([entry])
>>> event.kind.value, event.unit, event.counter
('restart-scheduled', 'neutron-l3-agent.service', 1)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ostriage.evidence import Line
from ostriage.parsers.timestamps import LinePrefix, PrefixParser, PrefixStyle, parse_systemd_timestamp

__all__ = [
    "MAX_CONTINUATION",
    "JournalEntry",
    "UnitEvent",
    "UnitEventKind",
    "parse_journal_json",
    "parse_journal_text",
    "unit_events",
]

# Continuation lines kept per entry: a runaway traceback must not hold the stream in memory.
MAX_CONTINUATION = 200

_HEADER = re.compile(r"-- (?:Logs begin at|Journal begins at) (.+?), (?:end at|ends at) .+?\. --\s*$")
_BOOT_MARK = re.compile(r"-- (?:Reboot|Boot [0-9a-f]+) --\s*$")
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journal entry.

    ``unit`` is the unit a manager message is about (JSON ``UNIT``/``USER_UNIT``); ``systemd_unit`` the
    unit whose process logged it (JSON ``_SYSTEMD_UNIT``). Text output carries neither. ``boot`` counts
    the boots seen so far in this stream, from 0. ``continuation`` holds the indented lines whose text
    was appended to ``message``.
    """

    timestamp: datetime | None
    host: str | None
    ident: str | None
    pid: int | None
    message: str
    line: Line
    unit: str | None = None
    systemd_unit: str | None = None
    priority: int | None = None
    monotonic: float | None = None
    boot: int = 0
    continuation: tuple[Line, ...] = ()


def parse_journal_text(lines: Iterable[Line], *, year: int | None = None) -> Iterator[JournalEntry]:
    """Entries of ``journalctl`` text output (any ``short*`` format) or a syslog file."""
    prefixes = PrefixParser(year)
    boot, entries_in_boot = 0, 0
    pending: tuple[LinePrefix, Line, int] | None = None
    extra: list[Line] = []
    for line in lines:
        text = line.text
        if text.startswith("--"):
            header = _HEADER.match(text)
            begin = parse_systemd_timestamp(header.group(1)) if header else None
            if begin is not None:
                prefixes.anchor(begin)
            elif _BOOT_MARK.match(text) and entries_in_boot:
                boot, entries_in_boot = boot + 1, 0
            continue
        if text[:1] in (" ", "\t"):
            if pending is not None and len(extra) < MAX_CONTINUATION:
                extra.append(line)
            continue
        prefix = prefixes.parse(text)
        if prefix.style is PrefixStyle.BARE:
            continue
        if pending is not None:
            yield _text_entry(*pending, extra)
        pending, extra = (prefix, line, boot), []
        entries_in_boot += 1
    if pending is not None:
        yield _text_entry(*pending, extra)


def _text_entry(prefix: LinePrefix, line: Line, boot: int, extra: list[Line]) -> JournalEntry:
    message = prefix.message
    if extra:
        message = "\n".join([message, *(x.text.strip() for x in extra)])
    return JournalEntry(
        timestamp=prefix.timestamp,
        host=prefix.host,
        ident=prefix.ident,
        pid=prefix.pid,
        message=message,
        line=line,
        monotonic=prefix.monotonic,
        boot=boot,
        continuation=tuple(extra),
    )


def parse_journal_json(
    lines: Iterable[Line], *, utc_offset: timedelta = timedelta(0)
) -> Iterator[JournalEntry]:
    """Entries of ``journalctl -o json``; ``utc_offset`` turns the journal's UTC into host local time.

    >>> from ostriage.evidence import numbered
    >>> row = ('{"__REALTIME_TIMESTAMP":"1644484284000000","_HOSTNAME":"ctl","SYSLOG_IDENTIFIER":"systemd",'
    ...        '"_PID":"1","UNIT":"neutron-server.service","MESSAGE":[83,116,97,114,116,101,100,46]}')
    >>> (e,) = parse_journal_json(numbered([row, "not json"]))
    >>> e.timestamp, e.unit, e.message
    (datetime.datetime(2022, 2, 10, 9, 11, 24), 'neutron-server.service', 'Started.')
    """
    boots: dict[str, int] = {}
    for line in lines:
        text = line.text.strip()
        if not text.startswith("{"):
            continue
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            continue
        if not isinstance(obj, dict):
            continue
        boot_id = _field(obj, "_BOOT_ID") or ""
        yield JournalEntry(
            timestamp=_realtime(_field(obj, "__REALTIME_TIMESTAMP"), utc_offset),
            host=_field(obj, "_HOSTNAME"),
            ident=_field(obj, "SYSLOG_IDENTIFIER") or _field(obj, "_COMM"),
            pid=_int(_field(obj, "SYSLOG_PID") or _field(obj, "_PID")),
            message=_field(obj, "MESSAGE") or "",
            line=line,
            unit=_field(obj, "UNIT") or _field(obj, "USER_UNIT"),
            systemd_unit=_field(obj, "_SYSTEMD_UNIT"),
            priority=_int(_field(obj, "PRIORITY")),
            monotonic=_seconds(_field(obj, "__MONOTONIC_TIMESTAMP")),
            boot=boots.setdefault(boot_id, len(boots)),
        )


def _field(obj: dict[str, Any], name: str) -> str | None:
    """A journal field as text: strings as is, byte arrays decoded, repeated fields' first value."""
    value = obj.get(name)
    if isinstance(value, list) and value and not all(isinstance(v, int) for v in value):
        value = value[0]  # the field was repeated in the entry
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        try:
            return bytes(value).decode("utf-8", errors="replace")
        except (ValueError, TypeError):
            return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdecimal() else None


def _realtime(text: str | None, offset: timedelta) -> datetime | None:
    micros = _int(text)
    if micros is None:
        return None
    try:
        return _EPOCH + timedelta(microseconds=micros) + offset
    except OverflowError:
        return None


def _seconds(text: str | None) -> float | None:
    micros = _int(text)
    # a corrupt field may hold more digits than a float has range for
    return micros / 1e6 if micros is not None and micros < 2**64 else None


class UnitEventKind(StrEnum):
    """What systemd said about a unit."""

    OOM_KILL = "oom-kill"
    MAIN_EXITED = "main-exited"
    CONTROL_EXITED = "control-exited"
    FAILED = "failed"
    RESTART_SCHEDULED = "restart-scheduled"
    START_LIMIT_HIT = "start-limit-hit"
    KILLING = "killing"
    TIMED_OUT = "timed-out"
    CONSUMED = "consumed"
    SUCCEEDED = "succeeded"
    STARTING = "starting"
    STARTED = "started"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED_TO_START = "failed-to-start"


@dataclass(frozen=True, slots=True)
class UnitEvent:
    """One message of the service manager (``systemd``/``init``) about a unit.

    ``unit`` is ``None`` when the text names only the description (``Started OpenStack Neutron
    Server.`` before systemd 250 in text output). ``status``/``status_name`` split ``9/KILL``;
    ``counter`` is the restart counter; ``result`` e.g. ``oom-kill``; ``pid``/``process``/``signal``
    describe a ``Killing process``; ``detail`` keeps the rest of ``Consumed``/``timed out`` messages.
    ``manager_pid`` is 1 for the system manager, another pid for a user manager.
    """

    kind: UnitEventKind
    unit: str | None
    description: str | None
    timestamp: datetime | None
    host: str | None
    manager_pid: int | None
    line: Line
    boot: int = 0
    counter: int | None = None
    code: str | None = None
    status: int | None = None
    status_name: str | None = None
    result: str | None = None
    pid: int | None = None
    process: str | None = None
    signal: str | None = None
    detail: str | None = None


_MANAGERS = frozenset({"systemd", "init"})
_UNIT = r"(?P<unit>[^\s/]+?\.(?:service|socket|target|mount|automount|swap|timer|path|slice|scope|device))"
_UNIT_SAYS = re.compile(rf"{_UNIT}:? (?P<rest>.+)")
_OLD_ENTERED_FAILED = re.compile(rf"Unit {_UNIT} entered failed state\.?$")
_OLD_START_LIMIT = re.compile(rf"start request repeated too quickly for {_UNIT}\.?$")
_OLD_FORMS = (
    (_OLD_ENTERED_FAILED, UnitEventKind.FAILED),
    (_OLD_START_LIMIT, UnitEventKind.START_LIMIT_HIT),
)
_NAMED = re.compile(rf"{_UNIT} - (?P<description>.+)")
_JOB = re.compile(r"(Starting|Started|Stopping|Stopped|Failed to start) (.+)")
_JOB_KINDS = {
    "Starting": UnitEventKind.STARTING,
    "Started": UnitEventKind.STARTED,
    "Stopping": UnitEventKind.STOPPING,
    "Stopped": UnitEventKind.STOPPED,
    "Failed to start": UnitEventKind.FAILED_TO_START,
}
# What follows "<unit>: " (or "<unit> " on systemd < 230, which also wrote "main process" in lower case).
_SAYS: tuple[tuple[re.Pattern[str], UnitEventKind], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (r"A process of this unit has been killed by the OOM killer\.?$", UnitEventKind.OOM_KILL),
        (r"Main process exited, code=(\w+), status=(-?\d+)(?:/(\S+?))?\.?$", UnitEventKind.MAIN_EXITED),
        (r"Control process exited, code=(\w+), status=(-?\d+)(?:/(\S+?))?\.?$", UnitEventKind.CONTROL_EXITED),
        (r"Failed with result '([^']*)'\.?$", UnitEventKind.FAILED),
        (r"failed\.$", UnitEventKind.FAILED),
        (r"Scheduled restart job, restart counter is at (\d+)\.?$", UnitEventKind.RESTART_SCHEDULED),
        (r"(?:Service )?hold-?off time over, scheduling restart\.?$", UnitEventKind.RESTART_SCHEDULED),
        (r"Start request repeated too quickly\.?$", UnitEventKind.START_LIMIT_HIT),
        (r"Killing process (\d+) \((.*)\) with signal (SIG\w+)\.?$", UnitEventKind.KILLING),
        (r"Consumed (.+?)\.?$", UnitEventKind.CONSUMED),
        (r"(?:Succeeded|Deactivated successfully)\.?$", UnitEventKind.SUCCEEDED),
        (r"(.*\btimed out\b.*)$", UnitEventKind.TIMED_OUT),
    )
)


def unit_events(entries: Iterable[JournalEntry]) -> Iterator[UnitEvent]:
    """systemd's messages about units, from journal entries (other identifiers are skipped)."""
    for entry in entries:
        if entry.ident in _MANAGERS:
            event = _unit_event(entry)
            if event is not None:
                yield event


def _unit_event(entry: JournalEntry) -> UnitEvent | None:
    text = entry.message
    for regex, kind in _OLD_FORMS:
        m = regex.match(text)
        if m:
            return _event(entry, kind, m.group("unit"))
    m = _UNIT_SAYS.match(text)
    if m:
        return _said(entry, m.group("unit"), m.group("rest"))
    m = _JOB.match(text)
    if m:
        verb, what = m.groups()
        what = what.removesuffix("...") if verb in ("Starting", "Stopping") else what.removesuffix(".")
        named = _NAMED.fullmatch(what)
        if named:
            unit, description = named.group("unit", "description")
            return _event(entry, _JOB_KINDS[verb], unit, description=description)
        return _event(entry, _JOB_KINDS[verb], entry.unit, description=what)
    return None


def _said(entry: JournalEntry, unit: str, rest: str) -> UnitEvent | None:
    for regex, kind in _SAYS:
        m = regex.match(rest)
        if not m:
            continue
        match kind:
            case UnitEventKind.MAIN_EXITED | UnitEventKind.CONTROL_EXITED:
                code, status, name = m.groups()
                return _event(entry, kind, unit, code=code, status=int(status), status_name=name)
            case UnitEventKind.FAILED:
                return _event(entry, kind, unit, result=m.group(1) if m.groups() else None)
            case UnitEventKind.RESTART_SCHEDULED:
                return _event(entry, kind, unit, counter=int(m.group(1)) if m.groups() else None)
            case UnitEventKind.KILLING:
                return _event(entry, kind, unit, pid=int(m.group(1)), process=m.group(2), signal=m.group(3))
            case UnitEventKind.CONSUMED | UnitEventKind.TIMED_OUT:
                return _event(entry, kind, unit, detail=m.group(1))
            case _:
                return _event(entry, kind, unit)
    return None


def _event(
    entry: JournalEntry,
    kind: UnitEventKind,
    unit: str | None,
    *,
    description: str | None = None,
    counter: int | None = None,
    code: str | None = None,
    status: int | None = None,
    status_name: str | None = None,
    result: str | None = None,
    pid: int | None = None,
    process: str | None = None,
    signal: str | None = None,
    detail: str | None = None,
) -> UnitEvent:
    return UnitEvent(
        kind=kind,
        unit=unit,
        description=description,
        timestamp=entry.timestamp,
        host=entry.host,
        manager_pid=entry.pid,
        line=entry.line,
        boot=entry.boot,
        counter=counter,
        code=code,
        status=status,
        status_name=status_name,
        result=result,
        pid=pid,
        process=process,
        signal=signal,
        detail=detail,
    )
