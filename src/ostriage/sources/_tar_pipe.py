"""A report's archive with its bulkiest unread tree taken out by the system's own tools, before Python reads it.

A sosreport with cgroups holds most of its members under ``sys/`` (81,617 of 84,959 in hotsos's openstack
root), and nothing there is read. Walking their headers costs Python ≈ 5 µs a member, in the interpreter
that also takes the decompressed pieces; ``xz -dc | tar --delete`` does the same in C, in two processes of
their own (on that report ≈ 0.25 s of GNU tar's CPU against ≈ 0.55 s of the walk), and hands on a tar stream
a quarter the size, byte for byte the archive's other members.

The tools run under ``setpriv --pdeathsig KILL`` (util-linux) where it can: a process that started them and
is killed (the head-start child when the run ends, anything SIGKILLed) takes them with it, where tar spinning
at the end of a cut archive would otherwise run on for ever. Their environment loses the variables that
change what they write (``TAR_OPTIONS``, ``XZ_OPT``...), and tar takes the names literally (``--no-unquote``,
``--no-wildcards``, ``--anchored``).

The stream is only as good as both tools' exit: ``succeeded`` says whether both ended cleanly and everything
was read, a name that is not in the archive being the one complaint taken (GNU tar then copies the rest as
it is, when it found another name; when it found none it may write nothing at all). Anything else (a tool
missing, a tar that is not GNU tar, a damaged archive) is the caller's cue to read the archive itself, from
the start. GNU tar 1.34's ``--delete`` never ends on an archive cut short (it spins at the end of its input),
so the stream ends itself: at once when the decompressor failed, and when neither the decompressor's reading
of the file nor tar's output has moved for ``PATIENCE`` seconds.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import io
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["Filtered"]

#: each compressed format sos writes, by its magic bytes, and the command that decompresses it to stdout;
#: anything else goes through ``cat``, so that tar's input always comes from a process whose end can be seen
_DECOMPRESSORS = ((b"\xfd7zXZ\x00", ("xz", "-dc")), (b"\x1f\x8b", ("gzip", "-dc")), (b"BZh", ("bzip2", "-dc")))
_PLAIN = ("cat",)
#: variables the tools read options from: the stream must be what the archive holds, whatever the user's shell
_OPTIONS = frozenset({"TAR_OPTIONS", "XZ_OPT", "XZ_DEFAULTS", "GZIP", "BZIP", "BZIP2", "POSIXLY_CORRECT"})
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
#: the last line of GNU tar's complaints (in the C locale)
_FAILED = b"tar: Exiting with failure status due to previous errors"
#: more than any run of "not found" lines for the names given
_MOST_COMPLAINTS = 64 * 1024
#: room in each pipe: the tools run ahead of the reader by this much (Linux's default is 64 KiB)
_PIPE_BYTES = 1024 * 1024
#: the end-of-archive blocks (two of 512 zero bytes)
_END = 1024
#: seconds without any progress after which the tools are taken to be stuck (each is busy every few ms)
PATIENCE = 5.0
_LOOK = 0.25


class Filtered:
    """``read1`` of the tar stream of ``archive`` without the members under ``drop`` (archive member names,
    matched literally: a name and everything below it). Use as a context manager; ``start`` says whether the
    tools are there at all."""

    def __init__(self, archive: Path, drop: list[str]) -> None:
        self._archive = archive
        self._drop = drop
        self._procs: list[subprocess.Popen[bytes]] = []
        self._raw: io.FileIO | None = None
        self._fd = -1
        self._ended = False
        self._complaints = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._read_of_archive = 0
        self._moved = 0.0  # when the decompressor or tar last moved on

    def start(self) -> bool:
        """Start the tools; ``False`` (and nothing started) when one is not installed."""
        tar = shutil.which("tar")
        # unbuffered: the decompressor reads from this descriptor's offset (shared with it: its progress)
        self._raw = raw = open(self._archive, "rb", buffering=0)  # noqa: SIM115 - closed by close()
        head = raw.read(6)
        raw.seek(0)
        command = next((c for magic, c in _DECOMPRESSORS if head.startswith(magic)), _PLAIN)
        decompressor = shutil.which(command[0])
        if tar is None or decompressor is None or (command is _PLAIN and not _ends_whole(raw)):
            return False
        env = {k: v for k, v in os.environ.items() if k not in _OPTIONS}
        env["LC_ALL"] = "C"  # tar's complaints are read
        tied = _tied()
        first = subprocess.Popen([*tied, decompressor, *command[1:]], stdin=raw, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, env=env)
        self._procs.append(first)
        assert first.stdout is not None
        try:
            _widen(first.stdout.fileno())
            # called "tar" (its messages start with that name), found on PATH as ``tar`` above
            filtering = subprocess.Popen(
                [*tied, "tar", "--delete", "--file=-", "--no-wildcards", "--anchored", "--no-unquote", "--",
                 *self._drop],
                executable=tied[0] if tied else tar,
                stdin=first.stdout, stdout=subprocess.PIPE, stderr=self._complaints, env=env)
        finally:
            first.stdout.close()  # tar's alone: the decompressor ends at once if tar goes
        self._procs.append(filtering)
        assert filtering.stdout is not None
        self._fd = filtering.stdout.fileno()
        _widen(self._fd)
        self._moved = time.monotonic()
        return True

    def read1(self, size: int = -1, /) -> bytes:
        ready = select.poll()  # not select.select: it refuses descriptors past 1023
        ready.register(self._fd, select.POLLIN)
        while not ready.poll(_LOOK * 1000):
            if self._stuck():
                self._stop()
                return b""  # cut short: ``succeeded`` says no
        data = os.read(self._fd, size if size > 0 else _PIPE_BYTES)
        if data:
            self._moved = time.monotonic()
        else:
            self._ended = True
        return data

    def _stuck(self) -> bool:
        if self._procs[0].poll() not in (None, 0):
            return True  # the input is damaged: tar may never end
        assert self._raw is not None
        read = os.lseek(self._raw.fileno(), 0, os.SEEK_CUR)
        if read != self._read_of_archive:
            self._read_of_archive, self._moved = read, time.monotonic()
        return time.monotonic() - self._moved > PATIENCE

    def succeeded(self) -> bool:
        """Whether the stream was read to its end and both tools exited cleanly, or tar only said that a name
        is not in the archive (waits for them)."""
        if not self._ended or self._procs[0].wait() != 0:
            return False
        status = self._procs[-1].wait()
        if status != 2:
            return status == 0
        self._complaints.seek(0)
        lines = self._complaints.read(_MOST_COMPLAINTS).splitlines()
        missing = {b"tar: %s: Not found in archive" % os.fsencode(name) for name in self._drop}
        return lines[-1:] == [_FAILED] and all(line in missing for line in lines[:-1])

    def _stop(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()

    def close(self) -> None:
        self._stop()
        for proc in self._procs:
            if proc.stdout is not None:
                proc.stdout.close()
            proc.wait()
        self._complaints.close()
        if self._raw is not None:
            self._raw.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def _ends_whole(raw: io.FileIO) -> bool:
    """Whether a plain archive's file ends in the end-of-archive blocks. GNU tar ends a stream cut at a member's
    end as if it were whole (it writes the blocks itself), so only the file can tell. Inside a compressed
    archive only the compressed stream's own end is checked: a tar cut at a member's end, then compressed whole,
    reads as whole."""
    size = raw.seek(0, os.SEEK_END)
    raw.seek(max(0, size - _END))
    tail = raw.read(_END)
    raw.seek(0)
    return size >= _END and tail == bytes(_END)


@functools.cache
def _tied() -> tuple[str, ...]:
    """The command that runs a tool so that it dies with the process that started it (``()``: none here; util-linux
    before 2.33, RHEL 8's, has no ``--pdeathsig``)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return ()
    try:
        usage = subprocess.run([setpriv, "--help"], capture_output=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return (setpriv, "--pdeathsig", "KILL", "--") if b"--pdeathsig" in usage else ()


def _widen(fd: int) -> None:
    with contextlib.suppress(OSError):  # a smaller pipe only makes the tools wait more often
        fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_BYTES)
