"""Package versions: the real installed-debs, pip list and neutron log banners of the ussuri sosreport,
plus rpm (installed-rpms, rpm -qa, old NVR-only rpm) and pip freeze / legacy pip list."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

from ostriage.evidence import Line, numbered
from ostriage.knowledge.releases import parse_neutron_version
from ostriage.parsers.oslo_log import parse_oslo_log
from ostriage.parsers.packages import (
    neutron_package,
    parse_dpkg_list,
    parse_pip_list,
    parse_rpm_list,
    parse_version_banner,
    version_banners,
)


def _lines(root: Path, rel: str) -> Iterator[Line]:
    opener = gzip.open if rel.endswith(".gz") else open
    with opener(root / rel, "rt", encoding="utf-8", errors="replace") as handle:
        yield from numbered(handle, rel)


def test_real_installed_debs(ussuri_sos: Path) -> None:
    packages = list(parse_dpkg_list(_lines(ussuri_sos, "installed-debs")))
    assert len(packages) == 1072 and all(p.installed for p in packages)
    by_name = {p.name: p for p in packages}
    common = by_name["neutron-common"]
    assert (common.version, common.arch, common.status) == ("2:16.4.1-0ubuntu2", "all", "ii")
    assert common.manager == "dpkg"
    assert common.line.path == "installed-debs" and common.line.text.startswith("ii  neutron-common ")
    assert by_name["openvswitch-switch"].version == "2.13.3-0ubuntu0.20.04.2"
    assert by_name["python3-oslo.config"].version == "1:8.0.2-0ubuntu1"
    # Multi-arch names lose their ":amd64" qualifier.
    assert by_name["libboost-program-options1.71.0"].arch == "amd64"
    neutron = neutron_package(packages)
    assert neutron is not None and (neutron.name, neutron.version) == ("python3-neutron", "2:16.4.1-0ubuntu2")
    release = parse_neutron_version(neutron.version)
    assert release is not None and release.series_name == "ussuri"


def test_real_pip_list(ussuri_sos: Path) -> None:
    packages = list(parse_pip_list(_lines(ussuri_sos, "sos_commands/python/pip_list_installed")))
    assert len(packages) == 248
    by_name = {p.name: p.version for p in packages}
    assert by_name["neutron"] == "16.4.1" and by_name["neutron-lib"] == "2.3.0"
    assert by_name["oslo.config"] == "8.0.2" and by_name["alembic"] == "1.1.0.dev0"
    assert neutron_package(packages) is not None


def test_real_version_banners(ussuri_sos: Path) -> None:
    rel = "var/log/neutron/neutron-openvswitch-agent.log.2.gz"
    banners = list(version_banners(parse_oslo_log(_lines(ussuri_sos, rel))))
    assert banners
    first = banners[0]
    assert (first.program, first.version) == ("/usr/bin/neutron-openvswitch-agent", "16.4.1")
    assert first.line.path == rel
    assert first.line.text.endswith(" [-] /usr/bin/neutron-openvswitch-agent version 16.4.1")
    cleanup_log = _lines(ussuri_sos, "var/log/neutron/neutron-ovs-cleanup.log.1")
    cleanup = [(b.program, b.version, b.pid) for b in version_banners(parse_oslo_log(cleanup_log))]
    program = "/usr/bin/neutron-ovs-cleanup"
    assert cleanup == [(program, "16.4.1", 23973), (program, "16.4.1", 959)]


def test_banner_needs_neutron_s_logger_and_form() -> None:
    lines = [
        "2025-09-28 02:50:00.000 900 INFO neutron.common.config [-] /usr/bin/neutron-server version 24.0.0",
        "2025-09-28 02:50:00.000 900 INFO neutron.common.config [-] Logging enabled!",
        "2025-09-28 02:50:00.000 900 INFO neutron.agent.x [-] /usr/bin/neutron-server version 24.0.0",
        "2025-09-28 02:50:00.000 900 INFO neutron.common.config [-] uwsgi version 26.0.0.0rc1",
        "2025-09-28 02:50:00.000 900 INFO neutron.common.config [-] protocol version unknown",
    ]
    banners = [parse_version_banner(r) for r in parse_oslo_log(numbered(lines, "server.log"))]
    assert [(b.program, b.version) if b else None for b in banners] == [
        ("/usr/bin/neutron-server", "24.0.0"), None, None, ("uwsgi", "26.0.0.0rc1"), None]


def test_installed_rpms_and_rpm_qa() -> None:
    lines = [
        "openstack-neutron-common-18.6.0-1.el8.noarch                Mon 12 Jun 2023 10:00:00 AM UTC",
        "python3-neutron-18.6.0-1.el8.noarch                         Mon 12 Jun 2023 10:00:00 AM UTC",
        "openvswitch2.17-2.17.0-103.el8s.x86_64                      Mon 12 Jun 2023 09:59:00 AM UTC",
        "gpg-pubkey-fd431d51-4ae0493b.(none)                         Mon 12 Jun 2023 09:00:00 AM UTC",
        "kernel-4.18.0-477.10.1.el8_8.x86_64",
        "openstack-neutron-16.4.1-0.20210910.el8",  # rpm -qa of an old rpm: NVR, no arch
        "not-a-package",
        "",
    ]
    packages = list(parse_rpm_list(numbered(lines, "installed-rpms")))
    assert [(p.name, p.version, p.arch) for p in packages] == [
        ("openstack-neutron-common", "18.6.0-1.el8", "noarch"),
        ("python3-neutron", "18.6.0-1.el8", "noarch"),
        ("openvswitch2.17", "2.17.0-103.el8s", "x86_64"),
        ("gpg-pubkey", "fd431d51-4ae0493b", None),
        ("kernel", "4.18.0-477.10.1.el8_8", "x86_64"),
        ("openstack-neutron", "16.4.1-0.20210910.el8", None),
    ]
    neutron = neutron_package(packages)
    assert neutron is not None and neutron.name == "python3-neutron"
    release = parse_neutron_version(neutron.version)
    assert release is not None and (release.series_name, release.major, release.patch) == ("wallaby", 18, 0)


def test_dpkg_states() -> None:
    lines = [
        "Desired=Unknown/Install/Remove/Purge/Hold",
        "| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend",
        "|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)",
        "||/ Name           Version            Architecture Description",
        "+++-==============-==================-============-=================",
        "rc  neutron-server 2:16.4.0-0ubuntu1  all          Neutron - server",
        "ii  python3-neutron 2:24.0.0-0ubuntu1 all          Neutron - Python library",
        "iU  neutron-common 2:24.0.0-0ubuntu1  all          Neutron - common",
        "iHR neutron-l3-agent 2:24.0.0-0ubuntu1 all         Neutron - l3 agent",
        "it  openvswitch-switch 3.3.0-1        amd64        Open vSwitch",
    ]
    packages = {p.name: p for p in parse_dpkg_list(numbered(lines, "dpkg -l"))}
    assert {n: p.installed for n, p in packages.items()} == {
        "neutron-server": False, "python3-neutron": True, "neutron-common": False, "neutron-l3-agent": False,
        "openvswitch-switch": True}
    assert neutron_package(packages.values()) == packages["python3-neutron"]
    assert neutron_package([packages["neutron-server"]]) is None


def test_pip_variants() -> None:
    lines = [
        "Package    Version  Location                       Installer",
        "---------- -------- ------------------------------ ---------",
        "neutron    24.0.0.0b2.dev10 /opt/stack/neutron      pip",
        "oslo.log (4.1.1)",
        "neutron-lib (2.3.0, /usr/lib/python3/dist-packages)",
        "ovsdbapp==1.2.0",
        "os-ken===1.0.0",
        "neutron @ file:///root/neutron",
        "-e git+https://opendev.org/openstack/neutron@abc#egg=neutron",
        "\x00\x00",
        "x" * 1_000_000,
    ]
    packages = list(parse_pip_list(numbered(lines, "pip")))
    assert [(p.name, p.version) for p in packages] == [
        ("neutron", "24.0.0.0b2.dev10"), ("oslo.log", "4.1.1"), ("neutron-lib", "2.3.0"),
        ("ovsdbapp", "1.2.0"), ("os-ken", "1.0.0")]
    release = parse_neutron_version(packages[0].version)
    assert release is not None and release.series_name == "caracal" and release.stage == "b"


def test_garbage() -> None:
    junk = ["\x00\xff", "x" * 1_000_000, "ii", "ii  a", "-", "a-b-c.d"]
    assert list(parse_dpkg_list(numbered(junk, "d"))) == []
    assert list(parse_rpm_list(numbered(junk, "r"))) == []
