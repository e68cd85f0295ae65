"""``allocations.segments_in_use`` against a real MariaDB (a private server on a unix socket), and through
the plan of a live host: the new range holds the segments in use, and the ones outside are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from ostriage.remedy.allocations import segments_in_use
from ostriage.remedy.run import FixOptions, fix
from ostriage.rules._range_advice import CAPACITY_FACTOR

from .conftest import ML2, Commands, MariaDB, ScriptedHost, live_copy, steady


@pytest.fixture(scope="module")
def neutron_db(mariadb: MariaDB) -> MariaDB:
    """geneve segments 1..20 and 70000..70002, vxlan and vlan ones, and a network without an ID."""
    rows: list[tuple[str, str | None, int | None]] = [("geneve", None, i) for i in range(1, 21)]
    rows += [("geneve", None, i) for i in (70000, 70001, 70002)]
    rows += [("vxlan", None, 5), ("vlan", "physnet1", 100), ("flat", "phynet2", None), ("geneve", None, None)]
    mariadb.segments("neutron", rows)
    return mariadb


def test_counts_the_segments_of_one_type(neutron_db: MariaDB) -> None:
    check = segments_in_use(neutron_db.url(), "geneve")
    assert check.ids == (*range(1, 21), 70000, 70001, 70002)
    assert check.how == f"networksegments in database neutron at {neutron_db.socket}"
    assert check.outside(1, 65535) == (70000, 70001, 70002)
    assert check.outside(1, 70001) == (70002,)
    assert segments_in_use(neutron_db.url(), "vxlan").ids == (5,)
    assert segments_in_use(neutron_db.url(), "gre").ids == ()


def test_it_only_reads(neutron_db: MariaDB) -> None:
    """The neutron user here has SELECT only: the check still works, so it needs nothing more."""
    assert segments_in_use(neutron_db.url(), "geneve").ids is not None
    neutron_db.execute("CREATE DATABASE IF NOT EXISTS otherdb")
    denied = segments_in_use(neutron_db.url(database="otherdb"), "geneve")
    assert denied.ids is None and "cannot connect to neutron's database" in denied.how


def test_what_cannot_be_known_is_said(neutron_db: MariaDB, tmp_path: Path) -> None:
    wrong = segments_in_use(neutron_db.url(password="wrong"), "geneve")
    assert wrong.ids is None and wrong.how.startswith("cannot connect to neutron's database: Access denied")
    absent = segments_in_use(f"mysql+pymysql://n:x@localhost/neutron?unix_socket={tmp_path}/none.sock", "geneve")
    assert absent.ids is None and "cannot connect" in absent.how
    neutron_db.execute("CREATE DATABASE IF NOT EXISTS empty_db", "GRANT SELECT ON empty_db.* TO 'neutron'@'localhost'")
    no_table = segments_in_use(neutron_db.url(database="empty_db"), "geneve")
    assert no_table.ids is None and no_table.how.startswith("cannot read networksegments:")
    postgres = segments_in_use("postgresql://neutron:x@localhost/neutron", "geneve")
    assert postgres.ids is None and "not supported" in postgres.how


def test_the_live_plan_keeps_room_for_the_segments_in_use(mariadb: MariaDB, seed: Path) -> None:
    """A cloud with 20,000 geneve networks: 1:65535 would leave fewer than CAPACITY_FACTOR x 20,000 free."""
    mariadb.segments("neutron_big", [("geneve", None, i) for i in range(1, 20_001)] + [("geneve", None, 900_000)])
    source = live_copy(seed, mariadb.url(database="neutron_big"))
    result = fix(source, FixOptions(), host=ScriptedHost({"neutron-server.service": steady()}).host,
                 run_commands=Commands())
    ml2 = next(c for c in result.plan.changes if c.path == ML2)
    used = 20_001
    last = (CAPACITY_FACTOR + 1) * used
    assert f"\nvni_ranges = 1:{last}\n" in ml2.new
    (reason,) = [r for r in result.plan.reasoning if r.startswith("geneve segments in use")]
    assert reason.startswith(f"geneve segments in use: {used:,} (networksegments in database neutron_big at ")
    assert f"new range 1:{last} leaves {last - used + 1:,} free, {CAPACITY_FACTOR}x or more of what is used" in reason
    assert any("1 allocated segment(s) lie outside it (900000)" in r for r in result.plan.reasoning)

    kept = fix(live_copy(seed, mariadb.url(database="neutron_big")), FixOptions(keep_outside=True),
               host=ScriptedHost({"neutron-server.service": steady()}).host, run_commands=Commands())
    ml2 = next(c for c in kept.plan.changes if c.path == ML2)
    assert f"\nvni_ranges = 1:{last},900000:900000\n" in ml2.new


def test_few_segments_in_use_keep_the_suggested_range(neutron_db: MariaDB, seed: Path) -> None:
    result = fix(live_copy(seed, neutron_db.url()), FixOptions(),
                 host=ScriptedHost({"neutron-server.service": steady()}).host, run_commands=Commands())
    ml2 = next(c for c in result.plan.changes if c.path == ML2)
    assert "\nvni_ranges = 1:65535\n" in ml2.new
    assert any(r.startswith("geneve segments in use: 23 (networksegments in database neutron at ")
               and "new range 1:65535 leaves 65,515 free" in r for r in result.plan.reasoning)
    assert any("3 allocated segment(s) lie outside it (70000, 70001, 70002)" in r for r in result.plan.reasoning)
