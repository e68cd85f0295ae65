"""A tarball read while it is unpacked: a path is read only once the archive is past it, and what is read then
is what the finished tree holds; an archive out of sos's order, a damaged one or a child that dies is read
again from the finished tree, with the same answers as unpacking in process."""

from __future__ import annotations

import contextlib
import os
import pickle
import posixpath
import signal
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ostriage import unpack_ahead
from ostriage.sources._tarball import Extraction, Limits, area_tops, extract_report
from ostriage.sources._tree import Tree
from ostriage.sources.base import Problem
from ostriage.sources.sosreport import SosReport, unpacked_tops
from ostriage.unpack_ahead import settled

from .builders import MINIMAL, file, symlink, write_tar

AREAS = ("etc", "sos_commands", "var/log")
TOPS = area_tops(AREAS)
NAMES = ("a", "a.b", "b", "log", "x", "y", "y.1")
DIRECTORIES = ("etc", "etc/a", "etc/a.b", "sos_commands", "sos_commands/a", "sys", "sys/a", "var", "var/log",
               "var/log/a", "var/lib")
# links that stay inside the report, to files and to directories, earlier and later in the archive
LINKS = (("etc/b", "../var/log/x"), ("etc/log", "../var/log"), ("var/log/b", "../../etc/a/x"),
         ("sos_commands/b", "a"), ("etc/a/y", "../../sos_commands/a/x"), ("var/log/y", "nowhere"))
GLOBS = ("etc/*", "etc/*/*", "var/log/*", "etc/log/*", "**/x", "var/**", "*/a/*", "sos_commands/**/y*")


class NotYet(Exception):
    """The gate of a test that looks without waiting: this path is not settled yet."""


@pytest.fixture(autouse=True)
def _nothing_pending() -> Iterator[None]:
    assert unpack_ahead._pending is None
    yield
    unpack_ahead._abandon()


def _build(top: Path, files: list[str], links: list[tuple[str, str]]) -> None:
    for rel in files:
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        if not (top / rel).exists():
            (top / rel).write_text(f"{rel}\n" * (1 + len(rel) % 3))
    for rel, target in links:
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        if not os.path.lexists(top / rel):
            (top / rel).symlink_to(target)


def _answer(tree: Tree, question: str) -> object:
    """What the readers of a report ask of a tree: where a path leads and what it holds, the files of a log
    with its rotations, what a glob matches (directory listings)."""
    kind, _, arg = question.partition(" ")
    if kind == "glob":
        return tree.glob(arg)
    if kind == "log":
        return [f.shown for f in tree.log_files(arg)]
    real = tree.resolve(arg)
    if real is None:
        return None
    return tree.relative(real), Path(real).read_bytes() if os.path.isfile(real) else "directory"


def _questions(paths: list[str]) -> list[str]:
    rels = sorted({*paths, *DIRECTORIES, *(posixpath.join(d, n) for d in DIRECTORIES for n in NAMES)})
    return [*(f"resolve {r}" for r in rels), *(f"log {r}" for r in rels), *(f"glob {g}" for g in GLOBS)]


@settings(max_examples=60, deadline=None)
@given(files=st.lists(st.tuples(st.sampled_from(DIRECTORIES), st.sampled_from(NAMES)), min_size=1, max_size=12),
       links=st.lists(st.sampled_from(LINKS), max_size=3))
