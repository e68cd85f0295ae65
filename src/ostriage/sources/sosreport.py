"""A sosreport, unpacked directory or tarball, as an evidence ``Source``.

Display paths are report-relative (``var/log/neutron/neutron-server.log``), so findings cite
``var/log/neutron/neutron-server.log:123`` whoever opens the report and wherever.

A tarball is never unpacked whole: only the areas ostriage reads (``catalog.extraction_areas``)
go to a private temporary directory, under the limits of ``Limits``; ``close()`` removes it (and so
does garbage collection or interpreter exit, should a caller forget).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Literal

from ostriage import unpack_ahead
from ostriage.errors import SourceError
from ostriage.evidence import Line
from ostriage.parsers.date import (
    collection_time,
    parse_date,
    parse_sos_log_time,
    parse_timedatectl,
)
from ostriage.sources._lines import MAX_LINE
from ostriage.sources._tarball import SOS_MARKERS, Extraction, Limits, Watcher, area_tops, extract_report
from ostriage.sources._tree import Tree, note
from ostriage.sources.base import CommandOutput, LogFile, Problem, Source
from ostriage.sources.catalog import EXTRACTION_EXCLUDED, CommandSpec, SosVariant, extraction_areas, lookup
from ostriage.unpack_ahead import ARCHIVE_SUFFIXES

__all__ = ["ARCHIVE_SUFFIXES", "Limits", "SosReport", "unpack_report", "unpacked_tops"]

_NOT_SOS = "not a sosreport (no sos_commands/, sos_logs/, sos_reports/ or version.txt)"
_MANIFEST_START = re.compile(r'^\s*"start_time":\s*"([^"]+)"')
# The first "start_time" of the manifest is the report's; later ones are per plugin.
_MANIFEST_SCAN_LINES = 50


class SosReport(Source):
    """A sosreport directory or tarball (``.tar.xz``, ``.tar.gz``, ``.tgz``, ``.tar.bz2``, ``.tar``).

    ``limits`` bounds what a tarball may unpack; ``workdir`` is where its temporary directory goes
    (default: ``unpack_ahead.scratch``). Raises ``SourceError`` when ``path`` is not a
    readable sosreport.
    """

    kind: Literal["live", "sosreport", "tree"] = "sosreport"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        limits: Limits | None = None,
        workdir: str | os.PathLike[str] | None = None,
        max_line: int = MAX_LINE,
    ) -> None:
        self.label = str(path)
        self.problems: list[Problem] = []
        self.path = Path(path)
        #: the tarball this report was unpacked from, ``None`` for a directory
        self.archive: Path | None = None
        self._cleanup: Callable[[], object] | None = None
        self._stream: unpack_ahead.Stream | None = None
        self._max_line = max_line
        if self.path.is_dir():
            root = _find_root(self.path, self.label)
        elif self.path.is_file():
            self.archive = self.path
            root = self._unpack(limits or Limits(), workdir)
        elif self.path.exists():
            raise SourceError(f"{self.label}: not a directory or a regular file")
        else:
            raise SourceError(f"{self.label}: no such file or directory")
        #: the report's root directory (where ``sos_commands/`` is)
        self.root = root
        gate = self._settle if self._stream is not None else None
        self._tree = Tree(root, self.problems, _display, max_line=max_line, static=True, gate=gate)
        self._collected: datetime | Literal[False] | None = False

    def _unpack(self, limits: Limits, workdir: str | os.PathLike[str] | None) -> Path:
        stream = unpack_ahead.take(self.path, limits == Limits(), workdir)
        if stream is not None:
            tmp = stream.directory
        else:
            tmp = tempfile.mkdtemp(prefix=unpack_ahead.COPY_PREFIX, dir=workdir or unpack_ahead.scratch())
        self._cleanup = weakref.finalize(self, _discard, stream, tmp)
        try:
            if stream is not None:
                prefix = stream.prefix()
                if prefix is not None:  # read while the child goes on: ``finish`` tells whether that held
                    self._stream = stream
                    root = Path(tmp) / prefix
                    root.mkdir(exist_ok=True)  # there from the start, as when it is read finished
                    return root
                outcome = stream.finish()
                if outcome is not None:
                    return self._accept(outcome[0], outcome[1])
                _empty(tmp)  # the child failed: unpack here what it may have left half done
            return self._accept(unpack_report(self.path, Path(tmp), limits, self.problems), [])
        except BaseException:
            self.close()
            raise

    def _accept(self, result: Extraction, problems: list[Problem]) -> Path:
        """The root of what an extraction gave, with what it noted; ``SourceError`` when it gave no report."""
        self.problems += problems
        if not (result.is_sosreport or result.damaged):
            raise SourceError(f"{self.label}: {_NOT_SOS} in the archive")
        if not (result.extracted and result.is_sosreport):
            why = f" ({self.problems[0].message})" if self.problems else ""
            raise SourceError(f"{self.label}: nothing usable could be unpacked{why}")
        return result.root

    def finish(self) -> bool:
        """Wait for the end of a tarball read while it was unpacked. ``False`` when what was read may have
        differed from the finished tree (the archive was out of sos's order where it had been read in that order,
        the extraction noted problems, or the child failed and the tarball was unpacked here): the report is then
        as the unpacked tree is, to be read again. Raises ``SourceError`` as opening a tarball does."""
        stream, self._stream = self._stream, None
        if stream is None:
            return True
        try:
            outcome = stream.finish()
            # what was read is the finished tree's when the archive kept sos's order, or nothing was read before
            # its end; what the extraction noted was not in it
            if outcome is not None and (outcome[2] or not stream.read_early) and not outcome[1]:
                self._accept(outcome[0], [])
                return True
            self.problems = []  # what the reading noted is noted again, from the finished tree
            if outcome is None:
                _empty(stream.directory)
                root = self._accept(unpack_report(self.path, Path(stream.directory), Limits(), self.problems), [])
            else:
                root = self._accept(outcome[0], outcome[1])
        except BaseException:
            self.close()
            raise
        self.root = root
        self._tree = Tree(root, self.problems, _display, max_line=self._max_line, static=True)
        self._collected = False
        return False

    def _settle(self, rel: str, what: int) -> None:
        if self._stream is not None:
            tops = unpacked_tops()
            self._stream.settle(rel, what, unpacked=not rel or tops is None or rel.split("/", 1)[0] in tops)

    def __repr__(self) -> str:
        return f"SosReport({self.label!r})"

    def close(self) -> None:
        """Stop the unpacking of a tarball and remove its unpacked copy (nothing to do for a directory)."""
        if self._cleanup is not None:
            self._cleanup()

    # -- files ----------------------------------------------------------------------------------

    def read_lines(self, path: str) -> Iterator[Line] | None:
        return self._tree.read_lines(path)

    def read_log(self, path: str) -> Iterator[Line]:
        return self._tree.read_log(path)

    def read_bytes(self, path: str) -> bytes | None:
        """The exact contents of a file of the report, links followed inside it (``fix`` shows its edits)."""
        return self._tree.read_bytes(path)

    def log_files(self, path: str) -> list[LogFile] | None:
        return self._tree.log_files(path)

    def open_log_file(self, file: LogFile) -> int | None:
        return self._tree.open_fd(file.real, file.shown)

    def glob(self, pattern: str) -> list[str]:
        return self._tree.glob(pattern)

    def modified(self, path: str) -> datetime | None:
        return self._tree.modified(path)

    # -- commands -------------------------------------------------------------------------------

    def command(self, name: str) -> CommandOutput | None:
        """The first variant of ``name`` present in the report, preferring one with content.

        A top-level symlink (``ps``) is read at its target and cited by it
        (``sos_commands/process/ps_auxwwwm``).
        """
        spec = lookup(name)
        empty: tuple[SosVariant, str] | None = None
        for variant in spec.sos:
            for real in self._candidates(variant.path):
                if os.path.getsize(real) > 0:
                    output = self._output(spec, variant, real)
                    if output is not None:
                        return output
                elif empty is None:
                    empty = (variant, real)
        return self._output(spec, *empty) if empty else None

    def command_all(self, name: str) -> list[CommandOutput]:
        """Every file of the first variant of ``name`` present in the report (a glob variant may match
        several: ``kubectl get pods`` per namespace, ``docker inspect`` per container)."""
        spec = lookup(name)
        for variant in spec.sos:
            outputs = [out for real in self._candidates(variant.path)
                       if (out := self._output(spec, variant, real)) is not None]
            if outputs:
                return outputs
        return []

    def _candidates(self, pattern: str) -> Iterator[str]:
        """Physical paths of the regular files a variant names, in order."""
        rels = ([p.lstrip("/") for p in self._tree.glob(pattern)]
                if any(c in pattern for c in "*?[") else [pattern])
        for rel in rels:
            real = self._tree.resolve(rel)
            if real is None:
                continue
            if os.path.isfile(real):
                yield real
            else:
                note(self.problems, rel, "expected a file with a command's output; not a regular file")

    def _output(self, spec: CommandSpec, variant: SosVariant, real: str) -> CommandOutput | None:
        origin = self._tree.relative(real)
        lines = self._tree.open_lines(real, origin)
        if lines is None:
            return None
        return CommandOutput(spec.name, variant.format, origin, lines)

    # -- time -----------------------------------------------------------------------------------

    def collected_at(self) -> datetime | None:
        """Collection time: ``date`` (with ``date --utc`` for the offset), else ``timedatectl``,
        else the manifest's ``start_time``, else the first line of sos's own log. Aware when the
        UTC offset is known, else naive host-local time."""
        if self._collected is False:
            self._collected = self._find_collection_time()
        return self._collected

    def _find_collection_time(self) -> datetime | None:
        local, utc = (parse_date(self._first_line(n)) for n in ("date", "date-utc"))
        found = collection_time(local, utc)
        if found is not None:
            return found
        timedatectl = self.command("timedatectl")
        if timedatectl is not None:
            found = parse_timedatectl(line.text for line in timedatectl.lines)
            if found is not None:
                return found
        manifest = self.read_lines("/sos_reports/manifest.json")
        for line in manifest or ():
            if line.number > _MANIFEST_SCAN_LINES:
                break
            if match := _MANIFEST_START.match(line.text):
                try:
                    return datetime.fromisoformat(match[1])
                except ValueError:
                    break
        for log in ("/sos_logs/sos.log", "/sos_logs/ui.log"):
            for line in self.read_lines(log) or ():
                if (stamp := parse_sos_log_time(line.text)) is not None:
                    return stamp
        return None

    def _first_line(self, name: str) -> str:
        output = self.command(name)
        return next((line.text for line in output.lines if line.text.strip()), "") if output else ""


def unpack_report(archive: Path, dest: Path, limits: Limits, problems: list[Problem],
                  watch: Watcher | None = None) -> Extraction:
    """The areas of ``archive`` ostriage reads, unpacked under ``dest``: the one way a report is unpacked, in
    process or ahead of time (``unpack_ahead``), so both give the same tree."""
    return extract_report(archive, dest, extraction_areas(), EXTRACTION_EXCLUDED, limits, problems, watch)


@functools.cache
def unpacked_tops() -> frozenset[str] | None:
    """The top-level names of a report under which ``unpack_report`` may unpack (``None``: any)."""
    return area_tops(extraction_areas())


def _discard(stream: unpack_ahead.Stream | None, directory: str) -> None:
    if stream is not None:
        stream.end()
    shutil.rmtree(directory, ignore_errors=True)


def _empty(directory: str) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    os.mkdir(directory, 0o700)


def _display(rel: str) -> str:
    return rel


def _is_report(directory: Path) -> bool:
    return any((directory / marker).exists() for marker in SOS_MARKERS)


def _find_root(path: Path, label: str) -> Path:
    """The report root: ``path`` itself, or its only subdirectory that is a report (a directory
    a tarball was unpacked into)."""
    if _is_report(path):
        return path
    try:
        inner = [d for d in path.iterdir() if d.is_dir() and _is_report(d)]
    except OSError as exc:
        raise SourceError(f"{label}: cannot list ({exc.strerror or exc})") from None
    if len(inner) == 1:
        return inner[0]
    if inner:
        names = ", ".join(sorted(d.name for d in inner))
        raise SourceError(f"{label}: holds several sosreports ({names}); give one of them")
    raise SourceError(f"{label}: {_NOT_SOS}")
