"""The real sos 4.2 report of an Ubuntu ussuri compute node, as a tarball and as a directory."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ostriage.sources import CATALOG, Format, SosReport

#: What each logical command finds in this report: (origin, format), or None.
EXPECTED: dict[str, tuple[str, Format] | None] = {
    "journal": ("sos_commands/logs/journalctl_--no-pager", Format.JOURNAL_SHORT),
    "journal-previous-boot": (
        "sos_commands/logs/journalctl_--no-pager_--catalog_--boot_-1",
        Format.JOURNAL_SHORT,
    ),
    "dmesg": ("sos_commands/kernel/dmesg", Format.DMESG),
    "systemctl-show-all": ("sos_commands/systemd/systemctl_show_service_--all", Format.SYSTEMCTL_SHOW),
    "systemctl-list-units": ("sos_commands/systemd/systemctl_list-units", Format.SYSTEMCTL_LIST_UNITS),
    "systemctl-list-unit-files": (
        "sos_commands/systemd/systemctl_list-unit-files",
        Format.SYSTEMCTL_LIST_UNIT_FILES,
    ),
    "processes": ("sos_commands/process/ps_auxwwwm", Format.PS_AUX_THREADS),
    "process-cgroups": (
        "sos_commands/process/ps_axo_pid_ppid_user_group_lwp_nlwp_start_time_comm_cgroup",
        Format.PS_CGROUP,
    ),
    # no ss (sock_diag modules were not loaded) and no netstat in this report: lsof it is
    "listening-sockets": ("sos_commands/process/lsof_M_-n_-l_-c", Format.LSOF),
    "ovs-vsctl-show": ("sos_commands/openvswitch/ovs-vsctl_-t_5_show", Format.OVS_VSCTL_SHOW),
    "ovs-vsctl-list-br": ("sos_commands/openvswitch/ovs-vsctl_-t_5_list-br", Format.LINES),
    "ovs-vsctl-list-open-vswitch": (
        "sos_commands/openvswitch/ovs-vsctl_-t_5_list_Open_vSwitch",
        Format.OVSDB_LIST,
    ),
    # a compute node: no OVN central
    "ovn-sbctl-show": None,
    "ovn-nbctl-show": None,
    "ovn-sb-mac-binding": None,
    "ovn-sb-db-listing": None,
    "ovn-nb-db-listing": None,
    "ovn-sb-cluster-status": None,
    "ovn-nb-cluster-status": None,
    "free": ("sos_commands/memory/free", Format.FREE),
    "date": ("sos_commands/date/date", Format.DATE),
    "date-utc": ("sos_commands/date/date_--utc", Format.DATE),
    "timedatectl": ("sos_commands/systemd/timedatectl", Format.TIMEDATECTL),
    "uptime": ("sos_commands/host/uptime", Format.UPTIME),
    "hostname": ("sos_commands/host/hostname", Format.TEXT),
    "uname": ("sos_commands/kernel/uname_-a", Format.TEXT),
    "installed-packages": ("sos_commands/dpkg/dpkg_-l", Format.DPKG_L),
    "pip-list": ("sos_commands/python/pip_list_installed", Format.PIP_LIST),
    # per-unit journals: the first file of the glob (command_all reads every one)
    "journal-units": ("sos_commands/cloud_init/journalctl_--no-pager_--unit_cloud-init", Format.JOURNAL_SHORT),
    # a compute node of packages: no container engine, no Kubernetes, no LXD container listed
    "docker-ps": None,
    "docker-inspect": None,
    "podman-ps": None,
    "podman-inspect": None,
    "crictl-ps": None,
    "crictl-inspect": None,
    "k8s-pods": None,
    "lxc-list": None,
}


@pytest.fixture(scope="module")
def from_tarball(ussuri_tarball: Path) -> Iterator[SosReport]:
    with SosReport(ussuri_tarball) as report:
        yield report


@pytest.fixture(scope="module")
def from_directory(ussuri_sos: Path) -> Iterator[SosReport]:
    with SosReport(ussuri_sos) as report:
        yield report


@pytest.fixture(params=["tarball", "directory"])
def report(request: pytest.FixtureRequest, from_tarball: SosReport, from_directory: SosReport) -> SosReport:
    return from_tarball if request.param == "tarball" else from_directory


def test_every_catalog_name_is_expected() -> None:
    assert set(EXPECTED) == set(CATALOG)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_catalog_variant_found(report: SosReport, name: str) -> None:
    output = report.command(name)
    expected = EXPECTED[name]
    if expected is None:
        assert output is None
        return
    assert output is not None
    assert (output.origin, output.format) == expected
    first = next(output.lines)
    assert first.path == output.origin and first.number == 1


def test_identity(report: SosReport) -> None:
    assert report.kind == "sosreport"
    assert report.root.name == "openstack"
    hostname = report.command("hostname")
    assert hostname is not None and [line.text for line in hostname.lines] == ["compute4"]


def test_processes(report: SosReport) -> None:
    output = report.command("processes")
    assert output is not None
    lines = list(output.lines)
    assert lines[0].text.split()[:6] == ["USER", "PID", "%CPU", "%MEM", "VSZ", "RSS"]
    agent = [line for line in lines if "/usr/bin/neutron-openvswitch-agent" in line.text]
    assert [line.text.split()[1] for line in agent] == ["1603"]
    assert agent[0].cite().startswith("sos_commands/process/ps_auxwwwm:")


def test_unit_journal(report: SosReport) -> None:
    output = report.command("journal-unit:ovs-vswitchd")
    assert output is not None
    assert output.origin == "sos_commands/openvswitch/journalctl_--no-pager_--unit_ovs-vswitchd"
    assert report.command("journal-unit:ovs-vswitchd.service") is not None
    assert report.command("journal-unit:neutron-server") is None


def test_rotated_neutron_log_oldest_first(report: SosReport) -> None:
    lines = list(report.read_log("/var/log/neutron/neutron-openvswitch-agent.log"))
    files = [path for path, _ in itertools.groupby(line.path for line in lines)]
    assert files == [
        "var/log/neutron/neutron-openvswitch-agent.log.2.gz",
        "var/log/neutron/neutron-openvswitch-agent.log.1.gz",
        "var/log/neutron/neutron-openvswitch-agent.log",
    ]
    # each file numbers its own lines from 1
    assert [line.path for line in lines if line.number == 1] == files
    # .2.gz ends before .1.gz begins (hotsos trimmed the live .log, so it overlaps .1.gz)
    by_file = {path: [line.text[:23] for line in lines if line.path == path] for path in files}
    assert by_file[files[0]][-1] < by_file[files[1]][0]
    assert by_file[files[0]][0] == "2022-02-04 09:38:48.629"


def test_compressed_file_read_transparently(report: SosReport) -> None:
    lines = report.read_lines("/var/log/neutron/neutron-openvswitch-agent.log.1.gz")
    assert lines is not None
    first = next(lines)
    assert first.text.startswith("2022-")
    assert first.cite() == "var/log/neutron/neutron-openvswitch-agent.log.1.gz:1"


def test_glob(report: SosReport) -> None:
    assert report.glob("/etc/**/ml2_conf.ini") == ["/etc/neutron/plugins/ml2/ml2_conf.ini"]
    logs = report.glob("/var/log/neutron/*.log")
    assert "/var/log/neutron/neutron-openvswitch-agent.log" in logs and len(logs) == 5
    assert report.glob("/var/log/neutron/*.log.[0-9]*")[-1] == "/var/log/neutron/neutron-ovs-cleanup.log.1"


def test_config_read(report: SosReport) -> None:
    lines = report.read_lines("/etc/neutron/plugins/ml2/openvswitch_agent.ini")
    assert lines is not None
    assert any(line.text.startswith("bridge_mappings") for line in lines)


def test_absent_file_is_none_without_problem(report: SosReport) -> None:
    before = list(report.problems)
    assert report.read_lines("/etc/neutron/does-not-exist.conf") is None
    assert list(report.read_log("/var/log/neutron/neutron-server.log")) == []
    assert report.problems == before


def test_collected_at(report: SosReport) -> None:
    assert report.collected_at() == datetime(2022, 2, 10, 16, 19, 17, tzinfo=UTC)


def test_tarball_and_directory_agree(from_tarball: SosReport, from_directory: SosReport) -> None:
    for name in ("journal", "systemctl-show-all", "listening-sockets"):
        a, b = from_tarball.command(name), from_directory.command(name)
        assert a is not None and b is not None
        assert list(a.lines) == list(b.lines)
    paths = "/var/log/neutron/neutron-l3-agent.log"
    assert list(from_tarball.read_log(paths)) == list(from_directory.read_log(paths))


def test_reading_every_log_raises_no_problem(report: SosReport) -> None:
    before = list(report.problems)
    files = [p for p in report.glob("/var/log/**") if (report.root / p.lstrip("/")).is_file()]
    assert len(files) > 20
    for path in files:
        for _ in report.read_lines(path) or ():
            pass
    assert report.problems == before == []


def test_unpacked_copy_removed_on_close(ussuri_tarball: Path, tmp_path: Path) -> None:
    with SosReport(ussuri_tarball, workdir=tmp_path) as report:
        assert report.root.is_relative_to(tmp_path)
    assert not list(tmp_path.iterdir())
