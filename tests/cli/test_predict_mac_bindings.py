"""``predict --mac-bindings``: the Southbound replica for a release that keeps MAC_Binding and one that does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

COMMON = ["--mac-bindings", "1000000", "--api-workers", "4", "--server", "eventlet", "--memory-max", "8G"]


def test_a_release_with_the_replica_will_oom(ostriage: Any) -> None:
    run = ostriage("predict", *COMMON, "--release", "19.0.0")
    assert run.code == 2, run.out
    assert "OVN Southbound: 1,000,000 MAC_Binding rows, kept in memory by neutron" in run.out
    # the leading figure is the replica's, and the replica lines follow it
    lines = run.out.splitlines()
    assert lines[2].startswith("neutron-server needs ≈ ") and "GiB for the OVN Southbound replica)" in lines[2]
    assert lines[3].startswith("OVN Southbound: ")
    doc = ostriage("predict", *COMMON, "--release", "19.0.0", "--format", "json").json()
    replica = doc["sb_replica"]
    assert replica["rows"] == {"MAC_Binding": 1_000_000}
    assert replica["processes"] == [6, 6]          # 4 API workers + 2 RPC workers
    assert replica["per_process_bytes"][0] > 2 * 1024**3
    assert doc["service_peak_bytes"][0] >= replica["total_bytes"][0]
    assert doc["need"]["bytes"] >= doc["need"]["sb_replica_bytes"] == replica["total_bytes"][1]


def test_a_release_without_the_replica_fits(ostriage: Any) -> None:
    run = ostriage("predict", *COMMON, "--release", "2024.1")
    assert run.code == 0, run.out
    assert "not kept by this release's workers" in run.out
    doc = ostriage("predict", *COMMON, "--release", "2024.1", "--format", "json").json()
    assert doc["sb_replica"]["per_process_bytes"] == [0, 0]
    assert doc["sb_replica"]["ovsdb_server_bytes"] > 1024**3  # the Southbound server still holds them


def test_without_rows_there_is_no_replica_term(ostriage: Any) -> None:
    doc = ostriage("predict", "--vni-ranges", "1:65535", "--release", "19.0.0", "--format", "json").json()
    assert doc["sb_replica"] is None


def test_the_rows_come_from_a_target(ostriage: Any) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "mac-binding-growth"
    run = ostriage("predict", example)
    assert run.code == 2, run.out
    assert "known: release 19.0.0, eventlet neutron-server, 2 API workers, restart, 173,489 MAC_Binding rows" in run.out
    assert "+ 2.8 GiB for the OVN Southbound replica) for one sync attempt" in run.out
    replica = ostriage("predict", example, "--format", "json").json()["sb_replica"]
    assert replica["processes"] == [3, 3] and 150_000 <= replica["rows"]["MAC_Binding"] <= 200_000
    assert ostriage("predict", example, "--mac-bindings", "0").code == 0   # the flag wins: an aged table fits
