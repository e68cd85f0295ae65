"""``open_target``: what the user typed becomes the right source, or one clear error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import ostriage.sources
from ostriage.errors import SourceError
from ostriage.sources import LiveHost, SosReport, open_target

from .builders import MINIMAL
from .conftest import MakeReport, MakeTar


def test_public_surface_does_not_drift() -> None:
    assert sorted(ostriage.sources.__all__) == [
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
    for name in ostriage.sources.__all__:
        assert hasattr(ostriage.sources, name)


def test_none_is_this_host() -> None:
    source = open_target(None)
    assert isinstance(source, LiveHost)
    assert source.root == Path("/")


def test_directory_is_a_sosreport(make_report: MakeReport) -> None:
    with open_target(str(make_report({}))) as source:
        assert isinstance(source, SosReport) and source.archive is None


def test_directory_holding_one_report(make_report: MakeReport, tmp_path: Path) -> None:
    root = make_report({})
    holder = tmp_path / "unpacked"
    holder.mkdir()
    shutil.move(root, holder / root.name)
    with open_target(str(holder)) as source:
        assert isinstance(source, SosReport) and source.root == holder / root.name


def test_directory_holding_two_reports(make_report: MakeReport, tmp_path: Path) -> None:
    holder = tmp_path / "many"
    holder.mkdir()
    for _ in range(2):
        root = make_report({})
        shutil.move(root, holder / root.name)
    with pytest.raises(SourceError, match=r"holds several sosreports \(sosreport-1, sosreport-2\); give one"):
        open_target(str(holder))


@pytest.mark.parametrize("name", ["r.tar.xz", "r.tar.gz", "r.tgz", "r.tar.bz2", "r.tar", "R.TAR.XZ"])
def test_tarball_names(make_tar: MakeTar, name: str) -> None:
    compression = {"r.tar.gz": "gz", "r.tgz": "gz", "r.tar.bz2": "bz2", "r.tar": ""}.get(name, "xz")
    with open_target(str(make_tar(*MINIMAL, name=name, compression=compression))) as source:
        assert isinstance(source, SosReport) and source.archive is not None


def test_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"not a sosreport \(no sos_commands/, sos_logs/, sos_reports/ or "):
        open_target(str(tmp_path))


def test_random_directory(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hosts").write_text("127.0.0.1 localhost\n")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SourceError) as error:
        open_target(str(tmp_path))
    assert str(error.value).startswith(f"{tmp_path}: not a sosreport")


def test_a_copy_of_a_hosts_root_points_at_root_option(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
    with pytest.raises(SourceError) as error:
        open_target(str(tmp_path))
    assert str(error.value).endswith(f"; it looks like a host's /: read its files with `--root {tmp_path}`")


def test_a_copy_of_a_hosts_etc_points_at_root_option_on_its_parent(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(SourceError) as error:
        open_target(str(tmp_path / "etc"))
    assert str(error.value).endswith(f"; it looks like a host's /etc: read that host's files with `--root {tmp_path}`")


def test_this_hosts_etc_points_at_the_live_mode() -> None:
    if not Path("/etc/passwd").exists() or (Path("/etc") / "neutron" / "neutron.conf").exists():
        pytest.skip("this host's /etc is not a plain host's /etc")
    with pytest.raises(SourceError) as error:
        open_target("/etc")
    assert str(error.value).startswith("/etc: not a sosreport")
    assert str(error.value).endswith("without TARGET ostriage reads this host live, `--root /` its files only")


def test_other_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(
        SourceError,
        match=r"notes\.txt: not a sosreport directory or tarball \(expected one of "
        r"\.tar\.xz, ",
    ):
        open_target(str(path))


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"/nope: no such file or directory"):
        open_target(str(tmp_path / "nope"))


def test_not_a_regular_file() -> None:
    with pytest.raises(SourceError, match=r"/dev/null: not a directory or a regular file"):
        open_target("/dev/null")
