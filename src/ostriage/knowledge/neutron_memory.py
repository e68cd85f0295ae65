"""Memory and time neutron needs to start with a given segment range: the model behind predict/lint.

Mechanism (read from neutron's ``type_tunnel.py``; see ../shared/reference/neutron-memory.md):

* every release builds ``set(range(min, max + 1))`` of every configured ID;
* up to 2024.2 (``TunnelSync.ORM_LOAD``) it then loads every allocation row as an ORM object: cheap
  on a first start (empty table) and very expensive on every restart (one object per ID);
* from 2025.1 (``TunnelSync.IN_CLAUSE_FAST_EXIT``) it first counts rows with ``IN (<every id>)``: the
  statement costs a few hundred bytes per ID client-side and in the database server, and when it is
  larger than the server's ``max_allowed_packet`` the connection drops and ``retry_db_errors`` runs
  the whole sync again (up to 20 retries), each failed attempt leaving its garbage behind;
* who runs it: the eventlet ``neutron-server`` parent once, before it binds the API port and forks;
  every uWSGI API worker (``lazy-apps``), plus ``neutron-rpc-server``; with the
  ``network_segment_range`` service plugin one elected worker.

The per-ID costs, the baseline and the per-ID start-up time are *measured* (bench/memory_measure.py,
``data/neutron_memory_measurements.json``) and fitted by ``bench/memory_model.py --fit`` into
``data/neutron_memory_model.json``; this module only combines them. Unknown inputs widen the answer
into a low–high span and are named in ``Estimate.assumptions``.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from itertools import pairwise
from typing import Any

from ostriage.knowledge.releases import NeutronRelease, TunnelSync
from ostriage.knowledge.sb_replica_memory import Replica, replica
from ostriage.parsers.openstack_values import IdRange, distinct_ids

__all__ = [
    "GIB",
    "MIB",
    "Estimate",
    "Inputs",
    "Server",
    "Span",
    "default_api_workers",
    "estimate",
    "in_clause_bytes",
    "largest_safe_ids",
]

GIB = 1 << 30
MIB = 1 << 20
#: MariaDB >= 10.2 and MySQL 5.7 default (MySQL 8.0: 64 MiB)
DEFAULT_MAX_ALLOWED_PACKET = 16 * MIB
#: neutron_lib.db.api.MAX_RETRIES: the sync is retried this many times after the first attempt
DB_MAX_RETRIES = 20
#: neutron/service.py _get_worker_count: one API worker per CPU, at most one per 2 GiB of RAM
RAM_PER_DEFAULT_WORKER = 2 * GIB


class Server(StrEnum):
    EVENTLET = "eventlet"
    UWSGI = "uwsgi"


@dataclass(frozen=True, slots=True)
class Span:
    """A quantity known to lie between ``low`` and ``high``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"span low {self.low} > high {self.high}")

    @classmethod
    def of(cls, *values: float) -> Span:
        return cls(min(values), max(values))

    def __add__(self, other: Span) -> Span:
        return Span(self.low + other.low, self.high + other.high)

    def scale(self, k: Span) -> Span:
        return Span(self.low * k.low, self.high * k.high)


@dataclass(frozen=True, slots=True)
class Coefficients:
    """Fitted from measurements of one sync behaviour (per start kind).

    ``points`` are the measured bytes per ID at each range size: the cost per ID is not constant
    (CPython grows sets and lists by powers of two), so it is interpolated on a log scale between
    measured sizes and held at the nearest end outside them.
    """

    base_bytes: float
    points: tuple[tuple[int, float], ...]
    seconds_per_id: float
    db_bytes_per_id: float

    def bytes_per_id(self, n: int) -> float:
        """
        >>> c = Coefficients(0, ((1 << 16, 100.0), (1 << 20, 200.0)), 0, 0)
        >>> c.bytes_per_id(1 << 10), c.bytes_per_id(1 << 18), c.bytes_per_id(1 << 24)
        (100.0, 150.0, 200.0)
        """
        pts = self.points
        if n <= pts[0][0]:
            return pts[0][1]
        for (n0, b0), (n1, b1) in pairwise(pts):
            if n <= n1:
                t = (math.log2(n) - math.log2(n0)) / (math.log2(n1) - math.log2(n0))
                return b0 + t * (b1 - b0)
        return pts[-1][1]


