"""Where evidence comes from: a live host, a sosreport or a copy of a host's files, behind one
interface (``Source``).

``open_target`` turns what the user typed into a source; ``catalog`` is the one table of logical
commands and where each lives.
"""

from __future__ import annotations

from pathlib import Path

from ostriage.errors import SourceError
from ostriage.sources.base import CommandOutput, Problem, Source
from ostriage.sources.catalog import CATALOG, CommandSpec, Format, lookup
from ostriage.sources.hosttree import HostTree
from ostriage.sources.live import LiveHost
from ostriage.sources.sosreport import ARCHIVE_SUFFIXES, Limits, SosReport

__all__ = [
    "ARCHIVE_SUFFIXES",
    "CATALOG",
    "CommandOutput",
    "CommandSpec",
    "Format",
    "HostTree",
    "Limits",
    "LiveHost",
    "Problem",
    "SosReport",
    "Source",
    "lookup",
    "open_target",
]


#: a directory with one of these below etc/ is a copy of a host's files
_HOST_TREE_AREAS = ("neutron", "nova", "systemd")
#: a directory holding these is a copy of neutron's configuration directory (/etc/neutron)
_NEUTRON_CONFIG = ("neutron.conf", "plugins/ml2/ml2_conf.ini", "ml2_conf.ini")


def open_target(target: str | None) -> Source:
    """The source for a command-line target: ``None`` is this host; a directory is an unpacked
    sosreport, else a copy of a host's files (with ``etc/``), else a copy of ``/etc/neutron``; a file
    named like a tarball (``ARCHIVE_SUFFIXES``) is a sosreport tarball.

    >>> open_target("/nonexistent/sosreport.tar.xz")
    Traceback (most recent call last):
    ...
    ostriage.errors.SourceError: /nonexistent/sosreport.tar.xz: no such file or directory
    """
    if target is None:
        return LiveHost()
    path = Path(target)
    if path.is_dir():
        return _directory(path)
    if not path.exists():
        raise SourceError(f"{target}: no such file or directory")
    if not path.is_file():
        raise SourceError(f"{target}: not a directory or a regular file")
    if not path.name.lower().endswith(ARCHIVE_SUFFIXES):
        suffixes = ", ".join(ARCHIVE_SUFFIXES)
        raise SourceError(f"{target}: not a sosreport directory or tarball (expected one of {suffixes})")
    return SosReport(path)


def _directory(path: Path) -> Source:
    try:
        return SosReport(path)
    except SourceError as exc:
        if any((path / "etc" / area).is_dir() for area in _HOST_TREE_AREAS):
            return HostTree(path)
        if any((path / name).is_file() for name in _NEUTRON_CONFIG):
            return HostTree(path, mount="/etc/neutron")
        hint = _host_hint(path)
        if hint:
            raise SourceError(f"{exc}; {hint}") from None
        raise


#: files every Linux host has in /etc
_HOST_ETC = ("os-release", "passwd", "hostname")


def _host_hint(path: Path) -> str:
    """What to type instead, when ``path`` looks like a host's / or /etc rather than a sosreport.

    >>> _host_hint(Path("/etc"))
    'this is /etc of this host: without TARGET ostriage reads this host live, `--root /` its files only'
    """
    if (path / "etc").is_dir() and any((path / "etc" / name).exists() for name in _HOST_ETC):
        return f"it looks like a host's /: read its files with `--root {path}`"
    if not any((path / name).exists() for name in _HOST_ETC):
        return ""
    if path.resolve() == Path("/etc").resolve():
        return "this is /etc of this host: without TARGET ostriage reads this host live, `--root /` its files only"
    return f"it looks like a host's /etc: read that host's files with `--root {path.resolve().parent}`"
