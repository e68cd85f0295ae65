"""Kernel OOM-killer events, one record per OOM block, from any kernel log stream.

Sources: ``dmesg`` (sos ``sos_commands/kernel/dmesg``), ``dmesg -T``, ``/var/log/kern.log*``,
``/var/log/syslog*``, ``/var/log/messages*``, ``journalctl -k`` and whole-journal text
(``sos_commands/logs/journalctl_--no-pager*``: lines of other identifiers are ignored), or parsed
journal entries (``oom_events_from_journal``, for ``journalctl -o json``). Every prefix style of
``ostriage.parsers.timestamps`` is accepted. A block, as mm/oom_kill.c and mm/memcontrol.c print it
(real lines, memory-cgroup OOM on kernel 6.18)::

    [ 3502.297970] python invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
    [ 3502.298161] memory: usage 8388608kB, limit 8388608kB, failcnt 11855
    [ 3502.298294] Tasks state (memory values in pages):
    [ 3502.298305] [  22426]     0 22426  2145929  2098697  2092847     5850         0 17039360  ...
    [ 3502.298310] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,...
    [ 3502.298345] Memory cgroup out of memory: Killed process 22426 (python) total-vm:8583716kB, ...

Also read: global OOMs (``Out of memory: Killed process``, ``global_oom`` in the summary), 3.x/4.x
kernels (``Kill process N (comm) score S or sacrifice child`` then ``Killed process N (comm)
[, UID u,] total-vm:...``; ``Task in /a killed as a result of limit of /b``; no ``oom-kill:`` line
before 4.19), every tasks-table header (the header names the columns; without one the column count
decides), ``memory+swap:``/``swap:``/``kmem:`` counters, a summary line split by ``pr_cont``,
``oom_reaper: reaped process``, and ``memory.oom.group`` kills (systemd ``OOMPolicy=kill``): each task
killed becomes its own event sharing the block's trigger, limit and table (``oom_group`` set).

A block starts at ``invoked oom-killer`` (or, when the log was cut, at the first OOM-specific line),
takes every kernel line until the ``Killed process`` line, then waits up to ``REAPER_WINDOW`` kernel
lines for the reaper of that pid. Another trigger ends a block; an unfinished block is emitted as is.
Memory is bounded per block: ``MAX_LINES`` ordinary lines are kept (the OOM lines themselves always
are; the rest is counted in ``lines_omitted``), ``MAX_TASKS`` table rows (more: ``tasks_omitted``), and
a block with no kill after ``MAX_SPAN`` kernel lines is closed. Nothing here raises. Lines that
cannot start a block are skipped unparsed while no block is open (a 100 MB log takes a few seconds).

>>> from ostriage.evidence import numbered
>>> log = [
...     "Nov 21 14:22:56 ctl kernel: neutron-server invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0,"
...     " oom_score_adj=0",
...     "Nov 21 14:22:56 ctl kernel: oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,"
...     "mems_allowed=0,oom_memcg=/system.slice/neutron-server.service,"
...     "task_memcg=/system.slice/neutron-server.service,task=neutron-server,pid=4321,uid=64060",
...     "Nov 21 14:22:56 ctl kernel: Memory cgroup out of memory: Killed process 4321 (neutron-server)"
...     " total-vm:2306164kB, anon-rss:2091520kB, file-rss:10432kB, shmem-rss:0kB, UID:64060"
...     " pgtables:4400kB oom_score_adj:0",
... ]
>>> (event,) = parse_oom_events(numbered(log, "var/log/kern.log"), year=2025)
>>> event.victim_pid, event.anon_rss_kb, event.unit, event.memcg_oom, event.kill_line.cite()
(4321, 2091520, 'neutron-server.service', True, 'var/log/kern.log:3')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum, StrEnum
from typing import NamedTuple

from ostriage.evidence import Line
from ostriage.parsers.journal import JournalEntry
from ostriage.parsers.timestamps import PrefixParser, PrefixStyle

__all__ = [
    "MAX_LINES",
    "MAX_SPAN",
    "MAX_TASKS",
    "REAPER_WINDOW",
    "Constraint",
    "MemcgCounter",
    "OomEvent",
    "OomTask",
    "oom_events_from_journal",
    "parse_oom_events",
    "unit_from_cgroup",
]

MAX_LINES = 2_000
MAX_TASKS = 16_384
MAX_SPAN = 65_536
REAPER_WINDOW = 200

# A memcg limit this high (kB) is the kernel's "no limit" (PAGE_COUNTER_MAX, printed in kB).
_UNLIMITED_KB = 2**50

_UNIT_SUFFIXES = (".service", ".scope", ".slice", ".socket", ".mount", ".swap")

# Only lines containing one of these can matter while no block is open: a cheap filter for huge logs.
_MARKERS = ("oom", "Kill", "usage", "Memory", "Task in")


class Constraint(StrEnum):
    """Why the OOM killer ran (``oom_constraint_text`` in mm/oom_kill.c)."""

    NONE = "CONSTRAINT_NONE"
    CPUSET = "CONSTRAINT_CPUSET"
    MEMORY_POLICY = "CONSTRAINT_MEMORY_POLICY"
    MEMCG = "CONSTRAINT_MEMCG"


@dataclass(frozen=True, slots=True)
class MemcgCounter:
    """One ``memory:``/``memory+swap:``/``swap:``/``kmem:`` line of a memcg OOM, in kB."""

    usage_kb: int
    limit_kb: int
    failcnt: int

    @property
    def unlimited(self) -> bool:
        """The limit is the kernel's maximum, i.e. none was set."""
        return self.limit_kb >= _UNLIMITED_KB