@dataclass(frozen=True, slots=True)
class Model:
    releases: dict[TunnelSync, dict[str, Coefficients]]
    worker_base_bytes: float
    uwsgi_worker_extra_bytes: float
    failed_attempt_bytes_per_id: float
    statement_overhead: float
    provenance: str


@functools.cache
def model() -> Model:
    """The fitted coefficients (``data/neutron_memory_model.json``), read once."""
    raw: dict[str, Any] = json.loads(
        resources.files("ostriage.knowledge").joinpath("data/neutron_memory_model.json").read_text())
    return Model(
        releases={TunnelSync(k): {start: Coefficients(c["base_bytes"], tuple((int(n), b) for n, b in c["points"]),
                                                      c["seconds_per_id"], c["db_bytes_per_id"])
                                  for start, c in v.items()}
                  for k, v in raw["sync"].items()},
        worker_base_bytes=raw["worker_base_bytes"],
        uwsgi_worker_extra_bytes=raw["uwsgi_worker_extra_bytes"],
        failed_attempt_bytes_per_id=raw["failed_attempt_bytes_per_id"],
        statement_overhead=raw["statement_overhead"],
        provenance=raw["provenance"],
    )




@dataclass(frozen=True, slots=True)
class Inputs:
    """What is known of the deployment; ``None`` means unknown."""

    ranges: tuple[tuple[int, int], ...]
    release: NeutronRelease | None = None
    server: Server | None = None
    api_workers: int | None = None
    rpc_workers: int | None = None
    cpu_count: int | None = None
    ram_bytes: int | None = None
    segment_range_plugin: bool = False
    max_allowed_packet: int | None = None
    first_start: bool | None = None
    #: rows of the OVN Southbound's unbounded tables (each IDL process of a release that registers the
    #: table keeps them all); None when unknown
    mac_bindings: int | None = None
    fdb_rows: int | None = None

    @property
    def ids(self) -> int:
        return distinct_ids(IdRange(lo, hi) for lo, hi in self.ranges)


@dataclass(frozen=True, slots=True)
class Estimate:
    """Peak RSS of one syncing process, how many sync at once, the service's total, start-up time and
    the database server's extra memory; ``baseline`` is a process's RSS before the sync.

    ``per_process`` and ``service_peak`` include what failed attempts leave behind when the IN clause
    overflows the database's packet; ``attempt``/``attempt_service`` are the peaks of one attempt (the
    need of a sync that completes), and ``retry_growth`` what each failed attempt adds to one process.
    """

    ids: int
    baseline: float
    per_process: Span
    syncing_processes: Span
    service_peak: Span
    startup_seconds: Span
    db_extra: Span
    packet_overflow: bool | None
    attempt: Span
    attempt_service: Span
    retry_growth: float
    statement_bytes: float
    assumptions: tuple[str, ...] = field(default=())
    #: the Southbound replica's share of ``service_peak`` and ``attempt_service`` (None when no row count was given)
    sb_replica: Replica | None = None


