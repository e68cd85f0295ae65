"""The Southbound replica's cost, fitted from the real measurements (bench/sb_replica_measure.py)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ostriage.knowledge.neutron_memory import MIB, Inputs, Server, estimate
from ostriage.knowledge.releases import NeutronRelease, parse_neutron_version
from ostriage.knowledge.sb_replica_memory import IDL_TITLES, coefficients, fit, replica


def measurements() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("ostriage.knowledge").joinpath(
        "data/ovn_sb_replica_measurements.json").read_text())
    return data


def release(text: str) -> NeutronRelease:
    found = parse_neutron_version(text)
    assert found is not None
    return found


def test_the_release_that_registers_mac_binding_grows_and_the_other_does_not() -> None:
    c = coefficients()
    assert c.replica_bytes_per_row > 1000          # measured: several KiB per row in each IDL worker
    assert c.unregistered_bytes_per_row < c.replica_bytes_per_row / 50
    assert c.measured_rows >= 100_000


def test_every_measured_point_is_within_a_fifth_of_the_model() -> None:
    c = coefficients()
    for p in measurements()["points"]:
        idl = [x["rss_mib"] * MIB for x in p["processes"] if any(t in x["title"] for t in IDL_TITLES)]
        if p["neutron_version"] != "19.0.0" or p["rows"] < 10_000 or not idl:
            continue
        base = next(q for q in measurements()["points"] if q["neutron_version"] == "19.0.0" and q["rows"] == 0)
        base_idl = [x["rss_mib"] * MIB for x in base["processes"] if any(t in x["title"] for t in IDL_TITLES)]
        grown = sum(idl) / len(idl) - sum(base_idl) / len(base_idl)
        assert abs(grown - p["rows"] * c.replica_bytes_per_row) <= 0.2 * grown, p["rows"]


def test_ovsdb_server_and_file_grow_with_rows() -> None:
    c = coefficients()
    assert 100 < c.file_bytes_per_row < 1000     # a MAC_Binding row in the compacted file
    assert c.ovsdb_bytes_per_row > c.file_bytes_per_row


def test_fit_ignores_points_killed_or_cut_short() -> None:
    data = measurements()
    spoiled = {"points": [dict(p, oom_kills=3) if p["neutron_version"] == "19.0.0" and p["rows"] == 100_000 else p
                          for p in data["points"]]}
    assert fit(spoiled).measured_rows < fit(data).measured_rows


def test_holders_are_api_and_rpc_workers() -> None:
    r = replica(release("19.0.0"), {"MAC_Binding": 100_000}, (4, 4), None)
    assert r.holders == (6.0, 6.0)                 # 4 API workers + 2 RPC workers (half, at least 1)
    assert r.total[0] == 6 * r.per_process[0]
    assert any("rpc_workers" in n for n in r.notes)


def test_unknown_release_spans_zero_to_the_replica() -> None:
    r = replica(None, {"MAC_Binding": 100_000}, (1, 1), 1)
    assert r.per_process[0] == 0 and r.per_process[1] > 0


def test_the_model_adds_the_replica_to_neutrons_peak() -> None:
    base = Inputs(ranges=((1, 65535),), release=release("19.0.0"), server=Server.EVENTLET, api_workers=2,
                  rpc_workers=1)
    without = estimate(base)
    with_rows = estimate(Inputs(**{**{f: getattr(base, f) for f in Inputs.__dataclass_fields__},
                                   "mac_bindings": 200_000}))
    assert with_rows.sb_replica is not None and without.sb_replica is None
    added = with_rows.service_peak.low - without.service_peak.low
    assert added == with_rows.sb_replica.total[0] > 2 * 1024 * MIB
    # one sync attempt's peak (what predict and the rules lead with) carries the replica too
    assert with_rows.attempt_service.low - without.attempt_service.low == added
    assert with_rows.attempt == without.attempt    # per syncing process: the replica is the workers', not the sync's
    newer = estimate(Inputs(**{**{f: getattr(base, f) for f in Inputs.__dataclass_fields__},
                               "release": release("24.2.2"), "mac_bindings": 200_000}))
    assert newer.service_peak == without.service_peak
    assert newer.attempt_service == without.attempt_service
