"""Where evidence comes from: a live host or a sosreport, behind one interface (``Source``).

``open_target`` turns what the user typed into a source; ``catalog`` is the one table of logical
commands and where each lives.
"""

from __future__ import annotations

from pathlib import Path

from ostriage.errors import SourceError
from ostriage.sources.base import CommandOutput, Problem, Source
from ostriage.sources.catalog import CATALOG, CommandSpec, Format, lookup
from ostriage.sources.live import LiveHost
from ostriage.sources.sosreport import ARCHIVE_SUFFIXES, Limits, SosReport

__all__ = [
    "ARCHIVE_SUFFIXES",
    "CATALOG",
    "CommandOutput",
    "CommandSpec",
    "Format",
    "Limits",
    "LiveHost",
    "Problem",
    "SosReport",
    "Source",
    "lookup",
    "open_target",
]


def open_target(target: str | None) -> Source:
    """The source for a command-line target: ``None`` is this host; a directory is an unpacked
    sosreport; a file named like a tarball (``ARCHIVE_SUFFIXES``) is a sosreport tarball.

    >>> open_target("/nonexistent/sosreport.tar.xz")
    Traceback (most recent call last):
    ...
    ostriage.errors.SourceError: /nonexistent/sosreport.tar.xz: no such file or directory
    """
    if target is None:
        return LiveHost()
    path = Path(target)
    if path.is_dir():
        return SosReport(path)
    if not path.exists():
        raise SourceError(f"{target}: no such file or directory")
    if not path.is_file():
        raise SourceError(f"{target}: not a directory or a regular file")
    if not path.name.lower().endswith(ARCHIVE_SUFFIXES):
        suffixes = ", ".join(ARCHIVE_SUFFIXES)
        raise SourceError(f"{target}: not a sosreport directory or tarball (expected one of {suffixes})")
    return SosReport(path)
