"""What a Southbound table's rows cost: neutron's in-memory replica per IDL process, ovsdb-server, the file.

Measured, not assumed: ``bench/sb_replica_measure.py`` runs the real eventlet neutron-server of a
release that registers MAC_Binding (19.0.0) and of one that does not (24.2.2) against a real OVN
Southbound holding 0 … 10^6 MAC_Binding rows, and records every process's RSS, ovsdb-server's RSS
and the compacted database file (``data/ovn_sb_replica_measurements.json``). The coefficients are the
least-squares slopes of those measurements over the row count, computed here when first needed:

* ``replica_bytes_per_row``: RSS growth per row of each neutron process that holds an SB IDL (the
  API workers, RPC workers and the OVN maintenance worker), measured on the release that registers
  the table;
* ``ovsdb_bytes_per_row`` / ``file_bytes_per_row``: the Southbound ovsdb-server's RSS and its
  compacted file, per row.

Which processes hold a replica: ``should_post_fork_initialize`` (mech_driver.py) connects the API
workers (``WorkerService``), the RPC workers and the ``MaintenanceWorker``, but ``get_connection`` in
``impl_idl_ovn.py`` gives the maintenance worker ``BaseOvnSbIdl``, which registers only Chassis, Encap,
Port_Binding and Datapath_Binding (read in 18.1.1, 19.0.0 and 24.2.2; measured in 19.0.0: its RSS does
not move with MAC_Binding). So the holders are ``api_workers + rpc_workers``, where neutron starts
``max(1, rpc_workers)`` RPC workers (``rpc_workers`` defaulting to half the API workers; 19.0.0
``neutron/service.py`` ``_get_rpc_workers``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ostriage.knowledge.ovn_sb_replica import replicated_tables
from ostriage.knowledge.releases import NeutronRelease

__all__ = ["Replica", "ReplicaCoefficients", "coefficients", "default_rpc_workers", "holds_idl", "replica"]

MEASUREMENTS = "data/ovn_sb_replica_measurements.json"


@dataclass(frozen=True, slots=True)
class ReplicaCoefficients:
    replica_bytes_per_row: float      # per IDL process of a release that registers the table
    unregistered_bytes_per_row: float  # the same processes when the release does not (≈ 0)
    ovsdb_bytes_per_row: float
    ovsdb_base_bytes: float
    file_bytes_per_row: float
    measured_rows: int                # the largest table measured with a release that holds it
    provenance: str


def _slope(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares ``(slope, intercept)``.

    >>> _slope([(0, 1.0), (10, 21.0), (20, 41.0)])
    (2.0, 1.0)
    """
    n = len(points)
    if n < 2:
        return 0.0, points[0][1] if points else 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return slope, my - slope * mx


#: the processes that hold ``OvnSbIdl``, by neutron-lib's process titles (``neutron-server: api worker``;
#: ``rpc worker`` in 19.0.0, ``RpcWorker`` in 24.2.2): the maintenance worker's ``BaseOvnSbIdl`` registers
#: no unbounded table, the periodic workers no Southbound table at all
IDL_TITLES = ("api worker", "rpc worker", "rpcworker")


def holds_idl(title: str) -> bool:
    """
    >>> holds_idl("neutron-server: RpcWorker (/usr/bin/python3 ...)"), holds_idl("neutron-server: MaintenanceWorker")
    (True, False)
    """
    lowered = title.lower()
    return any(t in lowered for t in IDL_TITLES)


def _idl_rss(point: dict[str, Any]) -> list[float]:
    return [p["rss_mib"] * (1 << 20) for p in point["processes"] if holds_idl(p["title"])]


