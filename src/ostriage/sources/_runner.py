"""Running a fixed argv with a timeout, its stdout read as a stream.

The live host may be out of memory: output is never collected whole. The caller reads ``stdout``
as it arrives and then calls ``finish()`` for the exit status; a timer kills the whole process
group when the timeout expires, whether or not anyone is reading. stderr is drained by a thread
(so a chatty command cannot block on it) and only its first ``STDERR_KEEP`` bytes are kept,
for the problem message.

``Runner`` is the seam tests use: any callable with ``subprocess_runner``'s signature that
returns something with ``stdout``, ``finish()`` and ``kill()``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Protocol

from ostriage.interrupts import block_in_this_thread

__all__ = ["STDERR_KEEP", "Finished", "Process", "Runner", "subprocess_runner"]

#: Bytes of stderr kept for messages.
STDERR_KEEP = 8192


@dataclass(frozen=True, slots=True)
class Finished:
    """How a command ended."""

    returncode: int
    stderr: str
    timed_out: bool


class Process(Protocol):
    """A started command."""

    @property
    def stdout(self) -> IO[bytes]: ...

    def finish(self) -> Finished:
        """Wait for the exit (the timeout still applies) and report it."""
        ...

    def kill(self) -> None:
        """Stop the command now (the reader lost interest, or the output is too big)."""
        ...


#: ``(argv, timeout_seconds, environment) -> Process``; raises ``FileNotFoundError`` when the
#: program does not exist and ``PermissionError`` when it cannot be executed, as ``subprocess`` does.
Runner = Callable[[Sequence[str], float, Mapping[str, str]], Process]


def subprocess_runner(argv: Sequence[str], timeout: float, env: Mapping[str, str]) -> Process:
    """Start ``argv`` (no shell, stdin closed, its own process group)."""
    return _Subprocess(argv, timeout, env)


class _Subprocess:
    def __init__(self, argv: Sequence[str], timeout: float, env: Mapping[str, str]) -> None:
        self._proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            close_fds=True,
            start_new_session=True,  # so a kill reaches any children too
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._stdout = self._proc.stdout
        self._stderr_pipe = self._proc.stderr
        self._stderr = bytearray()
        self._expired = threading.Event()
        self._timer = threading.Timer(timeout, self._expire)
        self._timer.daemon = True
        self._timer.start()
        self._drainer = threading.Thread(target=self._drain_stderr, daemon=True)
        self._drainer.start()

    @property
    def stdout(self) -> IO[bytes]:
        return self._stdout

    def _expire(self) -> None:
        self._expired.set()
        self.kill()

    def _drain_stderr(self) -> None:
        block_in_this_thread()
        while chunk := self._stderr_pipe.read(4096):
            room = STDERR_KEEP - len(self._stderr)
            if room > 0:
                self._stderr += chunk[:room]

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
            os.killpg(self._proc.pid, signal.SIGKILL)

    def finish(self) -> Finished:
        # Whatever the reader left unread must not keep the command blocked on a full pipe.
        self._stdout.close()
        returncode = self._proc.wait()
        self._timer.cancel()
        self._drainer.join()
        self._stderr_pipe.close()
        return Finished(returncode, self._stderr.decode("utf-8", "replace"), self._expired.is_set())
