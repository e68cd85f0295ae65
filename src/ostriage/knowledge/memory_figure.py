"""One figure to act on: the memory model's answer for the inputs that are known, each unknown one assumed.

``estimate`` answers over everything that is not known (release, server kind, worker count, whether the
allocation table is filled) as a low–high span, and spans of 10–60x cannot be acted on. Here every unknown
input takes one value, what a deployment most likely has, or where nothing says which, the value that needs
more memory (a plan must survive it), and the answer leads with one figure: neutron-server's peak for one
sync attempt. The span over every value the unknown inputs can take is kept beside it, with the one input
whose value would narrow it most.

Each unknown input is one row of ``UNKNOWNS``: the ``Inputs`` field, the flag that gives it, the values
it can take and the value the figure assumes. A new input of the model is one more row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ostriage.knowledge.neutron_memory import (
    DEFAULT_MAX_ALLOWED_PACKET,
    GIB,
    MIB,
    Estimate,
    Inputs,
    Server,
    Span,
    default_api_workers,
    estimate,
)
from ostriage.knowledge.ovn_sb_replica import replicated_tables
from ostriage.knowledge.releases import NeutronRelease, TunnelSync, first_of_series

__all__ = ["UNKNOWNS", "Assumed", "Figure", "Narrowing", "Outcome", "Unknown", "figure"]

#: the last series whose restarts load every allocation row, and the first with the IN-clause fast exit
_ORM_SERIES, _IN_SERIES = first_of_series("2024.2"), first_of_series("2025.1")
#: the newest release whose workers keep the Southbound's MAC_Binding table: 19.0.0 (19.1.0 and 20.0.0 dropped it)
_KEEPS_MAC_BINDING = first_of_series("xena")
#: a worker count for a host whose CPUs and RAM are not known: neutron's default, min(CPUs, RAM / 2 GiB),
#: on a modest controller (8 CPUs, 16 GiB); 1 is the other end
_ASSUMED_WORKERS = 8
#: a span whose ends agree within this is one figure: nothing to narrow
_NARROW_ENOUGH = 1.05

Choice = tuple[Any, str]
#: a value the figure assumes, or ``None`` for "the candidate that needs more memory"
Chooser = Callable[[Inputs], Choice | None]


@dataclass(frozen=True, slots=True)
class Unknown:
    """An input of the model the host or the command line may leave unknown (``None`` in ``Inputs``)."""

    field: str
    name: str
    flag: str
    candidates: Callable[[Inputs], tuple[Any, ...]]
    assume: Chooser
    show: Callable[[Any], str]
    #: whether the input changes anything for these inputs (the database packet only matters to the IN clause)
    matters: Callable[[Inputs], bool] = lambda _inputs: True


def _keeps_mac_binding(release: NeutronRelease | None) -> bool:
    return release is not None and "MAC_Binding" in (replicated_tables(release) or ())


def _release_candidates(i: Inputs) -> tuple[Any, ...]:
    # with MAC_Binding rows known, a release whose workers keep them all is one the deployment may run
    keeping = (_KEEPS_MAC_BINDING,) if i.mac_bindings else ()
    return (*keeping, _ORM_SERIES, _IN_SERIES)


def _release_show(value: Any) -> str:
    if _keeps_mac_binding(value):
        return "a release keeping MAC_Binding (16.0.0–19.0.0, ORM load)"
    return "≤ 2024.2 (ORM load)" if value.tunnel_sync is TunnelSync.ORM_LOAD else "≥ 2025.1 (IN clause)"


def _server_candidates(i: Inputs) -> tuple[Any, ...]:
    return (Server.UWSGI,) if i.release is not None and i.release >= "2025.2" else (Server.EVENTLET, Server.UWSGI)


def _server_assume(i: Inputs) -> Choice | None:
    if i.release is None:
        return None
    if i.release >= "2025.2":
        return Server.UWSGI, "the only API server from 2025.2"
    if i.release < "2025.1":
        return Server.EVENTLET, "neutron-server, the packaged API server up to 2024.2"
    return None


def _workers_candidates(i: Inputs) -> tuple[Any, ...]:
    if i.cpu_count and i.ram_bytes:
        return (default_api_workers(i.cpu_count, i.ram_bytes),)
    return (1, _ASSUMED_WORKERS)


def _workers_assume(i: Inputs) -> Choice:
    if i.cpu_count and i.ram_bytes:
        return default_api_workers(i.cpu_count, i.ram_bytes), "neutron's default, min(CPUs, RAM / 2 GiB)"
    return _ASSUMED_WORKERS, "neutron's default on a controller of 8 CPUs and 16 GiB"


def _in_clause(i: Inputs) -> bool:
    return i.release is None or i.release.tunnel_sync is not TunnelSync.ORM_LOAD


UNKNOWNS: tuple[Unknown, ...] = (
    Unknown("release", "release", "--release", _release_candidates, lambda _i: None, _release_show),
    Unknown("server", "API server", "--server", _server_candidates, _server_assume,
            lambda v: "uWSGI" if v is Server.UWSGI else "eventlet"),
    Unknown("api_workers", "API workers", "--api-workers", _workers_candidates, _workers_assume, str),
    Unknown("first_start", "start", "--first-start/--restart", lambda _i: (True, False),
            lambda _i: (False, "every start after the first finds the allocation table filled"),
            lambda v: "first start" if v else "restart"),
    Unknown("max_allowed_packet", "database max_allowed_packet", "--max-allowed-packet",
            lambda _i: (DEFAULT_MAX_ALLOWED_PACKET, GIB),
            lambda _i: (DEFAULT_MAX_ALLOWED_PACKET, "the default of MariaDB and MySQL 5.7"),
            lambda v: f"{v // MIB} MiB", _in_clause),
    # an unknown row count adds no memory (any count assumed would be invented): the row only says that the
    # figure leaves out a replica this release's workers keep
    Unknown("mac_bindings", "MAC_Binding rows", "--mac-bindings", lambda _i: (None,),
            lambda _i: (None, "not known: the Southbound replica this release keeps is left out"),
            lambda _v: "not counted", lambda i: _keeps_mac_binding(i.release)),
)


@dataclass(frozen=True, slots=True)
class Assumed:
    """An input the figure had to assume."""

    name: str
    flag: str
    value: str
    why: str


@dataclass(frozen=True, slots=True)
class Narrowing:
    """The unknown input whose value would narrow the span most, and the widest span left once it is known."""

    name: str
    flag: str
    left: Span


@dataclass(frozen=True, slots=True)
class Outcome:
    """One combination of the unknown inputs' values: its one-attempt peak and whether the sync can complete."""

    service: float
    completes: bool


