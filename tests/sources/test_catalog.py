"""The catalog table itself, and how a sosreport picks among variants."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from ostriage.sources import CATALOG, Format, SosReport, lookup
from ostriage.sources.catalog import EXTRACTION_EXCLUDED, FILE_AREAS, SOS_ONLY, extraction_areas, mangle

from .conftest import MakeReport

_SHELL = set("|&;<>`$")


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_spec_is_complete_and_safe(name: str) -> None:
    spec = CATALOG[name]
    assert spec.name == name and spec.description
    assert spec.sos and (bool(spec.live) != (name in SOS_ONLY))
    for live in spec.live:
        assert isinstance(live.format, Format)
        assert live.timeout > 0
        program = live.argv[0]
        assert "/" not in program and not program.startswith("-"), "found through the fixed PATH"
        # no shell runs these: shell syntax in an argv would be passed literally and mean nothing
        assert not any(_SHELL & set(arg) for arg in live.argv), live.argv
    for variant in spec.sos:
        assert isinstance(variant.format, Format)
        assert not variant.path.startswith("/") and ".." not in variant.path.split("/")


def test_sos_file_names_follow_sos_mangling() -> None:
    assert mangle("systemctl show *service --all") == "systemctl_show_service_--all"
    assert mangle("lsof +M -n -l -c ''") == "lsof_M_-n_-l_-c"
    assert mangle("ps axo pid,ppid,user,group,lwp,nlwp,start_time,comm,cgroup") == (
        "ps_axo_pid_ppid_user_group_lwp_nlwp_start_time_comm_cgroup"
    )
    assert mangle("journalctl --no-pager  --catalog --boot ") == "journalctl_--no-pager_--catalog_--boot"
    assert mangle("ls -alZ /var/lib/ovn/ovnsb_db.db") == "ls_-alZ_.var.lib.ovn.ovnsb_db.db"


def test_lookup() -> None:
    assert lookup("processes") is CATALOG["processes"]
    with pytest.raises(KeyError):
        lookup("no-such-command")
    for bad in ("--all", "a b", "x;rm", "*", "../x", ""):
        with pytest.raises(KeyError):
            lookup(f"journal-unit:{bad}")
    spec = lookup("journal-unit:neutron-server.service")
    assert spec.live[0].argv[-3] == "--unit=neutron-server.service"
    assert [v.path for v in spec.sos][:2] == [
        "sos_commands/*/journalctl_--no-pager_--unit_neutron-server",
        "sos_commands/*/journalctl_--no-pager_--unit_neutron-server.service",
    ]


def test_extraction_areas_cover_every_variant() -> None:
    areas = extraction_areas()
    assert set(FILE_AREAS) <= set(areas)
    for spec in CATALOG.values():
        for variant in spec.sos:
            parts = variant.path.split("/")
            plugin = variant.path if len(parts) == 1 or any(c in parts[1] for c in "*?[") else "/".join(parts[:2])
            assert plugin in areas
    assert "sos_commands/*/journalctl_--no-pager_--unit_*" in areas


def test_no_variant_is_excluded_from_extraction() -> None:
    for spec in CATALOG.values():
        for variant in spec.sos:
            for pattern in EXTRACTION_EXCLUDED:
                assert not fnmatchcase(variant.path, pattern), (variant.path, pattern)
                assert not fnmatchcase(variant.path, pattern + "/*"), (variant.path, pattern)


def _report(
    make_report: MakeReport, files: dict[str, str | bytes], links: dict[str, str] | None = None
) -> SosReport:
    root = make_report(files)
    for name, target in (links or {}).items():
        os.symlink(target, root / name)
    return SosReport(root)


def test_root_symlink_used_when_the_target_name_is_unknown(make_report: MakeReport) -> None:
    report = _report(
        make_report,
        {"sos_commands/process/ps_renamed": "USER PID\n"},
        {"ps": "sos_commands/process/ps_renamed"},
    )
    output = report.command("processes")
    assert output is not None
    assert (output.origin, output.format) == ("sos_commands/process/ps_renamed", Format.PS_AUX_THREADS)


def test_known_name_found_before_the_root_symlink(make_report: MakeReport) -> None:
    # sos 3.x: the top-level "ps" is "ps auxwww", found by its own name first
    report = _report(
        make_report,
        {"sos_commands/process/ps_auxwww": "USER PID\n"},
        {"ps": "sos_commands/process/ps_auxwww"},
    )
    output = report.command("processes")
    assert output is not None
    assert (output.origin, output.format) == ("sos_commands/process/ps_auxwww", Format.PS_AUX)


def test_dangling_root_symlink_is_absence(make_report: MakeReport) -> None:
    report = _report(make_report, {}, {"lsof": "sos_commands/filesys/lsof_-b_M_-n_-l_-P"})
    assert report.command("listening-sockets") is None
    assert report.problems == []


def test_root_symlink_to_an_absolute_path_stays_in_the_report(make_report: MakeReport) -> None:
    # chroot semantics: "/proc/meminfo" is the report's own proc/meminfo, never this machine's
    report = _report(make_report, {}, {"free": "/proc/meminfo"})
    assert report.command("free") is None  # the report has no proc/meminfo
    report = _report(make_report, {"proc/meminfo": "MemTotal: 1 kB\n"}, {"free": "/proc/meminfo"})
    output = report.command("free")
    assert output is not None and [ln.text for ln in output.lines] == ["MemTotal: 1 kB"]


def test_non_empty_variant_preferred(make_report: MakeReport) -> None:
    report = _report(
        make_report,
        {
            "sos_commands/logs/journalctl_--no-pager": "",
            "sos_commands/logs/journalctl_--no-pager_--catalog_--boot": "Feb 10 16:19:17 h kernel: x\n",
        },
    )
    output = report.command("journal")
    assert output is not None and output.origin == "sos_commands/logs/journalctl_--no-pager_--catalog_--boot"


def test_all_empty_gives_the_first_empty(make_report: MakeReport) -> None:
    report = _report(make_report, {"sos_commands/memory/free_-m": "", "sos_commands/memory/free": ""})
    output = report.command("free")
    assert output is not None
    assert (output.origin, output.format, list(output.lines)) == ("sos_commands/memory/free", Format.FREE, [])


def test_directory_where_a_file_is_expected(make_report: MakeReport) -> None:
    root = make_report({"sos_commands/memory/free_-m": "Mem: 1 2 3\n"})
    (root / "sos_commands/memory/free").mkdir()
    report = SosReport(root)
    output = report.command("free")
    assert output is not None and output.format == Format.FREE_M
    assert [str(p) for p in report.problems] == [
        "sos_commands/memory/free: expected a file with a command's output; not a regular file"
    ]


@pytest.mark.parametrize(
    ("name", "files", "origin", "fmt"),
    [
        (
            "ovn-sbctl-show",
            ["sos_commands/ovn_central/podman_exec_ovn-dbs-bundle-podman-0_ovn-sbctl_--no-leader-only_show"],
            "sos_commands/ovn_central/podman_exec_ovn-dbs-bundle-podman-0_ovn-sbctl_--no-leader-only_show",
            Format.OVN_SBCTL_SHOW,
        ),
        (
            "ovn-sbctl-show",
            [
                "sos_commands/ovn_central/microovn.ovn-sbctl_--no-leader-only_show",
                "sos_commands/ovn_central/ovn-sbctl_show",
            ],
            "sos_commands/ovn_central/ovn-sbctl_show",
            Format.OVN_SBCTL_SHOW,
        ),
        (
            "ovn-sb-mac-binding",
            ["sos_commands/ovn_central/ovn-sbctl_--no-leader-only_--columns__uuid_list_MAC_Binding"],
            "sos_commands/ovn_central/ovn-sbctl_--no-leader-only_--columns__uuid_list_MAC_Binding",
            Format.OVSDB_LIST,
        ),
        (
            "ovn-sb-mac-binding",
            ["sos_commands/ovn_central/ovn-sbctl_list_MAC_Binding"],
            "sos_commands/ovn_central/ovn-sbctl_list_MAC_Binding",
            Format.OVSDB_LIST,
        ),
        (
            "ovn-sb-db-listing",
            ["sos_commands/ovn_central/ls_-alZ_.var.lib.ovn.ovnsb_db.db"],
            "sos_commands/ovn_central/ls_-alZ_.var.lib.ovn.ovnsb_db.db",
            Format.LS,
        ),
        (
            "listening-sockets",
            ["sos_commands/networking/netstat_-T_-neopa", "sos_commands/process/lsof_M_-n_-l_-c"],
            "sos_commands/networking/netstat_-T_-neopa",
            Format.NETSTAT,
        ),
        (
            "listening-sockets",
            ["sos_commands/networking/ss_-peaonmi", "sos_commands/networking/netstat_-W_-neopa"],
            "sos_commands/networking/ss_-peaonmi",
            Format.SS_ALL,
        ),
        ("date", ["sos_commands/general/date"], "sos_commands/general/date", Format.DATE),
        (
            "journal",
            ["sos_commands/logs/journalctl_--no-pager_--all_--boot_--output_verbose"],
            "sos_commands/logs/journalctl_--no-pager_--all_--boot_--output_verbose",
            Format.JOURNAL_VERBOSE,
        ),
        (
            "journal",
            ["sos_commands/logs/journalctl_--no-pager_--since_-3days"],
            "sos_commands/logs/journalctl_--no-pager_--since_-3days",
            Format.JOURNAL_SHORT,
        ),
        ("dmesg", ["sos_commands/kernel/dmesg_-T"], "sos_commands/kernel/dmesg_-T", Format.DMESG_CTIME),
        (
            "pip-list",
            ["sos_commands/python/usr.local.bin.pip3_-v_list_installed"],
            "sos_commands/python/usr.local.bin.pip3_-v_list_installed",
            Format.PIP_LIST,
        ),
        ("installed-packages", ["sos_commands/rpm/sh_-c_rpm_--nodigest_-qa_--qf_NAME_sort_-V"], None, None),
    ],
)
def test_variants_of_other_sos_versions(
    make_report: MakeReport, name: str, files: list[str], origin: str | None, fmt: Format | None
) -> None:
    report = _report(make_report, dict.fromkeys(files, "content\n"))
    output = report.command(name)
    if origin is None:
        assert output is None
        return
    assert output is not None
    assert (output.origin, output.format) == (origin, fmt)


def test_installed_rpms_through_its_root_symlink(make_report: MakeReport) -> None:
    target = "sos_commands/rpm/sh_-c_rpm_--nodigest_-qa_--qf_-59_NVRA_INSTALLTIME_date_sort_-V"
    report = _report(
        make_report,
        {target: "openstack-neutron-22.1.0-1.el9.noarch   Mon 01 Jan 2024\n"},
        {"installed-rpms": target},
    )
    output = report.command("installed-packages")
    assert output is not None and (output.origin, output.format) == (target, Format.INSTALLED_RPMS)


def test_catalog_only_names_known_tools(tmp_path: Path) -> None:
    programs = {live.argv[0] for spec in CATALOG.values() for live in spec.live}
    assert programs == {
        "journalctl",
        "dmesg",
        "systemctl",
        "ps",
        "ss",
        "ovs-vsctl",
        "ovn-sbctl",
        "ovn-nbctl",
        "ovs-appctl",
        "ls",
        "free",
        "date",
        "timedatectl",
        "uptime",
        "hostname",
        "uname",
        "dpkg",
        "rpm",
        "pip3",
        "pip",
        # container engines and Kubernetes, read-only subcommands only (ps, inspect, get, logs, list)
        "docker",
        "podman",
        "crictl",
        "kubectl",
        "k8s",
        "microk8s",
        "lxc",
    }
    engines = {live.argv[:3] for spec in CATALOG.values() for live in spec.live
               if live.argv[0] in ("docker", "podman", "crictl", "kubectl", "k8s", "microk8s", "lxc")}
    assert {argv[1] if argv[0] not in ("k8s", "microk8s") else argv[2] for argv in engines} <= {"ps", "get", "list"}


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "sos_commands/date/date": "Thu Feb 10 17:19:17 CET 2022\n",
                "sos_commands/date/date_--utc": "Thu Feb 10 16:19:17 UTC 2022\n",
            },
            datetime(2022, 2, 10, 16, 19, 17, tzinfo=UTC),
        ),
        (
            {"sos_commands/systemd/timedatectl": "      Local time: Thu 2022-02-10 16:19:48 UTC\n"},
            datetime(2022, 2, 10, 16, 19, 48, tzinfo=UTC),
        ),
        (
            {
                "sos_reports/manifest.json": '{\n    "version": "4.5.6",\n    "cmdline": "sos report",\n'
                '    "start_time": "2024-05-01 10:11:12.131415",\n'
            },
            datetime(2024, 5, 1, 10, 11, 12, 131415),
        ),
        (
            {"sos_logs/sos.log": "garbage\n2022-02-10 16:19:07,403 INFO: Setting up archive ...\n"},
            datetime(2022, 2, 10, 16, 19, 7),
        ),
        ({"sos_commands/date/date": "date: command not found\n"}, None),
    ],
)
def test_collection_time_sources(
    make_report: MakeReport, files: dict[str, str | bytes], expected: datetime | None
) -> None:
    report = SosReport(make_report(files))
    when = report.collected_at()
    assert when == expected  # aware datetimes compare as instants: 17:19:17 CET == 16:19:17 UTC
    assert report.collected_at() is when  # computed once
