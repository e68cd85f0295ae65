"""``Facts``: one typed snapshot of a host, everything rules need and nothing they must re-read.

Facts also record data quality: ``missing`` names evidence that was looked for and not found (so a
rule can say "cannot tell" instead of "healthy"), ``problems`` what exists but could not be read.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ostriage.evidence import Line
from ostriage.facts.ovn_db import OvnDatabases
from ostriage.facts.where import Placement, host_unit
from ostriage.knowledge.releases import NeutronRelease
from ostriage.parsers.cgroups import CgroupOwner
from ostriage.parsers.containers import Container
from ostriage.parsers.ini import IniFile, IniValue
from ostriage.parsers.journal import UnitEvent, UnitEventKind
from ostriage.parsers.kernel_oom import OomEvent
from ostriage.parsers.oslo_log import LogRecord
from ostriage.parsers.ovs import OpenVSwitch, OvsShow
from ostriage.parsers.ps import PsProcess
from ostriage.parsers.sockets import Listener
from ostriage.parsers.systemctl_lists import ListedUnit
from ostriage.parsers.systemctl_show import UnitProperties
from ostriage.parsers.unit_files import Setting
from ostriage.sources.base import Problem

__all__ = ["ConfigSet", "Facts", "LogEvent", "Modified", "OmittedEvents", "Placement", "Sized", "UnitState"]


@dataclass(frozen=True, slots=True)
class Sized:
    """A number with the line that states it (``MemTotal``, a CPU count, a release)."""

    value: int
    line: Line | None


@dataclass(frozen=True, slots=True)
class OmittedEvents:
    """systemd's messages about a unit counted but not kept: a journal flooded with them keeps the first
    and the last ones of each unit (``facts._journal``); these came in between."""

    counts: Mapping[UnitEventKind, int]
    #: ``Main process exited`` killed, dumped or with a non-zero status (of ``counts[MAIN_EXITED]``)
    failed_exits: int
    first: datetime | None
    last: datetime | None

    def within(self, end: datetime | None, span: timedelta) -> bool:
        """Every omitted message is from the ``span`` before ``end``."""
        return end is not None and self.first is not None and end - self.first <= span


@dataclass(frozen=True, slots=True)
class UnitState:
    """A systemd unit as ``systemctl show`` reports it, its files' effective settings, and its journal."""

    name: str
    properties: UnitProperties | None
    settings: Mapping[tuple[str, str], Setting]
    files: tuple[str, ...]
    events: tuple[UnitEvent, ...]
    #: the unit's row in ``systemctl list-units`` (its state when ``systemctl show`` is missing)
    listed: ListedUnit | None = None
    #: messages about the unit counted but not in ``events`` (a flood: ``events`` holds the first and last)
    omitted: OmittedEvents | None = None

    @property
    def active_state(self) -> str | None:
        """``ActiveState`` from ``systemctl show``, else the ``ACTIVE`` column of ``systemctl list-units``."""
        if self.properties is not None and self.properties.active_state is not None:
            return self.properties.active_state
        return self.listed.active if self.listed else None

    def setting(self, key: str, section: str = "Service") -> Setting | None:
        return self.settings.get((section, key))


@dataclass(frozen=True, slots=True)
class ConfigSet:
    """The ini files one service reads, merged in oslo.config's order."""

    service: str
    ini: IniFile
    files: tuple[str, ...]
    how: str

    def get(self, section: str, key: str) -> IniValue | None:
        return self.ini.get(section, key)


@dataclass(frozen=True, slots=True)
class LogEvent:
    """A service log record that matched a known signature (``knowledge.log_signatures``)."""

    service: str
    signature: str
    groups: Mapping[str, str]
    timestamp: datetime | None
    line: Line
    record: LogRecord | None = None


@dataclass(frozen=True, slots=True)
class Modified:
    """A configuration file's last change: ``time`` on the host's wall clock, like every time of the facts;
    ``owner`` the service or unit that reads it, ``shown`` the path as it is cited."""

    path: str
    shown: str
    time: datetime
    owner: str


