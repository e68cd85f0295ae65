"""Unpack the useful part of a sosreport tarball, safely, in one streaming pass.

The archive is untrusted input. One forward pass over it (no seeking, so a pipe-like
decompressor suffices) extracts only members inside the wanted areas, into a private directory:

* names: absolute names and ``..`` components are refused; everything must sit under the
  report's top-level directory;
* links: a symlink must point inside the report (lexically here, physically again at read time,
  see ``_tree``); a hardlink only to a file already unpacked; devices, fifos and sparse files are
  skipped;
* writing: files, symlinks and hardlinks are made here, not by ``tarfile.extract``, so the same rules
  hold on every Python (Debian 12's 3.11.2 has no extraction filters: they came with 3.11.4). A file
  is created new (``O_EXCL``, never through a symlink: ``O_NOFOLLOW``) with no mode bits from the
  archive, right after its directory was checked to lie inside the report, and gets exactly its
  declared size;
* size: a per-member cap, a total cap and a member-count cap, all checked before any byte of
  the member is written (a tar member's size is declared in its header and enforced by tarfile);
* damage: a truncated or corrupt archive keeps what was unpacked before the damage, and says
  where it broke: why the headers stopped (``TarReader.stopped_by``), and the compressed stream is
  drained to the end to catch truncation the tar layer cannot see.

Headers are read by ``_tar_reader`` (not ``tarfile``'s stream mode, which costs as much as the
decompression on a report of thousands of members); a member's data no area wants is skipped, never
written, and a member no area wants is passed over by its raw name before any object is made for it
(``_Areas.passed_over``: ~85,000 members under sys/ in a report with cgroups, and most of etc/ and var/lib/).
A thread decompresses ahead (``_prefetch``) while this one unpacks. Where the system has GNU tar and the
decompressor, they take ``sys/`` out of the stream first, in C and on another core (``_tar_pipe``); whenever
that does not end cleanly, the archive is read as above from the start.

Every refusal is a ``Problem``: a report must be able to say what it could not look at.
"""

from __future__ import annotations

import gzip
import io
import lzma
import os
import posixpath
import re
import shutil
import stat
import tarfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import translate
from pathlib import Path

from ostriage.errors import SourceError
from ostriage.sources import _inflate
from ostriage.sources._prefetch import Prefetched
from ostriage.sources._size import size
from ostriage.sources._tar_pipe import Filtered
from ostriage.sources._tar_reader import TarReader
from ostriage.sources._tree import note
from ostriage.sources.base import Problem

__all__ = ["Extraction", "Limits", "Watcher", "area_tops", "extract_report"]

#: told of each member of the report once it is handled (written, or left out): the report's directory in the
#: archive (``""``: none), where the member is now, relative to the report (its own path, unless a symlinked
#: directory on its way took it elsewhere), and whether it is a directory; the members ``_Areas.passed_over``
#: passes over are not told
Watcher = Callable[[str, str, bool], None]

