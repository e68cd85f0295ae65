"""Hostile and damaged tarballs: nothing escapes, limits hold, damage is reported, never a crash."""

from __future__ import annotations

import io
import lzma
import os
import random
import tarfile
from pathlib import Path

import pytest

from ostriage.errors import SourceError
from ostriage.sources import Limits, SosReport

from .builders import MINIMAL, Member, file, hardlink, special, symlink
from .conftest import MakeTar

TOP = "sosreport-host-2025"


def python_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No tar nor decompressor to be found: the archive is read by Python alone."""
    empty = tmp_path / "no-tools"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))


def messages(report: SosReport) -> str:
    return "\n".join(str(p) for p in report.problems)


def test_minimal_report_opens(make_tar: MakeTar) -> None:
    with SosReport(make_tar(*MINIMAL)) as report:
        assert report.root.name == TOP
        assert report.problems == []
        assert report.collected_at() is not None


@pytest.mark.parametrize("name", ["../evil", f"{TOP}/../../evil", f"{TOP}/etc/../../../evil",
                                  f"{TOP}/sys/fs/../../../evil"])
def test_path_traversal_member_is_skipped(make_tar: MakeTar, tmp_path: Path, name: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    if "/sys/" in name:  # read by Python, which passes sys/ over by name; GNU tar would take it out unseen
        python_only(monkeypatch, tmp_path)
    workdir = tmp_path / "work"
    workdir.mkdir()
    with SosReport(make_tar(*MINIMAL, file(name, "pwned")), workdir=workdir) as report:
        assert "absolute or '..' path; skipped" in messages(report)
        assert not list(tmp_path.rglob("evil"))


def test_absolute_member_is_skipped(make_tar: MakeTar) -> None:
    with SosReport(make_tar(*MINIMAL, file("/etc/evil-ostriage-test", "pwned"))) as report:
        assert "'/etc/evil-ostriage-test': absolute or '..' path; skipped" in messages(report)
    assert not Path("/etc/evil-ostriage-test").exists()


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("etc/neutron/passwd", "/etc/passwd"),
        ("ps", "../../x"),
        ("var/log/neutron/a", "../../../../x"),
        ("etc/neutron/neutron.conf", "../../../../../../etc/passwd"),
    ],
)
def test_symlink_escaping_the_root_is_skipped(make_tar: MakeTar, name: str, target: str) -> None:
    with SosReport(make_tar(*MINIMAL, symlink(f"{TOP}/{name}", target))) as report:
        assert f"{name}: symlink to {target!r} leads outside the report; skipped" in messages(report)
        assert not os.path.lexists(report.root / name)
        assert report.read_lines("/" + name) is None


def test_symlink_inside_the_root_is_kept(make_tar: MakeTar) -> None:
    members = (
        *MINIMAL,
        file(f"{TOP}/usr/lib/systemd/system/x.service", "[Service]\n"),
        symlink(f"{TOP}/lib", "usr/lib"),
    )
    with SosReport(make_tar(*members)) as report:
        assert report.problems == []
        lines = report.read_lines("/lib/systemd/system/x.service")
        assert lines is not None
        assert [line.text for line in lines] == ["[Service]"]
        assert report.glob("/lib/systemd/system/*.service") == ["/lib/systemd/system/x.service"]


def test_symlink_chain_climbing_out_is_refused_when_read(make_tar: MakeTar, tmp_path: Path) -> None:
    # Each link stays inside on its own, so both are unpacked; followed together they climb out:
    # var/log/nova/a/b/c/x -> etc/nova, and etc/neutron -> x/../../../.. is the report's grandparent.
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "secret").write_text("outside the report\n")
    members = (
        *MINIMAL,
        file(f"{TOP}/var/log/nova/a/b/c/placeholder", "c"),
        file(f"{TOP}/etc/nova/nova.conf", "[DEFAULT]\n"),
        symlink(f"{TOP}/etc/neutron", "../var/log/nova/a/b/c/x/../../../.."),
        symlink(f"{TOP}/var/log/nova/a/b/c/x", "../../../../../../etc/nova"),
    )
    with SosReport(make_tar(*members), workdir=workdir) as report:
        assert os.path.realpath(report.root / "etc" / "neutron") == str(workdir)  # the trap is set
        # the chain's ".." climbs above the report's root: refused, never read, and the link is named
        assert report.read_lines("/etc/neutron/secret") is None
        assert all("outside the report\n" not in (p.read_text() if p.is_file() else "")
                   for p in report.root.rglob("*"))
        assert report.glob("/etc/neutron/*") == []
        assert list(report.read_log("/etc/neutron/secret")) == []
        assert "etc/neutron: symlink to '../var/log/nova/a/b/c/x/../../../..' leads outside the collected " \
               "files; not followed" in messages(report)


def test_hardlink_escape_is_skipped(make_tar: MakeTar) -> None:
    members = (
        *MINIMAL,
        hardlink(f"{TOP}/etc/neutron/shadow", "/etc/shadow"),
        hardlink(f"{TOP}/etc/neutron/passwd", "../../etc/passwd"),
    )
    with SosReport(make_tar(*members)) as report:
        text = messages(report)
        assert "etc/neutron/shadow: hardlink to '/etc/shadow', not an unpacked file of the report" in text
        assert "etc/neutron/passwd: hardlink to '../../etc/passwd'" in text
        assert report.read_lines("/etc/neutron/shadow") is None
        assert report.read_lines("/etc/neutron/passwd") is None


def test_a_hardlink_cannot_move_a_symlink_to_where_it_leads_out(make_tar: MakeTar, tmp_path: Path) -> None:
    """A link inside the report from where it stands, hardlinked to a shallower place where its ``..`` climb out
    (``etc/neutron/m`` -> the unpacking directory's parent), then a file written through the copy."""
    workdir = tmp_path / "work"
    (tmp_path / "outside").mkdir(parents=True)
    workdir.mkdir()
    link = f"{TOP}/etc/neutron/a/b/c/l"
    members = (
        *MINIMAL,
        symlink(link, "../../../../../outside"),  # from a/b/c: <root>/outside; from etc/neutron: tmp_path/outside
        special(f"{TOP}/etc/neutron/m/f", tarfile.FIFOTYPE),  # refused, after its directory was looked at
        hardlink(f"{TOP}/etc/neutron/m", link),
        file(f"{TOP}/etc/neutron/m/passwd", "pwned"),
    )
    with SosReport(make_tar(*members), workdir=workdir) as report:
        assert f"etc/neutron/m: hardlink to '{link}', not an unpacked file of the report; skipped" in messages(report)
    assert list((tmp_path / "outside").iterdir()) == []


def test_hardlink_to_an_unpacked_file_works(make_tar: MakeTar) -> None:
    members = (
        *MINIMAL,
        file(f"{TOP}/etc/neutron/a.conf", "x = 1\n"),
        hardlink(f"{TOP}/etc/neutron/b.conf", f"{TOP}/etc/neutron/a.conf"),
    )
    with SosReport(make_tar(*members)) as report:
        lines = report.read_lines("/etc/neutron/b.conf")
        assert lines is not None and [line.text for line in lines] == ["x = 1"]
        assert report.problems == []


@pytest.mark.parametrize(
    ("kind", "what"),
    [(tarfile.FIFOTYPE, "fifo"), (tarfile.CHRTYPE, "character device"), (tarfile.BLKTYPE, "block device")],
)
def test_special_files_are_skipped(make_tar: MakeTar, kind: bytes, what: str) -> None:
    with SosReport(make_tar(*MINIMAL, special(f"{TOP}/var/log/neutron/server.log", kind))) as report:
        assert f"var/log/neutron/server.log: special file ({what}); skipped" in messages(report)
        assert report.read_lines("/var/log/neutron/server.log") is None


def test_member_over_the_size_cap_is_skipped(make_tar: MakeTar) -> None:
    members = (
        *MINIMAL,
        file(f"{TOP}/var/log/neutron/big.log", b"x" * 5000),
        file(f"{TOP}/var/log/neutron/small.log", b"ok\n"),
    )
    with SosReport(make_tar(*members), limits=Limits(max_member_bytes=1000)) as report:
        assert "var/log/neutron/big.log: 4.9 KiB, over the per-file cap of 1000 bytes; skipped" in messages(
            report
        )
        assert report.read_lines("/var/log/neutron/big.log") is None
        assert report.read_lines("/var/log/neutron/small.log") is not None


def test_total_cap_stops_reading(make_tar: MakeTar) -> None:
    logs = [file(f"{TOP}/var/log/neutron/{i}.log", b"y" * 400) for i in range(10)]
    with SosReport(make_tar(*MINIMAL, *logs), limits=Limits(max_total_bytes=1000)) as report:
        assert "total unpack cap of 1000 bytes reached at 'var/log/neutron/2.log'" in messages(report)
        assert report.glob("/var/log/neutron/*.log") == ["/var/log/neutron/0.log", "/var/log/neutron/1.log"]


def test_too_many_members_stops_reading(make_tar: MakeTar) -> None:
    logs = [file(f"{TOP}/var/log/neutron/{i}.log", b"z\n") for i in range(20)]
    with SosReport(make_tar(*MINIMAL, *logs), limits=Limits(max_members=10)) as report:
        assert "more than 10 members; stopped reading at" in messages(report)
        assert len(report.glob("/var/log/neutron/*.log")) == 10 - len(MINIMAL)


def test_members_outside_the_top_directory_are_skipped(make_tar: MakeTar) -> None:
    with SosReport(make_tar(*MINIMAL, file("other-dir/etc/neutron/neutron.conf", "x"))) as report:
        assert "1 members outside the report directory 'sosreport-host-2025' skipped" in messages(report)


def test_flat_archive_without_top_directory(make_tar: MakeTar) -> None:
    members = (
        file("version.txt", "sosreport: 4.5\n"),
        file("sos_commands/date/date", "x\n"),
        file("etc/neutron/neutron.conf", "[DEFAULT]\n"),
    )
    with SosReport(make_tar(*members)) as report:
        assert report.read_lines("/etc/neutron/neutron.conf") is not None
        assert report.problems == []


def test_unwanted_areas_are_not_unpacked(make_tar: MakeTar) -> None:
    members = (
        *MINIMAL,
        file(f"{TOP}/home/user/secret", "s"),
        file(f"{TOP}/etc/shadow", "s"),
        file(f"{TOP}/sos_commands/networking/ethtool_-S_eth0", "NIC statistics:\n"),
        file(f"{TOP}/sos_commands/networking/namespaces/qrouter-1/ip_-o_addr", "x\n"),
        file(f"{TOP}/sos_commands/networking/netstat_-W_-neopa", "Active Internet connections\n"),
        file(f"{TOP}/sos_commands/networking/ip_-o_addr", "1: lo\n"),
    )
    with SosReport(make_tar(*members)) as report:
        assert not (report.root / "home").exists()
        assert not (report.root / "etc" / "shadow").exists()
        assert sorted(p.name for p in (report.root / "sos_commands/networking").iterdir()) == [
            "ip_-o_addr",
            "netstat_-W_-neopa",
        ]


def test_not_a_sosreport(make_tar: MakeTar, tmp_path: Path) -> None:
    path = make_tar(file("project/README", "hello"), file("project/etc/neutron/x.conf", "x"))
    with pytest.raises(
        SourceError, match=r"report\.tar\.xz: not a sosreport \(no sos_commands/.*in the archive"
    ):
        SosReport(path, workdir=tmp_path)
    assert not list(tmp_path.glob("ostriage-sos-*")), "temporary directory left behind"


@pytest.mark.parametrize("content", [b"", b"this is not a tarball at all\n" * 100, random.Random(4096).randbytes(4096)])
def test_not_a_tarball_with_a_tarball_name(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "sosreport-x.tar.xz"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=r"sosreport-x\.tar\.xz: not a readable tar archive"):
        SosReport(path, workdir=tmp_path)
    assert not list(tmp_path.glob("ostriage-sos-*"))


def test_xz_of_something_else(tmp_path: Path) -> None:
    path = tmp_path / "sosreport-x.tar.xz"
    path.write_bytes(lzma.compress(b"plain text, not tar\n" * 50))
    with pytest.raises(SourceError, match="not a readable tar archive"):
        SosReport(path)


def test_zstd_is_named(tmp_path: Path) -> None:
    path = tmp_path / "sosreport-x.tar.zst.tar"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + random.Random(64).randbytes(64))
    with pytest.raises(SourceError, match="zstd-compressed archives are not supported"):
        SosReport(path)


