"""The plan on the real examples: exactly the expert's diff, with its reasoning, and nothing written."""

from __future__ import annotations

import difflib
import functools
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ostriage.diagnosis import Diagnosis, diagnose
from ostriage.facts import collect
from ostriage.facts.model import Facts
from ostriage.findings import FixSafety
from ostriage.remedy.allocations import AllocationCheck
from ostriage.remedy.plan import Plan, build_plan
from ostriage.remedy.run import FixResult
from ostriage.report.plan import fix_document, fix_text
from ostriage.rules._range_advice import CAPACITY_FACTOR
from ostriage.sources import SosReport

from .conftest import (
    ML2,
    OVERRIDE,
    SCENARIOS,
    SEED,
    CliRun,
    Entry,
    assert_snapshot,
    at,
    copy_tree,
    fingerprint,
    fix_copy,
)

Fingerprint = dict[str, Entry]

SEED_ML2 = at(SEED, ML2).read_text()
SEED_OVERRIDE = at(SEED, OVERRIDE).read_text()


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, tuple[Path, FixResult, Fingerprint]]:
    """The seed's plan without and with --unsafe (each computed once: a plan writes nothing), with the
    copy it was made on and that copy's fingerprint before planning."""
    out = {}
    for unsafe in (False, True):
        root = copy_tree(SEED, tmp_path_factory.mktemp("seed") / "seed")
        before = fingerprint(root)
        out[unsafe] = (root, fix_copy(root, include_unsafe=unsafe), before)
    return out


def changed(old: str, new: str) -> list[str]:
    """The -/+ lines of a diff, nothing else."""
    return [line.rstrip("\n") for line in difflib.unified_diff(old.splitlines(True), new.splitlines(True), n=0)
            if line[:1] in "-+" and not line.startswith(("---", "+++"))]


def test_the_seed_plan_is_the_experts_fix(planned: dict[bool, tuple[Path, FixResult, Fingerprint]]) -> None:
    """The fix the incident's operator made by hand (incident.md): ovn as the mechanism driver, 1:65535, and the
    OOM protection gone; MemoryMax stays, it is enough once the range is sane."""
    seed, result, before = planned[False]
    plan = result.plan
    assert [c.path for c in plan.changes] == [ML2, OVERRIDE]
    ml2, override = plan.changes
    assert ml2.old == SEED_ML2
    assert changed(ml2.old, ml2.new) == ["-mechanism_drivers = openvswitch", "+mechanism_drivers = ovn",
                                         "-vni_ranges = 1:16777215", "+vni_ranges = 1:65535"]
    assert override.old == SEED_OVERRIDE
    assert changed(override.old, override.new) == ["-OOMScoreAdjust=-1000"]  # MemoryMax stays as it is
    assert override.new == SEED_OVERRIDE.replace("OOMScoreAdjust=-1000\n", "")
    assert all(c.safety is FixSafety.SAFE for c in plan.changes)
    assert plan.commands == [["systemctl", "daemon-reload"], ["systemctl", "restart", "neutron-server.service"]]
    assert plan.restart_units == ["neutron-server.service"]
    assert sorted(f.split(":")[0] for f in ml2.findings) == ["ml2-mechanism-driver-mismatch",
                                                             "ml2-segment-range-too-large"]
    assert [f.split(":")[0] for f in override.findings] == ["oom-protection-on-memory-hog"]
    # the ovn-router plugin cannot load without the ovn driver: the switch is safe, not a migration
    assert not plan.skipped
    # the range cannot be checked against the database from a copy, and the plan says so
    (reasoning,) = [r for r in plan.reasoning if r.startswith("geneve segments in use")]
    assert reasoning.startswith("geneve segments in use: at most 0 (OVN's Northbound shows 0 neutron network(s)")
    assert "neutron's database: no database access" in reasoning
    assert any("SELECT COUNT(*), MAX(segmentation_id) FROM networksegments WHERE network_type='geneve'" in r
               for r in plan.reasoning)
    assert result.applied is None
    assert fingerprint(seed) == before  # a plan writes nothing, not even a backup directory
    assert planned[True][1].plan.changes[0].new == ml2.new  # --unsafe has nothing more to add here


def test_a_mechanism_driver_migration_needs_unsafe(tmp_path: Path) -> None:
    """Without the ovn-router plugin a working ML2/OVS cloud may exist: switching it is a migration."""
    sos = SCENARIOS / "seed-eventlet-reconstructed" / "sos"
    for unsafe in (False, True):
        root = copy_tree(sos, tmp_path / f"copy-{unsafe}")
        plan = fix_copy(root, include_unsafe=unsafe).plan
        ml2 = next(c for c in plan.changes if c.path == ML2)
        assert ("+mechanism_drivers = ovn" in changed(ml2.old or "", ml2.new)) is unsafe
        assert ml2.safety is (FixSafety.UNSAFE if unsafe else FixSafety.SAFE)
        assert any("ml2-mechanism-driver-mismatch" in s and "--unsafe" in s for s in plan.skipped) is not unsafe


