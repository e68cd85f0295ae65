"""Neutron release knowledge (ostriage.knowledge.releases): version strings of every packaging, the
series table as checked against openstack/releases, ordering, and the tunnel-sync split."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from ostriage.knowledge.releases import (
    SERIES,
    NeutronRelease,
    TunnelSync,
    first_of_series,
    parse_neutron_version,
    series_for_major,
)


def _v(text: str) -> NeutronRelease:
    release = parse_neutron_version(text)
    assert release is not None, text
    return release


def test_real_fixture_versions(ussuri_sos: Path) -> None:
    debs = (ussuri_sos / "installed-debs").read_text().splitlines()
    (line,) = [x for x in debs if x.split()[1:2] == ["neutron-common"]]
    release = _v(line.split()[2])
    assert (release.major, release.minor, release.patch) == (16, 4, 1)
    assert (release.series_name, release.series_number) == ("ussuri", None)
    assert release.tunnel_sync is TunnelSync.ORM_LOAD
    assert not release >= "2025.1" and release < "victoria" and release.in_series("ussuri")


@pytest.mark.parametrize(("text", "expected"), [
    ("2:16.4.1-0ubuntu2", (16, 4, 1, None, 0, None)),
    ("2:16.4.2-0ubuntu6~cloud0", (16, 4, 2, None, 0, None)),
    ("2:24.0.0~rc1-0ubuntu1", (24, 0, 0, "rc", 1, None)),
    ("2:26.0.0~b2-0ubuntu1", (26, 0, 0, "b", 2, None)),
    ("18.6.0-1.el8", (18, 6, 0, None, 0, None)),
    ("16.4.1-0.20210910.el8", (16, 4, 1, None, 0, None)),
    ("16.4.1", (16, 4, 1, None, 0, None)),
    ("24.0.0.0b2.dev10", (24, 0, 0, "b", 2, 10)),
    ("26.0.0.0rc1", (26, 0, 0, "rc", 1, None)),
    ("16.4.2.dev35", (16, 4, 2, None, 0, 35)),
    ("25.1", (25, 1, 0, None, 0, None)),
    ("28.0.1+git2026.1.abcdef", (28, 0, 1, None, 0, None)),
])
def test_version_strings(text: str, expected: tuple[int, int, int, str | None, int, int | None]) -> None:
    r = _v(text)
    assert (r.major, r.minor, r.patch, r.stage, r.stage_number, r.dev) == expected


@pytest.mark.parametrize("text", ["", "garbage", "2015.1.0", "2014.2.4", "v", "\x00", "x" * 100_000])
def test_not_neutron_versions(text: str) -> None:
    assert parse_neutron_version(text) is None


def test_series_table_as_checked_against_openstack_releases() -> None:
    table = {s.major: (s.name, s.number) for s in SERIES}
    assert table[7] == ("liberty", None) and table[12] == ("queens", None) and table[16] == ("ussuri", None)
    assert table[20] == ("yoga", None) and table[21] == ("zed", None)
    assert table[22] == ("antelope", "2023.1") and table[23] == ("bobcat", "2023.2")
    assert table[24] == ("caracal", "2024.1") and table[25] == ("dalmatian", "2024.2")
    assert table[26] == ("epoxy", "2025.1") and table[27] == ("flamingo", "2025.2")
    assert table[28] == ("gazpacho", "2026.1") and table[29] == ("hibiscus", "2026.2")
    assert sorted(table) == list(range(7, 30))
    assert series_for_major(6) is None and series_for_major(30) is None
    future = _v("30.0.0")
    assert future.series_name is None and future > _v("29.0.0.0b1") and future >= "2026.2"


def test_ordering_follows_pep440_as_pbr_does() -> None:
    ordered = ["24.0.0.dev3", "24.0.0.0b1", "24.0.0.0b2.dev10", "24.0.0.0b2", "24.0.0.0rc1", "24.0.0",
               "24.0.1.dev3", "24.0.1", "24.1.0", "25.0.0"]
    releases = [_v(t) for t in ordered]
    assert sorted(reversed(releases)) == releases
    assert all(a < b and b > a and a <= b and not a >= b for a, b in pairwise(releases))
    assert _v("2:24.0.0-0ubuntu1") == _v("24.0.0") and _v("24.0.0") <= _v("24.0.0")
    assert str(_v("24.0.0.0b2.dev10")) == "24.0.0.0b2.dev10" and str(_v("2:16.4.1-0ubuntu2")) == "16.4.1"


def test_series_comparisons_use_the_major_only() -> None:
    assert _v("26.0.0.0b1") >= "2025.1" and _v("26.0.0.0b1") >= "epoxy" and _v("26.9.9") <= "2025.1"
    assert _v("24.0.0") <= "2024.1" and _v("24.0.0") < "2024.2" and not _v("24.0.0") > "caracal"
    assert _v("25.0.0").in_series("dalmatian") and not _v("25.0.0").in_series("2024.1")
    assert not _v("25.0.0").in_series("nonexistent")
    with pytest.raises(TypeError):
        _ = _v("25.0.0") < "not-a-series"
    with pytest.raises(TypeError):
        _ = _v("25.0.0") < 25


def test_first_of_series() -> None:
    assert first_of_series("2025.1") == NeutronRelease(26, 0, 0, "epoxy", "2025.1")
    assert first_of_series("caracal") == _v("24.0.0")
    assert _v("26.0.0") >= first_of_series("2025.1") > _v("26.0.0.0rc2")
    with pytest.raises(KeyError):
        first_of_series("2099.1")


@pytest.mark.parametrize(("text", "sync"), [
    ("16.4.1", TunnelSync.ORM_LOAD),  # ussuri: verified in tag 16.0.0
    ("20.3.0", TunnelSync.ORM_LOAD),
    ("24.0.0", TunnelSync.ORM_LOAD),  # 2024.1
    ("25.2.1", TunnelSync.ORM_LOAD),  # 2024.2: no backport of dce01d7550
    ("26.0.0.0b1", TunnelSync.ORM_LOAD),
    ("26.0.0.0b2", TunnelSync.ORM_LOAD),
    ("26.0.0.0b2.dev40", TunnelSync.ORM_LOAD),  # a build before the b2 tag
    ("26.0.0.0b3.dev57", None),  # between b2 and rc1: depends on the commit
    ("26.0.0.0rc1.dev2", None),
    ("26.0.0.0rc1", TunnelSync.IN_CLAUSE_FAST_EXIT),
    ("26.0.0", TunnelSync.IN_CLAUSE_FAST_EXIT),  # 2025.1
    ("26.0.5", TunnelSync.IN_CLAUSE_FAST_EXIT),
    ("27.0.0.0b1", TunnelSync.IN_CLAUSE_FAST_EXIT),
    ("28.0.1", TunnelSync.IN_CLAUSE_FAST_EXIT),
])
def test_tunnel_sync_split(text: str, sync: TunnelSync | None) -> None:
    assert _v(text).tunnel_sync is sync
