"""Progress of long reads on the terminal (stderr), and nothing anywhere else.

The CLI installs a reporter for the run (``reporting``); deeper layers ask for the current one
(``reporter()``) and tell it how far they are. The default reporter says nothing: piped output, ``--quiet``
and library use stay silent. On a terminal, a line appears only once the run has lasted ``DELAY`` seconds,
naming the file being read, the bytes done of the total and the time left, and it is erased when the work
ends, so the report that follows is the same as without it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["DELAY", "Progress", "Terminal", "for_stream", "reporter", "reporting"]

#: a run shorter than this shows no progress at all (seconds)
DELAY = 2.0
_EVERY = 0.25


class Progress:
    """Tells nobody (the default)."""

    def start(self, label: str, total: int) -> None:
        """A stage of ``total`` bytes begins (reading the logs, unpacking a tarball)."""

    def update(self, done: int, current: str) -> None:
        """``done`` bytes of the stage are read; ``current`` is what is being read now."""

    def end(self) -> None:
        """The stage is over."""


class Terminal(Progress):
    """One self-erasing status line on ``stream`` (a terminal)."""

    def __init__(self, stream: TextIO, started: float | None = None) -> None:
        self.stream = stream
        self.started = time.monotonic() if started is None else started
        self.label = ""
        self.total = 0
        self.stage_start = self.started
        self.shown = False
        self.last = 0.0

    def start(self, label: str, total: int) -> None:
        self.label, self.total = label, total
        self.stage_start = time.monotonic()

    def update(self, done: int, current: str) -> None:
        now = time.monotonic()
        if now - self.started < DELAY or now - self.last < _EVERY:
            return
        self.last = now
        spent = now - self.stage_start
        left = spent / done * (self.total - done) if done and self.total > done else 0.0
        text = (f"{self.label}: {current}  {_mib(done)}/{_mib(self.total)} MiB"
                + (f", about {left:.0f} s left" if done and self.total > done else ""))
        self.stream.write("\r" + text[:119] + "\x1b[K")
        self.stream.flush()
        self.shown = True

    def end(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f}" if n >= 2**20 else f"{n / 2**20:.1f}"


_current: Progress = Progress()


def reporter() -> Progress:
    """The reporter of the current run."""
    return _current


@contextmanager
def reporting(progress: Progress) -> Iterator[Progress]:
    """Make ``progress`` the reporter for the duration of the block."""
    global _current
    previous, _current = _current, progress
    try:
        yield progress
    finally:
        progress.end()
        _current = previous


def for_stream(stream: TextIO, quiet: bool) -> Progress:
    """A terminal reporter when ``stream`` is a terminal and not ``quiet``, else the silent one."""
    return Terminal(stream) if not quiet and stream.isatty() else Progress()

