"""How much memory neutron-server may use on this host: its unit's limit, else a share of the RAM."""

from __future__ import annotations

from dataclasses import dataclass

from ostriage.evidence import Line
from ostriage.facts.model import Facts, UnitState
from ostriage.knowledge.services import service_by_name
from ostriage.parsers.unit_files import Percent, parse_size

__all__ = ["NEUTRON_RAM_SHARE", "Budget", "neutron_budget", "unit_memory_limit"]

#: a controller also runs the database, the message queue and the other APIs: neutron-server may
#: take at most this share of the RAM when no limit says otherwise
NEUTRON_RAM_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class Budget:
    bytes: float
    what: str
    line: Line | None


def unit_memory_limit(facts: Facts, unit: UnitState) -> tuple[int, Line | None, str] | None:
    """The unit's memory limit in bytes, the line that sets it and the setting's name
    (unit file and drop-ins first, then ``systemctl show``)."""
    for key in ("MemoryMax", "MemoryLimit"):
        setting = unit.setting(key)
        if setting is not None and setting.value:
            try:
                size = parse_size(setting.value)
            except ValueError:
                continue
            if isinstance(size, Percent):
                if facts.mem_total is None:
                    continue
                size = size.of(facts.mem_total.value)
            if size is not None:
                return size, setting.line, key
    if unit.properties is not None:
        for key in ("MemoryMax", "MemoryLimit"):
            value = unit.properties.memory_max if key == "MemoryMax" else unit.properties.memory_limit
            if value is not None:
                return value, unit.properties.line_for(key), key
    return None


def neutron_budget(facts: Facts | None, ram: int | None = None) -> Budget | None:
    """The container's or the unit's memory limit, else ``NEUTRON_RAM_SHARE`` of ``ram`` (given) or of the
    host's RAM."""
    placement = facts.placement("neutron-server") if facts else None
    container = placement.container if placement else None
    if placement is not None and container is not None and container.memory_limit:
        return Budget(container.memory_limit, f"memory limit of {placement.label}", container.lines.get("memory_limit"))
    for unit in service_by_name("neutron-server").units if facts else ():
        state = facts.units.get(unit) if facts else None
        limit = unit_memory_limit(facts, state) if facts and state else None
        if limit is not None:
            return Budget(limit[0], f"{limit[2]} of {unit}", limit[1])
    if ram is not None:
        return Budget(ram * NEUTRON_RAM_SHARE, f"{NEUTRON_RAM_SHARE:.0%} of the given RAM", None)
    if facts is not None and facts.mem_total is not None:
        return Budget(facts.mem_total.value * NEUTRON_RAM_SHARE,
                      f"{NEUTRON_RAM_SHARE:.0%} of the host's RAM", facts.mem_total.line)
    return None
