"""A service's oslo.log file scanned as raw blocks: only the records around a signature are parsed.

Every literal of ``knowledge.log_signatures`` (each signature's ``needle``, which every line its pattern
can match contains) is searched in one pass per block (``matcher``). A hit is resolved to the oslo.log
record holding it — walking back to the record's first line and on to its last, with the same rules as
``parsers.oslo_log`` (a traceback line continues the record of the same time, pid and logger; a line that
is not a record continues the one before) — and that record alone is parsed and matched, exactly as the
line-by-line path does (``record_events``). Line numbers come from counting newlines between hits, never
from splitting the file into lines.

Two more questions are answered in the same pass:

* which of a given set of pids write records into this log (the pids of OOM victims and of the tasks in
  the kernel's OOM tables: a kernel record names only a pid, and the logs tell whose it was). Each is
  looked for as `` <pid> <LEVEL> `` — the pid and level columns of a record — once per block, and
  confirmed by parsing that line;
* whether the file holds any record at all (the service runs here).

A record is resolved within the block and the blocks before and after it, so every record up to a block
long (1 MiB) is read whole; a longer traceback is cut there (its first lines still cite the right place).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ostriage.evidence import Line
from ostriage.knowledge.log_signatures import SIGNATURES, match_signature
from ostriage.parsers.oslo_log import LogRecord, parse_head, parse_oslo_log
from ostriage.parsers.packages import VersionBanner, parse_version_banner
from ostriage.scan.blocks import BLOCK, Block, Budget, Guarded, blocks, line_text, long_line_text, problem_text
from ostriage.scan.digest import EventDigest
from ostriage.scan.matcher import Matcher, compile_literals
from ostriage.sources.base import LogFile

if TYPE_CHECKING:
    from ostriage.facts.model import LogEvent

__all__ = ["LEVELS", "OsloScan", "record_events", "scan_oslo"]

#: oslo.log's level names (``AUDIT`` and ``TRACE`` from older releases)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "TRACE", "AUDIT")
#: neutron's start-up banner (``<program> version <x>``) is logged by this logger
BANNER_LOGGER = "neutron.common.config"
#: start-up banners kept (the last ones: the release running now)
MAX_BANNERS = 16
# a record's start, also behind a container runtime's prefix (``parsers.oslo_log`` reads both)
_ANY_HEAD = re.compile(rb"^(?:\d{4}-\d\d-\d\dT\S+ (?:(?:stdout|stderr) [FP] )?(?:\[[\w.@-]+\] )?)?"
                       rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", re.MULTILINE)


@dataclass(slots=True)
class OsloScan:
    """What one file of a service log holds that facts need."""

    events: EventDigest = field(default_factory=EventDigest)
    banners: list[VersionBanner] = field(default_factory=list)
    #: pids (of those asked for) that wrote a record into this file
    pids: set[int] = field(default_factory=set)
    #: the file holds at least one oslo.log record
    has_records: bool = False
    lines: int = 0
    #: what could not be read: a line cut at ``max_line``, why reading stopped early (a damaged file,
    #: a decompression cap)
    problems: list[str] = field(default_factory=list)


def record_events(service: str, record: LogRecord) -> Iterator[LogEvent]:
    """The signature matches of one record: its message, and its traceback's exception."""
    # facts imports this module: its model is imported when first needed, not at import time
    from ostriage.facts.model import LogEvent

    hit = match_signature(record.message)
    if hit is not None:
        sig, m = hit
        yield LogEvent(service, sig.id, m.groupdict(default=""), record.timestamp, record.line, record)
    # the cause of an API error is often only in its traceback's last line
    if record.exception is not None and (hit is None or hit[0].id != "keystoneauth.connect-failure"):
        inner = match_signature(record.exception.message)
        if inner is not None:
            sig, m = inner
            yield LogEvent(service, sig.id, m.groupdict(default=""), record.timestamp,
                           record.exception.line, record)


#: needles of signatures whose latest occurrences only are parsed (``Signature.latest``), with that test
_LATEST = [(s.needle.encode(), s.latest) for s in SIGNATURES
           if s.latest is not None and all(o.latest is not None for o in SIGNATURES if o.needle == s.needle)]


def _literals(service: str, pids: Iterable[int]) -> tuple[list[bytes], list[tuple[bytes, int]]]:
    latest = {needle for needle, _ in _LATEST}
    needles = sorted({s.needle for s in SIGNATURES if s.needle.encode() not in latest})
    if service.startswith("neutron"):
        needles.append(BANNER_LOGGER + " ")
    once = [(f" {pid} {level} ".encode(), pid) for pid in sorted(pids) for level in LEVELS]
    return [n.encode() for n in needles], once


