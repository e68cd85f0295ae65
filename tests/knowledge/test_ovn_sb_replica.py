"""The Southbound replica table against the boundaries read in neutron's tags (module docstring)."""

from __future__ import annotations

import pytest

from ostriage.knowledge.ovn_sb_replica import (
    OvnVersion,
    aging_option,
    arp_broadcast_option,
    fdb_aging_option,
    parse_ovn_version,
    release_without_mac_binding,
    removal_limit_option,
    replicated_tables,
)
from ostriage.knowledge.releases import parse_neutron_version


def tables(version: str) -> set[str] | None:
    release = parse_neutron_version(version)
    assert release is not None
    found = replicated_tables(release)
    return None if found is None else set(found)


# (version, tables): each side of every boundary in `git show <tag>:.../ovsdb_monitor.py` OvnSbIdl.from_server
@pytest.mark.parametrize(("version", "expected"), [
    ("15.3.4", None),                          # ML2/OVN was networking-ovn then
    ("16.0.0", {"MAC_Binding"}), ("16.3.1", {"MAC_Binding"}),
    ("16.3.2", {"MAC_Binding", "FDB"}), ("16.4.1", {"MAC_Binding", "FDB"}), ("16.4.2", {"FDB"}),
    ("17.1.1", {"MAC_Binding"}), ("17.1.2", {"MAC_Binding", "FDB"}),
    ("17.2.1", {"MAC_Binding", "FDB"}), ("17.3.0", {"FDB"}),
    ("18.0.0", {"MAC_Binding"}), ("18.1.0", {"MAC_Binding", "FDB"}),
    ("18.1.1", {"MAC_Binding", "FDB"}), ("18.2.0", {"FDB"}),
    ("19.0.0", {"MAC_Binding", "FDB"}), ("19.1.0", {"FDB"}),
    ("20.0.0", {"FDB"}), ("24.2.2", {"FDB"}), ("27.0.3", {"FDB"}),
    ("28.0.0", set()), ("29.0.0", set()),
])
def test_which_releases_keep_which_table(version: str, expected: set[str] | None) -> None:
    assert tables(version) == expected


@pytest.mark.parametrize(("version", "fixed"), [("16.0.0", "16.4.2"), ("17.2.1", "17.3.0"), ("18.1.1", "18.2.0"),
                                                ("19.0.0", "19.1.0")])
def test_nearest_release_without_the_replica(version: str, fixed: str) -> None:
    release = parse_neutron_version(version)
    assert release is not None
    assert release_without_mac_binding(release) == fixed
    released = parse_neutron_version(fixed)
    assert released is not None and "MAC_Binding" not in (replicated_tables(released) or ())


@pytest.mark.parametrize(("version", "default"), [("23.5.0", None), ("24.0.0", 0), ("27.0.3", 0), ("28.0.0", 300),
                                                  ("28.0.1", 0), ("29.0.0", 300)])
def test_mac_binding_age_threshold_default(version: str, default: int | None) -> None:
    release = parse_neutron_version(version)
    assert release is not None
    option = aging_option(release)
    assert (option.default if option else None) == default
    if option:
        assert (option.section, option.key) == ("ovn", "mac_binding_age_threshold")


def test_removal_limit_written_from_24_1_and_arp_option_from_25() -> None:
    v = parse_neutron_version
    r240, r241, r250 = v("24.0.0"), v("24.1.0"), v("25.0.0")
    assert r240 is not None and r241 is not None and r250 is not None
    first, later = removal_limit_option(r240), removal_limit_option(r241)
    assert first is not None and "24.1.0" in first.note and later is not None and not later.note
    assert arp_broadcast_option(r241) is None
    arp = arp_broadcast_option(r250)
    assert arp is not None and arp.default is True
    fdb = fdb_aging_option(r250)
    assert fdb is not None and fdb.default == 0 and fdb.ovn_needed == OvnVersion(23, 9)


@pytest.mark.parametrize(("text", "expected"), [
    ("23.03.1-1~deb12u2", OvnVersion(23, 3, 1)),           # Debian 12 ovn-central
    ("ovn22.12-central 22.12.0-1.el9fdp", OvnVersion(22, 12, 0)),
    ("ovn-2021-central 21.12.0-59.el8fdp", OvnVersion(21, 12, 0)),
    ("20.03.2-0ubuntu0.20.04.4", OvnVersion(20, 3, 2)),
    ("3.1.0-2+deb12u1", None),                              # Open vSwitch's own version
])
def test_ovn_versions(text: str, expected: OvnVersion | None) -> None:
    assert parse_ovn_version(text) == expected
