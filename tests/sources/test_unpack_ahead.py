"""The head start: a tarball target unpacked by a child while the program loads, taken only when it is the
very file asked for, with nothing left behind when it is not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ostriage import unpack_ahead
from ostriage.sources.sosreport import Limits, SosReport

from .builders import MINIMAL, file, write_tar

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def report(tmp_path: Path) -> Path:
    return write_tar(tmp_path / "sosreport-host.tar.xz", [*MINIMAL, file("sosreport-host-2025/etc/hostname", "ctl\n")])


@pytest.fixture(autouse=True)
def _nothing_pending() -> Iterator[None]:
    assert unpack_ahead._pending is None
    yield
    unpack_ahead._abandon()  # what a failed test left


@pytest.mark.parametrize(("argv", "first"), [
    (["diagnose", "R"], "R"),
    (["diagnose", "--format", "json", "-o", "out.json", "--color", "never", "-q", "R", "other.tar.xz"], "R"),
    (["diagnose", "--format=json", "--", "R"], "R"),
    (["diagnose", "--root", "/", "R"], None),
    (["diagnose", "--root=/", "R"], None),
    (["diagnose", "--help", "R"], None),
    (["lint", "R"], None),
    (["diagnose"], None),
    (["diagnose", "examples/seed-incident", "R"], None),  # the first target is not a tarball
    (["diagnose", "README.md"], None),
])
def test_the_first_target_is_started_only_when_diagnose_reads_a_tarball_first(
        argv: list[str], first: str | None, report: Path) -> None:
    argv = [str(report) if a == "R" else a for a in argv]
    assert unpack_ahead.first_tarball(argv) == (str(report) if first else None)


def test_a_head_start_gives_the_in_process_extraction(report: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where ``scratch`` unpacks
    in_process = SosReport(report)
    unpack_ahead.begin(["diagnose", str(report)])
    pending = unpack_ahead._pending
    assert pending is not None and pending.directory.startswith(str(tmp_path))
    ahead = SosReport(report)
    assert unpack_ahead._pending is None
    assert ahead.root.parent == Path(pending.directory)
    ahead.finish()  # what is compared below is the finished tree
    assert sorted(p.relative_to(ahead.root) for p in ahead.root.rglob("*")) == \
        sorted(p.relative_to(in_process.root) for p in in_process.root.rglob("*"))
    assert (ahead.problems, (ahead.root / "etc/hostname").read_text()) == (in_process.problems, "ctl\n")
    ahead.close()
    in_process.close()
    assert not Path(pending.directory).exists()


@pytest.mark.parametrize("change", ["another file", "the file changed", "other limits"])
def test_a_head_start_for_something_else_is_not_taken_and_is_removed(
        change: str, report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # where ``scratch`` unpacks
    (tmp_path / "tmp").mkdir()
    unpack_ahead.begin(["diagnose", str(report)])
    pending = unpack_ahead._pending
    assert pending is not None
    if change == "another file":
        opened = SosReport(write_tar(tmp_path / "other.tar.xz", MINIMAL))
    elif change == "the file changed":
        write_tar(report, MINIMAL)
        opened = SosReport(report)
    else:
        opened = SosReport(report, limits=Limits(max_members=1000))
    assert unpack_ahead._pending is None  # not taken, and of no use any more: ended
    assert not Path(pending.directory).exists()
    assert opened.root.parent != Path(pending.directory)
    opened.close()
    assert list((tmp_path / "tmp").iterdir()) == []
    with pytest.raises(ChildProcessError):
        os.waitpid(pending.pid, 0)  # reaped


def test_a_run_that_never_takes_it_leaves_nothing(report: Path, tmp_path: Path) -> None:
    code = "import sys; from ostriage import unpack_ahead; unpack_ahead.begin(sys.argv[1:]); sys.exit(3)"
    run = subprocess.run([sys.executable, "-c", code, "diagnose", str(report)], capture_output=True, text=True,
                         env={**os.environ, "TMPDIR": str(tmp_path)}, timeout=60, check=False)
    assert (run.returncode, run.stdout, run.stderr) == (3, "", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == [report.name]


def test_the_console_script_says_what_the_command_line_says(report: Path, tmp_path: Path) -> None:
    """The installed script (head start) and the command line called in process (none) on the same report,
    a good one and one that is not a sosreport."""
    script = Path(sys.executable).with_name("ostriage")
    direct = "import sys; from ostriage.cli import main; main()"
    not_sos = write_tar(tmp_path / "not-sos.tar.xz", [file("top/readme", "hello\n")])
    not_tar = tmp_path / "not-tar.tar.xz"
    not_tar.write_bytes(b"\xfd7zXZ\x00 and then no xz stream")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    codes = []
    for target in (report, not_sos, not_tar):
        runs = [subprocess.run([*how, "diagnose", str(target), "--format", "json"], capture_output=True,
                               text=True, env=env, timeout=120, check=False, cwd=ROOT)
                for how in ([str(script)], [sys.executable, "-c", direct])]
        assert runs[0].returncode == runs[1].returncode
        assert runs[0].stderr == runs[1].stderr
        codes.append(runs[0].returncode)
        if runs[0].returncode <= 2:
            assert json.loads(runs[0].stdout)["findings"] == json.loads(runs[1].stdout)["findings"]
    assert codes[0] <= 2 and codes[1] == codes[2] == 66
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([report.name, not_sos.name, not_tar.name])


def test_the_child_ends_with_its_parent(report: Path, tmp_path: Path) -> None:
    """A parent killed outright (SIGKILL, the OOM killer) takes the child with it, whatever it was doing."""
    code = ("import os, sys, time; from ostriage import unpack_ahead; unpack_ahead.begin(sys.argv[1:]); "
            "print(unpack_ahead._pending.pid, flush=True); time.sleep(600)")
    parent = subprocess.Popen([sys.executable, "-c", code, "diagnose", str(report)], stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait(timeout=30)
    # the kernel sends the child SIGKILL as the parent ends; reaped by init, its /proc entry goes
    deadline = time.monotonic() + 30
    while Path(f"/proc/{child}").exists() and _state(child) != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists() or _state(child) == "Z"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return "gone"


def test_the_options_read_before_the_command_line_loads_are_diagnose_s() -> None:
    """The head start reads diagnose's arguments without click: its options that take a value must be known."""
    import click

    from ostriage.cli import diagnose

    valued = {name for p in diagnose.params if isinstance(p, click.Option) and not p.is_flag
              for name in (*p.opts, *p.secondary_opts)}
    assert valued - {"--root"} == unpack_ahead._WITH_VALUE
    assert "--root" in valued and "--root" in unpack_ahead._NO_HEAD_START