#: What marks a directory tree as a sosreport (any one suffices).
SOS_MARKERS = ("sos_commands", "sos_logs", "sos_reports", "version.txt")
# Names that can only be the *inside* of a report: an archive starting with one has no top dir.
_REPORT_TOP = frozenset((*SOS_MARKERS, "etc", "var", "proc", "sys", "usr", "run", "lib", "boot"))
_ARCHIVE_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error)
_DRAIN_CHUNK = 1024 * 1024
_MIB = 1024 * 1024
# Directories in one member's path: sos nests a few dozen at most; thousands make the unpacking recurse
# (os.makedirs) past the interpreter's limit, and no file the diagnosis reads lives there.
_MAX_DEPTH = 256
#: trees taken out by the system's tools when no area reads there (``_extract_filtered``): ``sys`` holds most
#: members of a report (cgroups: 81,617 of 84,959 in hotsos's openstack root); ``boot`` is in nearly every
#: report too, and GNU tar copies the rest only when it finds one of the names it is given
_TAKEN_OUT = ("sys", "boot")
#: members read to find the report's directory before the tools start
_PEEK_MEMBERS = 16


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one tarball may unpack; every one is checked while streaming.

    The defaults fit real reports with room to spare: sos caps each copied log at 25 MiB unless
    ``--all-logs``, and whole reports unpack to a few hundred MiB in the areas read.
    """

    #: Largest single file unpacked (bytes); a bigger one is skipped with a problem.
    max_member_bytes: int = 256 * _MIB
    #: Most bytes unpacked in all; reading stops at the member that would exceed it.
    max_total_bytes: int = 2048 * _MIB
    #: Most archive members looked at (wanted or not); reading stops beyond it.
    max_members: int = 300_000


@dataclass(slots=True)
class Extraction:
    """What an extraction produced."""

    root: Path
    files: int = 0
    bytes: int = 0
    members: int = 0
    is_sosreport: bool = False
    damaged: bool = False
    #: reading ended at a limit, before the end of the archive
    cut_short: bool = False
    extracted: set[str] = field(default_factory=set)


def area_tops(areas: Iterable[str]) -> frozenset[str] | None:
    """The top-level names ``areas`` start with (nothing under any other name is unpacked); ``None`` when one
    starts with glob magic."""
    tops = {a.split("/", 1)[0] for a in areas}
    return None if any(c in t for t in tops for c in "*?[") else frozenset(tops)


class _Areas:
    """Membership test for root-relative paths: inside one of ``areas`` (a directory stands for
    everything below it; glob magic matches the path or one of its parents), not in ``excluded``."""

    def __init__(self, areas: Iterable[str], excluded: Iterable[str]) -> None:
        areas, excluded = tuple(areas), tuple(excluded)
        plain = [a for a in areas if not any(c in a for c in "*?[")]
        magic = [a for a in areas if a not in plain]
        self._plain = frozenset(plain)
        self._magic = _any_of(magic)
        self._excluded = _any_of(excluded)
        # most members (all of sys/, proc/...) are rejected by their first name alone, before any prefix is matched
        self._tops = area_tops(areas)
        # the same tests as regex bodies, for passed_over
        self._magic_bodies = _glob_bodies(magic)
        self._excluded_bodies = _glob_bodies(excluded)
        # Proper ancestors of every area: a symlink there (``lib -> usr/lib``) leads into one.
        self._ancestors = frozenset(
            "/".join(parts[:i])
            for area in areas
            for parts in [area.split("/")]
            for i in range(1, len(parts))
            if not any(c in "/".join(parts[:i]) for c in "*?[")
        )

    def contains(self, rel: str) -> bool:
        if self._tops is not None and rel.split("/", 1)[0] not in self._tops:
            return False
        parts = rel.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]
        if self._excluded is not None and any(self._excluded.match(p) for p in prefixes):
            return False
        return any(p in self._plain or (self._magic is not None and self._magic.match(p)) for p in prefixes)

    def unread(self, tree: str) -> bool:
        """Whether nothing under the report-relative directory ``tree`` is unpacked (nor looked at)."""
        return self._tops is not None and tree.split("/", 1)[0] not in self._tops

    def leads_into(self, rel: str) -> bool:
        return rel in self._ancestors

    def passed_over(self, prefix: str, marked: bool) -> re.Pattern[bytes] | None:
        """Raw member names ``_Extractor._member`` would pass over without a word: inside the report directory
        ``prefix``, with nothing it would note (``..``, too deep), not under sos's own names until the report is
        ``marked`` as one (the first such member marks it), and either under a top-level name no area starts
        with (``sys/``: most members of a report with cgroups) or, under one, outside every area (``etc/ssh``,
        ``var/lib/juju``, the outputs ``excluded`` leaves out: three quarters of what is left once ``sys/`` is
        out): ``contains``'s test made on the raw name, and not where a symlink would lead into an area. Names
        with an empty or ``.`` component are never passed over there (they are compared as written, not as they
        resolve), nor is anything there when a glob uses more than ``*`` (``?`` and ``[...]`` match a character
        in ``contains`` and would match a byte here). ``None`` when areas have glob magic in their first name."""
        if self._tops is None:
            return None
        top = re.escape(_raw(prefix)) + b"/" if prefix else b""
        # no ".." anywhere; fewer slashes than the depth limit (with room for the prefix and a trailing slash);
        # not a marker of sos's until one was seen
        head = rb"(?!(?:[^/]*/)*\.\.(?:/|\Z))(?!(?:[^/]*/){%d})" % (_MAX_DEPTH - 2)
        if not marked:
            head += rb"(?!(?:%s)(?:/|\Z))" % _alternatives(SOS_MARKERS)
        # not a top, nor "", "." or an absolute name before one
        elsewhere = rb"(?!(?:%s|\.?)(?:/|\Z))" % _alternatives(sorted(self._tops))
        if self._magic_bodies is None or self._excluded_bodies is None:
            return re.compile(top + head + elsewhere)
        clean = rb"(?!(?:[^/]*/)*\.?/)(?!(?:[^/]*/)*\.\Z)"  # every component as written: not "" nor "."
        if self._ancestors:
            clean += rb"(?!(?:%s)/?\Z)" % _alternatives(sorted(self._ancestors))
        # no plain area is it or above it, nor does a glob area match it or a directory above it
        unreached = rb"(?!(?:%s)(?:/|\Z))" % _alternatives(sorted(self._plain))
        if self._magic_bodies:
            unreached += rb"(?!(?:%s)(?:/|\Z))" % self._magic_bodies
        if self._excluded_bodies:
            unreached += rb"|(?:%s)(?:/|\Z)" % self._excluded_bodies
        return re.compile(top + head + rb"(?:%s|%s(?:%s))" % (elsewhere, clean, unreached))


def _alternatives(names: Iterable[str]) -> bytes:
    return b"|".join(re.escape(_raw(n)) for n in names)


def _raw(name: str) -> bytes:
    """A member name as its header holds it (the reader decodes with surrogateescape)."""
    return name.encode("utf-8", "surrogateescape")


def _glob_bodies(patterns: Iterable[str]) -> bytes | None:
    """``fnmatch``'s regexes for ``patterns``, without their end anchors, as one bytes alternation; ``None`` when
    one is not ASCII or uses more than ``*``, where a bytes regex would not match what ``fnmatch``'s does."""
    bodies = []
    for pattern in patterns:
        if not pattern.isascii() or any(c in pattern for c in "?["):
            return None
        translated = translate(pattern)
        body = translated.removesuffix("\\Z").removesuffix("\\z")
        if body == translated:
            return None  # a translation this code does not know
        bodies.append(body.encode("ascii"))
    return b"|".join(bodies)


