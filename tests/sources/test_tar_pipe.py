"""The system's xz and GNU tar take sys/ out of a report before Python reads it: the unpacked tree and every
word about it are those of reading the archive in Python alone, whatever the compression, whichever of the
trees is there, damaged or not, with or without the tools; only the members taken out go uncounted."""

from __future__ import annotations

import contextlib
import lzma
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from ostriage.sources import _tar_pipe
from ostriage.sources._tar_pipe import Filtered
from ostriage.sources._tarball import Extraction, Limits, extract_report
from ostriage.sources.base import Problem
from ostriage.sources.catalog import EXTRACTION_EXCLUDED, extraction_areas

from .builders import MINIMAL, Member, file, symlink, write_tar
from .test_tarball_safety import python_only

TOP = "sosreport-host-2025"
CGROUPS = tuple(file(f"{TOP}/sys/fs/cgroup/memory/s{i}.slice/memory.max", b"max\n") for i in range(300))
BOOT = (file(f"{TOP}/boot/grub/grub.cfg", "set default=0\n"),)
READ = (
    file(f"{TOP}/etc/neutron/neutron.conf", "[ml2_type_geneve]\nvni_ranges = 1:16777215\n"),
    symlink(f"{TOP}/etc/neutron/plugin.ini", "plugins/ml2/ml2_conf.ini"),
    file(f"{TOP}/etc/neutron/plugins/ml2/ml2_conf.ini", "[ml2]\n"),
    file(f"{TOP}/sys.tgz", b"\x1f\x8b not read"),  # beside sys/, not in it: kept by tar, passed over here
    file(f"{TOP}/var/log/neutron/neutron-server.log", "2026-12-01 10:00:00.000 1 INFO neutron started\n" * 50),
)
needs_tools = pytest.mark.skipif(not (shutil.which("tar") and shutil.which("xz")), reason="needs tar and xz")


@pytest.fixture(autouse=True)
def _patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """What is counted here (the members the tools took out, a tar still running) holds while the tools are not
    given up on: on a machine starved for ``PATIENCE`` seconds (a job at real-time priority beside the tests)
    the run falls back to Python, right but not what is asserted. The watchdog's own test sets its own."""
    monkeypatch.setattr(_tar_pipe, "PATIENCE", 120.0)


def _report(members: tuple[Member, ...]) -> tuple[Member, ...]:
    """Members in the order sos writes them (``tarfile.add``: sorted by path)."""
    return tuple(sorted(members, key=lambda m: m.name.split("/")))


def _extract(archive: Path, dest: Path, limits: Limits | None = None) -> tuple[Extraction, list[Problem], dict]:
    limits = limits or Limits()
    problems: list[Problem] = []
    result = extract_report(archive, dest, extraction_areas(), EXTRACTION_EXCLUDED, limits, problems)
    tree = {}
    for path in sorted(dest.rglob("*")):
        rel = str(path.relative_to(dest))
        tree[rel] = os.readlink(path) if path.is_symlink() else path.read_bytes() if path.is_file() else "dir"
    return result, problems, tree


def _same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archive: Path) -> tuple[Extraction, Extraction]:
    """Extract with the tools and without; the trees and problems must be equal. Returns both results."""
    piped, piped_problems, piped_tree = _extract(archive, tmp_path / "piped")
    with monkeypatch.context() as patch:
        python_only(patch, tmp_path)
        alone, alone_problems, alone_tree = _extract(archive, tmp_path / "alone")
    assert piped_tree == alone_tree
    assert alone_problems == piped_problems
    assert (piped.files, piped.bytes, piped.is_sosreport, piped.damaged, piped.cut_short, piped.extracted) \
        == (alone.files, alone.bytes, alone.is_sosreport, alone.damaged, alone.cut_short, alone.extracted)
    return piped, alone


@needs_tools
@pytest.mark.parametrize("compression", ["xz", "gz", "bz2", ""])
def test_a_report_with_cgroups_unpacks_the_same_and_its_sys_tree_is_never_looked_at(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compression: str) -> None:
    if compression and not shutil.which({"xz": "xz", "gz": "gzip", "bz2": "bzip2"}[compression]):
        pytest.skip(f"no {compression} decompressor installed")
    archive = write_tar(tmp_path / "report.tar", _report((*MINIMAL, *CGROUPS, *BOOT, *READ)), compression)
    piped, alone = _same(tmp_path, monkeypatch, archive)
    assert alone.members == len(MINIMAL) + len(CGROUPS) + len(BOOT) + len(READ)
    assert piped.members == alone.members - len(CGROUPS) - len(BOOT)  # taken out before Python read a header


