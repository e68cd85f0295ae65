"""systemd units: ``systemctl show`` properties, unit files with drop-ins, and the journal's events.

Only units that matter are assembled in full: OpenStack and infrastructure services of the knowledge
table, units the journal shows being killed or restarted, units the kernel OOM records name, and units
``systemctl list-units`` shows failed. Journal lines that name a unit only by its description
(``Starting Open vSwitch Forwarding Unit...``) are given to the unit ``systemctl show``, ``list-units`` or
the knowledge table (``UNIT_DESCRIPTIONS``) gives that description.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import replace

from ostriage.facts.model import UnitState
from ostriage.knowledge.services import SERVICES, UNIT_DESCRIPTIONS
from ostriage.parsers.journal import UnitEvent
from ostriage.parsers.systemctl_lists import ListedUnit
from ostriage.parsers.systemctl_show import UnitProperties
from ostriage.parsers.unit_files import UNIT_DIRS, drop_in_order, effective_settings
from ostriage.sources.base import Source

__all__ = ["assemble_units", "unit_file_paths"]

_KNOWN_UNITS = frozenset(u for s in SERVICES for u in s.units)


def _interesting(props: UnitProperties) -> bool:
    return (props.id in _KNOWN_UNITS or bool(props.n_restarts)
            or props.active_state in ("failed", "activating"))


def unit_file_paths(source: Source, unit: str, props: UnitProperties | None) -> tuple[str | None, list[str]]:
    """The unit's fragment and its drop-ins in application order.

    ``systemctl show`` says which (``FragmentPath``, ``DropInPaths``); without it the unit search path
    is scanned the way systemd does.
    """
    fragment = props.fragment_path if props else None
    drop_ins = list(props.drop_in_paths) if props else []
    if fragment is None:
        fragment = next((p for d in UNIT_DIRS for p in source.glob(posixpath.join(d, unit))), None)
    if not drop_ins:
        candidates: list[str] = []
        for d in UNIT_DIRS:
            candidates += source.glob(posixpath.join(d, unit + ".d", "*.conf"))
            candidates += source.glob(posixpath.join(d, "service.d", "*.conf"))
        drop_ins = drop_in_order(candidates)
    return fragment, drop_ins


def _has_files(source: Source, unit: str) -> bool:
    return any(source.glob(posixpath.join(d, unit)) or source.glob(posixpath.join(d, unit + ".d", "*.conf"))
               for d in UNIT_DIRS)


def assemble_units(source: Source, properties: Iterable[UnitProperties], events: Iterable[UnitEvent],
                   named: Iterable[str], listed: Mapping[str, ListedUnit] | None = None,
                   unit_files: Iterable[str] = ()) -> dict[str, UnitState]:
    props = {p.id: p for p in properties if p.id}
    listed = listed or {}
    # text journals before systemd 250 name some events only by the unit's Description
    described = {**UNIT_DESCRIPTIONS, **{u.description: n for n, u in listed.items() if u.description},
                 **{p.description: u for u, p in props.items() if p.description}}
    by_unit: dict[str, list[UnitEvent]] = {}
    for event in events:
        unit = event.unit or described.get(event.description or "")
        if unit:
            by_unit.setdefault(unit, []).append(event if event.unit else replace(event, unit=unit))
    wanted = {u for u, p in props.items() if _interesting(p)} | set(by_unit) | set(named)
    wanted |= {n for n, u in listed.items() if n in _KNOWN_UNITS or u.active == "failed"}
    if not props:
        # no systemctl show (a copy of /etc, an old sosreport): the known units that are installed
        files = set(unit_files)
        wanted |= {u for u in _KNOWN_UNITS if u in files or _has_files(source, u)}
    units: dict[str, UnitState] = {}
    for name in sorted(wanted):
        prop = props.get(name)
        fragment, drop_ins = unit_file_paths(source, name, prop)
        texts = [(p, source.read_lines(p)) for p in ([fragment] if fragment else []) + drop_ins]
        present = [(p, lines) for p, lines in texts if lines is not None]
        fragment_lines = present[0][1] if present and present[0][0] == fragment else iter(())
        drop_in_lines = [lines for p, lines in present if p != fragment]
        settings = effective_settings(fragment_lines, drop_in_lines)
        units[name] = UnitState(name, prop, settings, tuple(p for p, _ in present),
                                tuple(by_unit.get(name, ())), listed.get(name))
    return units
