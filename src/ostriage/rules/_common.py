"""Small helpers shared by rules: wording of sizes and times, OOM kills grouped by victim."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from ostriage.evidence import Line
from ostriage.facts.model import Facts, UnitState
from ostriage.facts.victims import Victim, victim_of
from ostriage.facts.where import Where
from ostriage.findings import Citation, Link, Ref, Relation
from ostriage.knowledge.services import Service, service_for_comm
from ostriage.parsers.kernel_oom import OomEvent

__all__ = ["NEUTRON_EXITS_AT_START", "KillGroup", "cite", "deployed", "hog_of", "host_path", "human_bytes",
           "kills_by_victim", "service_unit", "when"]

#: what a configuration neutron-server refuses at start causes: a restart loop, and no API port
NEUTRON_EXITS_AT_START = (
    Link(Relation.CAUSES, Ref("unit-crash-looping-while-active", "neutron-server.service"),
         "neutron exits at every start"),
    Link(Relation.CAUSES, Ref("api-port-not-listening", "neutron-server"), "neutron exits before binding its port"),
)


def human_bytes(n: float) -> str:
    """
    >>> human_bytes(2147483648), human_bytes(9963081728), human_bytes(512 * 1024)
    ('2.0 GiB', '9.3 GiB', '512 KiB')
    """
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n / 1024:.0f} KiB"


def when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") if t else "unknown time"


def cite(line: Line | None, note: str = "") -> tuple[Citation, ...]:
    return (Citation(line, note),) if line is not None else ()


@dataclass(frozen=True, slots=True)
class KillGroup:
    """Every OOM kill of one victim (unit, service or process name)."""

    victim: Victim
    events: tuple[OomEvent, ...]

    @property
    def memcg_kills(self) -> tuple[OomEvent, ...]:
        return tuple(e for e in self.events if e.memcg_oom)

    @property
    def first(self) -> OomEvent:
        return self.events[0]

    @property
    def last(self) -> OomEvent:
        return self.events[-1]

    @property
    def max_anon_rss_kb(self) -> int | None:
        values = [e.anon_rss_kb for e in self.events if e.anon_rss_kb is not None]
        return max(values) if values else None


def kills_by_victim(facts: Facts) -> list[KillGroup]:
    groups: dict[str, list[OomEvent]] = defaultdict(list)
    victims: dict[str, Victim] = {}
    for event in facts.oom_events:
        if event.victim_pid is None and event.kill_line is None:
            continue  # a block cut before the kill says nothing about who died
        victim = victim_of(facts, event)
        groups[victim.subject].append(event)
        victims.setdefault(victim.subject, victim)
    return [KillGroup(victims[s], tuple(evs)) for s, evs in groups.items()]


def service_unit(facts: Facts, service: Service) -> UnitState | None:
    """The service's unit on this host, if it has one."""
    return next((facts.units[u] for u in service.units if u in facts.units), None)


def host_path(display: str) -> str:
    """The host path of an evidence file (sosreports cite paths relative to the host's root).

    >>> host_path("etc/neutron/neutron.conf"), host_path("/etc/neutron/neutron.conf")
    ('/etc/neutron/neutron.conf', '/etc/neutron/neutron.conf')
    """
    return "/" + display.lstrip("/")


def deployed(facts: Facts, service: Service) -> bool:
    """Does this host run the service? Where it runs (``Facts.placements``: a unit, a container, a machine,
    a process or its own log lines) says so; without placements, a loaded unit, a process or its log."""
    placement = facts.placement(service.name)
    if placement is not None:
        return placement.where is not Where.NOT_HERE
    for unit in service.units:
        state = facts.units.get(unit)
        if state is not None and (state.properties is None or state.properties.get("LoadState") != "not-found"):
            return True
    if any(p.program == service.name or p.program in service.comms for p in facts.processes):
        return True
    return service.name in facts.log_pids.values()


def hog_of(facts: Facts, event: OomEvent) -> str | None:
    """The service of the largest process in the kill's tasks table: who used the memory, whoever
    got killed (the two differ when the hog is protected from the OOM killer)."""
    if not event.tasks:
        return None
    task = max(event.tasks, key=lambda t: t.rss_pages)
    if task.pid in facts.log_pids:
        return facts.log_pids[task.pid]
    service = service_for_comm(task.name)
    return service.name if service else None
