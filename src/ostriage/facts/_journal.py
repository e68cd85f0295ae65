"""The journal read once, as it streams, into bounded aggregates: nothing is kept per line.

sos's whole journal (``journalctl --no-pager``, tail-limited by size), the previous boot's, and the per-unit
journals its plugins collect apart are read entry by entry and each entry goes where it is used:

* the kernel's entries through the OOM parser into the kills' digest (``facts._oom.OomDigest``, bounded);
* systemd's messages about units into a ``UnitEventLog``: every message of a unit while it has few, else
  its first ``HEAD`` and last ``TAIL``, the others counted per kind with their time span
  (``UnitState.omitted``). At most ``MAX_UNITS`` units are held: the knowledge table's always; past that,
  the units with the fewest messages (a host's thousands of short-lived session scopes) make room;
* entries of OpenStack services through the log signatures into an events digest
  (``scan.digest.EventDigest``, bounded as for the log files), and whose pid each is (``MAX_PIDS`` pids:
  the first half seen and the most recent half).

A per-unit journal repeats what the whole journal has, except what that lost to its size limit (sos keeps
a journal's newest lines): an entry is new when its time is outside every earlier file's time span (one
span per file), or at the first second of a span but not among the entries seen at that second. A file
may repeat a line itself: two exits in the same second are two exits.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from ostriage.facts._logs import journal_log_event
from ostriage.facts._oom import OomDigest
from ostriage.facts.model import OmittedEvents
from ostriage.knowledge.services import SERVICES, UNIT_DESCRIPTIONS
from ostriage.parsers.journal import JournalEntry, UnitEvent, UnitEventKind, unit_event
from ostriage.parsers.kernel_oom import JournalOomParser
from ostriage.scan.digest import EventDigest

__all__ = ["HEAD", "MAX_PIDS", "MAX_UNITS", "TAIL", "JournalReader", "UnitEventLog", "unit_of_journal"]

#: messages kept per unit: the first ``HEAD`` and the last ``TAIL``
HEAD = 16
TAIL = 240
#: units whose messages are held at once: a quiet Ubuntu compute node's journal names ~370 (mounts, scopes,
#: timers, units known only by description), so past this it is a flood of short-lived units
MAX_UNITS = 1024
#: pids of service entries remembered (to tell whose pid a kernel OOM record names)
MAX_PIDS = 65_536
#: entries remembered at the first second of a journal file's span (to tell them from those before it)
MAX_AT_FIRST = 4_096

_MANAGERS = frozenset({"systemd", "init"})
_KNOWN_UNITS = frozenset(u for s in SERVICES for u in s.units)
_UNIT_FILE = re.compile(r"--unit[_=](\S+?)(?:_--|$)")

#: how a message names its unit: by name, or (text journals before systemd 250) only by description
_Key = tuple[str | None, str | None]


def unit_of_journal(origin: str) -> str | None:
    """The unit a per-unit journal file is about, from its name (``journalctl_--no-pager_--unit_ovs-vswitchd``).

    >>> unit_of_journal("sos_commands/openvswitch/journalctl_--no-pager_--unit_ovs-vswitchd")
    'ovs-vswitchd'
    """
    m = _UNIT_FILE.search(origin.rsplit("/", 1)[-1])
    return m.group(1) if m else None


def _failed_exit(e: UnitEvent) -> bool:
    return e.kind is UnitEventKind.MAIN_EXITED and (e.code in ("killed", "dumped") or e.status not in (None, 0))


@dataclass(slots=True)
class _Unit:
    """One unit's messages: all of them while few, then the first and the last, the rest counted."""

    protected: bool
    count: int = 0
    head: list[tuple[int, UnitEvent]] = field(default_factory=list)
    tail: deque[tuple[int, UnitEvent]] | None = None
    omitted: dict[UnitEventKind, int] = field(default_factory=dict)
    failed_exits: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def add(self, seq: int, event: UnitEvent) -> None:
        self.count += 1
        if len(self.head) < HEAD:
            self.head.append((seq, event))
            return
        if self.tail is None:
            self.tail = deque(maxlen=TAIL)
        elif len(self.tail) == TAIL:
            self._omit(self.tail[0][1])
        self.tail.append((seq, event))

    def _omit(self, e: UnitEvent) -> None:
        self.omitted[e.kind] = self.omitted.get(e.kind, 0) + 1
        self.failed_exits += _failed_exit(e)
        if e.timestamp is not None:
            self.first = self.first or e.timestamp
            self.last = e.timestamp

    def kept(self) -> Iterator[tuple[int, UnitEvent]]:
        yield from self.head
        if self.tail is not None:
            yield from self.tail

    def omitted_events(self) -> OmittedEvents | None:
        if not self.omitted:
            return None
        return OmittedEvents(dict(self.omitted), self.failed_exits, self.first, self.last)