@pytest.mark.parametrize("compression", ["gz", "bz2", "xz", ""])
def test_every_compression(make_tar: MakeTar, compression: str) -> None:
    name = f"report.tar{'.' + compression if compression else ''}"
    with SosReport(make_tar(*MINIMAL, name=name, compression=compression)) as report:
        assert report.command("date") is not None
        assert report.problems == []


def test_truncated_real_tarball_keeps_what_was_read(ussuri_tarball: Path, tmp_path: Path) -> None:
    data = ussuri_tarball.read_bytes()
    cut = tmp_path / "sosreport-cut.tar.xz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with SosReport(cut) as report:
        text = messages(report)
        assert f"{cut}: archive is truncated or corrupt inside member" in text
        assert "kept the" in text
        # what came before the cut is there and readable
        assert report.command("date") is not None or report.glob("/etc/neutron/*")


def test_truncated_plain_tar_at_a_header_boundary(make_tar: MakeTar, tmp_path: Path) -> None:
    path = make_tar(
        *MINIMAL, file(f"{TOP}/etc/neutron/neutron.conf", "[DEFAULT]\n"), name="r.tar", compression=""
    )
    data = path.read_bytes()
    # cut right after the last member's data: no end-of-archive blocks, no partial header
    with tarfile.open(path) as tar:
        last = tar.getmembers()[-1]
    end = last.offset_data + 512
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[:end])
    with SosReport(cut) as report:
        assert "ends without the end-of-archive block" in messages(report)
        assert report.read_lines("/etc/neutron/neutron.conf") is not None