class _File:
    """The state of one file's scan (one file of a log; rotations are scanned apart)."""

    def __init__(self, file: LogFile, service: str, pids: frozenset[int]) -> None:
        self.file = file
        self.service = service
        self.wanted = set(pids)
        self.out = OsloScan()
        self._compile()
        self.resolved_until = 0  # last line number of the last record parsed

    def _compile(self) -> None:
        each, once = _literals(self.service, self.wanted)
        self.matcher: Matcher = compile_literals(each, [x for x, _ in once])
        self.each = len(each)
        self.pid_of = [pid for _, pid in once]
        self.stale = False

    def block(self, prev: Block | None, cur: Block, nxt: Block | None, first: int) -> int:
        """Handle ``cur``, whose first line is number ``first``; return the number of its lines."""
        data, end = cur.data, cur.end
        if self.stale:
            # a pid that was found need not be looked for again: a frequent one costs the search dearly
            self._compile()
        if not self.out.has_records:
            self._look_for_records(data, end)
        if cur.cut >= 0 and not self.out.problems:
            self.out.problems.append(long_line_text(first + data.count(b"\n", 0, cur.cut), self.file.max_line))
        hits = self.matcher.find(data, end)
        if _LATEST:
            hits = sorted(hits + _latest_hits(data, end))
        window: _Window | None = None
        at, number = 0, first
        for pos, index in hits:
            number += data.count(b"\n", at, pos)
            at = pos
            if index >= self.each:
                self._pid(data, end, pos, self.pid_of[index - self.each])
            elif number > self.resolved_until:
                if window is None:
                    window = _Window(prev, cur, nxt, first)
                self._resolve(window, pos, number)
        unterminated = 1 if end and data[end - 1] != 0x0A else 0  # the file's last line
        return number - first + data.count(b"\n", at, end) + unterminated

    def _look_for_records(self, data: bytes, end: int) -> None:
        for m in _ANY_HEAD.finditer(data, 0, end):
            stop = data.find(b"\n", m.start(), end)
            if parse_head(line_text(data[m.start(): stop if stop >= 0 else end], self.file.max_line)) is not None:
                self.out.has_records = True
                return

    def _pid(self, data: bytes, end: int, pos: int, pid: int) -> None:
        if pid not in self.wanted:
            return
        start = data.rfind(b"\n", 0, pos) + 1
        stop = data.find(b"\n", pos, end)
        head = parse_head(line_text(data[start: stop if stop >= 0 else end], self.file.max_line))
        if head is not None and head.pid == pid:
            self.wanted.discard(pid)
            self.out.pids.add(pid)
            self.stale = True

    def _resolve(self, window: _Window, pos: int, number: int) -> None:
        span = window.record(pos, number, self.file.max_line)
        if span is None:
            return
        lines = [Line(self.file.shown, n, text) for n, text in span]
        self.resolved_until = lines[-1].number
        for record in parse_oslo_log(lines):
            for event in record_events(self.service, record):
                self.out.events.add(event)
            if self.service.startswith("neutron") and (banner := parse_version_banner(record)):
                self.out.banners.append(banner)
                del self.out.banners[:-MAX_BANNERS]


def _latest_hits(data: bytes, end: int) -> list[tuple[int, int]]:
    """(offset, -1) of the occurrences of a ``Signature.latest`` needle that are parsed in this block: the
    last, and the last whose following text the signature's test accepts (searched backwards from the end)."""
    hits: list[tuple[int, int]] = []
    for needle, wanted in _LATEST:
        at = data.rfind(needle, 0, end)
        if at < 0:
            continue
        hits.append((at, -1))
        while at >= 0 and not wanted.match(data, at + len(needle), end):
            at = data.rfind(needle, 0, at)
        if at >= 0 and at != hits[-1][0]:
            hits.append((at, -1))
    return hits


#: context taken around a hit at first (then doubling as a record reaches past it)
_CONTEXT_STEP = 64 * 1024