def fit(data: dict[str, Any], table: str = "MAC_Binding") -> ReplicaCoefficients:
    """Coefficients from the measurement document (see ``bench/sb_replica_measure.py``)."""
    pts = [p for p in data["points"] if p["table"] == table and not p.get("oom_kills") and not p.get("timed_out")]
    holding = [p for p in pts if table in (replicated_tables(_release(p["neutron_version"])) or ())]
    other = [p for p in pts if p not in holding]
    per_row, _ = _slope([(p["rows"], sum(r) / len(r)) for p in holding if (r := _idl_rss(p))])
    unregistered, _ = _slope([(p["rows"], sum(r) / len(r)) for p in other if (r := _idl_rss(p))])
    by_rows = {p["rows"]: p for p in pts}
    ovsdb, ovsdb_base = _slope([(n, p["sb_rss_mib"] * (1 << 20)) for n, p in sorted(by_rows.items())])
    file_per_row, _ = _slope([(n, p["sb_db_bytes"]) for n, p in sorted(by_rows.items())])
    versions = sorted({p["neutron_version"] for p in pts})
    return ReplicaCoefficients(
        replica_bytes_per_row=max(per_row, 0.0), unregistered_bytes_per_row=max(unregistered, 0.0),
        ovsdb_bytes_per_row=max(ovsdb, 0.0), ovsdb_base_bytes=max(ovsdb_base, 0.0),
        file_bytes_per_row=max(file_per_row, 0.0), measured_rows=max((p["rows"] for p in holding), default=0),
        provenance=(f"fitted from {len(pts)} measured points ({table}, up to {max(by_rows, default=0):,} rows; "
                    f"neutron {', '.join(versions)})"))


def _release(version: str) -> NeutronRelease:
    from ostriage.knowledge.releases import parse_neutron_version

    parsed = parse_neutron_version(version)
    if parsed is None:
        raise ValueError(f"measurement with an unreadable neutron version {version!r}")
    return parsed


@functools.cache
def coefficients() -> ReplicaCoefficients:
    """MAC_Binding's measured costs (FDB rows are not measured: the same per-row cost is used)."""
    raw: dict[str, Any] = json.loads(resources.files("ostriage.knowledge").joinpath(MEASUREMENTS).read_text())
    return fit(raw)


def default_rpc_workers(api_workers: float, configured: int | None = None) -> float:
    """RPC workers neutron starts: ``rpc_workers`` (default half the API workers), at least 1.

    >>> default_rpc_workers(8), default_rpc_workers(2, 0), default_rpc_workers(8, 3)
    (4.0, 1.0, 3.0)
    """
    return float(max(1, configured if configured is not None else int(api_workers // 2)))


@dataclass(frozen=True, slots=True)
class Replica:
    """The Southbound tables' cost: per IDL process (low, high), how many hold it, and the server side."""

    tables: dict[str, int]
    per_process: tuple[float, float]
    holders: tuple[float, float]
    ovsdb_rss: float
    db_file: float
    notes: tuple[str, ...]

    @property
    def total(self) -> tuple[float, float]:
        return self.per_process[0] * self.holders[0], self.per_process[1] * self.holders[1]


def replica(release: NeutronRelease | None, rows: dict[str, int], workers: tuple[float, float],
            rpc_workers: int | None) -> Replica:
    """The replica's cost for ``rows`` (``{"MAC_Binding": N, "FDB": M}``) with ``workers`` API workers.

    >>> from ostriage.knowledge.releases import parse_neutron_version as v
    >>> r = replica(v("19.0.0"), {"MAC_Binding": 1000}, (1, 1), 0)
    >>> r.holders, r.per_process[0] > 0
    ((2.0, 2.0), True)
    >>> replica(v("24.2.2"), {"MAC_Binding": 1000}, (1, 1), 0).per_process == (0.0, 0.0)
    True
    """
    c = coefficients()
    notes: list[str] = []
    held = replicated_tables(release) if release is not None else None
    low = high = 0.0
    for table, n in rows.items():
        if not n:
            continue
        cost = n * c.replica_bytes_per_row
        if held is None:
            notes.append(f"release unknown: its workers may or may not keep {table} ({n:,} rows) in memory")
            high += cost
        elif table in held:
            low += cost
            high += cost
        if table == "FDB" and (held is None or table in held):
            notes.append("FDB rows: MAC_Binding's measured per-row cost is used (FDB itself was not measured)")
        if n > c.measured_rows and (held is None or table in held):
            notes.append(f"{table}: {n:,} rows is beyond the largest replica measured ({c.measured_rows:,} rows); "
                         "its per-row cost is extrapolated linearly")
    rpc_low, rpc_high = default_rpc_workers(workers[0], rpc_workers), default_rpc_workers(workers[1], rpc_workers)
    if rpc_workers is None and high:
        notes.append("rpc_workers: default max(1, api_workers // 2) assumed")
    holders = (workers[0] + rpc_low, workers[1] + rpc_high)
    total_rows = sum(rows.values())
    return Replica(dict(rows), (low, high), holders, c.ovsdb_base_bytes + total_rows * c.ovsdb_bytes_per_row,
                   total_rows * c.file_bytes_per_row, tuple(notes))