@dataclass
class Facts:
    target: str
    kind: str
    hostname: str | None = None
    collected_at: datetime | None = None
    problems: list[Problem] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    #: ``Source.mount``: what the evidence is a copy of
    mount: str = "/"
    #: distinct OOM kills, every one when few, else the first ones and the last and largest of each kind
    oom_events: list[OomEvent] = field(default_factory=list)
    #: kills counted but not in ``oom_events``, per kind (``facts._oom.oom_kind``)
    oom_unlisted: dict[str, int] = field(default_factory=dict)
    units: dict[str, UnitState] = field(default_factory=dict)
    processes: list[PsProcess] = field(default_factory=list)
    listeners: list[Listener] | None = None
    listeners_origin: str | None = None
    configs: dict[str, ConfigSet] = field(default_factory=dict)
    #: signature matches: every one when few, else the first and last of each kind (``scan.digest``)
    log_events: list[LogEvent] = field(default_factory=list)
    #: exact number of matches per (service, signature, captured values); empty when ``log_events`` is all
    log_event_counts: dict[tuple[str, str, tuple[tuple[str, str], ...]], int] = field(default_factory=dict)
    #: matches counted but not kept in ``log_events``
    log_events_left_out: int = 0
    #: pid → service, for the pids of OOM victims and OOM tables found in a service's log or journal
    log_pids: dict[int, str] = field(default_factory=dict)
    #: services whose own log files or journal entries hold at least one record (they run, or ran, here)
    logging_services: set[str] = field(default_factory=set)
    ovs: OvsShow | None = None
    ovs_bridges: dict[str, Line] | None = None
    open_vswitch: OpenVSwitch | None = None
    mem_total: Sized | None = None
    cpu_count: Sized | None = None
    #: networks neutron has, as OVN's Northbound shows them (one logical switch each); None when unseen
    neutron_networks: Sized | None = None
    release: NeutronRelease | None = None
    release_line: Line | None = None
    #: the OVN databases (rows per table, file sizes, raft, ovsdb-server); None when the host shows none
    ovn_db: OvnDatabases | None = None
    #: when the services' configuration files and units last changed, where the host's own times are known
    modified: list[Modified] = field(default_factory=list)
    #: containers the engines on this host describe (docker, podman, CRI, Kubernetes pods, LXD)
    containers: list[Container] = field(default_factory=list)
    #: where each service of the knowledge table runs (``facts.where``), by service name
    placements: dict[str, Placement] = field(default_factory=dict)
    #: kernel cgroup paths (of OOM kills) that belong to another container or machine, with their owner
    foreign_cgroups: dict[str, CgroupOwner] = field(default_factory=dict)

    def unit(self, name: str) -> UnitState | None:
        return self.units.get(name)

    def host_unit(self, event: OomEvent) -> str | None:
        """The unit of this host a kernel OOM kill happened in; ``None`` for another container's or machine's."""
        return host_unit(event, self.foreign_cgroups)

    def placement(self, service: str) -> Placement | None:
        return self.placements.get(service)

    def lint_command(self) -> str:
        """What checks this target's configuration before a restart, as typed at a shell.

        >>> Facts(target="-my conf", kind="tree").lint_command()
        "ostriage lint -- '-my conf'"
        """
        return f"ostriage lint {'-- ' if self.target.startswith('-') else ''}{shlex.quote(self.target)}"

    def events(self, signature: str, service: str | None = None) -> list[LogEvent]:
        return [e for e in self.log_events
                if e.signature == signature and (service is None or e.service == service)]

    def event_count(self, signature: str, service: str | None = None,
                    where: Callable[[Mapping[str, str]], bool] | None = None) -> int:
        """How many times ``signature`` matched (in ``service``'s logs; with captured values ``where`` accepts),
        counting the matches left out of ``log_events``."""
        if not self.log_event_counts:
            return sum(1 for e in self.events(signature, service) if where is None or where(e.groups))
        return sum(n for (svc, sig, groups), n in self.log_event_counts.items()
                   if sig == signature and (service is None or svc == service)
                   and (where is None or where(dict(groups))))

    def summary(self) -> dict[str, object]:
        """Counts for the report's ``facts`` section: what was looked at."""
        return {
            "oom_events": len(self.oom_events),
            "units": len(self.units),
            "processes": len(self.processes),
            "listeners": None if self.listeners is None else len(self.listeners),
            "configs": {name: list(c.files) for name, c in self.configs.items()},
            "log_events": len(self.log_events),
            "mem_total_bytes": self.mem_total.value if self.mem_total else None,
            "cpu_count": self.cpu_count.value if self.cpu_count else None,
            "neutron_networks": self.neutron_networks.value if self.neutron_networks else None,
            "neutron_release": str(self.release) if self.release else None,
            "ovn": self.ovn_db.summary() if self.ovn_db else None,
            "containers": len(self.containers),
            "placements": {name: p.summary() for name, p in self.placements.items()},
            "missing": list(self.missing),
        }
