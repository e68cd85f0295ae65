"""Whose process did the kernel kill? Each OOM victim mapped to its systemd unit and service.

The kernel names a pid and a 15-character ``comm`` (often ``python3``). In order of trust: the memory
cgroup path names another container or machine (``/system.slice/docker-<id>.scope``,
``/libpod_parent/libpod-<id>``, ``…/cri-containerd-<id>.scope``, ``/lxc.payload.<name>/…``, a nested
``…/<machine>/system.slice/…``: ``facts.where``), and the kill is that container's, never a host unit's;
the memory cgroup path names this host's unit (``/system.slice/neutron-server.service``); the pid appears
in a service's own log (oslo.log prints the pid on every line); systemd said, within seconds of the kill,
that a process of one of its units was killed by the OOM killer; the ``comm`` is a known program name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ostriage.facts.model import Facts
from ostriage.facts.where import container_of, describe_owner, service_of_owner
from ostriage.knowledge.services import Service, service_by_name, service_for_comm, service_for_unit
from ostriage.parsers.cgroups import CgroupOwner
from ostriage.parsers.containers import Container
from ostriage.parsers.journal import UnitEventKind
from ostriage.parsers.kernel_oom import OomEvent

__all__ = ["Victim", "victim_of"]

#: systemd logs its own OOM notice right after the kernel's kill; a wider window risks another kill
JOURNAL_WINDOW = timedelta(seconds=15)


@dataclass(frozen=True, slots=True)
class Victim:
    unit: str | None
    service: Service | None
    how: str
    comm: str | None = None
    #: the other container or machine the kill happened in (``unit`` is then ``None``: no host unit died)
    owner: CgroupOwner | None = None
    container: Container | None = None

    @property
    def subject(self) -> str:
        """What a finding about this victim is about: the container or machine, else the unit, else the
        service, else the comm."""
        if self.owner is not None:
            return describe_owner(self.owner, self.container)
        return self.unit or (self.service.name if self.service else f"process {self.comm}")


def _primary_unit(facts: Facts, service: Service) -> str | None:
    return next((u for u in service.units if u in facts.units), None)


def victim_of(facts: Facts, event: OomEvent) -> Victim:
    path = next((p for p in (event.task_memcg, event.oom_memcg) if p and p in facts.foreign_cgroups), None)
    if path is not None:
        owner = facts.foreign_cgroups[path]
        container = container_of(facts.containers, owner)
        return Victim(None, service_of_owner(owner, container, event.victim_comm), f"memory cgroup {path}",
                      event.victim_comm, owner, container)
    unit = event.unit
    if unit:
        return Victim(unit, service_for_unit(unit), f"memory cgroup {event.task_memcg or event.oom_memcg}",
                      event.victim_comm)
    if event.victim_pid is not None and event.victim_pid in facts.log_pids:
        service = service_by_name(facts.log_pids[event.victim_pid])
        return Victim(_primary_unit(facts, service), service, f"pid {event.victim_pid} in the {service.name} log",
                      event.victim_comm)
    if event.timestamp is not None:
        for state in facts.units.values():
            for e in state.events:
                if (e.kind is UnitEventKind.OOM_KILL and e.timestamp is not None
                        and abs(e.timestamp - event.timestamp) <= JOURNAL_WINDOW):
                    return Victim(state.name, service_for_unit(state.name), "systemd's OOM notice for the unit",
                                  event.victim_comm)
    by_comm = service_for_comm(event.victim_comm or "")
    if by_comm is not None:
        return Victim(_primary_unit(facts, by_comm), by_comm, f"process name {event.victim_comm}",
                      event.victim_comm)
    return Victim(None, None, f"pid {event.victim_pid} not mapped to a service", event.victim_comm)