class UnitEventLog:
    """systemd's messages about units as they stream, bounded per unit and in the number of units.

    Iterating gives the kept messages in the order they came."""

    def __init__(self) -> None:
        self._units: dict[_Key, _Unit] = {}
        self._seq = 0
        #: messages of units forgotten to make room (units with few messages each)
        self.forgotten = 0
        self.forgotten_units = 0

    def add(self, event: UnitEvent) -> None:
        key = (event.unit, None if event.unit else event.description)
        unit = self._units.get(key)
        if unit is None:
            protected = event.unit in _KNOWN_UNITS or (event.unit is None and event.description in UNIT_DESCRIPTIONS)
            if not protected and len(self._units) >= MAX_UNITS:
                self._make_room()
            unit = self._units[key] = _Unit(protected)
        self._seq += 1
        unit.add(self._seq, event)

    def _make_room(self) -> None:
        """Forget half of the units that may be forgotten, those with the fewest messages first."""
        # a key holds a unit or, for messages that name none, a description: the other is None
        candidates = sorted(((u.count, k[0] or "", k[1] or ""), k) for k, u in self._units.items()
                            if not u.protected)
        for _, key in candidates[: max(len(candidates) // 2, 1)]:
            self.forgotten += self._units.pop(key).count
            self.forgotten_units += 1

    def __iter__(self) -> Iterator[UnitEvent]:
        kept = sorted((s for u in self._units.values() for s in u.kept()), key=lambda s: s[0])
        return iter([e for _, e in kept])

    def __bool__(self) -> bool:
        return bool(self._units)

    def omitted(self) -> dict[_Key, OmittedEvents]:
        """Per (unit, description) as the messages name it, what was counted but not kept."""
        return {k: o for k, u in self._units.items() if (o := u.omitted_events()) is not None}


@dataclass(slots=True)
class _Span:
    """The times one journal file covers, and the entries at its first second."""

    first: datetime | None = None
    last: datetime | None = None
    at_first: set[int] = field(default_factory=set)
    full: bool = False  # more entries at the first second than remembered: all of them taken as seen

    def add(self, t: datetime, entry: JournalEntry) -> None:
        if self.first is None or t < self.first:
            self.first, self.at_first, self.full = t, {hash((t, entry.message))}, False
        elif t == self.first:
            if len(self.at_first) < MAX_AT_FIRST:
                self.at_first.add(hash((t, entry.message)))
            else:
                self.full = True
        if self.last is None or t > self.last:
            self.last = t

    def has(self, t: datetime, entry: JournalEntry) -> bool:
        if self.first is None or self.last is None or t < self.first or t > self.last:
            return False
        return t > self.first or self.full or hash((t, entry.message)) in self.at_first


class JournalReader:
    """Routes each journal entry to the aggregate that uses it (see the module docstring)."""

    def __init__(self, kills: OomDigest) -> None:
        self.kills = kills
        self.units = UnitEventLog()
        self.events = EventDigest()
        self.kernel_entries = 0
        self.service_entries = 0
        #: services that wrote entries
        self.services: set[str] = set()
        self._oom = JournalOomParser()
        self._idents = {c: s.name for s in SERVICES for c in (s.name, *s.comms)}
        self._first_pids: dict[int, str] = {}
        self._recent_pids: OrderedDict[int, str] = OrderedDict()
        self._spans: dict[str | None, list[_Span]] = {}

    def read(self, entries: Iterable[JournalEntry], unit: str | None = None, dedupe: bool = False) -> None:
        """Read one journal file; with ``dedupe`` (a per-unit journal of ``unit``), skip the entries an earlier
        file already gave."""
        span = _Span()
        earlier = [*self._spans.get(None, ()), *(self._spans.get(unit, ()) if unit else ())] if dedupe else []
        for entry in entries:
            ident = entry.ident
            service = None
            if ident != "kernel" and ident not in _MANAGERS:
                service = self._idents.get(ident or "")
                if service is None:
                    continue
            t = entry.timestamp
            if t is not None:
                if earlier and any(s.has(t, entry) for s in earlier):
                    continue
                span.add(t, entry)
            if service is not None:
                self._service(service, entry)
            elif ident == "kernel":
                self.kernel_entries += 1
                for kill in self._oom.feed(entry):
                    self.kills.add(kill)
            elif (event := unit_event(entry)) is not None:
                self.units.add(event)
        self._spans.setdefault(unit if dedupe else None, []).append(span)

    def _service(self, service: str, entry: JournalEntry) -> None:
        self.service_entries += 1
        self.services.add(service)
        pid = entry.pid
        if pid is not None and pid not in self._first_pids:
            if len(self._first_pids) < MAX_PIDS // 2:
                self._first_pids[pid] = service
            elif pid not in self._recent_pids:
                self._recent_pids[pid] = service
                if len(self._recent_pids) > MAX_PIDS // 2:
                    self._recent_pids.popitem(last=False)
        event = journal_log_event(service, entry)
        if event is not None:
            self.events.add(event)

    def finish(self) -> None:
        """The end of the journal: a kill block still open is complete."""
        for kill in self._oom.finish():
            self.kills.add(kill)

    def pid_service(self, pid: int) -> str | None:
        """The service whose journal entries carry ``pid`` (among those remembered)."""
        return self._first_pids.get(pid) or self._recent_pids.get(pid)

    def __bool__(self) -> bool:
        return bool(self.units) or self.kernel_entries > 0 or self.service_entries > 0