def default_api_workers(cpu_count: int, ram_bytes: int) -> int:
    """neutron's default ``api_workers``: ``min(cpus, RAM // 2 GiB)``, at least 1.

    >>> default_api_workers(32, 64 * GIB), default_api_workers(8, 1 * GIB)
    (32, 1)
    """
    return max(1, min(cpu_count, ram_bytes // RAM_PER_DEFAULT_WORKER))


def in_clause_bytes(ranges: tuple[tuple[int, int], ...]) -> int:
    """Bytes the ``IN (...)`` list of every ID takes in the SQL text: digits plus ``", "`` per ID.

    >>> in_clause_bytes(((1, 9),)), in_clause_bytes(((1, 16777215),)) > 16 * MIB
    (27, True)
    """
    total = 0
    for lo, hi in ranges:
        digits = len(str(lo))
        start = lo
        while start <= hi:
            end = min(hi, 10**digits - 1)
            total += (end - start + 1) * (digits + 2)
            start, digits = end + 1, digits + 1
    return total


def _syncs(inputs: Inputs) -> tuple[TunnelSync, ...]:
    if inputs.release is None or inputs.release.tunnel_sync is None:
        return (TunnelSync.ORM_LOAD, TunnelSync.IN_CLAUSE_FAST_EXIT)
    return (inputs.release.tunnel_sync,)


def _server(inputs: Inputs, notes: list[str]) -> tuple[Server, ...]:
    if inputs.server is not None:
        return (inputs.server,)
    if inputs.release is not None and inputs.release >= "2025.2":
        notes.append("server: uWSGI (the only API server from 2025.2)")
        return (Server.UWSGI,)
    notes.append("server: unknown, eventlet neutron-server or uWSGI neutron-api")
    return (Server.EVENTLET, Server.UWSGI)


def _workers(inputs: Inputs, notes: list[str]) -> Span:
    if inputs.api_workers is not None:
        return Span(inputs.api_workers, inputs.api_workers)
    if inputs.cpu_count and inputs.ram_bytes:
        n = default_api_workers(inputs.cpu_count, inputs.ram_bytes)
        notes.append(f"api_workers: default min(CPUs, RAM/2 GiB) = {n}")
        return Span(n, n)
    notes.append("api_workers: unknown (1 to 8 assumed)")
    return Span(1, 8)


def estimate(inputs: Inputs) -> Estimate:
    notes: list[str] = []
    n = inputs.ids
    syncs = _syncs(inputs)
    if inputs.release is None:
        notes.append("release: unknown, both sync algorithms considered (<= 2024.2 and >= 2025.1)")
    starts = ("first", "restart") if inputs.first_start is None else (
        ("first",) if inputs.first_start else ("restart",))
    if inputs.first_start is None:
        notes.append("start: first start or restart (allocation table already filled) both considered")
    packet = inputs.max_allowed_packet
    fitted = model()
    statement = in_clause_bytes(inputs.ranges) * fitted.statement_overhead
    overflow: bool | None = None
    if TunnelSync.IN_CLAUSE_FAST_EXIT in syncs:
        if packet is None:
            notes.append(f"database max_allowed_packet: unknown, server default {DEFAULT_MAX_ALLOWED_PACKET // MIB} MiB"
                         " assumed")
            packet = DEFAULT_MAX_ALLOWED_PACKET
        overflow = statement > packet

    per: list[float] = []
    attempts: list[float] = []
    bases: list[float] = []
    secs: list[float] = []
    db: list[float] = []
    for sync in syncs:
        for start in starts:
            c = fitted.releases[sync][start]
            bases.append(c.base_bytes)
            synced = c.base_bytes + n * c.bytes_per_id(n)
            attempts.append(synced)
            garbage = n * fitted.failed_attempt_bytes_per_id
            if sync is TunnelSync.IN_CLAUSE_FAST_EXIT and overflow:
                # each failed attempt leaves its statement's garbage; 1 + DB_MAX_RETRIES attempts at most
                per += [synced + garbage, synced + DB_MAX_RETRIES * garbage]
            elif sync is TunnelSync.IN_CLAUSE_FAST_EXIT and statement > DEFAULT_MAX_ALLOWED_PACKET:
                # a statement this large fails for other reasons too (the server's on-disk temporary
                # table for the IN list, measured at 2^24 with a 1 GiB packet): one retry's garbage
                per += [synced, synced + garbage]
            else:
                per.append(synced)
            secs.append(n * c.seconds_per_id)
            db.append(n * c.db_bytes_per_id)
    if overflow:
        notes.append(f"the IN clause ({statement / MIB:.0f} MiB) exceeds max_allowed_packet "
                     f"({packet // MIB if packet else 0} MiB): every attempt fails and is retried up to "
                     f"{DB_MAX_RETRIES} times, leaving its garbage behind")
    sync_peak = Span.of(*per)
    attempt_peak = Span.of(*attempts)

    servers = _server(inputs, notes)
    workers = _workers(inputs, notes)
    syncing: list[float] = []
    totals: list[Span] = []
    attempt_totals: list[Span] = []
    peaks: list[float] = []
    attempt_peaks: list[float] = []
    rest = Span(fitted.worker_base_bytes, fitted.worker_base_bytes)
    for server in servers:
        if server is Server.EVENTLET:
            # the parent syncs before forking; workers start from the parent's baseline
            extra, k, others = Span(0, 0), Span(1, 1), workers.scale(rest)
        else:
            # every uWSGI worker loads the whole API application besides the sync (lazy-apps)
            extra = Span(fitted.uwsgi_worker_extra_bytes, fitted.uwsgi_worker_extra_bytes)
            if inputs.segment_range_plugin:
                k = Span(1, 1)
                others = Span(max(workers.low - 1, 0), max(workers.high - 1, 0)).scale(rest + extra)
            else:
                k, others = workers, Span(0, 0)
        peak, one = sync_peak + extra, attempt_peak + extra
        peaks += [peak.low, peak.high]
        attempt_peaks += [one.low, one.high]
        syncing += [k.low, k.high]
        totals.append(k.scale(peak) + others)
        attempt_totals.append(k.scale(one) + others)
    sb = _replica(inputs, workers, notes)
    replica_span = Span(*sb.total) if sb else Span(0, 0)
    return Estimate(
        ids=n,
        baseline=min(bases),
        per_process=Span.of(*peaks),
        syncing_processes=Span.of(*syncing),
        service_peak=Span(min(t.low for t in totals), max(t.high for t in totals)) + replica_span,
        startup_seconds=Span.of(*secs),
        db_extra=Span.of(*db),
        packet_overflow=overflow,
        attempt=Span.of(*attempt_peaks),
        attempt_service=Span(min(t.low for t in attempt_totals), max(t.high for t in attempt_totals)) + replica_span,
        retry_growth=n * fitted.failed_attempt_bytes_per_id if overflow else 0.0,
        statement_bytes=statement,
        assumptions=tuple(notes),
        sb_replica=sb,
    )


def _replica(inputs: Inputs, workers: Span, notes: list[str]) -> Replica | None:
    """Every IDL process's copy of the Southbound's unbounded tables, added to the service's peak."""
    rows = {t: n for t, n in (("MAC_Binding", inputs.mac_bindings), ("FDB", inputs.fdb_rows)) if n is not None}
    if not rows:
        return None
    found = replica(inputs.release, rows, (workers.low, workers.high), inputs.rpc_workers)
    notes.extend(found.notes)
    return found


def largest_safe_ids(inputs: Inputs, budget_bytes: float) -> int:
    """The largest number of IDs whose sync completes with the service's *high* one-attempt peak within
    ``budget_bytes`` (0 if none): an IN clause larger than the database's packet never completes."""
    lo, hi = 0, 1 << 24
    base = inputs.ranges[0][0] if inputs.ranges else 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        trial = estimate(Inputs(**{**_fields(inputs), "ranges": ((base, base + mid - 1),)}))
        if trial.attempt_service.high <= budget_bytes and not trial.packet_overflow:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _fields(inputs: Inputs) -> dict[str, Any]:
    return {f: getattr(inputs, f) for f in Inputs.__dataclass_fields__}