def _any_of(patterns: Iterable[str]) -> re.Pattern[str] | None:
    patterns = tuple(patterns)
    return re.compile("|".join(translate(p) for p in patterns)) if patterns else None


def extract_report(archive: Path, dest: Path, areas: Iterable[str], excluded: Iterable[str], limits: Limits,
                   problems: list[Problem], watch: Watcher | None = None) -> Extraction:
    """Unpack ``areas`` but not ``excluded`` (see ``_Areas``) of ``archive`` under ``dest`` (an empty directory
    of its own), telling ``watch`` of each member as it goes; ``SourceError`` when the file is not a readable
    tar archive at all."""
    label = str(archive)
    wanted = _Areas(areas, excluded)
    result = _extract_filtered(label, archive, dest, wanted, limits, problems, watch)
    if result is not None:
        return result
    try:
        raw = open(archive, "rb")  # noqa: SIM115 - closed in the finally below
    except OSError as exc:
        raise SourceError(f"{label}: cannot open ({exc.strerror or exc})") from None
    try:
        with Prefetched(_decompressor(label, raw)) as stream:
            tar = TarReader(stream)
            try:
                first = tar.next()
            except _ARCHIVE_ERRORS as exc:
                raise SourceError(f"{label}: not a readable tar archive ({_reason(exc)})") from None
            if first is None and tar.stopped_by is not None:
                reason = "empty file" if tar.offset == 0 else tar.stopped_by
                raise SourceError(f"{label}: not a readable tar archive ({reason})")
            result = _Extractor(label, tar, dest, wanted, limits, problems, watch).run(first)
            if not (result.damaged or result.cut_short):
                _check_end(label, tar, stream, result, problems)
            return result
    finally:
        raw.close()