@dataclass(frozen=True, slots=True)
class OomTask:
    """One row of the tasks table the kernel dumps (memory values in pages, as printed).

    ``rss_anon/file/shmem_pages`` exist from kernel 6.x; ``pgtables_bytes`` from 4.15 (older kernels
    print ``nr_ptes``, a page count, which is not kept); ``swapents`` is absent on 2.6.
    """

    pid: int
    uid: int
    tgid: int
    total_vm_pages: int
    rss_pages: int
    rss_anon_pages: int | None
    rss_file_pages: int | None
    rss_shmem_pages: int | None
    pgtables_bytes: int | None
    swapents: int | None
    oom_score_adj: int
    name: str
    line: Line


@dataclass(frozen=True, slots=True)
class OomEvent:
    """One OOM kill (or as much of it as the log kept). Sizes in kB unless named otherwise."""

    timestamp: datetime | None
    monotonic: float | None
    host: str | None
    trigger_comm: str | None
    gfp_mask: int | None
    gfp_flags: str | None
    order: int | None
    trigger_oom_score_adj: int | None
    constraint: Constraint | None
    memcg_oom: bool
    oom_memcg: str | None
    task_memcg: str | None
    oom_group: str | None
    victim_pid: int | None
    victim_comm: str | None
    victim_uid: int | None
    total_vm_kb: int | None
    anon_rss_kb: int | None
    file_rss_kb: int | None
    shmem_rss_kb: int | None
    pgtables_kb: int | None
    victim_oom_score_adj: int | None
    score: int | None
    selected_pid: int | None
    memory: MemcgCounter | None
    memory_swap: MemcgCounter | None
    swap: MemcgCounter | None
    kmem: MemcgCounter | None
    tasks: tuple[OomTask, ...]
    tasks_omitted: int
    reaped: bool
    reaped_anon_rss_kb: int | None
    trigger_line: Line | None
    summary_line: Line | None
    kill_line: Line | None
    lines: tuple[Line, ...]
    lines_omitted: int
    # "Out of memory and no killable processes...": every candidate was exempt (oom_score_adj -1000),
    # so the kernel killed nothing and the allocating task keeps retrying at the limit
    no_killable_line: Line | None = None

    @property
    def complete(self) -> bool:
        """Both the trigger and the kill were in the log."""
        return self.trigger_line is not None and self.kill_line is not None

    @property
    def citation(self) -> Line:
        """The line to cite for this event: the kill, else the summary, else the first line kept."""
        return self.kill_line or self.summary_line or self.trigger_line or self.lines[0]

    @property
    def oom_unit(self) -> str | None:
        """The systemd unit whose memory limit was hit (memcg OOMs)."""
        return unit_from_cgroup(self.oom_memcg) if self.oom_memcg else None

    @property
    def task_unit(self) -> str | None:
        """The systemd unit the victim ran in."""
        return unit_from_cgroup(self.task_memcg) if self.task_memcg else None

    @property
    def unit(self) -> str | None:
        """The victim's unit when known, else the unit whose limit was hit."""
        return self.task_unit or self.oom_unit

    @property
    def memcg_usage_kb(self) -> int | None:
        return self.memory.usage_kb if self.memory else None

    @property
    def memcg_limit_kb(self) -> int | None:
        return self.memory.limit_kb if self.memory else None

    @property
    def memcg_failcnt(self) -> int | None:
        return self.memory.failcnt if self.memory else None


