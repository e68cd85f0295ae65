"""The one tunnel range ostriage recommends for a host, and why: what predict, lint, diagnose and fix all offer.

A range needs room for the networks in use plus ``CAPACITY_FACTOR`` times as many new ones, at least
``SANE_IDS`` (what install guides configure for ML2/OVN), never past the type's last ID (neutron refuses
it); the memory neutron-server needs with it is set against the budget, which caps it when even that
would not fit. Networks in use come from neutron's database (``fix`` on a live host, read-only) or from
OVN's Northbound (every neutron network has one logical switch, whatever its type: an upper bound);
otherwise they are unknown, and the reasoning says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ostriage.facts.budget import Budget, neutron_budget
from ostriage.facts.deployment import SANE_IDS, model_inputs
from ostriage.facts.model import Facts
from ostriage.knowledge.memory_figure import figure
from ostriage.knowledge.neutron_memory import Inputs, largest_safe_ids
from ostriage.parsers.openstack_values import TUNNEL_ID_LIMITS, IdRange, TunnelType
from ostriage.rules._common import human_bytes

__all__ = ["CAPACITY_FACTOR", "NOT_READ", "InUse", "RangeAdvice", "advise_range", "networks_in_use", "range_advice"]

#: a new range keeps this many times the networks in use as free capacity
CAPACITY_FACTOR = 4


@dataclass(frozen=True, slots=True)
class InUse:
    """How many segments (or networks: ``what``) are in use, and where that comes from; ``count`` is ``None``
    when it cannot be known, ``how`` then says why."""

    count: int | None
    how: str
    what: str = "networks in use"
    #: a count of networks of every type, not of this type's segments
    upper_bound: bool = False
    #: the segmentation IDs themselves when known (neutron's database): some may lie outside a new range
    ids: tuple[int, ...] | None = None

    def inside(self, first: int, last: int) -> int:
        if self.ids is None:
            return self.count or 0
        return sum(1 for i in self.ids if first <= i <= last)


@dataclass(frozen=True, slots=True)
class RangeAdvice:
    tunnel_type: TunnelType
    first: int
    last: int
    in_use: InUse
    need: float
    budget: Budget | None
    ceiling: int | None
    reasoning: tuple[str, ...]

    @property
    def value(self) -> str:
        return f"{self.first}:{self.last}"

    @property
    def ids(self) -> int:
        return self.last - self.first + 1


#: why neutron's database was not read, where only ``ostriage fix`` reads it
NOT_READ = "only ostriage fix reads it, on a live host"


def networks_in_use(facts: Facts | None, tunnel: TunnelType = "geneve", database: str = NOT_READ) -> InUse:
    """What the host's evidence shows of the networks in use (OVN's Northbound) when neutron's database was
    not read (``database`` says why)."""
    what = f"{tunnel} segments in use"
    seen = facts.neutron_networks if facts is not None else None
    if seen is None:
        where = "no host given" if facts is None else "OVN's Northbound is not in the evidence either"
        return InUse(None, f"neutron's database: {database}; {where}", what)
    cite = f" ({seen.line.cite()})" if seen.line else ""
    return InUse(seen.value, f"OVN's Northbound shows {seen.value:,} neutron network(s){cite}, of every type; "
                             f"neutron's database: {database}", what, upper_bound=True)


def advise_range(inputs: Inputs, tunnel: TunnelType, first: int, budget: Budget | None, in_use: InUse) -> RangeAdvice:
    """The recommended range starting at ``first`` for a deployment described by ``inputs``."""
    top = TUNNEL_ID_LIMITS[tunnel][1]
    used = in_use.count or 0
    want = max(SANE_IDS, (CAPACITY_FACTOR + 1) * used)
    resolved = figure(replace(inputs, ranges=((first, first + SANE_IDS - 1),))).inputs
    ceiling = largest_safe_ids(resolved, budget.bytes) if budget is not None else None
    size = want
    capped = ceiling is not None and used < ceiling < want
    if capped and ceiling is not None:
        size = ceiling
    last = min(first + size - 1, top)
    with_it = figure(replace(inputs, ranges=((first, last),)))
    need = with_it.service
    replica = with_it.estimate.sb_replica.total[1] if with_it.estimate.sb_replica else 0.0
    reasoning = [_capacity_text(tunnel, first, last, in_use, top)]
    if budget is not None:
        share = need / budget.bytes
        reasoning.append(
            f"neutron-server needs ≈ {human_bytes(need)} at start-up with it, {share:.0%} of the budget "
            f"({human_bytes(budget.bytes)}, {budget.what})"
            + ("; the range is not what needs the memory" if share > 1 else "")
            + (f" (the OVN Southbound replica: ≈ {human_bytes(replica)})" if share > 1 and replica else "")
            + (f"; the budget caps the range at {ceiling:,} IDs" if capped and ceiling is not None else ""))
    else:
        reasoning.append(f"neutron-server needs ≈ {human_bytes(need)} at start-up with it (no budget known)")
    return RangeAdvice(tunnel, first, last, in_use, need, budget, ceiling, tuple(reasoning))


def _capacity_text(tunnel: TunnelType, first: int, last: int, in_use: InUse, top: int) -> str:
    size = last - first + 1
    if in_use.count is None:
        return (f"{in_use.what}: unknown ({in_use.how}); new range {first}:{last} holds {size:,} networks, far "
                "above any real cloud's count (what ML2/OVN install guides configure)")
    free = max(size - in_use.inside(first, last), 0)
    count = f"at most {in_use.count:,}" if in_use.upper_bound else f"{in_use.count:,}"
    text = f"{in_use.what}: {count} ({in_use.how}); new range {first}:{last} leaves {free:,} free"
    if free >= CAPACITY_FACTOR * in_use.count:
        return text + (f", {CAPACITY_FACTOR}x or more of what is used" if in_use.count else
                       ", far above any real cloud's count")
    if last >= top:
        return text + f", less than {CAPACITY_FACTOR}x what is used: {first}:{top} is as far as {tunnel} IDs go"
    return text + f", less than {CAPACITY_FACTOR}x what is used"


def range_advice(facts: Facts, tunnel: TunnelType, ranges: tuple[IdRange, ...], in_use: InUse | None = None,
                 budget: Budget | None = None) -> RangeAdvice:
    """The recommended range for ``tunnel`` on this host, in place of ``ranges`` (its first ID kept); the
    networks in use are what OVN's Northbound shows unless ``in_use`` says better."""
    first = ranges[0].first if ranges else 1
    return advise_range(model_inputs(facts, ranges), tunnel, first,
                        budget if budget is not None else neutron_budget(facts),
                        in_use if in_use is not None else networks_in_use(facts, tunnel))