@dataclass(frozen=True, slots=True)
class Figure:
    """The leading figure (``service``: neutron-server's peak for one sync attempt), the inputs it stands
    on, the span over what is not known and the input that would narrow it most."""

    inputs: Inputs
    estimate: Estimate
    assumed: tuple[Assumed, ...]
    span: Span
    narrowing: Narrowing | None
    outcomes: tuple[Outcome, ...]

    @property
    def service(self) -> float:
        return self.estimate.attempt_service.high

    @property
    def per_process(self) -> float:
        return self.estimate.attempt.high

    @property
    def syncing(self) -> int:
        return round(self.estimate.syncing_processes.high)

    @property
    def startup_seconds(self) -> float:
        return self.estimate.startup_seconds.high

    def fits(self, budget: float) -> bool | None:
        """True when the sync completes within ``budget`` whatever values the unknown inputs have, False when
        it does for none of them, None when it depends on them."""
        ok = [o.completes and o.service <= budget for o in self.outcomes]
        return True if all(ok) else False if not any(ok) else None

    @property
    def completes(self) -> bool:
        """False when the IN clause of every ID cannot fit the database's packet: no attempt can succeed."""
        return not self.estimate.packet_overflow


def _unknown(inputs: Inputs) -> list[Unknown]:
    return [u for u in UNKNOWNS if getattr(inputs, u.field) is None and u.matters(inputs)]


def _resolve(inputs: Inputs, rows: Sequence[Unknown]) -> tuple[Inputs, list[Assumed]]:
    """Fill every row's field in order (a later row may depend on an earlier one, the server on the release);
    a row with no likely value takes the candidate that needs more memory."""
    if not rows:
        return inputs, []
    row, rest = rows[0], rows[1:]
    choice = row.assume(inputs)
    if choice is not None:
        value, why = choice
        resolved, assumed = _resolve(replace(inputs, **{row.field: value}), rest)
        if row.matters(resolved):
            assumed.insert(0, Assumed(row.name, row.flag, row.show(value), why))
        return resolved, assumed
    best: tuple[float, Inputs, list[Assumed], Any] | None = None
    for value in row.candidates(inputs):
        resolved, assumed = _resolve(replace(inputs, **{row.field: value}), rest)
        need = estimate(resolved).attempt_service.high
        if best is None or need > best[0]:
            best = (need, resolved, assumed, value)
    assert best is not None
    _, resolved, assumed, value = best
    assumed.insert(0, Assumed(row.name, row.flag, row.show(value), "not known: the value that needs more memory"))
    return resolved, assumed


def _outcomes(inputs: Inputs, rows: Sequence[Unknown]) -> list[Outcome]:
    """Every combination of the rows' candidate values (each row's candidates seen after the rows before it)."""
    if not rows:
        e = estimate(inputs)
        return [Outcome(e.attempt_service.high, not e.packet_overflow)]
    row, rest = rows[0], rows[1:]
    return [o for value in row.candidates(inputs) for o in _outcomes(replace(inputs, **{row.field: value}), rest)]


def _span(outcomes: Sequence[Outcome]) -> Span:
    return Span.of(*(o.service for o in outcomes))


def _narrowing(inputs: Inputs, rows: list[Unknown], span: Span) -> Narrowing | None:
    if span.low <= 0 or span.high / span.low <= _NARROW_ENOUGH:
        return None
    best: tuple[float, Unknown, Span] | None = None
    for row in rows:
        values = row.candidates(inputs)
        if len(values) < 2:
            continue
        others = [r for r in rows if r is not row]
        # the widest span left once this input is known, whichever value it turns out to have
        left = max((_span(_outcomes(replace(inputs, **{row.field: v}), others)) for v in values),
                   key=lambda s: s.high / s.low if s.low > 0 else float("inf"))
        ratio = left.high / left.low if left.low > 0 else float("inf")
        if best is None or ratio < best[0]:
            best = (ratio, row, left)
    if best is None:
        return None
    return Narrowing(best[1].name, best[1].flag, best[2])


def figure(inputs: Inputs) -> Figure:
    """The leading figure for ``inputs``, each unknown input assumed."""
    rows = _unknown(inputs)
    resolved, assumed = _resolve(inputs, rows)
    outcomes = _outcomes(inputs, rows)
    span = _span(outcomes)
    return Figure(resolved, estimate(resolved), tuple(assumed), span, _narrowing(inputs, rows, span),
                  tuple(outcomes))