@needs_tools
@pytest.mark.parametrize("trees", [(), (CGROUPS,), (BOOT,)], ids=["neither", "sys only", "boot only"])
def test_a_tree_missing_from_the_report_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        trees: tuple[tuple[Member, ...], ...]) -> None:
    """GNU tar complains of a name it does not find, and copies nothing at all when it finds none."""
    members = _report((*MINIMAL, *(m for tree in trees for m in tree), *READ))
    piped, alone = _same(tmp_path, monkeypatch, write_tar(tmp_path / "report.tar.xz", members))
    if trees:  # one name found: the complaint about the other is taken, and the tree found went unseen
        assert piped.members == alone.members - len(trees[0])


@needs_tools
def test_a_flat_archive_and_members_outside_the_report_are_handled_as_ever(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    flat = tuple(Member(m.name.removeprefix(f"{TOP}/"), m.data, m.kind, m.link) for m in (*MINIMAL[1:], *CGROUPS))
    piped, _ = _same(tmp_path / "flat", monkeypatch, write_tar(_dir(tmp_path / "flat") / "r.tar.xz", _report(flat)))
    assert piped.members == 2
    outside = (*MINIMAL, *CGROUPS, file("other/sys/fs/cgroup/x", "1\n"), file("other/etc/hostname", "h\n"))
    _same(tmp_path / "outside", monkeypatch, write_tar(_dir(tmp_path / "outside") / "r.tar.xz", outside))


@needs_tools
@pytest.mark.parametrize("cut", [0.5, 0.9, -6])
def test_a_damaged_archive_says_what_reading_it_alone_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           cut: float) -> None:
    archive = write_tar(tmp_path / "whole.tar.xz", _report((*MINIMAL, *CGROUPS, *BOOT, *READ)))
    data = archive.read_bytes()
    damaged = tmp_path / "report.tar.xz"
    damaged.write_bytes(data[:int(len(data) * cut)] if cut > 0 else data[:int(cut)])
    piped, _ = _same(tmp_path, monkeypatch, damaged)
    assert piped.damaged


@needs_tools
def test_a_cut_tar_inside_sound_compression_is_given_up_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GNU tar 1.34's ``--delete`` spins for ever at the end of a cut archive; xz, whole, ends well. Once neither
    moves for ``PATIENCE`` seconds the tools are stopped and the archive is read as if they were not there."""
    monkeypatch.setattr(_tar_pipe, "PATIENCE", 1.0)
    plain = write_tar(tmp_path / "whole.tar", _report((*MINIMAL, *CGROUPS, *BOOT, *READ)), "")
    cut = tmp_path / "report.tar.xz"
    cut.write_bytes(lzma.compress(plain.read_bytes()[:plain.stat().st_size // 2], format=lzma.FORMAT_XZ))
    piped, _ = _same(tmp_path, monkeypatch, cut)
    assert piped.damaged


@needs_tools
def test_a_tar_that_is_not_gnu_tar_leaves_the_reading_to_python(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """busybox and bsdtar have no ``--delete``: they fail, and the archive is read as if no tool were there."""
    tools = _dir(tmp_path / "tools")
    (tools / "tar").write_text("#!/bin/sh\necho \"tar: unrecognized option '--delete'\" >&2\nexit 1\n")
    (tools / "tar").chmod(0o755)
    (tools / "xz").symlink_to(shutil.which("xz") or "xz")
    archive = write_tar(tmp_path / "report.tar.xz", _report((*MINIMAL, *CGROUPS, *READ)))
    monkeypatch.setenv("PATH", str(tools))
    result, problems, tree = _extract(archive, tmp_path / "out")
    assert problems == [] and result.members == len(MINIMAL) + len(CGROUPS) + len(READ)
    assert f"{TOP}/etc/neutron/neutron.conf" in tree


@needs_tools
def test_the_member_cap_counts_what_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python's reading counts every member against ``max_members`` (cgroups included); after GNU tar took
    sys/ out, only the members Python reads count, so a report whose cgroups alone pass the cap is read whole."""
    archive = write_tar(tmp_path / "report.tar.xz", _report((*MINIMAL, *CGROUPS, *READ)))
    limits = Limits(max_members=100)
    piped, problems, tree = _extract(archive, tmp_path / "piped", limits)
    assert not piped.cut_short and problems == [] and f"{TOP}/var/log/neutron/neutron-server.log" in tree
    python_only(monkeypatch, tmp_path)
    alone, problems, _ = _extract(archive, tmp_path / "alone", limits)
    assert alone.cut_short and "more than 100 members" in problems[0].message


@needs_tools
def test_what_is_inside_a_tree_taken_out_is_neither_unpacked_nor_noted(tmp_path: Path) -> None:
    """Python, passing sys/ over by name, would note a ``..`` name there (``test_tarball_safety``); GNU tar
    takes it out with the rest of the tree, unread: nothing of it reaches the disk either way."""
    archive = write_tar(tmp_path / "report.tar.xz", _report((*MINIMAL, *CGROUPS, file(f"{TOP}/sys/../../evil", "x"),
                                                             *READ)))
    result, problems, _ = _extract(archive, tmp_path / "out")
    assert problems == [] and not list(tmp_path.rglob("evil"))
    assert result.members == len(MINIMAL) + len(READ)