def test_truncation_after_the_last_member_is_still_seen(make_tar: MakeTar, tmp_path: Path) -> None:
    path = make_tar(
        *MINIMAL, file(f"{TOP}/etc/neutron/neutron.conf", "[DEFAULT]\n"), name="r.tar.gz", compression="gz"
    )
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(path.read_bytes()[:-6])  # drops the gzip trailer only
    with SosReport(cut) as report:
        assert "truncated or corrupt" in messages(report)
        assert report.read_lines("/etc/neutron/neutron.conf") is not None


def test_truncated_before_anything_useful(ussuri_tarball: Path, tmp_path: Path) -> None:
    cut = tmp_path / "sosreport-cut.tar.xz"
    cut.write_bytes(ussuri_tarball.read_bytes()[:2000])
    with pytest.raises(SourceError, match=r"sosreport-cut\.tar\.xz: "):
        SosReport(cut)


def test_corrupt_xz_in_the_middle(ussuri_tarball: Path, tmp_path: Path) -> None:
    data = bytearray(ussuri_tarball.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    bad = tmp_path / "sosreport-bad.tar.xz"
    bad.write_bytes(bytes(data))
    with SosReport(bad) as report:
        assert "truncated or corrupt" in messages(report)
        assert any(str(bad) == p.path for p in report.problems)


def test_problem_paths_name_the_evidence(make_tar: MakeTar) -> None:
    members = (*MINIMAL, symlink(f"{TOP}/etc/neutron/neutron.conf", "/etc/passwd"))
    with SosReport(make_tar(*members)) as report:
        assert [p.path for p in report.problems] == ["etc/neutron/neutron.conf"]


def test_later_member_replaces_earlier_symlink_instead_of_writing_through_it(make_tar: MakeTar) -> None:
    members = (
        *MINIMAL,
        file(f"{TOP}/etc/neutron/neutron.conf", "original\n"),
        symlink(f"{TOP}/var/log/neutron/server.log", "../../../etc/neutron/neutron.conf"),
        file(f"{TOP}/var/log/neutron/server.log", "log line\n"),
    )
    with SosReport(make_tar(*members)) as report:
        conf = report.read_lines("/etc/neutron/neutron.conf")
        assert conf is not None and [line.text for line in conf] == ["original"]


def test_temporary_directory_is_removed(make_tar: MakeTar, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    report = SosReport(make_tar(*MINIMAL), workdir=workdir)
    assert list(workdir.iterdir())
    report.close()
    report.close()  # idempotent
    assert not list(workdir.iterdir())


def test_member_without_data_type_is_not_a_problem(make_tar: MakeTar) -> None:
    # a directory member inside a wanted area is simply made
    with SosReport(make_tar(*MINIMAL, Member(f"{TOP}/etc/neutron", kind=tarfile.DIRTYPE))) as report:
        assert report.problems == []


def test_giant_long_name_header_is_refused(make_tar: MakeTar) -> None:
    # tarfile would read a GNU long-name header's data whole into memory
    huge = f"{TOP}/var/log/neutron/" + "a" * (2 * 1024 * 1024)
    with SosReport(make_tar(*MINIMAL, file(huge, "x"), file(f"{TOP}/etc/neutron/after.conf", "x"))) as report:
        assert "over the 1048576-byte limit" in messages(report)
        assert report.command("date") is not None


def test_modes_from_the_archive_are_not_applied(tmp_path: Path) -> None:
    """Set-id and world-writable bits in a member's header stay in the archive (the same on every Python:
    the files are written by ostriage, not by tarfile's extraction filters, which 3.11.2 lacks)."""
    path = tmp_path / "report.tar"
    with tarfile.open(path, "w") as tar:
        for member in MINIMAL:
            info = tarfile.TarInfo(member.name)
            info.type, info.size = member.kind, len(member.data)
            tar.addfile(info, io.BytesIO(member.data))
        info = tarfile.TarInfo(f"{TOP}/etc/neutron/neutron.conf")
        info.mode, info.size = 0o6777, 9
        tar.addfile(info, io.BytesIO(b"[DEFAULT]"))
    with SosReport(path) as report:
        unpacked = report.root / "etc/neutron/neutron.conf"
        assert unpacked.read_bytes() == b"[DEFAULT]"
        assert unpacked.stat().st_mode & 0o7002 == 0


def test_members_under_unread_top_directories_still_count_and_dot_paths_still_unpack(
        make_tar: MakeTar, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read by Python, members under a top directory no area starts with (sys/, the bulk of a report) are
    passed over by name; they still count towards the member cap, and a name that only looks unread
    (``./etc``) is not. (GNU tar, where it takes sys/ out, leaves them uncounted: ``test_tar_pipe``.)"""
    python_only(monkeypatch, tmp_path)
    members = (*MINIMAL, *(file(f"{TOP}/sys/fs/cgroup/memory/{i}", b"0\n") for i in range(20)),
               file(f"{TOP}/./etc/neutron/neutron.conf", "[DEFAULT]\n"))
    with SosReport(make_tar(*members)) as report:
        assert report.read_lines("/etc/neutron/neutron.conf") is not None
        assert not (report.root / "sys").exists()
        assert report.problems == []
    with SosReport(make_tar(*members), limits=Limits(max_members=10)) as report:
        assert f"more than 10 members; stopped reading at '{TOP}/sys/fs/cgroup/memory/7'" in messages(report)
