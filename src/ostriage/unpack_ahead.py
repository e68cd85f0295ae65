"""A tarball named on ``ostriage diagnose``'s command line, unpacked while the program is still loading.

Loading the command line's modules takes a third of a second, the same order as unpacking a sosreport
tarball, and both hold the interpreter lock: in one process they can only follow each other. So the console
script, before it imports anything else, forks a child that unpacks the first target, if it is a tarball,
into a private temporary directory and sends back what the extraction produced; the report source then
takes that instead of unpacking the archive again (``take``). Anything unusual (another command, options
that change what is read, a child that fails) simply means no head start: the tarball is unpacked in
process as before, with the same limits and the same result.

The child is this program: the same code unpacks the same archive under the same limits (``Limits()``,
the system's temporary directory). It writes nothing to the terminal, dies with a terminating signal as any
program does (Ctrl-C reaches the whole process group) and with its parent (``PR_SET_PDEATHSIG``); the parent
kills it and removes its directory when the run ends without taking it.

Only the standard library is imported here: this runs before everything else.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal

from ostriage import interrupts

TYPE_CHECKING = False  # not typing's: this module is imported before anything else
if TYPE_CHECKING:
    from typing import NoReturn

    from ostriage.sources._tarball import Extraction
    from ostriage.sources.base import Problem

__all__ = ["ARCHIVE_SUFFIXES", "begin", "first_tarball", "take"]

#: File names taken for sosreport tarballs (compression is recognised from the content).
ARCHIVE_SUFFIXES = (".tar.xz", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".txz", ".tar")
#: ``diagnose`` options followed by a value
_WITH_VALUE = frozenset({"--format", "-o", "--output", "--color"})
#: options after which the first argument is not what will be read first, or nothing is read at all
_NO_HEAD_START = frozenset({"--root", "-h", "--help"})


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
        directory = tempfile.mkdtemp(prefix="ostriage-sos-")
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
    """Unpack, send ``("done", Extraction, problems)`` or ``("refused", message)``, and exit at once (the
    parent's exit handlers and buffered output are the parent's). A terminating signal ends it as it ends any
    program; so does the end of the parent, however it ends."""
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
        from ostriage.sources.sosreport import Limits, unpack_report

        problems: list[Problem] = []
        try:
            result = unpack_report(Path(archive), Path(directory), Limits(), problems)
            message = pickle.dumps(("done", result, problems))
        except SourceError as exc:
            message = pickle.dumps(("refused", str(exc)))
        with os.fdopen(writer, "wb") as out:
            out.write(message)
        code = 0
    finally:  # whatever happened (the parent then unpacks in process)
        os._exit(code)


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
         workdir: str | os.PathLike[str] | None) -> tuple[str, Extraction, list[Problem]] | None:
    """``(directory, Extraction, problems)`` the child made for ``archive`` when it was started for this very
    file, unchanged since, and the caller unpacks it as the child did (default limits, no ``workdir``);
    ``None`` otherwise (the caller unpacks it; the child, of no use then, is ended). The directory is then the
    caller's to remove. Raises the ``SourceError`` the extraction raised."""
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
    import pickle

    try:
        with os.fdopen(pending.reader, "rb") as answer:
            pending.reader = -1
            data = answer.read()
        _, status = os.waitpid(pending.pid, 0)
        outcome = pickle.loads(data) if status == 0 and data else None
    except BaseException:
        _end(pending)
        raise
    if outcome is None:
        _remove(pending.directory)
        return None
    if outcome[0] == "refused":
        _remove(pending.directory)
        from ostriage.errors import SourceError

        raise SourceError(outcome[1])
    return pending.directory, outcome[1], outcome[2]


def _abandon() -> None:
    global _pending
    pending, _pending = _pending, None
    if pending is not None:
        _end(pending)


def _end(pending: _Pending) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pending.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pending.pid, 0)
    if pending.reader >= 0:
        with contextlib.suppress(OSError):
            os.close(pending.reader)
    _remove(pending.directory)


def _remove(directory: str) -> None:
    import shutil

    shutil.rmtree(directory, ignore_errors=True)

