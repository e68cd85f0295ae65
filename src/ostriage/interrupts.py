"""The signals that end a run early: Ctrl-C (SIGINT), SIGTERM (``kill``, ``timeout``, systemd) and SIGHUP
(the terminal went away).

Each raises ``Interrupted`` in the main thread instead of killing the process outright, so every ``with``
and ``finally`` on the way out runs (an unpacked tarball's temporary directory is removed, a half-written
``--output`` file is unlinked), and the run ends with 128 + the signal's number (130, 143, 129), the code a
shell reports for a process killed by that signal. Only the first signal interrupts: later ones arrive
while that clean-up runs and are ignored, so it cannot itself be cut short (SIGKILL still ends
everything). A signal ignored when ostriage started (``nohup``, a background job) stays ignored.
"""

from __future__ import annotations

import signal
import sys

TYPE_CHECKING = False  # not typing's: importing typing would double the time before install() can run
if TYPE_CHECKING:
    from types import FrameType
    from typing import NoReturn

__all__ = ["SIGNALS", "Interrupted", "block_in_this_thread", "exit_interrupted", "install"]

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_received: list[int] = []


class Interrupted(KeyboardInterrupt):
    """A terminating signal arrived; a ``KeyboardInterrupt`` so code that handles Ctrl-C handles it too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def message(self) -> str:
        return "interrupted" if self.signum == signal.SIGINT else f"interrupted by {signal.Signals(self.signum).name}"


def _handler(signum: int, frame: FrameType | None) -> None:
    first = not _received
    _received.append(signum)
    if first:
        raise Interrupted(signum)


def install() -> None:
    """Route the terminating signals to ``Interrupted`` (the console script calls it before importing)."""
    _received.clear()
    for signum in SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _handler)


def block_in_this_thread() -> None:
    """For a helper thread's first line. The kernel hands a process's signal to any thread that does not block
    it; Python runs handlers only in the main thread, so a signal taken by a helper waits until the main thread
    next runs Python code, and a main thread asleep in a system call (a read, a sleep) does not wake for it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)


def exit_interrupted(exc: KeyboardInterrupt) -> NoReturn:
    """One line on stderr and the signal's exit code (a plain ``KeyboardInterrupt`` is Ctrl-C's)."""
    interrupted = exc if isinstance(exc, Interrupted) else Interrupted(signal.SIGINT)
    try:
        sys.stderr.write(f"ostriage: error: {interrupted.message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr gone too (the terminal hung up): the code still says it
        pass
    sys.exit(interrupted.exit_code)
