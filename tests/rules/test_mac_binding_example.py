"""The recorded mac-binding-growth bundle: MAC_Binding blamed with rows, release and the missing aging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ostriage.diagnosis import diagnose
from ostriage.facts import collect
from ostriage.report import to_document
from ostriage.sources import open_target

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mac-binding-growth"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    with open_target(str(EXAMPLE)) as source:
        found: dict[str, Any] = to_document(diagnose(collect(source)))
    return found


def test_root_cause_is_the_replica_not_the_range(doc: dict[str, Any]) -> None:
    (root,) = doc["root_causes"]
    assert root["rule"] == "ovn-sb-replica-growth" and root["severity"] == "critical"
    chain = [link["rule"] for link in root["chain"]]
    assert chain[0] == "service-oom-kill-loop" and root["chain"][0]["relation"] == "causes"
    assert "ml2-segment-range-too-large" not in {f["rule"] for f in doc["findings"]}


def test_evidence_names_rows_release_and_missing_aging(doc: dict[str, Any]) -> None:
    finding = next(f for f in doc["findings"] if f["rule"] == "ovn-sb-replica-growth")
    by_path = {e["path"].split("/")[-1]: e for e in finding["evidence"]}
    rows = by_path["ovn-sbctl_--no-leader-only_list_MAC_Binding.tailed"]
    assert rows["text"].startswith("_uuid") and "a lower bound" in rows["note"]
    assert "neutron-server version 19.0.0" in by_path["neutron-server.log"]["text"]
    aging = by_path["ovn-nbctl_--no-leader-only_list_Logical_Router"]
    assert aging["text"].replace(" ", "") == "options:{}" and "never expire" in aging["note"]
    assert "Memory cgroup out of memory" in by_path["dmesg"]["text"]
    data = finding["data"]
    assert data["release"] == "19.0.0" and data["rows_lower_bound"] is True
    assert 150_000 <= data["rows"] <= 200_000          # from the file's size; 150,000 were inserted
    assert data["processes"] == [3, 3]                 # 2 API workers + 1 RPC worker
    assert "upgrade neutron to 19.1.0" in finding["remedy"]["title"]


def test_the_memory_limit_only_aggravates(doc: dict[str, Any]) -> None:
    (root,) = doc["root_causes"]
    limit = next(c for c in root["contributors"] if c["rule"] == "unit-memory-limit-below-need")
    assert limit["relation"] == "aggravates"


def test_the_limits_need_counts_the_replica_and_the_ranges_need_does_not() -> None:
    """SYS001 leads with the whole need (the replica in every API and RPC worker); what a range costs
    (NEU001, LNT001) counts no Southbound table and assumes none either."""
    from ostriage.facts.deployment import model_inputs, range_inputs
    from ostriage.knowledge.memory_figure import figure
    from ostriage.parsers.openstack_values import IdRange

    with open_target(str(EXAMPLE)) as source:
        facts = collect(source)
    whole, own = figure(model_inputs(facts, (IdRange(1, 65535),))), figure(range_inputs(facts, (IdRange(1, 65535),)))
    assert whole.estimate.sb_replica is not None
    assert whole.service - own.service == pytest.approx(whole.estimate.sb_replica.total[1])
    assert all(a.flag != "--mac-bindings" for a in own.assumed + whole.assumed)