def test_the_rendered_plan_matches_its_snapshot(planned: dict[bool, tuple[Path, FixResult, Fingerprint]]) -> None:
    assert_snapshot("seed-plan.txt", fix_text(planned[False][1], "seed-incident"))
    assert_snapshot("seed-plan-unsafe.txt", fix_text(planned[True][1], "seed-incident"))


def test_the_json_plan_carries_the_same_diffs(planned: dict[bool, tuple[Path, FixResult, Fingerprint]]) -> None:
    result = planned[False][1]
    doc = fix_document(result, "seed-incident")
    assert [(c["path"], c["created"], c["safety"]) for c in doc["changes"]] == [
        (ML2, False, "safe"), (OVERRIDE, False, "safe")]
    assert [c["diff"] for c in doc["changes"]] == [c.diff for c in result.plan.changes]
    assert doc["applied"] is None and doc["rolled_back"] == []


@pytest.mark.parametrize(("scenario", "expected"), [
    ("limit-too-low", {"/etc/systemd/system/neutron-server.service.d/10-limits.conf":
                       ["-MemoryMax=512M", "+MemoryMax=1G"]}),
    ("header-too-small", {ML2: ["-max_header_size = 30", "+max_header_size = 38"]}),
    ("global-oom-protected", {ML2: ["-vni_ranges = 1:16777215", "+vni_ranges = 1:65535"],
                              OVERRIDE: ["-OOMScoreAdjust=-1000"]}),
    ("old-kernel-global-oom", {"/etc/neutron/plugin.ini": ["-vni_ranges = 1:16777215", "+vni_ranges = 1:65535"]}),
    ("healthy-controller", {}),
])
def test_plans_of_the_other_examples(tmp_path: Path, scenario: str, expected: dict[str, list[str]]) -> None:
    root = copy_tree(SCENARIOS / scenario / "sos", tmp_path / "sos")
    plan = fix_copy(root).plan
    assert {c.path: changed(c.old or "", c.new) for c in plan.changes} == expected
    if not expected:
        assert plan.empty and plan.commands == []
        assert plan.reasoning == ["nothing to change: no finding calls for an edit"]


# -- sizing against the segments in use -----------------------------------------------------------------


@functools.cache
def seed_diagnosis() -> tuple[Diagnosis, Facts]:
    with SosReport(SEED) as source:
        facts = collect(source)
    return diagnose(facts), facts


def seed_plan(check: Callable[[str, str], AllocationCheck] | None, **kw: bool) -> Plan:
    d, facts = seed_diagnosis()

    def read(path: str) -> str | None:
        p = at(SEED, path)
        return p.read_text() if p.is_file() else None

    return build_plan(d, facts, read, check=check, **kw)


def checker(ids: tuple[int, ...] | None, how: str = "networksegments (test)") -> Callable[[str, str], AllocationCheck]:
    def check(url: str, network_type: str) -> AllocationCheck:
        assert url.startswith("mysql+pymysql://neutron:")  # neutron.conf's [database] connection
        assert network_type == "geneve"
        return AllocationCheck(network_type, ids, how)
    return check


def vni_ranges(plan: Plan) -> str:
    (line,) = [x for x in plan.changes[0].new.splitlines() if x.startswith("vni_ranges")]
    return line.removeprefix("vni_ranges = ")


def test_few_segments_keep_the_suggested_range() -> None:
    plan = seed_plan(checker(tuple(range(1, 101))))
    assert vni_ranges(plan) == "1:65535"
    (reason,) = [r for r in plan.reasoning if "segments in use" in r]
    assert reason.startswith(
        "geneve segments in use: 100 (networksegments (test)); new range 1:65535 leaves 65,435 free")


def test_a_range_too_small_for_the_segments_in_use_is_widened() -> None:
    used = 20_000  # 1:65535 would leave 45,535 free: less than CAPACITY_FACTOR x 20,000
    plan = seed_plan(checker(tuple(range(1, used + 1))))
    last = (CAPACITY_FACTOR + 1) * used
    assert vni_ranges(plan) == f"1:{last}"
    free = last - used
    assert free >= CAPACITY_FACTOR * used
    (reason,) = [r for r in plan.reasoning if "segments in use" in r]
    assert f"new range 1:{last} leaves {free:,} free, {CAPACITY_FACTOR}x or more of what is used" in reason


def test_widening_stops_at_the_last_geneve_id() -> None:
    ids = tuple(range(1, 5_000_001))
    plan = seed_plan(checker(ids))
    # 5 x 5,000,000 is past 2**24 - 1, the last VNI neutron accepts: the range stays 1:16777215, which is
    # what the file has, so only the mechanism driver changes in the ml2 file
    assert [c.path for c in plan.changes] == [ML2, OVERRIDE]
    assert changed(plan.changes[0].old or "", plan.changes[0].new) == ["-mechanism_drivers = openvswitch",
                                                                      "+mechanism_drivers = ovn"]
    (reason,) = [r for r in plan.reasoning if "segments in use" in r]
    assert f"new range 1:16777215 leaves 11,777,215 free, less than {CAPACITY_FACTOR}x what is used" in reason
    assert "as far as geneve IDs go" in reason


