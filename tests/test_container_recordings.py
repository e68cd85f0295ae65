"""The seed incident recorded by the lab with neutron-server in a real podman container (issue 8).

``examples/seed-kolla-podman``: Kolla's ``neutron_server`` (uWSGI master + 2 workers, ``--memory 2g``,
``kolla-neutron_server-container.service``): the kernel kills workers, the master respawns them, the
container never exits; Kolla's configuration and logs are not in the sosreport. ``examples/
seed-tripleo-podman``: TripleO's ``neutron_api`` (one uWSGI process, ``--memory 2g``,
``tripleo_neutron_api.service``): each kill ends the container and systemd starts it again; the
puppet-generated configuration is in the sosreport. ``expected.json`` beside each holds the answers
``tests/test_scenarios.py`` checks; here the container-specific parts of the story.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ostriage.diagnosis import diagnose
from ostriage.facts import collect
from ostriage.report import to_document
from ostriage.sources import open_target

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
KOLLA = EXAMPLES / "seed-kolla-podman"
TRIPLEO = EXAMPLES / "seed-tripleo-podman"


def _document(path: Path) -> dict[str, Any]:
    with open_target(str(path)) as source:
        return to_document(diagnose(collect(source)))


def _said(doc: dict[str, Any]) -> str:
    """Everything the diagnosis tells the reader in words."""
    parts = [f"{f['summary']}\n{f.get('explanation', '')}" for f in doc["findings"]]
    parts += [str(p) for p in doc["problems"]]
    return "\n".join(parts)


@pytest.mark.parametrize("bundle", [KOLLA, TRIPLEO], ids=["kolla", "tripleo"])
def test_9696_listened_all_along(bundle: Path) -> None:
    """uWSGI bound 127.0.0.1:9696 in the host's network namespace the whole time (netstat shows it)."""
    fired = {f["rule"] for f in _document(bundle)["findings"]}
    assert "api-port-not-listening" not in fired


@pytest.mark.parametrize(("bundle", "name"), [(KOLLA, "neutron_server"), (TRIPLEO, "neutron_api")],
                         ids=["kolla", "tripleo"])
def test_kills_are_the_containers_and_no_host_unit_is_blamed(bundle: Path, name: str) -> None:
    doc = _document(bundle)
    kills = [f for f in doc["findings"] if f["rule"] == "service-oom-kill-loop"]
    assert kills and all(name in f["summary"] for f in kills), [f["summary"] for f in kills]
    assert not [f for f in doc["findings"] if f["subject"] == "neutron-server.service"]


def test_tripleo_chain_runs_through_the_containers_kills_and_restarts() -> None:
    root = next(r for r in _document(TRIPLEO)["root_causes"] if r["rule"] == "ml2-segment-range-too-large")
    kills = [c for c in root["chain"] if c["rule"] == "service-oom-kill-loop"]
    restarts = [c for c in root["chain"] if c["rule"] in ("unit-crash-looping-while-active", "container-crash-looping")]
    assert kills and "neutron_api" in kills[0]["summary"]
    assert restarts and "neutron_api" in restarts[0]["summary"]
    aggravating = {c["rule"] for c in root["contributors"] if c["relation"] == "aggravates"}
    assert "container-memory-limit-below-need" in aggravating


def test_kolla_says_its_configuration_was_not_collected() -> None:
    """sos has no Kolla plugin: /etc/kolla/neutron-server/ is not in the report, so the range cannot be
    judged; the diagnosis says so instead of concluding."""
    doc = _document(KOLLA)
    assert "ml2-segment-range-too-large" not in {f["rule"] for f in doc["findings"]}
    assert "/etc/kolla/neutron-server" in _said(doc)
