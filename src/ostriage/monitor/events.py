"""What ``watch`` reacts to, recognised in single journal entries and kernel log lines (no I/O here).

From the journal (systemd's own messages, ``journalctl -o json``): a restart scheduled (``Scheduled restart
job, restart counter is at N``), an abnormal exit of the main process, systemd's OOM notice (``A process of
this unit has been killed by the OOM killer``, cgroup v2), the start limit hit, and the starts and stops of
known services' units (their configuration may have changed). From the kernel (``/dev/kmsg`` or the
journal's kernel transport): each OOM kill, attributed by the ``oom-kill:`` summary line that precedes it
(its ``task_memcg`` names the unit or the container's scope) or else by the process name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ostriage.evidence import Line
from ostriage.knowledge.services import SERVICES
from ostriage.monitor.labels import Target, target_of
from ostriage.parsers.journal import JournalEntry, UnitEventKind, parse_journal_json, unit_events
from ostriage.parsers.kernel_oom import unit_from_cgroup

__all__ = ["EventKind", "KernelKills", "WatchEvent", "journal_event", "parse_journal_row"]

#: characters of a message kept with an event (for the log line and the alert)
DETAIL_CHARS = 300

_KNOWN_UNITS = frozenset(u for s in SERVICES for u in s.units)


class EventKind(StrEnum):
    OOM_KILL = "oom-kill"
    RESTART = "restart"
    EXIT = "exit"
    START_LIMIT = "start-limit"
    UNIT_CHANGE = "unit-change"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    kind: EventKind
    target: Target
    source: str
    detail: str


def parse_journal_row(text: str, number: int = 0) -> JournalEntry | None:
    """One line of ``journalctl -o json``; ``None`` when it is not a journal entry."""
    return next(parse_journal_json([Line("$ journalctl --follow", number, text)]), None)


def journal_event(entry: JournalEntry) -> WatchEvent | None:
    """What systemd's message means for ``watch`` (kernel entries go to ``KernelKills``)."""
    event = next(unit_events([entry]), None)
    if event is None or event.unit is None:
        return None
    detail = entry.message[:DETAIL_CHARS]
    target = target_of(event.unit)
    match event.kind:
        case UnitEventKind.RESTART_SCHEDULED:
            kind = EventKind.RESTART
        case UnitEventKind.OOM_KILL:
            kind = EventKind.OOM_KILL
        case UnitEventKind.START_LIMIT_HIT:
            kind = EventKind.START_LIMIT
        case UnitEventKind.MAIN_EXITED if event.code in ("killed", "dumped") or event.status not in (None, 0):
            kind = EventKind.EXIT
        case UnitEventKind.STARTED | UnitEventKind.STOPPED if event.unit in _KNOWN_UNITS:
            kind = EventKind.UNIT_CHANGE
        case _:
            return None
    if not target.unit and not target.service:
        return None  # a transient unit or a scope: nothing to track
    return WatchEvent(kind, target, "journal", detail)


_KILLED = re.compile(r"\bKilled process (?P<pid>\d+) \((?P<comm>[^)]*)\)")
_SUMMARY = re.compile(r"^oom-kill:.*?,task_memcg=(?P<memcg>.*?),task=(?P<task>.*),pid=(?P<pid>\d+),uid=\d+")


class KernelKills:
    """Turns kernel log messages into OOM-kill events, one ``feed`` per message.

    The kernel prints ``oom-kill:...,task_memcg=<cgroup>,task=<comm>,pid=<pid>,...`` just before
    ``Killed process <pid> (<comm>)``; only the last summary is remembered, so memory stays constant.

    >>> kills = KernelKills()
    >>> kills.feed("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
    ...            "oom_memcg=/ostlab_controller/system.slice/neutron-server.service,"
    ...            "task_memcg=/ostlab_controller/system.slice/neutron-server.service,task=uwsgi,pid=29283,uid=0")
    >>> kills.feed("Memory cgroup out of memory: Killed process 29283 (uwsgi) total-vm:2147412kB").target
    Target(service='neutron-server', unit='neutron-server.service', container='', engine='')
    >>> kills.feed("Out of memory: Killed process 812 (mariadbd) total-vm:1843212kB").target.service
    'mysql'
    """

    def __init__(self, source: str = "kmsg") -> None:
        self.source = source
        self._summary: tuple[int, str] | None = None

    def feed(self, message: str) -> WatchEvent | None:
        summary = _SUMMARY.match(message)
        if summary is not None:
            self._summary = (int(summary.group("pid")), summary.group("memcg"))
            return None
        killed = _KILLED.search(message)
        if killed is None:
            return None
        pid = int(killed.group("pid"))
        memcg = self._summary[1] if self._summary and self._summary[0] == pid else None
        self._summary = None
        target = target_of(unit_from_cgroup(memcg) if memcg else None, killed.group("comm"), memcg)
        return WatchEvent(EventKind.OOM_KILL, target, self.source, message[:DETAIL_CHARS])