def test_a_settled_path_reads_as_in_the_finished_tree(files: list[tuple[str, str]],
                                                      links: list[tuple[str, str]]) -> None:
    """After every member of an archive made as sos makes it (``tarfile.add``: sorted), every question whose
    paths are settled gets the answer the finished tree gives."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        top = work / "sosreport-host"
        top.mkdir()
        # a name cannot be both a file and a directory: files whose path is a directory of another are dropped
        wanted = [f"{d}/{n}" for d, n in files]
        wanted = [w for w in wanted if not any(o.startswith(w + "/") for o in [*wanted, *DIRECTORIES])]
        chosen = [(rel, target) for rel, target in links
                  if not any(o == rel or o.startswith(rel + "/") or rel.startswith(o + "/") for o in wanted)]
        _build(top, wanted, chosen)
        with tarfile.open(work / "report.tar", "w") as tar:
            tar.add(top, arcname=top.name)
        questions = _questions(wanted)
        dest = work / "out"
        (dest / top.name).mkdir(parents=True)  # as SosReport makes it when it starts reading
        at: list[tuple[tuple[str, ...], bool]] = []
        seen: list[dict[str, object]] = []

        def gate(rel: str, what: int) -> None:
            if rel and TOPS is not None and rel.split("/", 1)[0] not in TOPS:
                return  # never unpacked: SosReport does not wait there
            last, is_dir = at[-1] if at else (None, False)
            if not settled(last, is_dir, tuple(p for p in rel.split("/") if p), what):
                raise NotYet(rel)

        def watch(_prefix: str, rel: str, is_dir: bool) -> None:
            at.append((tuple(rel.split("/")), is_dir))
            answers: dict[str, object] = {}
            for question in questions:
                with contextlib.suppress(NotYet):
                    answers[question] = _answer(Tree(dest / top.name, [], str, static=True, gate=gate), question)
            seen.append(answers)

        problems: list = []
        extract_report(work / "report.tar", dest, AREAS, (), Limits(), problems, watch)
        assert problems == []
        assert [a for a, _ in at] == sorted(a for a, _ in at)  # tarfile.add's order, as sos writes
        final = {q: _answer(Tree(dest / top.name, [], str, static=True), q) for q in questions}
        for answers in seen:
            assert {k: v for k, v in answers.items() if final[k] != v} == {}


def test_a_head_start_is_read_while_it_unpacks_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An archive in sos's order: read through the stream, finished, nothing to read again."""
    tree = tmp_path / "sosreport-host-2025"
    _build(tree, ["version.txt", "etc/hostname", "sos_commands/date/date", "var/log/syslog"],
           [("etc/neutron/loop", "loop")])  # read, and noted as a problem
    report = tmp_path / "report.tar.xz"
    with tarfile.open(report, "w:xz") as tar:
        tar.add(tree, arcname=tree.name)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where ``scratch`` unpacks
    in_process = SosReport(report)
    unpack_ahead.begin(["diagnose", str(report)])
    ahead = SosReport(report)
    lines = [line.text for line in ahead.read_lines("/var/log/syslog") or ()]
    assert ahead.read_lines("/etc/neutron/loop") is None is in_process.read_lines("/etc/neutron/loop")
    assert ahead.finish() is True
    assert lines == [line.text for line in in_process.read_lines("/var/log/syslog") or ()] == ["var/log/syslog"] * 3
    assert (ahead.root.name, ahead.problems) == (in_process.root.name, in_process.problems)
    assert [p.message for p in ahead.problems] == ["symlink loop; not read"]
    ahead.close()
    in_process.close()


