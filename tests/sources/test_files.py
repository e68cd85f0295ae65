"""Reading files: hostile contents and shapes never crash, never blow memory, always say why."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import random
import threading
from pathlib import Path

import pytest

from ostriage.sources import SosReport
from ostriage.sources._lines import MAX_LINE, truncation_marker
from ostriage.sources._rotation import rotation_order

from .conftest import MakeReport


def texts(report: SosReport, path: str) -> list[str]:
    lines = report.read_lines(path)
    assert lines is not None, report.problems
    return [line.text for line in lines]


def test_binary_garbage_in_a_log(make_report: MakeReport) -> None:
    garbage = random.Random(200_000).randbytes(200_000)  # the same garbage every run
    data = b"2025-01-01 00:00:00.000 1 INFO x [-] before\n" + garbage + b"\n\x00\xff\xfe after \xc3\n"
    report = SosReport(make_report({"var/log/neutron/server.log": data}))
    lines = texts(report, "/var/log/neutron/server.log")
    assert lines[0].endswith("before")
    assert lines[-1] == "\x00\ufffd\ufffd after \ufffd"
    assert all(len(line.encode()) <= 4 * MAX_LINE + 100 for line in lines)
    assert report.problems == []


def test_huge_single_line_file_is_cut(make_report: MakeReport) -> None:
    report = SosReport(make_report({"var/log/nova/nova-api.log": b"A" * (5 * 1024 * 1024)}))
    (line,) = texts(report, "/var/log/nova/nova-api.log")
    assert line == "A" * MAX_LINE + truncation_marker(5 * 1024 * 1024 - MAX_LINE)


def test_long_line_then_normal_lines(make_report: MakeReport) -> None:
    data = b"x" * (MAX_LINE * 3 + 7) + b"\r\nnext\r\n"
    report = SosReport(make_report({"var/log/syslog": data}))
    assert texts(report, "/var/log/syslog") == ["x" * MAX_LINE + truncation_marker(MAX_LINE * 2 + 7), "next"]


def test_directory_where_a_file_is_expected(make_report: MakeReport) -> None:
    root = make_report({})
    (root / "etc/neutron/neutron.conf").mkdir(parents=True)
    report = SosReport(root)
    assert report.read_lines("/etc/neutron/neutron.conf") is None
    assert [str(p) for p in report.problems] == [
        "etc/neutron/neutron.conf: not a regular file (a directory); not read"
    ]


def test_fifo_is_never_opened(make_report: MakeReport) -> None:
    root = make_report({})
    (root / "var/log").mkdir(parents=True)
    os.mkfifo(root / "var/log/kern.log")
    report = SosReport(root)
    result: list[object] = []
    reader = threading.Thread(
        target=lambda: result.append(report.read_lines("/var/log/kern.log")), daemon=True
    )
    reader.start()
    reader.join(5)
    assert result == [None], "reading a fifo blocked"
    assert [str(p) for p in report.problems] == ["var/log/kern.log: not a regular file (a fifo); not read"]


def test_unreadable_file(make_report: MakeReport, monkeypatch: pytest.MonkeyPatch) -> None:
    # We run as root, which reads everything; test_live runs a real unprivileged read. Here the
    # sosreport's wording, with the open itself refused.
    report = SosReport(make_report({"etc/nova/nova.conf": "[DEFAULT]\n"}))
    real_open = os.open

    def refusing_open(path: str, flags: int, *args: int) -> int:
        if str(path).endswith("nova.conf"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refusing_open)
    assert report.read_lines("/etc/nova/nova.conf") is None
    assert [str(p) for p in report.problems] == ["etc/nova/nova.conf: permission denied"]


@pytest.mark.parametrize(
    ("suffix", "compress"), [(".gz", gzip.compress), (".xz", lzma.compress), (".bz2", bz2.compress)]
)
def test_compressed_rotations(make_report: MakeReport, suffix: str, compress: object) -> None:
    assert callable(compress)
    report = SosReport(
        make_report(
            {
                f"var/log/ovn/ovsdb-server-sb.log.2{suffix}": compress(b"two\n"),
                f"var/log/ovn/ovsdb-server-sb.log.1{suffix}": compress(b"one\n"),
                "var/log/ovn/ovsdb-server-sb.log": "now\n",
            }
        )
    )
    assert [(line.path, line.text) for line in report.read_log("/var/log/ovn/ovsdb-server-sb.log")] == [
        (f"var/log/ovn/ovsdb-server-sb.log.2{suffix}", "two"),
        (f"var/log/ovn/ovsdb-server-sb.log.1{suffix}", "one"),
        ("var/log/ovn/ovsdb-server-sb.log", "now"),
    ]


def test_dated_rotations(make_report: MakeReport) -> None:
    report = SosReport(
        make_report(
            {
                "var/log/messages-20250907.gz": gzip.compress(b"old\n"),
                "var/log/messages-20250914": "newer\n",
                "var/log/messages": "now\n",
                "var/log/messages.bak": "not a rotation\n",
            }
        )
    )
    assert [line.text for line in report.read_log("/var/log/messages")] == ["old", "newer", "now"]


def test_rotation_order_numbers_numerically() -> None:
    names = [f"x.log.{n}.gz" for n in range(1, 12)] + ["x.log"]
    assert rotation_order("x.log", reversed(names)) == [f"x.log.{n}.gz" for n in range(11, 0, -1)] + ["x.log"]


def test_corrupt_gzip_keeps_lines_before_the_damage(make_report: MakeReport) -> None:
    whole = gzip.compress(b"".join(b"line %d\n" % i for i in range(50_000)))
    report = SosReport(make_report({"var/log/neutron/server.log.1.gz": whole[: len(whole) // 2]}))
    lines = texts(report, "/var/log/neutron/server.log.1.gz")
    assert lines[0] == "line 0" and len(lines) > 1000
    (problem,) = report.problems
    assert problem.path == "var/log/neutron/server.log.1.gz"
    assert problem.message.startswith("unreadable after line ")


def test_garbage_inside_gzip(make_report: MakeReport) -> None:
    garbage = b"\x1f\x8b" + random.Random(5000).randbytes(5000)
    report = SosReport(make_report({"var/log/neutron/server.log.1.gz": garbage}))
    assert texts(report, "/var/log/neutron/server.log.1.gz") == []
    assert report.problems[0].message.startswith("unreadable at the start")


def test_misnamed_gzip_read_as_text(make_report: MakeReport) -> None:
    report = SosReport(make_report({"var/log/neutron/server.log.1.gz": "plain text after all\n"}))
    assert texts(report, "/var/log/neutron/server.log.1.gz") == ["plain text after all"]
    assert report.problems == []


def test_host_paths_cannot_climb_out(make_report: MakeReport) -> None:
    report = SosReport(make_report({"etc/passwd": "report's own copy\n"}))
    assert texts(report, "/../../../etc/passwd") == ["report's own copy"]
    assert texts(report, "etc/neutron/../passwd") == ["report's own copy"]


def test_glob_patterns(make_report: MakeReport) -> None:
    report = SosReport(
        make_report(
            {
                "etc/systemd/system/neutron-server.service.d/override.conf": "[Service]\n",
                "etc/systemd/system/neutron-server.service.d/.hidden.conf": "",
                "usr/lib/systemd/system/neutron-server.service": "[Unit]\n",
            }
        )
    )
    assert report.glob("/etc/systemd/system/*.d/*.conf") == [
        "/etc/systemd/system/neutron-server.service.d/.hidden.conf",
        "/etc/systemd/system/neutron-server.service.d/override.conf",
    ]
    assert report.glob("/**/neutron-server.service") == ["/usr/lib/systemd/system/neutron-server.service"]
    assert report.glob("/usr/lib/systemd/system/neutron-server.service") == [
        "/usr/lib/systemd/system/neutron-server.service"
    ]
    assert report.glob("/usr/lib/systemd/system/nova-*.service") == []
    assert report.glob("/nonexistent/**/*") == []
    with pytest.raises(ValueError, match=r"must not contain '\.\.'"):
        report.glob("/etc/../../*")


def test_glob_survives_symlink_loops_and_stays_inside(make_report: MakeReport, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.conf").write_text("s\n")
    root = make_report({"etc/neutron/neutron.conf": "[DEFAULT]\n"})
    os.symlink("..", root / "etc/neutron/loop")
    os.symlink(".", root / "etc/self")
    os.symlink(str(outside), root / "etc/elsewhere")
    report = SosReport(root)
    found = report.glob("/etc/**/*.conf")
    assert "/etc/neutron/neutron.conf" in found
    assert not any("secret" in path for path in found)
    assert len(found) == len(set(found)) < 10


def test_sosreport_directory_relative_cites(make_report: MakeReport) -> None:
    report = SosReport(make_report({"etc/neutron/neutron.conf": "a\nb\n"}))
    lines = report.read_lines("/etc/neutron/neutron.conf")
    assert lines is not None
    assert [line.cite() for line in lines] == ["etc/neutron/neutron.conf:1", "etc/neutron/neutron.conf:2"]