def unit_from_cgroup(path: str) -> str | None:
    """The innermost systemd unit named by a cgroup path (v1 or v2), if any.

    >>> unit_from_cgroup("/system.slice/neutron-server.service/lab_limit")
    'neutron-server.service'
    >>> unit_from_cgroup("/lab_neutron") is None
    True
    """
    for part in reversed(path.split("/")):
        if part.endswith(_UNIT_SUFFIXES):
            return part
    return None


def parse_oom_events(lines: Iterable[Line], *, year: int | None = None) -> Iterator[OomEvent]:
    """OOM events from a kernel log or mixed syslog/journal text; ``year`` for year-less prefixes.

    Only OOM lines are dated while no block is open, so the year advances at New Year only if two
    of them are less than half a year apart (``PrefixParser``); a journal header fixes it anyway.
    """
    prefixes = PrefixParser(year)
    scanner = _Scanner()
    for line in lines:
        text = line.text
        if scanner.idle and not any(marker in text for marker in _MARKERS):
            continue
        prefix = prefixes.parse(text)
        if prefix.ident is not None and prefix.ident != "kernel":
            continue
        if prefix.ident is None and prefix.style in (PrefixStyle.SYSLOG, PrefixStyle.FULL):
            continue  # a syslog line without identifier is not known to be the kernel's
        yield from scanner.feed(
            _Message(line, prefix.message, prefix.timestamp, prefix.monotonic, prefix.host)
        )
    yield from scanner.finish()


def oom_events_from_journal(entries: Iterable[JournalEntry]) -> Iterator[OomEvent]:
    """OOM events from parsed journal entries (``parse_journal_json``/``parse_journal_text``)."""
    scanner = _Scanner()
    for entry in entries:
        if entry.ident == "kernel":
            yield from scanner.feed(
                _Message(entry.line, entry.message, entry.timestamp, entry.monotonic, entry.host)
            )
    yield from scanner.finish()


class _Message(NamedTuple):
    line: Line
    text: str
    timestamp: datetime | None
    monotonic: float | None
    host: str | None


class _Kind(Enum):
    TRIGGER = 1
    SUMMARY = 2
    SUMMARY_MORE = 3
    SELECT = 4
    KILLED = 5
    COUNTER = 6
    STATS = 7
    TASK_IN = 8
    LIMIT_REACHED = 9
    TASK_HEADER = 10
    TASK_ROW = 11
    REAPED = 12
    GROUP = 13
    NO_KILLABLE = 14


_OPENERS = frozenset({_Kind.SUMMARY, _Kind.SELECT, _Kind.KILLED, _Kind.COUNTER, _Kind.STATS, _Kind.TASK_IN,
                      _Kind.LIMIT_REACHED})

