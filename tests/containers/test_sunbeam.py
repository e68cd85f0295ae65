"""hotsos's real Sunbeam sosreport (tests/data/hotsos/sunbeam.tar.xz): neutron-server runs in the Kubernetes pod
neutron-0, its sockets in the pod's network namespace. The host's lsof lists 42 listeners, none on 9696, and that
must not read as "the API is down": Kubernetes says the container is running and ready, and its own log shows it
answering requests."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import pytest

from ostriage.diagnosis import diagnose
from ostriage.facts import collect
from ostriage.facts.model import Facts
from ostriage.facts.where import Where
from ostriage.report import to_document
from ostriage.sources import open_target

SUNBEAM = Path(__file__).resolve().parents[1] / "data" / "hotsos" / "sunbeam.tar.xz"


@pytest.fixture(scope="module")
def facts() -> Facts:
    with open_target(str(SUNBEAM)) as source:
        return collect(source)


@pytest.fixture(scope="module")
def doc(facts: Facts) -> dict[str, Any]:
    return to_document(diagnose(facts))


def test_no_critical_and_no_api_down(doc: dict[str, Any], facts: Facts) -> None:
    assert facts.listeners is not None and len(facts.listeners) == 42
    assert not [x for x in facts.listeners if x.port == 9696]
    assert doc["rule_failures"] == []
    assert doc["status"] != "critical"
    assert not [f for f in doc["findings"] if f["severity"] == "critical"]
    assert "api-port-not-listening" not in {f["rule"] for f in doc["findings"]}


def test_neutron_server_runs_in_its_pod(facts: Facts, doc: dict[str, Any]) -> None:
    placement = facts.placement("neutron-server")
    assert placement is not None and placement.where is Where.CONTAINER
    assert placement.engine == "containerd" and placement.host_network is False
    c = placement.container
    assert c is not None
    assert (c.pod, c.name, c.state, c.ready, c.orchestrator) == (
        "openstack/neutron-0", "neutron-server", "running", True, "kubernetes")
    assert c.id is not None and c.id.startswith("3bc9b296a9d3")
    assert placement.how.startswith("process ") and "cri-containerd-3bc9b296a9d3" in placement.how
    shown = doc["facts"]["placements"]["neutron-server"]
    assert (shown["where"], shown["pod"], shown["container"], shown["ready"]) == (
        "container", "openstack/neutron-0", "neutron-server", True)
    # what the host runs itself
    assert facts.placements["openvswitch"].where is Where.UNIT


def test_restarts_before_the_reboot_are_history(doc: dict[str, Any]) -> None:
    """restartCount 3, the last run ended by the node's reboot (exit 255, Unknown) at 04:22; running since
    04:23:56, ten hours before the collection: information, not a crash loop."""
    ctr = {f["subject"]: f for f in doc["findings"] if f["code"] == "CTR001"}
    neutron = ctr["pod openstack/neutron-0 container neutron-server"]
    assert neutron["severity"] == "info" and neutron["data"]["stable"] is True
    assert neutron["data"]["restart_count"] == 3
    assert "stable since 2025-05-14 04:23:56" in neutron["summary"]


def test_the_pods_own_log_is_read(facts: Facts) -> None:
    ranges = facts.events("neutron.tunnel-ranges", "neutron-server")
    assert [e.groups["ranges"] for e in ranges] == ["[(1, 65535)]", "[(1, 65535)]"]
    assert ranges[0].line.path.endswith("podlogs/neutron-0/k8s_kubectl_--namespace_openstack_logs_neutron-0_-c_"
                                        "neutron-server")
    served = facts.events("api.request-served", "neutron-server")
    assert len(served) == 4685 and served[-1].groups["status"] == "200"
    assert str(facts.release) == "24.1.0"
    assert any("configuration of neutron-server" in m for m in facts.missing)


def test_every_claim_cites_a_real_line(doc: dict[str, Any]) -> None:
    with tarfile.open(SUNBEAM) as tar:
        for finding in doc["findings"]:
            for ev in finding["evidence"]:
                member = tar.extractfile(f"sunbeam/{ev['path']}")
                assert member is not None
                lines = member.read().decode(errors="replace").splitlines()
                assert lines[ev["line"] - 1] == ev["text"], (finding["key"], ev)
