"""A read-only view of a directory tree standing for a host's file system.

Every source reads files this way: a sosreport's root (``etc/``, ``var/log/``, ``sos_commands/``),
a copy of a host's files, and a live host's ``/``. Host paths are mapped under the root, and every
symlink is followed as if the root were ``/`` (chroot semantics): an absolute link means a file of
the same tree and ``..`` stops at the root, so a hostile report (``etc/passwd -> /etc/passwd``, or a
chain of links whose ``..`` climbs out) can never make ostriage read this machine's files.
Only regular files are opened (a fifo would block, a device could have side effects).

Nothing here raises for bad evidence: absence is ``None``/empty, anything else is recorded as a
``Problem`` on the list the tree was given.
"""

from __future__ import annotations

import io
import lzma
import os
import posixpath
import stat
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import BinaryIO

from ostriage.evidence import Line
from ostriage.sources._lines import MAX_LINE, TRUNCATED, decompressing, iter_lines
from ostriage.sources._rotation import rotation_order
from ostriage.sources._size import size
from ostriage.sources.base import LogFile, Problem
from ostriage.unpack_ahead import ENTRY, LINK, TREE

__all__ = ["Tree", "host_relative", "note"]

# What a failing disk or a corrupt or truncated gzip/xz/bzip2 file raises while being read.
_READ_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error)


def note(problems: list[Problem], path: str, message: str) -> None:
    """Record a problem once (the same file may be asked for by several facts)."""
    problem = Problem(path, message)
    if problem not in problems:
        problems.append(problem)


def host_relative(path: str) -> str:
    """A host path as a path relative to the root; ``..`` cannot climb above ``/``.

    >>> host_relative("/etc/neutron/../nova/nova.conf")
    'etc/nova/nova.conf'
    >>> host_relative("/../../etc/passwd")
    'etc/passwd'
    >>> host_relative("/")
    ''
    """
    return posixpath.normpath("/" + path).lstrip("/")


#: the symlink (root-relative path, target) a part of a path being resolved came from; None: the path itself
_Origin = tuple[str, str] | None
#: waits until a root-relative path is as it will stay (a tree still being unpacked): ``gate(rel, what)`` with
#: ``what`` one of ``LINK`` (whether it is a symlink), ``ENTRY`` (what it is), ``TREE`` (what is below it)
Gate = Callable[[str, int], None]
#: like the kernel's limit on symlinks followed in one lookup (MAXSYMLINKS)
_MAX_LINKS = 40


def _has_magic(segment: str) -> bool:
    return any(c in segment for c in "*?[")


