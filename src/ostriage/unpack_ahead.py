"""A tarball named on ``ostriage diagnose``'s command line, unpacked while the program is still loading and read
while it is still being unpacked.

Loading the command line's modules takes a third of a second, the same order as unpacking a sosreport
tarball, and both hold the interpreter lock: in one process they can only follow each other. So the console
script, before it imports anything else, forks a child that unpacks the first target, if it is a tarball,
into a private temporary directory; the report source then takes that directory (``take``) instead of
unpacking the archive again, and starts reading it before the child is done (``Stream``). Anything unusual
(another command, options that change what is read, a child that fails) simply means no head start: the
tarball is unpacked in process as before, with the same limits and the same result.

Reading while the archive is unpacked rests on the order in which sos writes it (Python's ``tarfile.add``:
each directory, then its entries in sorted order), so members come in the sorted order of their paths.
The child tells, on a pipe, each member it has handled; a path is settled once the archive is past it
(``Stream.settle``): what is there then is whole, what is not will not come. Whether the archive kept that
order, and what the extraction noted, come at its end (``Stream.finish``); the caller reads the report again
from the finished tree when it did not, so the answer never depends on the order.

The child is this program: the same code unpacks the same archive under the same limits (``Limits()``,
the directory ``scratch`` chooses). It writes nothing to the terminal, dies with a terminating signal as any
program does (Ctrl-C reaches the whole process group) and with its parent (``PR_SET_PDEATHSIG``); the parent
kills it and removes its directory when the run ends without taking it.

Only the standard library is imported here: this runs before everything else.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import struct

from ostriage import interrupts

TYPE_CHECKING = False  # not typing's: this module is imported before anything else
if TYPE_CHECKING:
    from typing import NoReturn

    from ostriage.sources._tarball import Extraction
    from ostriage.sources.base import Problem

__all__ = ["ARCHIVE_SUFFIXES", "COPY_PREFIX", "ENTRY", "LINK", "TREE", "Stream", "begin", "first_tarball", "scratch",
           "settled", "take"]

#: File names taken for sosreport tarballs (compression is recognised from the content).
ARCHIVE_SUFFIXES = (".tar.xz", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".txz", ".tar")
#: ``diagnose`` options followed by a value
_WITH_VALUE = frozenset({"--format", "-o", "--output", "--color"})
#: options after which the first argument is not what will be read first, or nothing is read at all
_NO_HEAD_START = frozenset({"--root", "-h", "--help"})

#: What ``Stream.settle`` waits for: whether the path is a symlink (``LINK``: the archive is at or past the
#: path), what the path is (``ENTRY``: a file handled, or past everything below it), what is below it (``TREE``)
LINK, ENTRY, TREE = 0, 1, 2

# The child's frames: kind (1 byte) and length of what follows. One frame is written at once (at most PIPE_BUF
# bytes, so never in part); a member whose frame would be longer is not told, and the archive counts as out
# of order (the reader then waits for its end).
_FRAME = struct.Struct("<cI")
_PIPE_BUF = 4096
#: the longest path a frame carries: a prefix, an out-of-order mark and a member fit in one write
_LONGEST = (_PIPE_BUF - 3 * _FRAME.size) // 2
_PREFIX, _FILE, _DIRECTORY, _UNORDERED, _DONE = b"P", b"F", b"R", b"U", b"D"
# A pipe as large as Linux allows an unprivileged process (fs.pipe-max-size's default): the child never waits
# for its reader, and a report's few thousand members fit.
_PIPE_SIZE = 1024 * 1024
#: where a report is unpacked when ``TMPDIR`` does not say (``scratch``), and the room it must have: twice the
#: most an extraction may unpack (``Limits.max_total_bytes``)
_MEMORY_BACKED = "/dev/shm"
_ROOM = 4 * 1024 * 1024 * 1024
#: a run's unpacked copy: its name, and the age past which no run can still be using it (seconds)
COPY_PREFIX = "ostriage-sos-"
_STALE = 24 * 3600
_F_SETPIPE_SZ = 1031


class _Pending:
    def __init__(self, archive: str, identity: tuple[int, int, int, int], pid: int, reader: int,
                 directory: str) -> None:
        self.archive = archive
        self.identity = identity
        self.pid = pid
        self.reader = reader
        self.directory = directory


_pending: _Pending | None = None


def first_tarball(argv: list[str]) -> str | None:
    """The tarball ``ostriage diagnose`` will read first, from its arguments (without the program name);
    ``None`` when it is not that command, the first target is not a tarball, or options change the reading."""
    if not argv or argv[0] != "diagnose":
        return None
    args = iter(argv[1:])
    for arg in args:
        if arg == "--":
            arg = next(args, "")
        elif arg in _NO_HEAD_START or arg.startswith("--root="):
            return None
        elif arg in _WITH_VALUE:
            next(args, None)
            continue
        elif arg.startswith("-"):
            continue
        named = arg.lower().endswith(ARCHIVE_SUFFIXES)
        return arg if named and os.path.isfile(arg) else None
    return None


def scratch() -> str | None:
    """The directory a tarball is unpacked in: ``TMPDIR`` when set, else ``/dev/shm`` (memory) when both it and
    the host's available memory have room for twice the unpack cap, else the system's temporary directory
    (``None``: ``tempfile``'s choice). A report is thousands of small files written once and read once: on a
    disk each costs what the file system's journal costs (the full-``sys/`` bundle's 3,000 files and links:
    ≈ 0.3 s more of system time on this machine's ext4 than in memory), and nothing of it needs to outlive the
    run. A run killed outright (SIGKILL, the OOM killer) cannot remove its copy: copies of this user's older than
    ``_STALE`` are removed here, since in memory they would hold it until the next boot."""
    if os.environ.get("TMPDIR"):
        return None
    try:
        room = os.statvfs(_MEMORY_BACKED)
    except OSError:
        return None
    if min(room.f_bavail * room.f_frsize, _available_memory()) < _ROOM \
            or not os.access(_MEMORY_BACKED, os.W_OK | os.X_OK):
        return None
    _remove_stale(_MEMORY_BACKED)
    return _MEMORY_BACKED


def _available_memory() -> int:
    """``MemAvailable`` of ``/proc/meminfo`` in bytes (0 when it cannot be read: then nothing goes to memory)."""
    try:
        with open("/proc/meminfo", "rb") as meminfo:
            for line in meminfo:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _remove_stale(parent: str) -> None:
    import shutil
    import time

    now, uid = time.time(), os.getuid()
    with contextlib.suppress(OSError), os.scandir(parent) as entries:
        for entry in entries:
            if entry.name.startswith(COPY_PREFIX) and entry.is_dir(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                if st.st_uid == uid and now - st.st_mtime > _STALE:
                    shutil.rmtree(entry.path, ignore_errors=True)


def _identity(path: str) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def begin(argv: list[str]) -> None:
    """Start unpacking the first target of ``argv`` (without the program name) in a child, if it is a
    tarball; any failure to start leaves the in-process path."""
    global _pending
    archive = first_tarball(argv)
    if archive is None or _pending is not None:
        return
    import tempfile

    try:
        identity = _identity(archive)
        directory = tempfile.mkdtemp(prefix=COPY_PREFIX, dir=scratch())
    except OSError:
        return
    # No terminating signal may land between the fork and the moment each side knows its part: the parent must
    # know the child to end it, and the child must not run the parent's handlers (they raise into its code).
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, interrupts.SIGNALS)
    try:
        try:
            reader, writer = os.pipe()
        except OSError:
            os.rmdir(directory)
            return
        with contextlib.suppress(OSError):
            import fcntl

            fcntl.fcntl(writer, _F_SETPIPE_SZ, _PIPE_SIZE)
        try:
            pid = os.fork()
        except OSError:
            for fd in (reader, writer):
                os.close(fd)
            os.rmdir(directory)
            return
        if pid == 0:
            _child(archive, directory, reader, writer, mask)
        os.close(writer)
        _pending = _Pending(archive, identity, pid, reader, directory)
        atexit.register(_abandon)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _child(archive: str, directory: str, reader: int, writer: int, mask: set[int | signal.Signals]) -> NoReturn:
    """Unpack, telling each member handled (``_Teller``), then send ``("done", Extraction, problems, ordered)``
    or ``("refused", message)``, and exit at once (the parent's exit handlers and buffered output are the
    parent's). A terminating signal ends it as it ends any program; so does the end of the parent, however it
    ends."""
    code = 1
    try:
        os.close(reader)
        for signum in interrupts.SIGNALS:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                signal.signal(signum, signal.SIG_DFL)
        parent = os.getppid()
        _die_with(parent)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        quiet = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # never a word on the user's terminal, nor a pipe held open past the parent
            os.dup2(quiet, fd)

        import pickle
        from pathlib import Path

        from ostriage.errors import SourceError
        from ostriage.sources.sosreport import Limits, unpack_report, unpacked_tops

        problems: list[Problem] = []
        teller = _Teller(writer, unpacked_tops())
        try:
            result = unpack_report(Path(archive), Path(directory), Limits(), problems, teller.member)
            message = pickle.dumps(("done", result, problems, teller.ordered))
        except SourceError as exc:
            message = pickle.dumps(("refused", str(exc)))
        _tell_end(writer, message)
        code = 0
    finally:  # whatever happened (the parent then unpacks in process)
        os._exit(code)


class _Teller:
    """Tells the parent the report's directory, each member the extraction has handled and, at once, that the
    archive is out of order, in frames it never waits to write: what the full pipe refuses is kept, the latest
    member replacing the one before (the parent only needs the latest)."""

    def __init__(self, fd: int, tops: frozenset[str] | None) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        self._tops = tops  # a member elsewhere (written through a link) breaks the parent's shortcut: out of order
        self.ordered = True
        self._last: tuple[str, ...] | None = None
        self._told_prefix = False
        self._must = b""  # frames not written yet that must be: the prefix, out of order
        self._at = b""  # the latest member's frame, not written yet

    def member(self, prefix: str, rel: str, is_dir: bool) -> None:
        if not self._told_prefix:
            self._told_prefix = True
            self._must += _frame(_PREFIX, prefix)
        parts = tuple(rel.split("/"))
        if self.ordered:
            at = _frame(_DIRECTORY if is_dir else _FILE, rel)
            after = self._last is None or parts > self._last
            if at and after and (self._tops is None or parts[0] in self._tops):
                self._last, self._at = parts, at
            else:  # nothing more is told but the end: the parent waits for it
                self.ordered = False
                self._must += _frame(_UNORDERED, "")
        if self._must or self._at:
            with contextlib.suppress(BlockingIOError):
                os.write(self.fd, self._must + self._at)
                self._must = self._at = b""


def _tell_end(fd: int, message: bytes) -> None:
    """The last frame, waiting for the parent to read it if it must."""
    os.set_blocking(fd, True)
    view = memoryview(_FRAME.pack(_DONE, len(message)) + message)
    while view:
        view = view[os.write(fd, view):]


def _frame(kind: bytes, text: str) -> bytes:
    """A frame, or ``b""`` when it would be too long to be written at once together with the others."""
    data = text.encode("utf-8", "surrogateescape")
    return _FRAME.pack(kind, len(data)) + data if len(data) <= _LONGEST else b""


def _die_with(parent: int) -> None:
    """Have the kernel end this process when ``parent`` ends (``PR_SET_PDEATHSIG``): orphaned, it would unpack
    up to the archive limits into a directory nobody removes."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (ImportError, OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it ended before the request was made
        os._exit(1)


def take(archive: str | os.PathLike[str], default_limits: bool,
         workdir: str | os.PathLike[str] | None) -> Stream | None:
    """The child's extraction of ``archive``, as it goes, when it was started for this very file, unchanged
    since, and the caller unpacks it as the child did (default limits, no ``workdir``); ``None`` otherwise (the
    caller unpacks it; the child, of no use then, is ended). The directory is then the caller's to remove."""
    global _pending
    pending = _pending
    if pending is None:
        return None
    try:
        same = os.path.samefile(archive, pending.archive) and _identity(pending.archive) == pending.identity
    except OSError:
        same = False
    if not (same and default_limits and workdir is None):
        _abandon()
        return None
    _pending = None
    return Stream(pending)


class Stream:
    """The child's extraction, read while it goes on: ``prefix`` first, ``settle`` before each look at the
    tree, ``finish`` at the end, ``end`` to stop it."""

    def __init__(self, pending: _Pending) -> None:
        self._pending: _Pending | None = pending
        self.directory = pending.directory
        os.set_blocking(pending.reader, False)
        self._buffer = bytearray()
        self._prefix: str | None = None
        self._at: tuple[str, ...] | None = None  # the last member handled
        self._at_directory = False
        self._done: bytes | None = None
        self._over = False  # the last frame came, or the child is gone
        self._unordered = False
        #: a path was taken as settled before the end, on the archive's order
        self.read_early = False

    def prefix(self) -> str | None:
        """The report's directory inside the archive (``""``: none), once the child knows it; ``None`` when it
        ended without (then ``finish`` tells why)."""
        while self._prefix is None and not self._over:
            self._read()
        return self._prefix

    def settle(self, rel: str, what: int, unpacked: bool = True) -> None:
        """Wait until the report-relative path ``rel`` is as it will stay for ``what`` (``LINK``, ``ENTRY``,
        ``TREE``), or the extraction is over. A path not ``unpacked`` (nothing is unpacked under its top-level
        name) is as it will stay at once, while the archive keeps its order."""
        parts = tuple(p for p in rel.split("/") if p)
        if not parts and what != TREE:
            return  # the report's directory: there from the start, whatever the order
        while not self._over:
            if not self._unordered and (not unpacked or settled(self._at, self._at_directory, parts, what)):
                self.read_early = True
                return
            self._read()

    def finish(self) -> tuple[Extraction, list[Problem], bool] | None:
        """``(Extraction, problems, ordered)`` once the child is done; ``None`` when it failed (the caller then
        unpacks in process). Raises the ``SourceError`` the extraction raised."""
        pending = self._pending
        if pending is None:
            return None
        while not self._over:
            self._read()
        self._pending = None
        import pickle

        try:
            os.close(pending.reader)
            pending.reader = -1
            _, status = os.waitpid(pending.pid, 0)
            outcome = pickle.loads(self._done) if status == 0 and self._done else None
        except BaseException:
            _end(pending, remove=False)
            raise
        if outcome is None:
            return None
        if outcome[0] == "refused":
            from ostriage.errors import SourceError

            raise SourceError(outcome[1])
        return outcome[1], outcome[2], outcome[3]

    def end(self) -> None:
        """Stop the child, if it still runs (the directory stays the caller's)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            _end(pending, remove=False)
        self._over = True

    def _read(self) -> None:
        """Wait for the child's next frames and take them in."""
        pending = self._pending
        if pending is None:
            self._over = True
            return
        import select

        select.select([pending.reader], [], [])
        while True:
            try:
                chunk = os.read(pending.reader, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                self._over = True  # the child is gone, with or without its last frame
                break
            self._buffer += chunk
        self._frames()

    def _frames(self) -> None:
        buffer = self._buffer
        start = 0
        while len(buffer) - start >= _FRAME.size:
            kind, length = _FRAME.unpack_from(buffer, start)
            end = start + _FRAME.size + length
            if len(buffer) < end:
                break
            data = bytes(buffer[start + _FRAME.size:end])
            start = end
            if kind == _DONE:
                self._done = data
                self._over = True
                continue
            text = data.decode("utf-8", "surrogateescape")
            if kind == _PREFIX:
                self._prefix = text
            elif kind == _UNORDERED:
                self._unordered = True
            else:
                self._at = tuple(text.split("/"))
                self._at_directory = kind == _DIRECTORY
        del buffer[:start]


def settled(at: tuple[str, ...] | None, at_directory: bool, parts: tuple[str, ...], what: int) -> bool:
    """Whether the path ``parts`` is as it will stay for ``what`` once an archive in sorted order has handled the
    member ``at`` (a directory or not): that member or a later one is a symlink's own (``LINK``), a file's
    (``ENTRY``), or everything below ``parts`` is behind (``ENTRY``, ``TREE``).

    >>> settled(("etc", "hosts"), False, ("etc", "hosts"), ENTRY), settled(("etc", "x"), False, ("etc",), ENTRY)
    (True, False)
    >>> settled(("etc", "x"), False, ("etc",), LINK), settled(("var",), True, ("etc",), TREE)
    (True, True)
    """
    if not parts:
        return what != TREE  # the report's directory itself is there from the start
    if at is None:
        return False
    return at[:len(parts)] > parts or (what == LINK and at >= parts) \
        or (what == ENTRY and at == parts and not at_directory)


def _abandon() -> None:
    global _pending
    pending, _pending = _pending, None
    if pending is not None:
        _end(pending)


def _end(pending: _Pending, remove: bool = True) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pending.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pending.pid, 0)
    if pending.reader >= 0:
        with contextlib.suppress(OSError):
            os.close(pending.reader)
        pending.reader = -1
    if remove:
        _remove(pending.directory)


def _remove(directory: str) -> None:
    import shutil

    shutil.rmtree(directory, ignore_errors=True)