def test_segments_outside_the_new_range_are_reported_or_kept() -> None:
    ids = (5, 6, 70000, 70001, 70002, 900000)
    plan = seed_plan(checker(ids))
    assert vni_ranges(plan) == "1:65535"
    assert any("4 allocated segment(s) lie outside it (70000, 70001, 70002, 900000)" in r for r in plan.reasoning)
    kept = seed_plan(checker(ids), keep_outside=True)
    # consecutive IDs are one range: neutron parses "a:b" pairs, a list of thousands of single IDs helps nobody
    assert vni_ranges(kept) == "1:65535,70000:70002,900000:900000"
    assert any("4 segment(s) outside it" in r and "kept" in r for r in kept.reasoning)


def test_an_unknown_count_is_said_with_the_reason() -> None:
    plan = seed_plan(checker(None, "cannot connect to neutron's database: refused"))
    assert vni_ranges(plan) == "1:65535"
    assert any(r.startswith("geneve segments in use: at most 0 (")
               and "neutron's database: cannot connect to neutron's database: refused" in r for r in plan.reasoning)


# -- where a systemd setting is changed ----------------------------------------------------------------


def test_a_setting_in_a_vendor_drop_in_is_masked_by_a_copy_under_etc(seed: Path) -> None:
    """OOMScoreAdjust set by a drop-in under /usr/lib: that file is never edited, and an override.conf
    would lose to a drop-in sorting after it ("zz-oom.conf"); a same-named copy under /etc replaces it."""
    vendor = "/usr/lib/systemd/system/neutron-server.service.d/zz-oom.conf"
    at(seed, vendor).parent.mkdir(parents=True, exist_ok=True)
    shutil.move(at(seed, OVERRIDE), at(seed, vendor))
    at(seed, vendor).write_text(SEED_OVERRIDE + "Nice=5\n")
    show = at(seed, "sos_commands/systemd/systemctl_show_service_--all")
    text = show.read_text()
    assert "DropInPaths=/etc/systemd/system/neutron-server.service.d/override.conf\n" in text
    show.write_text(text.replace("DropInPaths=/etc/systemd/system/neutron-server.service.d/override.conf\n",
                                 f"DropInPaths={vendor}\n"))
    plan = fix_copy(seed).plan
    masked = [c for c in plan.changes if c.path.endswith("zz-oom.conf")]
    assert [(c.path, c.old, c.new) for c in masked] == [
        ("/etc/systemd/system/neutron-server.service.d/zz-oom.conf", None,
         SEED_OVERRIDE.replace("OOMScoreAdjust=-1000\n", "") + "Nice=5\n")]
    assert at(seed, vendor).read_text() == SEED_OVERRIDE + "Nice=5\n"  # the vendor file is never written
    assert ["systemctl", "daemon-reload"] in plan.commands


def test_without_a_database_the_networks_ovn_shows_size_the_range(tmp_path: Path) -> None:
    """A sosreport has no database: the logical switches OVN's Northbound holds (one per network) are what
    the evidence shows, and the new range keeps 4x that free."""
    root = copy_tree(SEED, tmp_path / "seed")
    show = root / "sos_commands/ovn_central/ovn-nbctl_show"
    show.write_text("".join(f"switch {n:08x}-0000-4000-8000-000000000000 (neutron-{n:08x}-1111-4111-8111-"
                            f"111111111111) (aka net{n})\n    port p{n}\n" for n in range(20000)))
    plan = fix_copy(root).plan
    assert vni_ranges(plan) == "1:100000"
    (reason,) = [r for r in plan.reasoning if r.startswith("geneve segments in use")]
    assert reason.startswith("geneve segments in use: at most 20,000 (OVN's Northbound shows 20,000 neutron network(s) "
                             "(sos_commands/ovn_central/ovn-nbctl_show:39999), of every type")
    assert "new range 1:100000 leaves 80,000 free, 4x or more of what is used" in reason


@pytest.mark.parametrize("kind", ["sosreport", "host tree"])
def test_the_fix_of_evidence_reads_its_files_inside_it_never_this_machines(
        tmp_path: Path, kind: str, cli: Callable[..., CliRun]) -> None:
    """RDO ships ``/etc/neutron/plugin.ini -> /etc/neutron/plugins/ml2/ml2_conf.ini``: in a sosreport or a copy of
    a host's files, that link means the evidence's own file, as the diagnosis reads it, not this machine's."""
    root = copy_tree(SCENARIOS / "old-kernel-global-oom" / "sos", tmp_path / "sos")
    (root / "etc/neutron/plugin.ini").unlink()
    (root / "etc/neutron/plugin.ini").symlink_to(ML2)
    if kind == "host tree":
        for marker in ("sos_commands", "version.txt"):
            target = root / marker
            shutil.rmtree(target) if target.is_dir() else target.unlink()
    run = cli("diagnose", str(root), "--format", "json")
    doc = json.loads(run.out)
    assert doc["fix"] is not None, run.err
    (change,) = doc["fix"]["changes"]
    assert (change["path"], change["created"]) == ("/etc/neutron/plugin.ini", False)
    assert "-vni_ranges = 1:16777215" in change["diff"].splitlines()
