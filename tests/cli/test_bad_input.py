"""Bad input never crashes: one line ``ostriage: error: <path>: <problem>`` when nothing can be read, else the
analysis of what could be read, with every unreadable piece named in the report.

Covers a directory that is not a sosreport, files that are not archives, corrupt, empty and foreign
tarballs, the real ussuri tarball cut in half, binary garbage and a 5 MB line inside the logs the
diagnosis depends on, a FIFO and a directory where neutron.conf should be, and output files that
cannot be written.
"""

from __future__ import annotations

import errno
import io
import lzma
import os
import random
import tarfile
from pathlib import Path
from typing import Any

import pytest

from ostriage.cli import EXIT_INPUT, EXIT_OUTPUT, EXIT_USAGE

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-incident"
Ostriage = Any  # the ``ostriage`` fixture of conftest.py
COMMANDS = ("diagnose", "lint", "predict", "fix")


def _error(run: Any, code: int = EXIT_INPUT) -> str:
    """The one error line; nothing on stdout, no traceback."""
    assert run.code == code, (run.code, run.out[-2000:], run.err)
    assert run.out == ""
    assert "Traceback" not in run.err
    assert len(run.err.splitlines()) == 1, run.err
    line: str = run.err.rstrip("\n")
    assert line.startswith("ostriage: error: ")
    return line.removeprefix("ostriage: error: ")


def _random_bytes(n: int) -> bytes:
    return random.Random(n).randbytes(n)  # reproducible garbage


@pytest.mark.parametrize("command", COMMANDS)
def test_a_directory_that_is_not_a_sosreport(command: str, tmp_path: Path, ostriage: Ostriage) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("call the vendor\n")
    message = _error(ostriage(command, tmp_path / "notes"))
    assert message == (f"{tmp_path / 'notes'}: not a sosreport "
                       "(no sos_commands/, sos_logs/, sos_reports/ or version.txt)")


@pytest.mark.parametrize(("name", "content", "problem"), [
    ("report.txt", b"neutron-server is down\n", "not a sosreport directory or tarball (expected one of .tar.xz"),
    ("report.tar.xz", _random_bytes(20_000), "not a readable tar archive"),
    ("report.tar.gz", _random_bytes(20_000), "not a readable tar archive"),
    ("report.tar.bz2", b"BZh9" + _random_bytes(5_000), "not a readable tar archive"),
    ("report.tar.xz", b"", "not a readable tar archive (empty file)"),
    ("report.tar.xz", lzma.compress(b"this is xz, not tar\n" * 100), "not a readable tar archive"),
], ids=["text-file", "random-xz", "random-gz", "random-bz2", "empty", "xz-not-tar"])
def test_files_that_are_not_sosreport_tarballs(name: str, content: bytes, problem: str, tmp_path: Path,
                                               ostriage: Ostriage) -> None:
    target = tmp_path / name
    target.write_bytes(content)
    for command in COMMANDS:
        message = _error(ostriage(command, target))
        assert message.startswith(f"{target}: {problem}"), message
    assert sorted(p.name for p in tmp_path.iterdir()) == [name], "nothing written"


def test_a_tarball_of_something_else(tmp_path: Path, ostriage: Ostriage) -> None:
    target = tmp_path / "photos.tar.gz"
    with tarfile.open(target, "w:gz") as tar:
        data = b"\x89PNG" + _random_bytes(1000)
        info = tarfile.TarInfo("photos/cat.png")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert _error(ostriage("diagnose", target)) == (
        f"{target}: not a sosreport (no sos_commands/, sos_logs/, sos_reports/ or version.txt) in the archive")


def test_truncated_real_tarball_is_analysed_as_far_as_it_goes(ussuri_tarball: Path, tmp_path: Path,
                                                              ostriage: Ostriage) -> None:
    half = tmp_path / "sosreport-ussuri-compute-half.tar.xz"
    data = ussuri_tarball.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    run = ostriage("diagnose", half, "--format", "json")
    assert run.code in (0, 1), run.err
    assert run.err == ""
    doc = run.json()
    assert doc["target"]["hostname"] == "compute4"
    assert doc["rule_failures"] == []
    damaged = [p for p in doc["problems"] if p.startswith(f"{half}: archive is truncated or corrupt")]
    assert len(damaged) == 1, doc["problems"]
    assert "kept the" in damaged[0] and "files unpacked before" in damaged[0]
    member = damaged[0].split("inside member '")[1].split("'")[0]
    assert any(p.startswith(member.split("/", 1)[1]) and "cut short" in p for p in doc["problems"]), doc["problems"]


@pytest.fixture(scope="module")
def garbage(seed_module_copy: Path, seed_doc: dict[str, Any]) -> Path:
    """NULs, invalid UTF-8, terminal escapes and a 5 MB line without a newline break inside neutron-server's log
    and the kernel log whose OOM kills the root cause rests on."""
    seed_copy = seed_module_copy
    oom = next(f for f in seed_doc["findings"] if f["rule"] == "service-oom-kill-loop")
    for rel in ("var/log/neutron/neutron-server.log", oom["evidence"][0]["path"]):
        path = seed_copy / rel
        lines = path.read_bytes().split(b"\n")
        lines.insert(5, b"\x00\x00\x00\xff\xfe\xc3\x28 invalid utf-8 \x80\x81\x1b[2J" + b"\x00" * 3000)
        lines.insert(40, b"A" * (5 * 1024 * 1024))
        lines.insert(41, _random_bytes(4096).replace(b"\n", b""))
        path.write_bytes(b"\n".join(lines) + b"\xff" * 100)  # and no final newline
    return seed_copy