def _extract_filtered(label: str, archive: Path, dest: Path, wanted: _Areas, limits: Limits,
                      problems: list[Problem], watch: Watcher | None) -> Extraction | None:
    """``extract_report``'s work on the archive less the ``_TAKEN_OUT`` trees no area reads (``_tar_pipe``);
    ``None``, with ``dest`` emptied again, when anything but a clean read to the end happened (the caller then
    reads the archive itself, so every word about damage or limits is the one it always says). The trees taken
    out are neither counted in ``Extraction.members`` (nor against ``Limits.max_members``) nor looked at, so a
    ``..`` name inside one is not noted."""
    trees = [tree for tree in _TAKEN_OUT if wanted.unread(tree)]
    if not trees:
        return None
    try:
        prefix = _report_directory(label, archive)
    except (*_ARCHIVE_ERRORS, SourceError):
        return None
    if prefix is None:
        return None
    noted: list[Problem] = []
    with Filtered(archive, [f"{prefix}/{tree}" if prefix else tree for tree in trees]) as stream:
        try:
            if not stream.start():
                return None
        except OSError:
            return None
        tar = TarReader(stream)
        extractor = _Extractor(label, tar, dest, wanted, limits, noted, watch)
        try:
            result = extractor.run(tar.next())
            while not (result.damaged or result.cut_short or tar.stopped_by) and stream.read1(_DRAIN_CHUNK):
                pass
        except _ARCHIVE_ERRORS:
            result = None
        if result is not None and not (result.damaged or result.cut_short or tar.stopped_by) \
                and extractor.prefix == prefix and stream.succeeded():
            problems.extend(noted)
            return result
    _clear_keeping(dest, prefix)
    return None


def _report_directory(label: str, archive: Path) -> str | None:
    """The report's directory in ``archive`` as ``_Extractor._in_report`` will find it (``""``: none), from the
    first member it will look at; ``None`` when that is not among the first few."""
    with open(archive, "rb") as raw:
        tar = TarReader(_decompressor(label, raw))
        for _ in range(_PEEK_MEMBERS):
            member = tar.next()
            if member is None:
                return None
            parts = _parts(member.name)
            if parts and not _name_refusal(member.name, parts):
                return _top_directory(parts, member.isdir())
    return None


def _clear_keeping(directory: Path, keep: str) -> None:
    """Remove what is in ``directory``, but keep its subdirectory ``keep`` (emptied): the report's directory
    is there from the moment it is known (``SosReport``), whatever is unpacked into it again."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return  # nothing was unpacked
    for entry in entries:
        if keep and entry.name == keep and entry.is_dir(follow_symlinks=False):
            _clear_keeping(Path(entry.path), "")
        elif entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)


def _decompressor(label: str, raw: io.BufferedReader) -> io.BufferedIOBase | _inflate.Inflating:
    """A decompressing reader chosen by the archive's magic bytes (names lie; bytes do not)."""
    head = raw.read(6)
    raw.seek(0)
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if head.startswith(b"\xfd7zXZ\x00"):
        return _inflate.xz(raw)
    if head.startswith(b"BZh"):
        return _inflate.bzip2(raw)
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        raise SourceError(f"{label}: zstd-compressed archives are not supported; unpack it and "
                          "give the directory")
    return raw


def _check_end(label: str, tar: TarReader, stream: Prefetched, result: Extraction,
               problems: list[Problem]) -> None:
    """Tell a complete archive from one that merely stopped: the tar layer must have ended on
    its end-of-archive block, and the compressed stream must reach its end marker."""
    if tar.stopped_by is not None:
        result.damaged = True
        note(problems, label, f"archive is truncated or corrupt after {result.members} members "
             f"({tar.stopped_by}); kept the {result.files} files unpacked before")
        return
    try:
        while stream.read1(_DRAIN_CHUNK):
            pass
    except _ARCHIVE_ERRORS as exc:
        result.damaged = True
        note(problems, label, f"archive is truncated or corrupt after its last member "
             f"({_reason(exc)}); kept the {result.files} files unpacked")