_TRIGGER = re.compile(r"(.*?) invoked oom-killer: ")
_SUMMARY = re.compile("oom-kill:")
# rsyslog may split the summary where the kernel used pr_cont.
_SUMMARY_MORE = re.compile(",(?:oom_memcg=|global_oom|task_memcg=|task=)")
_GFP = re.compile(r"gfp_mask=(0x[0-9a-fA-F]+)(?:\(([^)]*)\))?")
_ORDER = re.compile(r"\border=(-?\d+)")
_ADJ = re.compile(r"\boom_score_adj=(-?\d+)")
_CONSTRAINT = re.compile(r"constraint=(\w+)")
_OOM_MEMCG = re.compile(r",oom_memcg=(.*?)(?=,task_memcg=|,task=|$)")
_TASK_MEMCG = re.compile(r",task_memcg=(.*?)(?=,task=|$)")
_VICTIM = re.compile(r"(.*),pid=(\d+),uid=(\d+)\s*")
_KILLED = re.compile(
    r"Killed process (\d+) \((.*)\)(?:, UID (\d+),)? total-vm:(\d+)kB, anon-rss:(\d+)kB, "
    r"file-rss:(\d+)kB(?:, shmem-rss:(\d+)kB)?(?:, UID:(\d+))?(?: pgtables:(\d+)kB)?"
    r"(?: oom_score_adj:(-?\d+))?"
)
_KILLED_SHORT = re.compile(r"Killed process (\d+) \(([^)]*)\)")
_SELECT = re.compile(r"Kill process (\d+) \((.*)\) score (\d+) or sacrifice child")
_COUNTER = re.compile(r"(memory|memory\+swap|swap|kmem): usage (\d+)kB, limit (\d+)kB, failcnt (\d+)")
_STATS = re.compile(r"Memory cgroup stats for (\S+?):(?:\s|$)")
_TASK_IN = re.compile(r"Task in (\S+) killed as a result of limit of (\S+)")
_LIMIT_REACHED = re.compile(r"Memory limit reached of cgroup (\S+)")
_NO_KILLABLE = re.compile(r"Out of memory and no killable processes")
_GROUP = re.compile(r"Tasks in (\S+) are going to be killed due to memory\.oom\.group set")
_HEADER = re.compile(r"\[\s*pid\s*\]")
_ROW = re.compile(r"\[\s*(\d+)\]\s+(.*)")
_REAPED = re.compile(
    r"oom_reaper: reaped process (\d+) \((.*)\), now anon-rss:(\d+)kB, file-rss:(\d+)kB, shmem-rss:(\d+)kB"
)

# Column sets by count when the header was cut off (most recent layout first for each count).
_COLUMNS_BY_COUNT = {
    7: ("uid", "tgid", "total_vm", "rss", "pgtables_bytes", "swapents", "oom_score_adj"),
    8: ("uid", "tgid", "total_vm", "rss", "nr_ptes", "nr_pmds", "swapents", "oom_score_adj"),
    10: ("uid", "tgid", "total_vm", "rss", "rss_anon", "rss_file", "rss_shmem", "pgtables_bytes", "swapents",
         "oom_score_adj"),
}


def _classify(text: str, collecting: bool) -> tuple[_Kind, re.Match[str]] | None:
    """Which OOM line this is; ``collecting`` enables the table-row test (too loose elsewhere)."""
    if " invoked oom-killer: " in text:
        m = _TRIGGER.match(text)
        return (_Kind.TRIGGER, m) if m else None
    m = _SUMMARY.match(text)
    if m:
        return _Kind.SUMMARY, m
    m = _SUMMARY_MORE.match(text) if collecting else None
    if m:
        return _Kind.SUMMARY_MORE, m
    for needle, regex, kind in (
        ("Killed process ", _KILLED, _Kind.KILLED),
        ("Kill process ", _SELECT, _Kind.SELECT),
    ):
        i = text.find(needle)
        if i == 0 or (i > 1 and text[i - 2 : i] == ": "):
            m = regex.match(text, i) or (_KILLED_SHORT.match(text, i) if kind is _Kind.KILLED else None)
            if m:
                return kind, m
    m = _NO_KILLABLE.match(text)
    if m:
        return _Kind.NO_KILLABLE, m
    if text.startswith("oom_reaper: "):
        m = _REAPED.match(text)
        return (_Kind.REAPED, m) if m else None
    for prefix, regex, kind in (
        ("memory", _COUNTER, _Kind.COUNTER),
        ("swap", _COUNTER, _Kind.COUNTER),
        ("kmem", _COUNTER, _Kind.COUNTER),
        ("Memory cgroup stats", _STATS, _Kind.STATS),
        ("Task in ", _TASK_IN, _Kind.TASK_IN),
        ("Tasks in ", _GROUP, _Kind.GROUP),
        ("Memory limit reached", _LIMIT_REACHED, _Kind.LIMIT_REACHED),
    ):
        if text.startswith(prefix):
            m = regex.match(text)
            if m:
                return kind, m
    if collecting and text.startswith("["):
        m = _HEADER.match(text)
        if m and text.rstrip().endswith(" name"):
            return _Kind.TASK_HEADER, m
        m = _ROW.match(text)
        if m:
            return _Kind.TASK_ROW, m
    return None


