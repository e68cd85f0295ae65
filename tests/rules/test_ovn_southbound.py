"""OVN002/OVN003 on the real seed bundle given a release that keeps MAC_Binding and a large real table.

The seed bundle is real (neutron 29.0.0 in the lab); these tests change what the evidence says about
the release (its log banner) and add the Southbound's listing and file size as sos 4.10 names them, in
the real formats of tests/data/ovn (recorded from OVN 23.03).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ostriage.diagnosis import diagnose
from ostriage.facts import collect
from ostriage.report import to_document
from ostriage.sources import open_target

DATA = Path(__file__).resolve().parents[1] / "data" / "ovn"
OVN = "sos_commands/ovn_central"


def _document(root: Path) -> dict[str, Any]:
    with open_target(str(root)) as source:
        doc: dict[str, Any] = to_document(diagnose(collect(source)))
    return doc


def _with_southbound(root: Path, release: str, file_bytes: int, vni_ranges: str | None = None) -> Path:
    for log in (root / "var/log/neutron").glob("*.log"):
        log.write_text(log.read_text().replace("version 29.0.0", f"version {release}"))
    if vni_ranges is not None:
        ml2 = root / "etc/neutron/plugins/ml2/ml2_conf.ini"
        ml2.write_text(ml2.read_text().replace("vni_ranges = 1:16777215", f"vni_ranges = {vni_ranges}"))
    listing = (DATA / "ovn-sbctl_--no-leader-only_list_MAC_Binding").read_text()
    tail = listing[listing.index("ip "):]        # as sos keeps it: the last bytes, the first record cut
    (root / OVN / "ovn-sbctl_--no-leader-only_list_MAC_Binding").write_text(tail)
    ls = (DATA / "ls_-alZ").read_text().replace("/tmp/ovnfx/sb.db", "/var/lib/ovn/ovnsb_db.db")
    ls = re.sub(r" \? \d+ ", f" ? {file_bytes} ", ls)
    (root / OVN / "ls_-alZ_.var.lib.ovn.ovnsb_db.db").write_text(ls)
    (root / OVN / "ovn-nbctl_--no-leader-only_list_Logical_Router").write_text(
        (DATA / "ovn-nbctl_--no-leader-only_list_Logical_Router").read_text())
    return root


def _finding(doc: dict[str, Any], rule: str) -> dict[str, Any] | None:
    return next((f for f in doc["findings"] if f["rule"] == rule), None)


def test_sane_range_and_a_large_mac_binding_table_on_19_0_0_is_the_root_cause(seed_copy: Path) -> None:
    doc = _document(_with_southbound(seed_copy, "19.0.0", 40 * 1024 * 1024, vni_ranges="1:65535"))
    roots = [r["rule"] for r in doc["root_causes"]]
    assert "ovn-sb-replica-growth" in roots and "ml2-segment-range-too-large" not in roots
    found = _finding(doc, "ovn-sb-replica-growth")
    assert found is not None and found["severity"] == "critical"
    notes = " | ".join(e["note"] for e in found["evidence"])
    assert "in the listing's tail" in notes and "file's size implies about" in notes
    assert "neutron 19.0.0 keeps every MAC_Binding row" in notes
    assert "no mac_binding_age_threshold on 1 of 2 router(s)" in notes
    assert "19.1.0" in " ".join(found["remedy"]["steps"])
    assert doc["facts"]["ovn"]["southbound_rows_truncated"] == ["MAC_Binding"]
    limit = _finding(doc, "unit-memory-limit-below-need")
    assert limit is None or limit["severity"] != "critical" or "ovn-sb-replica-growth" not in str(limit)


def test_the_seed_range_still_wins_with_the_table_beside_it(seed_copy: Path) -> None:
    doc = _document(_with_southbound(seed_copy, "19.0.0", 40 * 1024 * 1024))
    roots = [r["rule"] for r in doc["root_causes"]]
    assert roots[0] == "ml2-segment-range-too-large"
    found = _finding(doc, "ovn-sb-replica-growth")
    assert found is not None and found["severity"] == "warning"


def test_a_release_without_the_replica_is_not_blamed(seed_copy: Path) -> None:
    doc = _document(_with_southbound(seed_copy, "24.2.2", 40 * 1024 * 1024, vni_ranges="1:65535"))
    assert _finding(doc, "ovn-sb-replica-growth") is None


def test_an_uncompacted_southbound_file_is_its_own_finding(seed_copy: Path) -> None:
    doc = _document(_with_southbound(seed_copy, "24.2.2", 3 * 1024**3, vni_ranges="1:65535"))
    found = _finding(doc, "ovn-sb-database-growth")
    assert found is not None and "database file is 3.0 GiB" in found["summary"]
    assert any("ovsdb-server/compact" in step for step in found["remedy"]["steps"])
    assert found["remedy"]["ini_edits"][0]["key"] == "mac_binding_age_threshold"


def test_fix_plans_neutrons_aging_option_where_the_release_has_it(seed_copy: Path, ostriage: Any) -> None:
    _with_southbound(seed_copy, "24.2.2", 3 * 1024**3, vni_ranges="1:65535")
    run = ostriage("fix", "--root", seed_copy)
    assert run.code == 1, run.out
    assert "+mac_binding_age_threshold = 300" in run.out


def test_raft_trouble_is_reported_on_its_own(seed_copy: Path) -> None:
    status = (DATA / "cluster-status.txt").read_text()
    status = status.replace("Entries not yet committed: 0", "Entries not yet committed: 12")
    status = status.replace("Disconnections: 0", "Disconnections: 3")
    (seed_copy / OVN / "ovs-appctl_-t_.var.run.ovn.ovnsb_db.ctl_cluster.status_OVN_Southbound").write_text(status)
    doc = _document(seed_copy)
    found = _finding(doc, "ovn-sb-database-growth")
    assert found is not None and found["severity"] == "warning"
    assert "raft: 12 entries not yet committed, 3 disconnection(s)" in found["summary"]
    assert doc["facts"]["ovn"]["raft"]["OVN_Southbound"] == {"role": "leader", "term": 1, "log_entries": 8,
                                                             "disconnections": 3}
