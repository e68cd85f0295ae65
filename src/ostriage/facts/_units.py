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

from ostriage.facts.model import OmittedEvents, UnitState
from ostriage.knowledge.services import SERVICES, UNIT_DESCRIPTIONS
from ostriage.parsers.journal import UnitEvent
from ostriage.parsers.systemctl_lists import ListedUnit
from ostriage.parsers.systemctl_show import UnitProperties
from ostriage.parsers.unit_files import UNIT_DIRS, drop_in_order, effective_settings
from ostriage.sources.base import Source

__all__ = ["UnitSearchPath", "assemble_units", "unit_file_paths"]

_KNOWN_UNITS = frozenset(u for s in SERVICES for u in s.units)


def _interesting(props: UnitProperties) -> bool:
    return (props.id in _KNOWN_UNITS or bool(props.n_restarts)
            or props.active_state in ("failed", "activating"))


class UnitSearchPath:
    """The unit directories of ``source`` (``UNIT_DIRS``), each listed once: hundreds of units are looked up
    in them, and a glob per unit and directory cost more than the rest of their assembly."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self._names: dict[str, frozenset[str]] = {}
        self._drop_ins: dict[str, list[str]] = {}

    def _listing(self, directory: str) -> frozenset[str]:
        if directory not in self._names:
            self._names[directory] = frozenset(posixpath.basename(p)
                                               for p in self._source.glob(posixpath.join(directory, "*")))
        return self._names[directory]

    def _confs(self, directory: str) -> list[str]:
        if directory not in self._drop_ins:
            self._drop_ins[directory] = self._source.glob(posixpath.join(directory, "*.conf"))
        return self._drop_ins[directory]

    def fragment(self, unit: str) -> str | None:
        return next((posixpath.join(d, unit) for d in UNIT_DIRS if unit in self._listing(d)), None)

    def drop_ins(self, unit: str) -> list[str]:
        """The unit's own drop-ins and those of its type (``service.d``), in application order."""
        kind = unit.rpartition(".")[2] + ".d"
        return drop_in_order(conf for d in UNIT_DIRS for sub in (unit + ".d", kind) if sub in self._listing(d)
                             for conf in self._confs(posixpath.join(d, sub)))

    def has_files(self, unit: str) -> bool:
        return any(unit in self._listing(d) or (unit + ".d" in self._listing(d)
                                                and self._confs(posixpath.join(d, unit + ".d")))
                   for d in UNIT_DIRS)


def unit_file_paths(search: UnitSearchPath, unit: str, props: UnitProperties | None) -> tuple[str | None, list[str]]:
    """The unit's fragment and its drop-ins in application order.

    ``systemctl show`` says which (``FragmentPath``, ``DropInPaths``); without it the unit search path
    is scanned the way systemd does.
    """
    fragment = props.fragment_path if props else None
    drop_ins = list(props.drop_in_paths) if props else []
    if fragment is None:
        fragment = search.fragment(unit)
    if not drop_ins:
        drop_ins = search.drop_ins(unit)
    return fragment, drop_ins


def _joined(a: OmittedEvents, b: OmittedEvents) -> OmittedEvents:
    """The messages left out of one unit's, named by its name and by its description."""
    counts = {k: a.counts.get(k, 0) + b.counts.get(k, 0) for k in {*a.counts, *b.counts}}
    firsts = [t for t in (a.first, b.first) if t is not None]
    lasts = [t for t in (a.last, b.last) if t is not None]
    return OmittedEvents(counts, a.failed_exits + b.failed_exits, min(firsts, default=None), max(lasts, default=None))


def assemble_units(source: Source, properties: Iterable[UnitProperties], events: Iterable[UnitEvent],
                   named: Iterable[str], listed: Mapping[str, ListedUnit] | None = None,
                   unit_files: Iterable[str] = (),
                   omitted: Mapping[tuple[str | None, str | None], OmittedEvents] | None = None,
                   ) -> dict[str, UnitState]:
    """The units that matter (see the module docstring); ``omitted`` the journal messages counted but not
    kept, by (unit, description) as the messages name it (``facts._journal.UnitEventLog.omitted``)."""
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
    left_out: dict[str, OmittedEvents] = {}
    for (name, description), o in (omitted or {}).items():
        unit = name or described.get(description or "")
        if unit:
            left_out[unit] = _joined(left_out[unit], o) if unit in left_out else o
    wanted = {u for u, p in props.items() if _interesting(p)} | set(by_unit) | set(named)
    wanted |= {n for n, u in listed.items() if n in _KNOWN_UNITS or u.active == "failed"}
    search = UnitSearchPath(source)
    if not props:
        # no systemctl show (a copy of /etc, an old sosreport): the known units that are installed
        files = set(unit_files)
        wanted |= {u for u in _KNOWN_UNITS if u in files or search.has_files(u)}
    units: dict[str, UnitState] = {}
    for name in sorted(wanted):
        prop = props.get(name)
        fragment, drop_ins = unit_file_paths(search, name, prop)
        texts = [(p, source.read_lines(p)) for p in ([fragment] if fragment else []) + drop_ins]
        present = [(p, lines) for p, lines in texts if lines is not None]
        fragment_lines = present[0][1] if present and present[0][0] == fragment else iter(())
        drop_in_lines = [lines for p, lines in present if p != fragment]
        settings = effective_settings(fragment_lines, drop_in_lines)
        units[name] = UnitState(name, prop, settings, tuple(p for p, _ in present),
                                tuple(by_unit.get(name, ())), listed.get(name), left_out.get(name))
    return units