def test_a_report_is_unpacked_in_memory_when_there_is_room_and_tmpdir_does_not_say_otherwise(
        report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    memory = tmp_path / "shm"
    memory.mkdir()
    monkeypatch.setattr(unpack_ahead, "_MEMORY_BACKED", str(memory))
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setattr(unpack_ahead, "_ROOM", 1)
    with SosReport(report) as source:
        assert source.root.parent.parent == memory and source.root.parent.name.startswith("ostriage-sos-")
    assert list(memory.iterdir()) == []  # removed with the report
    free = os.statvfs(memory)
    monkeypatch.setattr(unpack_ahead, "_ROOM", free.f_bavail * free.f_frsize + 2**30)
    assert unpack_ahead.scratch() is None  # not room enough: the system's temporary directory
    monkeypatch.setattr(unpack_ahead, "_ROOM", 1)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert unpack_ahead.scratch() is None  # TMPDIR says where
    monkeypatch.delenv("TMPDIR")
    monkeypatch.setattr(unpack_ahead, "_MEMORY_BACKED", str(tmp_path / "none"))
    assert unpack_ahead.scratch() is None


def test_memory_is_used_only_when_the_host_has_it_and_stale_copies_go(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    memory = tmp_path / "shm"
    memory.mkdir()
    monkeypatch.setattr(unpack_ahead, "_MEMORY_BACKED", str(memory))
    monkeypatch.setattr(unpack_ahead, "_ROOM", 1)
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(unpack_ahead, "_available_memory", lambda: 0)
    assert unpack_ahead.scratch() is None  # a host short of memory unpacks on disk
    monkeypatch.setattr(unpack_ahead, "_available_memory", lambda: 2**40)
    stale, fresh, other = (memory / f"{unpack_ahead.COPY_PREFIX}old", memory / f"{unpack_ahead.COPY_PREFIX}new",
                           memory / "someone-else")
    for directory in (stale, fresh, other):
        (directory / "report").mkdir(parents=True)
    day_ago = time.time() - unpack_ahead._STALE - 60
    for directory in (stale, other):
        os.utime(directory, (day_ago, day_ago))
    assert unpack_ahead.scratch() == str(memory)
    assert sorted(p.name for p in memory.iterdir()) == sorted([fresh.name, other.name])
