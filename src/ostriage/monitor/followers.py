"""The live sources ``watch`` follows, each a file descriptor to block on (never a polling loop).

``JournalFollower`` runs ``journalctl --follow --lines=0 --output=json`` restricted to the service
manager's own messages (``_PID=1``) and, where ``/dev/kmsg`` cannot be read, the kernel's
(``_TRANSPORT=kernel``); journalctl itself waits on inotify, so an idle journal costs nothing.
``KmsgFollower`` reads ``/dev/kmsg`` from its end: one record per ``read()``, ``EAGAIN`` when there is
none, ``EPIPE`` when the kernel overwrote records before they were read (counted as lost). Both are
read-only. A container engine's event stream (``podman events --format json``) fits the same shape:
a process whose stdout is a descriptor of lines.

Memory is bounded: a line longer than ``MAX_LINE`` bytes is dropped whole, a read returns at most
``MAX_BATCH`` lines or records before the loop serves the other sources.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
from collections.abc import Sequence

from ostriage.parsers.kmsg import KmsgRecord, parse_kmsg_record
from ostriage.sources.live import ENVIRONMENT

__all__ = ["MAX_BATCH", "MAX_LINE", "JournalFollower", "KmsgFollower", "LineBuffer", "journal_argv"]

MAX_LINE = 256 * 1024
MAX_BATCH = 1000
_CHUNK = 64 * 1024
#: a kmsg record is at most ~1 KiB of text plus its dictionary; a smaller buffer makes read() fail (EINVAL)
_KMSG_RECORD = 16 * 1024


class LineBuffer:
    """Bytes in, complete lines out; a line over ``limit`` bytes is skipped up to its newline."""

    def __init__(self, limit: int = MAX_LINE) -> None:
        self._limit = limit
        self._pending = bytearray()
        self._skipping = False
        self.dropped = 0

    def feed(self, data: bytes) -> list[str]:
        lines: list[str] = []
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            if self._skipping:
                self._skipping = False
            else:
                self._pending += data[start:end]
                lines.append(self._pending.decode("utf-8", "replace"))
            self._pending.clear()
            start = end + 1
        if not self._skipping:
            self._pending += data[start:]
            if len(self._pending) > self._limit:
                self._pending.clear()
                self._skipping = True
                self.dropped += 1
        return lines


def journal_argv(kernel: bool) -> list[str]:
    """journalctl following systemd's own messages, and the kernel's when asked."""
    argv = ["journalctl", "--follow", "--lines=0", "--output=json", "--no-pager", "--quiet", "_PID=1"]
    return [*argv, "+", "_TRANSPORT=kernel"] if kernel else argv


def _nonblocking(fd: int) -> None:
    os.set_blocking(fd, False)


class JournalFollower:
    """A ``journalctl --follow`` process; ``read_lines`` returns the complete JSON lines available."""

    name = "journal"

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = list(argv)
        self._proc: subprocess.Popen[bytes] | None = None
        self._out = LineBuffer()
        self._err = LineBuffer(4096)
        self.error: str | None = None

    def start(self) -> bool:
        """Start journalctl; ``False`` (and ``error`` says why) when it cannot run."""
        try:
            self._proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, env=dict(ENVIRONMENT), close_fds=True,
                                          start_new_session=True)
        except OSError as exc:
            self.error = f"{self.argv[0]}: {exc.strerror or exc}"
            return False
        assert self._proc.stdout is not None and self._proc.stderr is not None
        _nonblocking(self._proc.stdout.fileno())
        _nonblocking(self._proc.stderr.fileno())
        self._out, self._err, self.error = LineBuffer(), LineBuffer(4096), None
        return True

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def fds(self) -> tuple[int, int]:
        assert self._proc is not None and self._proc.stdout is not None and self._proc.stderr is not None
        return self._proc.stdout.fileno(), self._proc.stderr.fileno()

    def read_lines(self, fd: int) -> tuple[list[str], bool]:
        """Lines now available on ``fd`` (stdout or stderr) and whether it reached its end."""
        buffer = self._out if self._proc and self._proc.stdout and fd == self._proc.stdout.fileno() else self._err
        lines: list[str] = []
        while len(lines) < MAX_BATCH:
            try:
                chunk = os.read(fd, _CHUNK)
            except BlockingIOError:
                return lines, False
            except OSError:
                return lines, True
            if not chunk:
                return lines, True
            lines += buffer.feed(chunk)
        return lines, False

    def stop(self) -> str:
        """Stop journalctl (its whole process group); returns how it ended."""
        proc, self._proc = self._proc, None
        if proc is None:
            return "not running"
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        return f"exit status {code}" if code >= 0 else f"killed by signal {-code}"


class KmsgFollower:
    """``/dev/kmsg`` from its current end (what came before is the diagnosis' business, via dmesg)."""

    name = "kmsg"

    def __init__(self, path: str = "/dev/kmsg") -> None:
        self.path = path
        self.fd: int | None = None
        self.error: str | None = None
        self._last_sequence: int | None = None

    def open(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            hint = {errno.ENOENT: " (inside a container the kernel log is the host's: run watch on the host)",
                    errno.EACCES: " (root, or kernel.dmesg_restrict=0, is needed)",
                    errno.EPERM: " (root, or kernel.dmesg_restrict=0, is needed)"}.get(exc.errno or 0, "")
            self.error = f"{self.path}: {exc.strerror or exc}{hint}"
            return False
        os.lseek(fd, 0, os.SEEK_END)
        self.fd = fd
        return True

    def read_records(self) -> tuple[list[KmsgRecord], int]:
        """Records now available, and how many were lost (overwritten before being read)."""
        assert self.fd is not None
        records: list[KmsgRecord] = []
        lost = 0
        while len(records) < MAX_BATCH:
            try:
                data = os.read(self.fd, _KMSG_RECORD)
            except BlockingIOError:
                break
            except BrokenPipeError:
                continue  # records were overwritten; the next read returns the oldest one kept
            if not data:
                break
            record = parse_kmsg_record(data)
            if record is None:
                continue
            if self._last_sequence is not None and record.sequence > self._last_sequence + 1:
                lost += record.sequence - self._last_sequence - 1
            self._last_sequence = record.sequence
            records.append(record)
        return records, lost

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