class _Extractor:
    def __init__(self, label: str, tar: TarReader, dest: Path, areas: _Areas, limits: Limits,
                 problems: list[Problem], watch: Watcher | None) -> None:
        self.label = label
        self.watch = watch
        self.tar = tar
        self.dest = dest
        self.areas = areas
        self.limits = limits
        self.problems = problems
        self.prefix: str | None = None
        self.outside = 0
        self.writing: str | None = None  # the member being written, if reading breaks inside it
        self.landed = ""  # where the member being handled is (``Watcher``)
        # Thousands of members share a few hundred directories: where each leads (physically) and which were
        # made are remembered until a link is made or a file removed (``_forget_directories``).
        self.real_root: str | None = None
        self.real_dirs: dict[str, str] = {}
        self.made: set[Path] = set()
        self.result = Extraction(root=dest)

    def run(self, first: tarfile.TarInfo | None) -> Extraction:
        result = self.result
        current = "(none: at the start)"
        member = first
        try:
            while member is not None:
                current = member.name
                result.members = self.tar.members
                if result.members > self.limits.max_members:
                    note(self.problems, self.label, f"more than {self.limits.max_members} members; "
                         f"stopped reading at {member.name!r}")
                    result.cut_short = True
                    break
                if not self._member(member):
                    result.cut_short = True
                    break
                member = self.tar.next()
        except _ARCHIVE_ERRORS as exc:
            result.damaged = True
            where = f"inside member {current!r}" if self.writing else f"after member {current!r}"
            note(self.problems, self.label, f"archive is truncated or corrupt {where} ({_reason(exc)}); "
                 f"kept the {result.files} files unpacked before")
            if self.writing is not None and os.path.isfile(self.result.root / self.writing):
                # The start of a cut log is still evidence; say that the rest is missing.
                note(self.problems, self.writing, "cut short by the damaged archive; only its start is kept")
        result.members = self.tar.members  # with the members passed over after the last one handled
        if self.outside:
            note(self.problems, self.label, f"{self.outside} members outside the report directory "
                 f"{self.prefix!r} skipped")
        return result

    def _member(self, member: tarfile.TarInfo) -> bool:
        """Handle one member; ``False`` to stop reading the archive."""
        parts = _parts(member.name)
        refusal = _name_refusal(member.name, parts)
        if refusal:
            note(self.problems, self.label, refusal)
            return True
        if not parts:
            return True
        rel_parts = self._in_report(parts, member)
        if rel_parts is None:
            return True
        rel = "/".join(rel_parts)
        if rel_parts[0] in SOS_MARKERS and not self.result.is_sosreport:
            self.result.is_sosreport = True
            self.tar.skip = self.areas.passed_over(self.prefix or "", marked=True)
        self.landed = rel
        go_on = member.isdir() or not (
            self.areas.contains(rel) or (member.issym() and self.areas.leads_into(rel))
        ) or self._unpack(member, rel)  # directories are made as files need them
        if self.watch is not None:
            self.watch(self.prefix or "", self.landed, member.isdir())
        return go_on

    def _in_report(self, parts: list[str], member: tarfile.TarInfo) -> list[str] | None:
        """``parts`` relative to the report root, or ``None`` for the top directory itself or a
        member outside it. The first member decides whether there is a top directory."""
        if self.prefix is None:
            self.prefix = _top_directory(parts, member.isdir())
            self.result.root = self.dest / self.prefix
            self.tar.skip = self.areas.passed_over(self.prefix, marked=False)
            self.tar.skip_until = self.limits.max_members
        if not self.prefix:
            return parts
        if parts[0] != self.prefix:
            self.outside += 1
            return None
        return parts[1:] or None

    def _unpack(self, member: tarfile.TarInfo, rel: str) -> bool:
        """Unpack one wanted member; ``False`` when the total cap ends reading."""
        limits = self.limits
        fits = member.size <= limits.max_member_bytes  # a file over the per-file cap is only skipped
        if member.isfile() and fits and self.result.bytes + member.size > limits.max_total_bytes:
            note(self.problems, self.label, f"total unpack cap of {size(limits.max_total_bytes)} "
                 f"reached at {rel!r}; the rest of the archive was not read")
            return False
        refusal = self._refusal(member, rel)
        if refusal:
            note(self.problems, rel, refusal)
            return True
        target = self.result.root / rel
        try:
            if _replaceable(target):
                os.unlink(target)  # a later member replaces an earlier one, never writes through it
                self._forget_directories()
            if target.parent not in self.made:
                target.parent.mkdir(parents=True, exist_ok=True)
                self.made.add(target.parent)
            if member.islnk():
                self._forget_directories()
                self._hardlink(member, target)
            elif member.issym():
                self._forget_directories()
                os.symlink(member.linkname, target)
            else:
                self.writing = rel
                self._write(member, target)
                self.writing = None
        except OSError as exc:
            note(self.problems, rel, f"could not be unpacked ({exc.strerror or exc}); skipped")
            return True
        self.result.extracted.add(rel)
        if member.isfile():
            self.result.files += 1
            self.result.bytes += member.size
        return True

    def _forget_directories(self) -> None:
        """A link made or a file removed can change where a directory leads: resolve and make them again."""
        self.made.clear()
        self.real_dirs.clear()

    def _refusal(self, member: tarfile.TarInfo, rel: str) -> str:
        """Why ``member`` must not be unpacked ("" when it may)."""
        if self.real_root is None:
            self.real_root = os.path.realpath(self.result.root)
        root = self.real_root
        directory = posixpath.dirname(rel)
        parent = self.real_dirs.get(directory)
        if parent is None:
            parent = self.real_dirs[directory] = os.path.realpath(os.path.join(root, directory))
        if not _within(parent, root):
            return f"its directory leads outside the report (to {parent}); skipped"
        if parent != os.path.join(root, directory).rstrip(os.sep):  # a symlinked directory takes it elsewhere
            self.landed = os.path.relpath(os.path.join(parent, posixpath.basename(rel)), root)
        if member.issym():
            link = member.linkname
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(rel), link))
            physical = os.path.realpath(os.path.join(parent, link))
            if link.startswith("/") or resolved == ".." or resolved.startswith("../") \
                    or not _within(physical, root):
                return f"symlink to {link!r} leads outside the report; skipped"
            return ""
        if member.islnk():
            target = self._report_relative(member.linkname)
            if target is None or target not in self.result.extracted or not self._regular_inside(target, root):
                return f"hardlink to {member.linkname!r}, not an unpacked file of the report; skipped"
            return ""
        if not member.isfile() or member.issparse():
            return f"special file ({_type_name(member)}); skipped"
        cap = self.limits.max_member_bytes
        if member.size > cap:
            return f"{size(member.size)}, over the per-file cap of {size(cap)}; skipped"
        return ""

    def _report_relative(self, archive_name: str) -> str | None:
        parts = [p for p in archive_name.split("/") if p not in ("", ".")]
        if archive_name.startswith("/") or ".." in parts:
            return None
        if self.prefix:
            if not parts or parts[0] != self.prefix:
                return None
            parts = parts[1:]
        return "/".join(parts) or None

    def _regular_inside(self, rel: str, root: str) -> bool:
        """Whether ``rel`` is now a regular file inside the report. A hardlink to a symlink would copy the link
        to where its relative target means something else (outside, even); and what an earlier member's path
        leads to may have changed since it was unpacked, through links made after it."""
        path = os.path.join(self.result.root, rel)
        try:
            regular = stat.S_ISREG(os.lstat(path).st_mode)
        except OSError:
            return False
        return regular and _within(os.path.realpath(path), root)

    def _hardlink(self, member: tarfile.TarInfo, target: Path) -> None:
        source = self.result.root / (self._report_relative(member.linkname) or "")
        os.link(source, target, follow_symlinks=False)

    def _write(self, member: tarfile.TarInfo, target: Path) -> None:
        """The member's data, read from the stream where it stands, into a new file."""
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with open(fd, "wb") as out:
            self.tar.copy_to(out, member.size)