@needs_tools
def test_a_plain_archive_cut_at_a_member_s_end_is_read_by_python(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """GNU tar would end it as if it were whole; the file's own end tells it is not, so the damage is said."""
    whole = write_tar(tmp_path / "whole.tar", _report((*MINIMAL, *CGROUPS, *READ)), "")
    cut = tmp_path / "report.tar"
    cut.write_bytes(whole.read_bytes()[:-10240])  # the end blocks and the record's padding
    piped, _ = _same(tmp_path, monkeypatch, cut)
    assert piped.damaged


@needs_tools
def test_the_user_s_tar_and_xz_options_change_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``TAR_OPTIONS=--ignore-case`` would take ``SYS/`` out with ``sys/``, and ``--ignore-zeros`` read a second
    archive past the first one's end: the tools' environment drops them (and ``XZ_OPT``...)."""
    members = _report((*MINIMAL, *CGROUPS, file(f"{TOP}/SYS/keep", "kept\n"), *READ))
    monkeypatch.setenv("TAR_OPTIONS", "--ignore-case")
    monkeypatch.setenv("XZ_OPT", "--single-stream")
    piped, _ = _same(_dir(tmp_path / "case"), monkeypatch, write_tar(tmp_path / "report.tar.xz", members))
    assert piped.members == len(members) - len(CGROUPS)  # the tools were used, and left SYS/ to Python
    # GNU tar stops at the first archive's end, so xz may die writing the second one (SIGPIPE): then Python
    # reads it alone, which is why only the result is compared here
    first = write_tar(tmp_path / "first.tar", members, "")
    second = write_tar(tmp_path / "second.tar", (file(f"{TOP}/etc/hostname", "after-the-end\n"),), "")
    both = tmp_path / "both.tar.xz"
    both.write_bytes(lzma.compress(first.read_bytes() + second.read_bytes()))
    monkeypatch.setenv("TAR_OPTIONS", "--ignore-zeros")
    _same(_dir(tmp_path / "zeros"), monkeypatch, both)
    assert not (tmp_path / "zeros" / "piped" / TOP / "etc/hostname").exists()


@needs_tools
def test_names_with_backslashes_are_taken_literally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r"""GNU tar unquotes the names it is given by default: ``r\101/sys`` would be ``rA/sys``, outside the
    report, whose members must still be counted as outside it."""
    top = "sosreport-r\\101"
    members = (Member(top, kind=b"5"), *(Member(m.name.replace(TOP, top, 1), m.data, m.kind, m.link)
                                         for m in _report((*MINIMAL[1:], *CGROUPS, *BOOT, *READ))),
               file("sosreport-rA/sys/fs/cgroup/x", "1\n"), file("sosreport-rA/boot/x", "1\n"))
    piped, _ = _same(tmp_path, monkeypatch, write_tar(tmp_path / "report.tar.xz", members))
    assert piped.members == len(members) - len(CGROUPS) - len(BOOT)  # the report's own sys/ and boot/ only


@needs_tools
@pytest.mark.skipif(not shutil.which("setpriv"), reason="needs util-linux's setpriv")
def test_the_tools_die_with_the_process_that_started_them(tmp_path: Path) -> None:
    """GNU tar 1.34 spins for ever at the end of a cut archive and writes nothing more, so no closed pipe ends
    it: killed with its starter (the head-start child when the run ends, or anything SIGKILLed), it must go."""
    plain = write_tar(tmp_path / "whole.tar", _report((*MINIMAL, *CGROUPS, *READ)), "")
    cut = tmp_path / "cut.tar.xz"  # sound xz, so only the watchdog would end tar
    cut.write_bytes(lzma.compress(plain.read_bytes()[:plain.stat().st_size // 2]))
    marker = f"{TOP}-{os.getpid()}-{tmp_path.name}/boot"  # a name to find the process by (not in the archive)
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's exit is its report
        try:
            with Filtered(cut, [f"{TOP}/sys", marker]) as stream:
                stream.start()
                while stream.read1(65536):
                    pass
        finally:
            os._exit(0)
    deadline = time.monotonic() + 30
    while not _running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert _running(marker), "tar never started"
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        deadline = time.monotonic() + 30
        while _running(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(marker), "tar outlived the process that started it"
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):  # a child left running if this failed
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
        for pid in _running(marker):  # what this test started, left spinning if it failed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _running(marker: str) -> list[int]:
    """The processes that have ``marker`` among their arguments (the name tar was given)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                found.append(int(pid))
        except OSError:
            continue
    return found


@needs_tools
def test_the_tools_are_gone_once_the_stream_is_closed(tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "report.tar.xz", _report((*MINIMAL, *CGROUPS, *READ)))
    with Filtered(archive, [f"{TOP}/sys"]) as stream:
        assert stream.start()
        assert stream.read1(512)  # the stream is left unread: the tools wait on the pipe
        processes = list(stream._procs)
    assert len(processes) == 2 and all(p.returncode is not None for p in processes)


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
