"""The one interface every evidence source implements (live host, sosreport directory or tarball).

Paths given to a source are always host-absolute (``/etc/neutron/neutron.conf``); each source maps
them to where it keeps them. ``Line.path`` on what comes back is the *display* path users cite:
sosreport-relative for a sosreport, absolute on a live host, ``$ <command>`` for a command run live.

Nothing here raises for missing or unreadable evidence: absence returns ``None``/empty, and every
read that failed for a reason other than absence is appended to ``problems`` so reports can say
precisely what could not be read. Lines are streamed: a problem met while reading (a corrupt
``.gz``, a command that fails after printing) is appended when the stream reaches it, so read
``problems`` after consuming the lines.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ostriage.evidence import Line

__all__ = ["CommandOutput", "LogFile", "Problem", "Source"]


@dataclass(frozen=True, slots=True)
class Problem:
    """Evidence that exists but could not be used, and why (permission, corruption, size, timeout)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class CommandOutput:
    """Output of a logical command, in the format of the variant that was found.

    ``format`` tells the facts layer which parser applies (e.g. ``ss`` vs ``netstat`` vs ``lsof``
    for ``listening-sockets``); ``origin`` is the display path of the output.
    """

    name: str
    format: str
    origin: str
    lines: Iterator[Line]


@dataclass(frozen=True, slots=True)
class LogFile:
    """One file of a log (the log itself or a rotation) that a reader may scan as raw bytes:
    ``real`` is where it is, ``shown`` how it is cited, ``max_line`` the longest line kept."""

    real: str
    shown: str
    max_line: int


class Source(ABC):
    """A read-only view of one host's evidence."""

    kind: Literal["live", "sosreport", "tree"]
    label: str
    problems: list[Problem]
    #: the host directory the evidence is a copy of: ``/`` for a host, a sosreport or a copy of a host's files;
    #: ``/etc/neutron`` for a copy of that directory alone, which holds configuration and nothing of what ran
    mount: str = "/"

    @abstractmethod
    def read_lines(self, path: str) -> Iterator[Line] | None:
        """Lines of one file (``.gz``/``.xz``/``.bz2`` decompressed), or ``None`` when it does not
        exist or cannot be read (then with a problem recorded)."""

    @abstractmethod
    def read_log(self, path: str) -> Iterator[Line]:
        """Lines of a log and its rotations, oldest first (``x.3.gz``, ``x.2.gz``, ``x.1``, ``x``)."""

    @abstractmethod
    def glob(self, pattern: str) -> list[str]:
        """Host-absolute paths matching a glob pattern (``**`` allowed), sorted."""

    @abstractmethod
    def command(self, name: str) -> CommandOutput | None:
        """Output of a logical command from the catalog, or ``None`` when no variant is available."""

    def command_all(self, name: str) -> list[CommandOutput]:
        """Every output of a logical command whose evidence may be split over several files (one per
        Kubernetes namespace, one per container): where a source keeps such files, each file of the first
        variant present; elsewhere the one output ``command`` gives (a live command answers for all)."""
        output = self.command(name)
        return [output] if output is not None else []

    @abstractmethod
    def collected_at(self) -> datetime | None:
        """When the evidence was taken (sosreport's ``date``; now on a live host), in the host's
        local time: aware when its UTC offset is known, naive (host wall clock) otherwise."""

    def modified(self, path: str) -> datetime | None:
        """When the file at host path ``path`` last changed (aware), ``None`` when that is not known. Only a
        file's own time means anything: a tarball's unpacked copy or a checkout says when it was made."""
        return None

    def log_files(self, path: str) -> list[LogFile] | None:
        """The files of a log and its rotations, oldest first, for readers of raw bytes (the scan
        engine); ``None`` when this source only has lines (then ``read_log``)."""
        return None

    def open_log_file(self, file: LogFile) -> int | None:
        """A read-only descriptor of one of ``log_files``; ``None`` (with a problem) when it cannot be read."""
        return None

    def finish(self) -> bool:
        """Wait for evidence still arriving (a tarball being unpacked while it is read); ``False`` when what was
        read before may differ from what is there now, so that it must be read again."""
        return True

    def close(self) -> None:  # noqa: B027 - optional hook: most sources hold nothing to release
        """Release temporary resources (an unpacked tarball)."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