def _parts(name: str) -> list[str]:
    return [p for p in name.split("/") if p not in ("", ".")]


def _name_refusal(name: str, parts: list[str]) -> str:
    """Why a member is refused by its name alone ("" when it is not)."""
    if name.startswith("/") or ".." in parts:
        return f"member {name!r}: absolute or '..' path; skipped"
    if len(parts) > _MAX_DEPTH:
        return f"member {name[:60]!r}...: {len(parts)} directories deep; skipped"
    return ""


def _top_directory(parts: list[str], is_dir: bool) -> str:
    """The report's directory in the archive, decided by its first member (``""``: there is none)."""
    flat = parts[0] in _REPORT_TOP or (len(parts) == 1 and not is_dir)
    return "" if flat else parts[0]


def _replaceable(target: Path) -> bool:
    """Whether ``target`` is a file or a link (one ``lstat``: a link's own type)."""
    try:
        mode = os.lstat(target).st_mode
    except OSError:  # absent, or a parent is not a directory: nothing to replace
        return False
    return stat.S_ISLNK(mode) or stat.S_ISREG(mode)


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def _type_name(member: tarfile.TarInfo) -> str:
    if member.issparse():
        return "sparse file"
    for test, name in ((member.ischr, "character device"), (member.isblk, "block device"),
                       (member.isfifo, "fifo")):
        if test():
            return name
    return f"tar type {member.type!r}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "compressed data ends early"
    if type(exc).__name__ == "EmptyHeaderError":  # not public either
        return "ends without the end-of-archive block"
    return str(exc) or type(exc).__name__