class Tree:
    """Files under ``root``, cited through ``display`` (root-relative path → what users see)."""

    def __init__(
        self,
        root: Path,
        problems: list[Problem],
        display: Callable[[str], str],
        *,
        permission_hint: Callable[[str], str] = lambda _real: "",
        max_line: int = MAX_LINE,
        static: bool = False,
        gate: Gate | None = None,
    ) -> None:
        self.root = Path(os.path.realpath(root))
        self.problems = problems
        self.display = display
        self._permission_hint = permission_hint
        self._max_line = max_line
        # Files that do not change while they are read (a sosreport): what a path resolves to and what a
        # directory lists are remembered (the unit search path alone is globbed thousands of times). The
        # problems they note are noted once anyway.
        self._resolved: dict[str, str | None] | None = {} if static else None
        self._listed: dict[str, list[str]] | None = {} if static else None
        self._gate = gate

    # -- resolution -----------------------------------------------------------------------------

    def resolve(self, rel: str) -> str | None:
        """The physical path of ``rel`` if it exists inside the root; ``None`` when absent.

        Symlinks are followed as if the root were ``/`` (chroot semantics): in a copy of a host's
        files, RDO's ``/etc/neutron/plugin.ini -> /etc/neutron/plugins/ml2/ml2_conf.ini`` means the
        copy's own file, never this machine's. ``..`` stops at the root, so nothing resolves outside.
        """
        if self._resolved is None:
            return self._resolve(rel)
        if rel not in self._resolved:
            self._resolved[rel] = self._resolve(rel)
        return self._resolved[rel]

    def _resolve(self, rel: str) -> str | None:
        real, escape = self._walk(rel)
        if escape is not None:
            # a link whose ".." climbs above the root points out of the collected files: refused, and said,
            # rather than read as the report's own file or left to look missing
            link, target = escape
            note(self.problems, self.display(link), f"symlink to {target!r} leads outside the collected files; "
                                                    "not followed")
            return None
        if real is None:
            note(self.problems, self.display(rel), "symlink loop; not read")
            return None
        return real if os.path.exists(real) else None  # absent, or a link to what the report does not hold

    def _chroot_path(self, rel: str) -> str | None:
        real, escape = self._walk(rel)
        return None if escape is not None else real

    def _walk(self, rel: str) -> tuple[str | None, tuple[str, str] | None]:
        """The physical path of ``rel`` with links followed inside the root (``None`` for a loop), and the
        link (root-relative path, target) whose ``..`` tried to climb above the root, if one did. On a live
        host (root ``/``) ``..`` at the root is the root, as the kernel has it."""
        root = str(self.root)
        parts: list[tuple[str, _Origin]] = [(p, None) for p in rel.split("/") if p not in ("", ".")]
        current = root
        hops = 0
        while parts:
            name, origin = parts.pop(0)
            if name == "..":
                if current == root:
                    if origin is not None and root != "/":
                        return current, origin
                    continue
                current = os.path.dirname(current)
                continue
            candidate = os.path.join(current, name)
            if self._gate is not None:
                self._gate(self.relative(candidate), LINK)
            if os.path.islink(candidate):
                hops += 1
                if hops > _MAX_LINKS:
                    return None, None
                target = os.readlink(candidate)
                if target.startswith("/"):
                    current = root
                link = (self.relative(candidate), target)
                parts[:0] = [(p, link) for p in target.split("/") if p not in ("", ".")]
                continue
            current = candidate
        if self._gate is not None:
            self._gate(self.relative(current), ENTRY)
        return current, None

    def modified(self, path: str) -> datetime | None:
        """The modification time of the file at host path ``path`` (aware, UTC), ``None`` when absent."""
        real = self.resolve(host_relative(path))
        try:
            return datetime.fromtimestamp(os.stat(real).st_mtime, UTC) if real else None
        except OSError:
            return None

    def relative(self, real: str) -> str:
        """Root-relative form of a physical path inside the root."""
        return os.path.relpath(real, self.root) if real != str(self.root) else ""

    # -- reading --------------------------------------------------------------------------------

    def read_lines(self, path: str) -> Iterator[Line] | None:
        """Lines of the file at host path ``path``; ``None`` when it is absent or unusable."""
        rel = host_relative(path)
        real = self.resolve(rel)
        return None if real is None else self.open_lines(real, self.display(rel))

    def read_bytes(self, path: str) -> bytes | None:
        """The exact contents of the regular file at host path ``path``; ``None`` when it is absent or unusable."""
        rel = host_relative(path)
        real = self.resolve(rel)
        fd = None if real is None else self.open_fd(real, self.display(rel))
        if fd is None:
            return None
        with open(fd, "rb") as data:
            try:
                return data.read()
            except OSError as exc:
                note(self.problems, self.display(rel), exc.strerror or str(exc))
                return None

    def open_lines(self, real: str, shown: str) -> Iterator[Line] | None:
        """Open the regular file ``real`` (already resolved) and stream its lines cited as ``shown``."""
        fd = self.open_fd(real, shown)
        if fd is None:
            return None
        raw = open(fd, "rb")  # noqa: SIM115 - closed by the generator below
        try:
            stream = decompressing(real, raw)
        except OSError as exc:
            raw.close()
            note(self.problems, shown, exc.strerror or str(exc))
            return None
        return self._lines(raw, stream, shown)

    def open_fd(self, real: str, shown: str) -> int | None:
        """A read-only descriptor of the regular file ``real``, or ``None`` with a problem noted."""
        try:
            # stat before opening: opening a fifo blocks and opening a device can act on it
            mode = os.stat(real).st_mode
            if not stat.S_ISREG(mode):
                note(self.problems, shown, f"not a regular file ({_kind(mode)}); not read")
                return None
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except PermissionError:
            note(self.problems, shown, "permission denied" + self._permission_hint(real))
            return None
        except OSError as exc:
            note(self.problems, shown, exc.strerror or str(exc))
            return None
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between stat and open
            os.close(fd)
            note(self.problems, shown, "not a regular file; not read")
            return None
        return fd

    def _lines(self, raw: BinaryIO, stream: BinaryIO | io.BufferedIOBase, shown: str) -> Iterator[Line]:
        number = 0
        cut = False
        try:
            for number, text in enumerate(iter_lines(stream, self._max_line), 1):
                if not cut and text.endswith(" more bytes]") and TRUNCATED in text:
                    cut = True  # once per file: a log of huge lines would otherwise flood the report
                    note(self.problems, shown, f"line {number} is longer than {size(self._max_line)}: "
                                               "only its start is read")
                yield Line(shown, number, text)
        except _READ_ERRORS as exc:
            where = f"after line {number}" if number else "at the start"
            note(self.problems, shown, f"unreadable {where}: {_reason(exc)}")
        finally:
            stream.close()
            raw.close()

    def read_log(self, path: str) -> Iterator[Line]:
        """Lines of the log at ``path`` and of its rotations, oldest file first."""
        for file in self.log_files(path):
            lines = self.open_lines(file.real, file.shown)
            if lines is not None:
                yield from lines

    def log_files(self, path: str) -> list[LogFile]:
        """The files of the log at ``path`` and of its rotations, oldest first, each resolved inside the root."""
        rel = host_relative(path)
        directory, base = posixpath.split(rel)
        found = []
        for name in rotation_order(base, self._listdir(directory)):
            member = posixpath.join(directory, name)
            real = self.resolve(member)
            if real is not None:
                found.append(LogFile(real, self.display(member), self._max_line))
        return found

    # -- listing --------------------------------------------------------------------------------

    def glob(self, pattern: str) -> list[str]:
        """Host paths matching ``pattern`` (``*``, ``?``, ``[...]`` within a segment, ``**``
        for any number of directories), existing and inside the root, sorted.

        Wildcards match dot-files too (fnmatch semantics). ``..`` is not allowed.
        """
        segments = [s for s in pattern.split("/") if s not in ("", ".")]
        if ".." in segments:
            raise ValueError(f"glob pattern must not contain '..': {pattern!r}")
        found: set[str] = set()
        self._expand("", segments, found)
        return sorted("/" + rel for rel in found if self.resolve(rel) is not None)

    def _expand(self, rel: str, segments: list[str], found: set[str]) -> None:
        if not segments:
            found.add(rel)
            return
        head, rest = segments[0], segments[1:]
        if head == "**":
            for directory in (rel, *self._descendants(rel)):
                self._expand(directory, rest or ["*"], found)
        elif _has_magic(head):
            for name in self._listdir(rel):
                if fnmatchcase(name, head):
                    self._expand(posixpath.join(rel, name), rest, found)
        else:
            self._expand(posixpath.join(rel, head), rest, found)

    def _listdir(self, rel: str) -> list[str]:
        if self._listed is None:
            return self._list(rel)
        if rel not in self._listed:
            self._listed[rel] = self._list(rel)
        return self._listed[rel]

    def _list(self, rel: str) -> list[str]:
        real = self.resolve(rel)
        if real is not None and self._gate is not None:
            self._gate(self.relative(real), TREE)
        if real is None or not os.path.isdir(real):
            return []
        try:
            return sorted(os.listdir(real))
        except PermissionError:
            note(self.problems, self.display(rel), "directory not listable: permission denied"
                 + self._permission_hint(real))
        except OSError as exc:
            note(self.problems, self.display(rel), f"directory not listable: {exc.strerror or exc}")
        return []

    def _descendants(self, rel: str) -> Iterator[str]:
        """Every directory below ``rel``, following links that stay inside; a directory reached
        twice (``lib -> usr/lib``, a link loop) is visited under its first path only."""
        start = self.resolve(rel)
        if start is None:
            return
        seen = {start}
        stack = [rel]
        while stack:
            current = stack.pop()
            for name in self._listdir(current):
                child = posixpath.join(current, name)
                real = self._chroot_path(child)
                if real is not None and real not in seen and os.path.isdir(real):
                    seen.add(real)
                    yield child
                    stack.append(child)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a fifo"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "special file"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "compressed data ends early (truncated file)"
    return str(exc) or type(exc).__name__