@dataclass(slots=True)
class _Block:
    """Mutable accumulator for one block; ``build`` freezes it."""

    first: _Message
    lines: list[Line] = field(default_factory=list)
    lines_omitted: int = 0
    span: int = 0
    killed: bool = False
    after_kill: int = 0
    trigger_line: Line | None = None
    trigger_comm: str | None = None
    gfp_mask: int | None = None
    gfp_flags: str | None = None
    order: int | None = None
    trigger_adj: int | None = None
    summary_line: Line | None = None
    summary_text: str = ""
    constraint: Constraint | None = None
    oom_memcg: str | None = None
    task_memcg: str | None = None
    summary_victim: tuple[str, int, int] | None = None
    kill_line: Line | None = None
    kill_context: str | None = None
    victim: tuple[int, str] | None = None
    victim_uid: int | None = None
    rss: tuple[int | None, ...] = (None, None, None, None, None, None)
    select_context: str | None = None
    selected: tuple[int, str, int] | None = None
    counters: dict[str, MemcgCounter] = field(default_factory=dict)
    limit_memcg: str | None = None
    columns: tuple[str, ...] | None = None
    tasks: list[OomTask] = field(default_factory=list)
    tasks_omitted: int = 0
    reaped: tuple[int, str, int] | None = None
    oom_group: str | None = None
    group_line: Line | None = None
    no_killable_line: Line | None = None

    def add(self, line: Line, *, key: bool) -> None:
        self.span += 1
        if key or len(self.lines) < MAX_LINES:
            self.lines.append(line)
        else:
            self.lines_omitted += 1

    def accepts(self, kind: _Kind, m: re.Match[str]) -> bool:
        if kind is _Kind.REAPED:
            return self.victim_pid in (None, int(m.group(1)))
        if kind is _Kind.GROUP:
            return self.oom_group is None
        if self.killed:
            return False
        match kind:
            case _Kind.SUMMARY:
                return self.summary_line is None
            case _Kind.SUMMARY_MORE:
                return self.summary_line is not None
            case _Kind.SELECT:
                return self.selected is None
            case _Kind.COUNTER:
                return m.group(1) not in self.counters
            case _:
                return True

    @property
    def victim_pid(self) -> int | None:
        if self.victim:
            return self.victim[0]
        if self.summary_victim:
            return self.summary_victim[1]
        return self.selected[0] if self.selected else None

    def apply(self, kind: _Kind, m: re.Match[str], msg: _Message) -> None:
        self.add(msg.line, key=kind is not _Kind.TASK_ROW)
        text = msg.text
        match kind:
            case _Kind.TRIGGER:
                self.trigger_line, self.trigger_comm = msg.line, m.group(1)
                gfp, order, adj = _GFP.search(text), _ORDER.search(text), _ADJ.search(text)
                if gfp:
                    self.gfp_mask, self.gfp_flags = int(gfp.group(1), 16), gfp.group(2)
                self.order = int(order.group(1)) if order else None
                self.trigger_adj = int(adj.group(1)) if adj else None
            case _Kind.SUMMARY:
                self.summary_line, self.summary_text = msg.line, text
                self._read_summary()
            case _Kind.SUMMARY_MORE:
                self.summary_text += text
                self._read_summary()
            case _Kind.SELECT:
                self.select_context = text[: m.start()].removesuffix(": ") or None
                self.selected = (int(m.group(1)), m.group(2), int(m.group(3)))
            case _Kind.KILLED:
                self._read_kill(m, msg)
            case _Kind.COUNTER:
                self.counters[m.group(1)] = MemcgCounter(int(m.group(2)), int(m.group(3)), int(m.group(4)))
            case _Kind.STATS:
                self.limit_memcg = self.limit_memcg or m.group(1)
            case _Kind.TASK_IN:
                self.task_memcg = self.task_memcg or m.group(1)
                self.limit_memcg = m.group(2)
            case _Kind.LIMIT_REACHED:
                self.limit_memcg = m.group(1)
            case _Kind.TASK_HEADER:
                self.columns = tuple(text[m.end() :].split()[:-1])
            case _Kind.TASK_ROW:
                self._read_row(m, msg.line)
            case _Kind.REAPED:
                self.reaped = (int(m.group(1)), m.group(2), int(m.group(3)))
            case _Kind.GROUP:
                self.oom_group, self.group_line = m.group(1), msg.line
            case _Kind.NO_KILLABLE:
                # nothing will be killed: the block is over, like after a kill
                self.killed, self.no_killable_line = True, msg.line

    def _read_summary(self) -> None:
        text = self.summary_text
        constraint = _CONSTRAINT.search(text)
        if constraint:
            self.constraint = next((c for c in Constraint if c.value == constraint.group(1)), None)
        oom_memcg, task_memcg = _OOM_MEMCG.search(text), _TASK_MEMCG.search(text)
        self.oom_memcg = oom_memcg.group(1) if oom_memcg else None
        self.task_memcg = task_memcg.group(1) if task_memcg else self.task_memcg
        victim = _VICTIM.fullmatch(text.rpartition(",task=")[2]) if ",task=" in text else None
        if victim:
            self.summary_victim = (victim.group(1), int(victim.group(2)), int(victim.group(3)))

    def _read_kill(self, m: re.Match[str], msg: _Message) -> None:
        self.killed = True
        self.kill_line = msg.line
        self.kill_context = msg.text[: m.start()].removesuffix(": ") or None
        self.victim = (int(m.group(1)), m.group(2))
        if m.re is _KILLED:
            uid = m.group(3) or m.group(8)
            self.victim_uid = int(uid) if uid else None
            self.rss = tuple(int(g) if g else None for g in m.group(4, 5, 6, 7, 9, 10))

    def _read_row(self, m: re.Match[str], line: Line) -> None:
        if len(self.tasks) >= MAX_TASKS:
            self.tasks_omitted += 1
            return
        rest = m.group(2)
        if self.columns:
            layouts = [self.columns]
        else:  # header cut off: guess by count, allowing for a task named e.g. "1234"
            count = _leading_ints(rest)
            layouts = [_COLUMNS_BY_COUNT[n] for n in (count, count - 1) if n in _COLUMNS_BY_COUNT]
        for columns in layouts:
            task = _task(int(m.group(1)), columns, rest, line)
            if task is not None:
                self.tasks.append(task)
                return

    def group_member(self, msg: _Message) -> _Block:
        """The block for the next task of a memory.oom.group kill: same OOM, its own victim.

        What the summary says of the first victim (its memcg, uid) is not carried over.
        """
        evidence = [line for line in (self.trigger_line, self.summary_line, self.group_line) if line]
        return replace(
            self, first=msg, lines=evidence, lines_omitted=0, span=0, killed=False, after_kill=0,
            summary_victim=None, task_memcg=None, kill_line=None, kill_context=None, victim=None,
            victim_uid=None, rss=(None,) * 6, reaped=None, tasks=list(self.tasks),
        )

    def build(self) -> OomEvent:
        context = self.kill_context or self.select_context
        if self.constraint is not None:
            memcg_oom = self.constraint is Constraint.MEMCG
        elif context is not None:
            memcg_oom = context.startswith("Memory cgroup")
        else:
            memcg_oom = "memory" in self.counters or self.limit_memcg is not None
        name = (
            (self.victim[1] if self.victim else None)
            or (self.summary_victim[0] if self.summary_victim else None)
            or (self.selected[1] if self.selected else None)
        )
        uid = self.victim_uid if self.victim_uid is not None else (
            self.summary_victim[2] if self.summary_victim else None
        )
        total_vm, anon, file, shmem, pgtables, adj = self.rss
        first = self.first
        return OomEvent(
            timestamp=first.timestamp,
            monotonic=first.monotonic,
            host=first.host,
            trigger_comm=self.trigger_comm,
            gfp_mask=self.gfp_mask,
            gfp_flags=self.gfp_flags,
            order=self.order,
            trigger_oom_score_adj=self.trigger_adj,
            constraint=self.constraint,
            memcg_oom=memcg_oom,
            oom_memcg=self.oom_memcg or (self.limit_memcg if memcg_oom else None),
            task_memcg=self.task_memcg,
            oom_group=self.oom_group,
            victim_pid=self.victim_pid,
            victim_comm=name,
            victim_uid=uid,
            total_vm_kb=total_vm,
            anon_rss_kb=anon,
            file_rss_kb=file,
            shmem_rss_kb=shmem,
            pgtables_kb=pgtables,
            victim_oom_score_adj=adj,
            score=self.selected[2] if self.selected else None,
            selected_pid=self.selected[0] if self.selected else None,
            memory=self.counters.get("memory"),
            memory_swap=self.counters.get("memory+swap"),
            swap=self.counters.get("swap"),
            kmem=self.counters.get("kmem"),
            tasks=tuple(self.tasks),
            tasks_omitted=self.tasks_omitted,
            reaped=self.reaped is not None,
            reaped_anon_rss_kb=self.reaped[2] if self.reaped else None,
            trigger_line=self.trigger_line,
            summary_line=self.summary_line,
            kill_line=self.kill_line,
            lines=tuple(self.lines),
            lines_omitted=self.lines_omitted,
            no_killable_line=self.no_killable_line,
        )