class _Window:
    """The text around a hit — its block and the blocks before and after — for walking from it to its
    record's first and last line.

    Only as much is joined as the record needs: 64 KiB on each side of the hit at first, doubled where the
    walk reaches an edge. Most blocks have a hit (the last API request of each), and joining three whole
    blocks for each would cost more than the scan."""

    def __init__(self, prev: Block | None, cur: Block, nxt: Block | None, first: int) -> None:
        # (data, end) of each: slicing a block copies it
        self._parts = [(p.data, p.end) if p is not None else (b"", 0) for p in (prev, cur, nxt)]
        self._cur = self._parts[0][1]  # where the block starts in the three joined
        self._total = sum(end for _, end in self._parts)
        self._file_start = prev is None
        self.buf = b""
        self.skip = 0  # where the window starts in the three joined
        #: the record being walked reached the start or the end of the window, with more beyond it
        self._edge_start = self._edge_end = False

    @property
    def at_start(self) -> bool:
        """The window starts at the start of the file: nothing before it."""
        return self._file_start and self.skip == 0

    def _take(self, lo: int, hi: int) -> None:
        """The window over ``[lo, hi)`` of the three joined, ``lo`` moved back to its line's start."""
        pieces = []
        at = 0
        for data, end in self._parts:
            if at <= lo < at + end:
                lo = at + data.rfind(b"\n", 0, lo - at) + 1  # a block starts with a line
            if at < hi and lo < at + end:
                pieces.append(data[max(lo - at, 0): min(hi - at, end)])
            at += end
        self.buf, self.skip = b"".join(pieces), lo

    def record(self, pos: int, number: int, max_line: int) -> list[tuple[int, str]] | None:
        """(number, text) of every line of the record holding ``pos`` of the block (on line ``number``),
        or ``None`` when that line comes before the file's first record."""
        at = self._cur + pos
        lo, hi = max(at - _CONTEXT_STEP, 0), min(at + _CONTEXT_STEP, self._total)
        while True:
            self._take(lo, hi)
            self._edge_start = self._edge_end = False
            lines = self._record(at - self.skip, number, max_line)
            grow_lo = self._edge_start and self.skip > 0
            grow_hi = self._edge_end and hi < self._total
            if not (grow_lo or grow_hi):
                return lines
            if grow_lo:
                lo = max(at - 2 * (at - lo), 0)
            if grow_hi:
                hi = min(at + 2 * (hi - at), self._total)

    def _line(self, start: int) -> tuple[int, int]:
        stop = self.buf.find(b"\n", start)
        return start, (stop if stop >= 0 else len(self.buf))

    def _before(self, start: int) -> int | None:
        """Start of the line before the one starting at ``start``."""
        if start == 0:
            self._edge_start = True
            return None
        return self.buf.rfind(b"\n", 0, start - 1) + 1

    def _record(self, pos: int, number: int, max_line: int) -> list[tuple[int, str]] | None:
        buf = self.buf
        start = buf.rfind(b"\n", 0, pos) + 1
        texts: dict[int, str] = {}

        def text(at: int) -> str:
            if at not in texts:
                s, e = self._line(at)
                texts[at] = line_text(buf[s:e], max_line)
            return texts[at]

        head = _head_start(start, text, self._before)
        if head is None and not self.at_start:
            head = start  # its record began before the context kept: start it here
        if head is None:
            return None
        first_number = number - buf.count(b"\n", head, start)
        key = parse_head(text(head))
        lines: list[tuple[int, str]] = []
        at, n = head, first_number
        while True:
            lines.append((n, text(at)))
            _, stop = self._line(at)
            if stop >= len(buf) or stop + 1 >= len(buf):
                self._edge_end = True
                break
            at, n = stop + 1, n + 1
            following = parse_head(text(at))
            if following is not None and not (
                key is not None and following.context is None and following.pid == key.pid
                and following.stamp == key.stamp and following.logger == key.logger
            ):
                break
        return lines


def _head_start(start: int, text: Callable[[int], str], before: Callable[[int], int | None]) -> int | None:
    """The first line of the record holding the line at ``start`` (see the module docstring), or
    ``None`` when no record line precedes it within reach."""
    at: int | None = start
    while at is not None and parse_head(text(at)) is None:
        at = before(at)  # not a record line: it continues the record before
    if at is None:
        return None
    head = parse_head(text(at))
    assert head is not None
    if head.context is not None:
        return at
    candidate = at
    while True:
        at = before(candidate)
        while at is not None and parse_head(text(at)) is None:
            at = before(at)
        if at is None:
            return candidate
        earlier = parse_head(text(at))
        assert earlier is not None
        if (earlier.pid, earlier.stamp, earlier.logger) != (head.pid, head.stamp, head.logger):
            return candidate
        if earlier.context is not None:
            return at
        candidate = at


def scan_oslo(fd: int, file: LogFile, service: str, pids: frozenset[int] = frozenset(),
              budget: Budget | None = None, progress: Callable[[int], None] | None = None,
              block_size: int = BLOCK) -> OsloScan:
    """Scan one file of ``service``'s log; a read error or a cap ends it early, noted in ``problem``."""
    state = _File(file, service, pids)
    prev: Block | None = None
    cur: Block | None = None
    first = 1
    source = Guarded(blocks(fd, file.real, budget, file.max_line, block_size, progress))
    for nxt in _then_none(iter(source)):
        if cur is not None:
            first += state.block(prev, cur, nxt, first)
        prev, cur = cur, nxt
    state.out.lines = first - 1
    if source.error is not None:
        state.out.problems.append(problem_text(source.error, state.out.lines))
    return state.out


def _then_none(items: Iterator[Block]) -> Iterator[Block | None]:
    yield from items
    yield None
