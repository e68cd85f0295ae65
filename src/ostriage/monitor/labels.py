"""Who a metric or an event is about, as four bounded labels: ``service``, ``unit``, ``container``, ``engine``.

Cardinality is bounded by construction: ``service`` is a name of the knowledge table
(``knowledge.services``) or empty; ``unit`` a systemd ``.service`` unit of the host (transient
``run-*.service`` units of ``systemd-run`` are left out) or empty; ``engine`` one of a fixed set;
``container`` a container *name* (from the facts that map containers to services) and never an ID, which
changes at every restart. A kernel OOM record names a container only by its cgroup, i.e. by ID: it
gives the engine, not the name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ostriage.knowledge.services import service_by_name, service_for_comm, service_for_container, service_for_unit
from ostriage.parsers.containers import Container

__all__ = ["ENGINES", "LABELS", "Target", "container_target", "engine_of_cgroup", "service_of_finding", "target_of",
           "tracked_unit"]

#: label names, in the order every workload metric carries them
LABELS = ("service", "unit", "container", "engine")

# cgroup scope/directory names that container engines create (systemd and cgroupfs drivers)
_ENGINE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?:^|/)docker[-/][0-9a-f]{12,}"), "docker"),
    (re.compile(r"(?:^|/)libpod-(?:conmon-)?[0-9a-f]{12,}"), "podman"),
    (re.compile(r"(?:^|/)crio-(?:conmon-)?[0-9a-f]{12,}"), "cri-o"),
    (re.compile(r"(?:^|/)cri-containerd-[0-9a-f]{12,}"), "containerd"),
)
# and the engines the containers' records name (``cri``: crictl without its runtime; ``lxc``: LXC and LXD)
ENGINES = tuple(sorted({e for _, e in _ENGINE_PATTERNS} | {"cri", "lxc"}))

# rules whose subject is a configuration key name the service that reads it (by the code's prefix)
_SERVICE_OF_CODE = {"NEU": "neutron-server", "OVN": "neutron-server", "OVS": "neutron-openvswitch-agent",
                    "NOV": "nova-api"}


@dataclass(frozen=True, slots=True)
class Target:
    """A workload: a known service, the systemd unit that runs it, or a container of an engine."""

    service: str = ""
    unit: str = ""
    container: str = ""
    engine: str = ""

    @property
    def values(self) -> tuple[str, str, str, str]:
        return self.service, self.unit, self.container, self.engine

    @property
    def name(self) -> str:
        """How logs and alerts name it."""
        return self.unit or self.container or self.service or (f"a {self.engine} container" if self.engine
                                                               else "an unknown process")


def tracked_unit(unit: str | None) -> str:
    """``unit`` when it may be a label value (a non-transient ``.service``), else ``""``.

    >>> tracked_unit("neutron-server.service"), tracked_unit("run-r3f2a.service"), tracked_unit("session-4.scope")
    ('neutron-server.service', '', '')
    """
    if not unit or not unit.endswith(".service") or unit.startswith("run-"):
        return ""
    return unit


def engine_of_cgroup(path: str | None) -> str:
    """The container engine whose cgroup this is, or ``""``.

    >>> engine_of_cgroup("/system.slice/docker-4f1c2a9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170.scope")
    'docker'
    >>> engine_of_cgroup("/machine.slice/libpod-0123456789abcdef0123.scope/container"), engine_of_cgroup("/user.slice")
    ('podman', '')
    """
    if not path:
        return ""
    return next((engine for pattern, engine in _ENGINE_PATTERNS if pattern.search(path)), "")


def target_of(unit: str | None = None, comm: str | None = None, cgroup: str | None = None) -> Target:
    """The workload of a unit, a process name (kernel ``comm``) or a memory cgroup path.

    >>> target_of("neutron-server.service")
    Target(service='neutron-server', unit='neutron-server.service', container='', engine='')
    >>> target_of(None, "mariadbd").service, target_of(None, "python3").name
    ('mysql', 'an unknown process')
    """
    service = service_for_unit(unit) if unit else None
    if service is None and comm:
        service = service_for_comm(comm)
    return Target(service.name if service else "", tracked_unit(unit), "", engine_of_cgroup(cgroup))


def container_target(c: Container) -> Target:
    """A container as a workload: its service by its name, the unit that starts it (Kolla's
    ``kolla-<name>-container.service``, TripleO's ``tripleo_<name>.service``), its name and engine.

    Every metric about one container carries these same labels, so that rules can join them (its limit
    against its service's predicted need).
    """
    service = service_for_container(c.name)
    engine = c.engine if c.engine in ENGINES else ""
    return Target(service.name if service else "", tracked_unit(c.unit), c.name, engine)


def service_of_finding(code: str, subject: str, unit: str | None, service: str | None) -> str:
    """The service a finding is about: its data's, its unit's, its subject's, else its rule's."""
    if service:
        return service
    known = service_for_unit(unit or subject)
    if known is not None:
        return known.name
    try:
        return service_by_name(subject).name
    except StopIteration:
        return _SERVICE_OF_CODE.get(code[:3], "")