def test_binary_garbage_in_logs_does_not_stop_the_diagnosis(garbage: Path, seed_doc: dict[str, Any],
                                                            ostriage: Ostriage) -> None:
    run = ostriage("diagnose", garbage, "--format", "json")
    assert run.code == 2, run.err
    assert run.err == ""
    doc = run.json()
    assert [r["rule"] for r in doc["root_causes"]] == [r["rule"] for r in seed_doc["root_causes"]]
    assert doc["root_causes"][0]["rule"] == "ml2-segment-range-too-large"
    assert [f["key"] for f in doc["findings"]] == [f["key"] for f in seed_doc["findings"]]
    oom = next(f for f in doc["findings"] if f["rule"] == "service-oom-kill-loop")
    before = next(f for f in seed_doc["findings"] if f["rule"] == "service-oom-kill-loop")
    assert oom["data"]["kills"] == before["data"]["kills"]
    ranges = next(f for f in doc["findings"] if f["rule"] == "ml2-segment-range-too-large")
    logged = [e for e in ranges["evidence"] if e["path"] == "var/log/neutron/neutron-server.log"]
    assert logged and logged[0]["text"].endswith("geneve ID ranges: [(1, 16777215)]")
    # the inserted lines shifted the kernel's kill lines, and the citations followed
    for e in oom["evidence"]:
        source = (garbage / e["path"]).read_bytes().split(b"\n")
        assert source[e["line"] - 1].decode() == e["text"]
    assert [e["line"] for e in oom["evidence"]] != [e["line"] for e in before["evidence"]]
    assert doc["rule_failures"] == []
    for fmt in ("text", "markdown", "html"):
        rendered = ostriage("diagnose", garbage, "--format", fmt)
        assert rendered.code == 2 and rendered.err == ""


def test_a_huge_line_is_named_in_the_report(garbage: Path, ostriage: Ostriage) -> None:
    doc = ostriage("diagnose", garbage, "--format", "json").json()
    assert any(p.startswith("var/log/neutron/neutron-server.log:") or p.startswith(
        "var/log/neutron/neutron-server.log: ") for p in doc["problems"]), doc["problems"]


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_unreadable_neutron_conf_is_named(kind: str, seed_copy: Path, ostriage: Ostriage) -> None:
    """Root cannot be refused a read, so the unreadable file is a FIFO (never opened: that would block) or a
    directory where neutron.conf should be."""
    conf = seed_copy / "etc/neutron/neutron.conf"
    conf.unlink()
    if kind == "fifo":
        os.mkfifo(conf)
    else:
        conf.mkdir()
    run = ostriage("diagnose", seed_copy, "--color", "never")
    assert run.code == 2, run.err
    assert run.err == ""
    section = run.out.split("COULD NOT READ / CHECK ")[1].splitlines()[1:]
    assert f"  etc/neutron/neutron.conf: not a regular file (a {kind}); not read" in section
    # ml2_conf.ini still holds the range: the root cause is still found
    assert "ROOT CAUSE 1 " in run.out
    assert run.out.split("ROOT CAUSE 1 ")[1].splitlines()[1] == "CRITICAL NEU001 ml2-segment-range-too-large"
    for command in ("lint", "fix", "predict"):
        other = ostriage(command, seed_copy)
        assert other.code in (1, 2), (command, other.err)
        assert "Traceback" not in other.err


def test_output_to_a_path_below_a_file(tmp_path: Path, ostriage: Ostriage) -> None:
    blocker = tmp_path / "report.d"
    blocker.write_text("a file, not a directory")
    message = _error(ostriage("diagnose", SEED, "--format", "html", "-o", blocker / "report.html"), EXIT_OUTPUT)
    assert message == f"{blocker / 'report.html'}: cannot write (Not a directory)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.d"]


def test_output_to_a_missing_directory(tmp_path: Path, ostriage: Ostriage) -> None:
    target = tmp_path / "no" / "such" / "dir" / "report.json"
    message = _error(ostriage("diagnose", SEED, "--format", "json", "-o", target), EXIT_OUTPUT)
    assert message == f"{target}: cannot write (No such file or directory)"
    assert list(tmp_path.iterdir()) == []


def test_output_to_a_directory_is_a_usage_error(tmp_path: Path, ostriage: Ostriage) -> None:
    message = _error(ostriage("diagnose", SEED, "-o", tmp_path), EXIT_USAGE)
    assert "is a directory" in message
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path, ostriage: Ostriage,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up at the rename: the old report stays as it was and no temporary file is left."""
    out = tmp_path / "report.json"
    out.write_text("the previous report\n")

    def full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), src)

    monkeypatch.setattr(os, "replace", full)
    message = _error(ostriage("diagnose", SEED, "--format", "json", "-o", out), EXIT_OUTPUT)
    assert message == f"{out}: cannot write (No space left on device)"
    assert out.read_text() == "the previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_output_file_is_written_whole_with_the_usual_mode(tmp_path: Path, ostriage: Ostriage) -> None:
    new = tmp_path / "new.json"
    umask = os.umask(0o022)
    try:
        run = ostriage("diagnose", SEED, "--format", "json", "-o", new)
    finally:
        os.umask(umask)
    assert (run.code, run.out, run.err) == (2, "", "")
    assert new.read_text().startswith('{\n  "schema_version": 1,')
    assert new.stat().st_mode & 0o777 == 0o644
    kept = tmp_path / "kept.md"
    kept.write_text("old")
    kept.chmod(0o600)
    assert ostriage("diagnose", SEED, "--format", "markdown", "-o", kept).code == 2
    assert kept.read_text().startswith("# ostriage diagnosis: ")
    assert kept.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.md", "new.json"]


def test_output_dash_is_stdout(ostriage: Ostriage) -> None:
    run = ostriage("diagnose", SEED, "-o", "-")
    assert run.code == 2
    assert run.out.startswith("ostriage diagnosis of sosreport")