def _task(pid: int, columns: tuple[str, ...], rest: str, line: Line) -> OomTask | None:
    parts = rest.split(None, len(columns))
    if len(parts) != len(columns) + 1:
        return None
    try:
        values = dict(zip(columns, (int(p) for p in parts[:-1]), strict=True))
        return OomTask(
            pid=pid,
            uid=values["uid"],
            tgid=values["tgid"],
            total_vm_pages=values["total_vm"],
            rss_pages=values["rss"],
            rss_anon_pages=values.get("rss_anon"),
            rss_file_pages=values.get("rss_file"),
            rss_shmem_pages=values.get("rss_shmem"),
            pgtables_bytes=values.get("pgtables_bytes"),
            swapents=values.get("swapents"),
            oom_score_adj=values["oom_score_adj"],
            name=parts[-1],
            line=line,
        )
    except (ValueError, KeyError):
        return None  # not a table row after all, or a header this parser does not know


def _leading_ints(text: str) -> int:
    """How many numbers start a row (one more than its columns when a task is named e.g. ``1234``)."""
    count = 0
    for token in text.split():
        if not token.lstrip("-").isdecimal():
            break
        count += 1
    return count


class _Scanner:
    """The block state machine shared by the text and journal-entry front ends."""

    __slots__ = ("block",)

    def __init__(self) -> None:
        self.block: _Block | None = None

    @property
    def idle(self) -> bool:
        return self.block is None

    def feed(self, msg: _Message) -> Iterator[OomEvent]:
        block = self.block
        found = _classify(msg.text, collecting=block is not None and not block.killed)
        if found is None:
            if block is not None:
                yield from self._ordinary(block, msg)
            return
        kind, m = found
        if block is not None and block.killed and block.oom_group and kind is _Kind.KILLED:
            yield block.build()
            block = self.block = block.group_member(msg)
        elif block is not None and (kind is _Kind.TRIGGER or not block.accepts(kind, m)):
            yield block.build()
            block = self.block = None
        if block is None:
            if kind is not _Kind.TRIGGER and kind not in _OPENERS:
                return
            block = self.block = _Block(msg)
        block.apply(kind, m, msg)
        if kind is _Kind.REAPED:
            yield block.build()
            self.block = None

    def _ordinary(self, block: _Block, msg: _Message) -> Iterator[OomEvent]:
        if block.killed:
            block.after_kill += 1
            done = block.after_kill > REAPER_WINDOW
        else:
            block.add(msg.line, key=False)
            done = block.span > MAX_SPAN
        if done:
            yield block.build()
            self.block = None

    def finish(self) -> Iterator[OomEvent]:
        if self.block is not None:
            yield self.block.build()
            self.block = None