@pytest.mark.parametrize("case", ["out of order", "damaged", "child killed at once", "child killed while read"])
def test_what_may_have_been_read_wrong_is_read_again(case: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    members = [*MINIMAL, file("sosreport-host-2025/var/log/syslog", "late\n"),
               file("sosreport-host-2025/etc/hostname", "ctl\n"),  # after var/: not sos's order
               symlink("sosreport-host-2025/var/log/messages", "syslog")]
    if case != "out of order":
        members = sorted(members, key=lambda m: tuple(m.name.split("/")))
    if case == "damaged":
        members.insert(1, file("/etc/passwd", "root\n"))  # absolute: skipped, and said
    report = write_tar(tmp_path / "report.tar.xz", members)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where ``scratch`` unpacks
    in_process = SosReport(report)
    unpack_ahead.begin(["diagnose", str(report)])
    pending = unpack_ahead._pending
    assert pending is not None
    if case == "child killed at once":
        os.kill(pending.pid, signal.SIGKILL)
    ahead = SosReport(report)
    if case == "child killed while read":
        os.kill(pending.pid, signal.SIGKILL)
    first = [line.text for line in ahead.read_lines("/etc/hostname") or ()]
    finished = ahead.finish()
    if case == "damaged":  # the extraction noted what the first reading did not have; what it read had settled
        assert (finished, first) == (False, ["ctl"])
    again = [line.text for line in ahead.read_lines("/etc/hostname") or ()]
    assert again == ["ctl"]
    assert (ahead.glob("/var/log/*"), ahead.problems) == (in_process.glob("/var/log/*"), in_process.problems)
    assert sorted(p.relative_to(ahead.root) for p in ahead.root.rglob("*")) == \
        sorted(p.relative_to(in_process.root) for p in in_process.root.rglob("*"))
    directory = ahead.root.parent
    ahead.close()
    in_process.close()
    assert not directory.exists()


class _PlayedChild:
    """The child's side of the protocol played by the test, member by member, so that what the parent reads
    and when is decided here: the files are written into the directory, then told (``_Teller``)."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.archive = write_tar(tmp_path / "report.tar.xz", MINIMAL)  # only its identity is looked at
        self.directory = tmp_path / "unpacked"
        self.directory.mkdir()
        reader, self.writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # a child for the parent to reap, as the real one is
            os._exit(0)
        st = self.archive.stat()
        identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        monkeypatch.setattr(unpack_ahead, "_pending",
                            unpack_ahead._Pending(str(self.archive), identity, pid, reader, str(self.directory)))
        self.teller = unpack_ahead._Teller(self.writer, unpacked_tops())
        self.problems: list = []
        self.extracted: set[str] = set()

    def member(self, rel: str, data: str | None = None) -> None:
        if data is not None:
            path = self.directory / "top" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(data)
            self.extracted.add(rel)
        self.teller.member("top", rel, data is None)

    def end(self) -> None:
        result = Extraction(root=self.directory / "top", files=len(self.extracted), is_sosreport=True,
                            extracted=self.extracted)
        unpack_ahead._tell_end(self.writer, pickle.dumps(("done", result, self.problems, self.teller.ordered)))
        os.close(self.writer)


@pytest.fixture
def child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[_PlayedChild]:
    """A played child; a read that waits for a frame the test never tells would wait for ever: it fails instead."""
    def waited_too_long(_signum: int, _frame: object) -> None:
        raise TimeoutError("a read waited for a frame the test never told")

    previous = signal.signal(signal.SIGALRM, waited_too_long)
    signal.alarm(120)
    try:
        yield _PlayedChild(tmp_path, monkeypatch)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_path_read_on_the_order_the_archive_then_breaks_is_read_again(child: _PlayedChild) -> None:
    child.member("etc", None)
    child.member("etc/hostname", "ctl\n")
    child.member("sos_commands", None)
    child.member("sos_commands/date", None)
    child.member("sos_commands/date/date", "Thu Feb 10 16:19:17 UTC 2022\n")
    report = SosReport(child.archive)
    assert report.glob("/etc/*") == ["/etc/hostname"]  # etc/ is behind: read on the order
    child.member("var", None)
    child.member("etc/passwd", "root:x:0:0\n")  # etc/ again: the order is broken after it was relied on
    child.end()
    assert report.finish() is False
    assert report.glob("/etc/*") == ["/etc/hostname", "/etc/passwd"]
    report.close()


def test_an_archive_known_out_of_order_before_reading_is_read_once_at_its_end(child: _PlayedChild) -> None:
    child.member("version.txt", "4.0\n")
    child.member("etc/hostname", "ctl\n")  # before version.txt in sos's order: told at once
    report = SosReport(child.archive)
    child.member("var/log/syslog", "x\n")
    child.member("etc/passwd", "root:x:0:0\n")
    child.end()
    assert report.glob("/etc/*") == ["/etc/hostname", "/etc/passwd"]  # waited for the end
    assert report.finish() is True  # nothing was read on the order: nothing to read again
    report.close()


def test_what_the_extraction_noted_makes_the_report_read_again(child: _PlayedChild) -> None:
    child.member("etc/hostname", "ctl\n")
    report = SosReport(child.archive)
    assert [line.text for line in report.read_lines("/etc/hostname") or ()] == ["ctl"]
    child.problems.append(Problem("report.tar.xz", "member '/etc/shadow': absolute or '..' path; skipped"))
    child.end()
    assert report.finish() is False
    assert report.problems == child.problems
    report.close()


def test_a_child_gone_without_its_end_means_the_tarball_is_unpacked_here(child: _PlayedChild) -> None:
    child.member("etc/hostname", "half")  # what a killed child may leave
    report = SosReport(child.archive)
    os.close(child.writer)  # gone, without its last frame
    assert report.finish() is False
    assert [line.text for line in report.read_lines("/version.txt") or ()] == ["sosreport: 4.5.6"]
    assert report.read_lines("/etc/hostname") is None  # the archive has none: what the child left is gone
    report.close()


@pytest.mark.parametrize(("members", "why"), [
    ([file("top/sos_commands/aaa/x", "old"), symlink("top/sos_commands/zzz", "aaa"),
      file("top/sos_commands/zzz/x", "new")], "written through a link, back where the archive had been"),
    ([file("top/etc/neutron/a", "a"), symlink("top/etc/neutron/b", "../../opt"), file("top/etc/neutron/b/x", "x")],
     "written through a link, where nothing is unpacked"),
    ([file("top/etc/neutron/a", "a"), file("top/etc/neutron/a", "again")], "the same path twice"),
])
def test_a_member_out_of_sos_s_order_is_told_at_once(members: list, why: str, tmp_path: Path) -> None:
    """What the child tells for members in sorted order but not landing in it: out of order, so the parent waits
    for the end (``_Teller``, with the extraction's own ``watch``)."""
    archive = write_tar(tmp_path / "report.tar", [file("top/sos_commands/date/date", "x"), *members],
                        compression="")
    reader, writer = os.pipe()
    teller = unpack_ahead._Teller(writer, unpacked_tops())
    extract_report(archive, tmp_path / "out", ("etc/neutron", "sos_commands"), (), Limits(), [], teller.member)
    os.close(writer)
    with os.fdopen(reader, "rb") as frames:
        told = frames.read()
    assert teller.ordered is False, why
    assert b"U\x00\x00\x00\x00" in told  # the mark, at once
