"""A kernel log (kern.log, messages, syslog and their rotations) scanned as raw blocks for OOM kills.

``parsers.kernel_oom`` reads a log line by line but, while no OOM block is open, looks only at lines
holding one of its ``MARKERS``. Here those markers are found in one pass per block (``matcher``); from
each one, lines are fed to the parser one at a time for as long as it has a block open, and the search
resumes after it. The rotations of one log are fed to the same parser, oldest first, so a block cut by
logrotate is still read whole — what ``parse_oom_events`` over ``Source.read_log`` does, line for line.
"""

from __future__ import annotations

from collections.abc import Callable

from ostriage.evidence import Line
from ostriage.parsers.kernel_oom import MARKERS, OomEvent, OomLineParser
from ostriage.scan.blocks import BLOCK, Block, Budget, Guarded, blocks, line_text, long_line_text, problem_text
from ostriage.scan.matcher import compile_literals
from ostriage.sources.base import LogFile

__all__ = ["finish", "scan_kernel_file"]

def scan_kernel_file(fd: int, file: LogFile, parser: OomLineParser, sink: Callable[[OomEvent], None],
                     budget: Budget | None = None,
                     progress: Callable[[int], None] | None = None, block_size: int = BLOCK) -> tuple[int, list[str]]:
    """Feed the OOM lines of one file to ``parser`` (shared by the rotations of a log), handing each
    finished event to ``sink``; return the file's number of lines and what could not be read (a line
    cut at ``max_line``, a damaged file, a decompression cap)."""
    matcher = compile_literals([m.encode() for m in MARKERS])
    first = 1
    problems: list[str] = []
    source = Guarded(blocks(fd, file.real, budget, file.max_line, block_size, progress))
    for block in source:
        if block.cut >= 0 and not problems:
            problems.append(long_line_text(first + block.data.count(b"\n", 0, block.cut), file.max_line))
        first += _block(block, first, file, parser, matcher.find(block.data, block.end), sink)
    lines = first - 1
    if source.error is not None:
        problems.append(problem_text(source.error, lines))
    return lines, problems


def _block(block: Block, first: int, file: LogFile, parser: OomLineParser, hits: list[tuple[int, int]],
           sink: Callable[[OomEvent], None]) -> int:
    data, end = block.data, block.end
    at, number = 0, first  # ``at`` starts line ``number``; everything before it is done
    if not parser.idle:
        at, number = _feed(data, end, at, number, file, parser, sink)
    for pos, _ in hits:
        if pos < at:
            continue
        start = data.rfind(b"\n", at, pos) + 1 or at
        number += data.count(b"\n", at, start)
        at, number = _feed(data, end, start, number, file, parser, sink)
    unterminated = 1 if at < end and data[end - 1] != 0x0A else 0  # the file's last line, never fed
    return number - first + data.count(b"\n", at, end) + unterminated


def _feed(data: bytes, end: int, at: int, number: int, file: LogFile, parser: OomLineParser,
          sink: Callable[[OomEvent], None]) -> tuple[int, int]:
    """Feed the line at ``at``, then following lines while a block is open; return where to go on."""
    while at < end:
        stop = data.find(b"\n", at, end)
        stop = end if stop < 0 else stop
        for event in parser.feed(Line(file.shown, number, line_text(data[at:stop], file.max_line))):
            sink(event)
        at, number = stop + 1, number + 1
        if parser.idle:
            break
    return min(at, end), number


def finish(parser: OomLineParser, sink: Callable[[OomEvent], None]) -> None:
    """The block still open at the end of the log's last file."""
    for event in parser.finish():
        sink(event)

