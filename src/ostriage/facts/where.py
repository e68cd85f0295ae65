"""Where each service runs: a packaged systemd unit of this host, a container (docker, podman, a
Kubernetes pod's container under containerd or CRI-O), another machine on this host (systemd-nspawn,
LXC/LXD, any nested init), bare processes, or not on this host at all.

Evidence, strongest first: the cgroup of the service's running processes (``ps -o cgroup``: a
container's or machine's cgroup names it, ``parsers.cgroups``), containers named after the service
(Kolla, TripleO, pod containers: ``knowledge.services``), the host's units (``systemctl show``, unit
files, ``systemctl list-unit-files``), and the service's own log on this host.

The same cgroup classification decides whose a kernel OOM kill is. A path below another machine's
or container's cgroup is that machine's, unless this report was taken *inside* it: a host whose
processes all show cgroups without the prefix (its cgroup namespace hides it) while the kernel, which
always prints full paths, names the prefix. Seen from outside, the machine's processes carry the prefix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from ostriage.evidence import Line
from ostriage.knowledge.services import SERVICES, Service, service_for_comm, service_for_container, service_for_unit
from ostriage.parsers.cgroups import CgroupOwner, OwnerKind, classify_cgroup
from ostriage.parsers.containers import (
    Container,
    parse_container_inspect,
    parse_container_ps,
    parse_crictl_inspect,
    parse_crictl_ps,
    parse_k8s_pods,
    parse_lxc_list,
)
from ostriage.parsers.kernel_oom import OomEvent
from ostriage.parsers.ps import PsProcess
from ostriage.parsers.sockets import Listener
from ostriage.sources.base import Source
from ostriage.sources.catalog import CONTAINER_ENGINES

__all__ = [
    "Placement",
    "Where",
    "collect_containers",
    "container_label",
    "container_of",
    "describe_owner",
    "foreign_owners",
    "from_conmon",
    "from_kernel",
    "host_unit",
    "place_services",
    "service_of_owner",
    "wrapper_units",
]

#: more containers than this are only inspected live when they matter (named after a service, exited,
#: restarting, or named by an OOM kill): each ``inspect`` is a command
LIVE_INSPECT_ALL = 40
_TIME = "%Y-%m-%d %H:%M:%S"


class Where(StrEnum):
    """Where a service runs."""

    UNIT = "unit"
    CONTAINER = "container"
    MACHINE = "machine"
    PROCESS = "process"
    NOT_HERE = "not-here"


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one service runs, and how that was recognised.

    ``unit`` is this host's unit of the service, or the unit that starts its container (TripleO's
    ``tripleo_<name>.service``); ``container`` the engine's record, ``machine`` the name of the other
    machine it runs in, ``engine`` docker, podman, containerd, cri-o, lxc, systemd-nspawn, machined (``None``:
    not known). ``host_network``: whether its sockets are in this host's network namespace (``None``:
    cannot tell), i.e. whether this host's socket listing can show its ports.
    """

    service: str
    where: Where
    how: str
    unit: str | None = None
    container: Container | None = None
    machine: str | None = None
    engine: str | None = None
    host_network: bool | None = None
    line: Line | None = None

    @property
    def label(self) -> str:
        """How reports name the place: ``neutron-server.service``, ``pod openstack/neutron-0 container
        neutron-server``, ``docker container neutron_server``, ``machine ostlab_controller``."""
        if self.container is not None:
            return container_label(self.container)
        if self.where is Where.MACHINE:
            return f"{self.engine + ' ' if self.engine else ''}machine {self.machine}"
        if self.unit is not None:
            return self.unit
        return self.where.value

    def summary(self) -> dict[str, object]:
        """The report's view (JSON ``facts.placements``)."""
        c = self.container
        return {
            "where": self.where.value, "unit": self.unit, "engine": self.engine, "machine": self.machine,
            "container": c.name if c else None, "container_id": c.id if c else None, "pod": c.pod if c else None,
            "image": c.image if c else None, "orchestrator": c.orchestrator if c else None,
            "state": c.state if c else None, "restart_policy": c.restart_policy if c else None,
            "memory_limit_bytes": c.memory_limit if c else None, "restart_count": c.restart_count if c else None,
            "oom_killed": c.oom_killed if c else None, "exit_code": c.exit_code if c else None,
            "started_at": c.started_at.strftime(_TIME) if c and c.started_at else None,
            "finished_at": c.finished_at.strftime(_TIME) if c and c.finished_at else None,
            "ready": c.ready if c else None, "host_network": self.host_network, "how": self.how,
        }


def container_label(c: Container) -> str:
    if c.pod:
        return f"pod {c.pod} container {c.name}"
    return f"{c.engine} container {c.name}"


# -- containers -----------------------------------------------------------------------------------

def _local(t: datetime | None, offset: timedelta | None) -> datetime | None:
    """An engine's aware time as the host's naive local time (``offset``: the host's UTC offset; unknown,
    UTC is assumed)."""
    if t is None or t.tzinfo is None:
        return t
    return (t.astimezone(UTC) + (offset or timedelta(0))).replace(tzinfo=None)


def _localised(c: Container, offset: timedelta | None) -> Container:
    return replace(c, started_at=_local(c.started_at, offset), finished_at=_local(c.finished_at, offset),
                   last_finished_at=_local(c.last_finished_at, offset))


def _merge(base: Container, richer: Container) -> Container:
    """One container described twice (``ps -a`` and ``inspect``, ``kubectl`` and ``crictl``): the richer
    record's fields win, the base fills its gaps."""
    fields = {f: getattr(richer, f) if getattr(richer, f) not in (None, (), {}) else getattr(base, f)
              for f in Container.__dataclass_fields__}
    fields["lines"] = {**base.lines, **richer.lines}
    return Container(**fields)


def _same(a: Container, b: Container) -> bool:
    if a.id and b.id:
        return a.id.startswith(b.id) or b.id.startswith(a.id)
    return a.name == b.name and a.engine == b.engine


def _add(found: list[Container], record: Container) -> None:
    for i, known in enumerate(found):
        if _same(known, record):
            found[i] = _merge(known, record)
            return
    found.append(record)


def _matters(c: Container) -> bool:
    return (service_for_container(c.name) is not None or c.state in ("exited", "restarting", "dead")
            or (c.exit_code not in (None, 0)))


#: programs and cgroup marks that show an engine runs on this host (podman has no daemon: always asked)
_ENGINE_SIGNS = {
    "docker": ({"dockerd"}, ("docker-", "/docker/")),
    "kubernetes": ({"kubelet", "kubelite", "k8s-dqlite"}, ("kubepods",)),
    "lxc": ({"lxd", "lxc-start"}, ("/lxc/", "/lxc.payload", "lxc.monitor")),
}


def _runs_here(engine: str, processes: list[PsProcess]) -> bool:
    """Does this host run the engine (a daemon's process, or a container's cgroup)? Unknown without processes:
    then every engine is asked. A client without its daemon or cluster would only answer with an error."""
    if not processes or engine not in _ENGINE_SIGNS:
        return True
    programs, marks = _ENGINE_SIGNS[engine]
    return any(p.program in programs or p.comm in programs
               or any(m in path for path in _cgroup_paths(p) for m in marks) for p in processes)


def collect_containers(source: Source, offset: timedelta | None,
                       processes: list[PsProcess] | None = None) -> list[Container]:
    """Every container the engines on this host describe, merged per container, times in host-local time."""
    found: list[Container] = []
    processes = processes or []
    for engine in CONTAINER_ENGINES:
        if not _runs_here(engine, processes):
            continue
        listed = source.command(f"{engine}-ps")
        records = list(parse_container_ps(listed.lines, engine)) if listed is not None else []
        for record in records:
            _add(found, record)
        inspects = source.command_all(f"{engine}-inspect")
        if not inspects and records:
            # a live host: inspect each container by id (all of them, or those that may matter)
            wanted = records if len(records) <= LIVE_INSPECT_ALL else [r for r in records if _matters(r)]
            inspects = [out for r in wanted if r.id and (out := source.command(
                f"container-inspect:{engine}:{r.id}")) is not None]
        for output in inspects:
            for record in parse_container_inspect(output.lines, engine):
                _add(found, record)
    if _runs_here("kubernetes", processes):
        crictl = source.command("crictl-ps")
        for record in parse_crictl_ps(crictl.lines) if crictl is not None else ():
            _add(found, record)
        for output in source.command_all("crictl-inspect"):
            for record in parse_crictl_inspect(output.lines):
                _add(found, record)
        for output in source.command_all("k8s-pods"):
            for record in parse_k8s_pods(output.lines):
                _add(found, record)
    if _runs_here("lxc", processes):
        lxc = source.command("lxc-list")
        for record in parse_lxc_list(lxc.lines) if lxc is not None else ():
            _add(found, record)
    return [_localised(c, offset) for c in found]


def from_conmon(processes: Iterable[PsProcess], containers: list[Container]) -> None:
    """podman's containers as the process list shows them: each runs under a ``conmon`` whose command line names
    it (``conmon --api-version 1 -c <id> -u <id> -r /usr/bin/crun ... -n neutron_server ...``); what sos
    collects when its podman plugin does not run (Debian's sos 4.0)."""
    for p in processes:
        if p.program != "conmon" or not p.command:
            continue
        argv = p.command.split()
        values = {a: argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-c", "--cid", "-n", "--name")}
        cid, name = values.get("-c") or values.get("--cid"), values.get("-n") or values.get("--name")
        if cid and name:
            _add(containers, Container("podman", name, p.line, id=cid, state="running", lines={"name": p.line}))


def from_kernel(owners: Iterable[tuple[CgroupOwner, Line]], containers: list[Container]) -> None:
    """A container the kernel's OOM records name (with the line that names it) but no engine record
    describes: its id is all there is."""
    for owner, line in owners:
        if owner.kind is OwnerKind.CONTAINER and owner.ref and container_of(containers, owner) is None:
            containers.append(Container(owner.engine or "cri", owner.ref[:12], line, id=owner.ref,
                                        pod_uid=owner.pod_uid))


def wrapper_units(containers: Iterable[Container], units: Iterable[str]) -> list[Container]:
    """Containers with the unit that starts them (``tripleo_<name>.service``, ``kolla-<name>-container.service``)
    and the deployment tool those names belong to."""
    known = set(units)
    out = []
    for c in containers:
        tripleo, kolla = f"tripleo_{c.name}.service", f"kolla-{c.name}-container.service"
        if tripleo in known:
            c = replace(c, unit=tripleo, orchestrator=c.orchestrator or "tripleo")
        elif kolla in known:
            c = replace(c, unit=kolla, orchestrator=c.orchestrator or "kolla")
        elif c.labels.get("kolla_version") or any(k.startswith("io.openstack.kolla") for k in c.labels):
            c = replace(c, orchestrator=c.orchestrator or "kolla")
        elif "config_id" in c.labels and "container_name" in c.labels:
            c = replace(c, orchestrator=c.orchestrator or "tripleo")  # paunch/tripleo_container_manage labels
        if c.orchestrator in ("kolla", "tripleo") and c.host_network is None:
            # both run every OpenStack container in the host's network namespace (Kolla's kolla_container
            # network_mode "host", TripleO's "net": "host")
            c = replace(c, host_network=True)
        out.append(c)
    return out


# -- cgroups: whose is it? -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Nspawn:
    """A ``systemd-nspawn`` process of this host: the machine it runs (``--machine``) and its root (``-D``)."""

    machine: str | None
    root: str | None


def _same_name(a: str | None, b: str | None) -> bool:
    """Machine names as nspawn and the cgroup spell them (``ostlab-controller`` / ``ostlab_controller``)."""
    if not a or not b:
        return False
    return a.replace("-", "_") == b.replace("-", "_")


def nspawns(processes: Iterable[PsProcess]) -> list[Nspawn]:
    found = []
    for p in processes:
        if p.program != "systemd-nspawn" or not p.command:
            continue
        argv = p.command.split()
        values = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in argv if a.startswith("--") and "=" in a}
        values.update({a: argv[i + 1] for i, a in enumerate(argv[:-1])
                       if a in ("-D", "-M", "--directory", "--machine")})
        found.append(Nspawn(values.get("--machine") or values.get("-M"), values.get("--directory") or values.get("-D")))
    return found


def nspawn_root(processes: Iterable[PsProcess], name: str | None) -> str | None:
    """The root directory of the nspawn machine ``name`` (the only nspawn running, when none is named so)."""
    machines = nspawns(processes)
    named = [m.root for m in machines if m.root and _same_name(m.machine, name)]
    if named:
        return named[0]
    return machines[0].root if len(machines) == 1 else None


def _known_machine(owner: CgroupOwner, processes: Iterable[PsProcess]) -> CgroupOwner:
    """An unregistered nested init that a ``systemd-nspawn`` of this host runs is that nspawn's machine."""
    if owner.kind is OwnerKind.MACHINE and owner.engine is None:
        machines = nspawns(processes)
        machine = next((m for m in machines if _same_name(m.machine, owner.ref)), None)
        if machine is None and owner.ref == "payload" and len(machines) == 1:
            machine = machines[0]  # nspawn's own name for the subtree it gives the machine
        if machine is not None and machine.machine:
            return replace(owner, engine="systemd-nspawn", ref=machine.machine)
    return owner


def _cgroup_paths(p: PsProcess) -> list[str]:
    return [path for _, path in p.cgroup.entries] if p.cgroup else []


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def foreign_owners(paths: Iterable[str], processes: list[PsProcess], host_units: set[str]) -> dict[str, CgroupOwner]:
    """The kernel cgroup paths (of OOM kills) that belong to another container or machine, with their owner.

    A container engine's cgroup is always another's (nobody runs sos inside a Kolla container). A
    machine's cgroup is another's when this host's processes show it from outside (their paths carry
    its prefix); it is this host's own when they show its inner path (a cgroup namespace hides the
    prefix) or this host has the unit the path names. When neither, a host that shows its processes'
    cgroups or its units does not know that unit: another machine's, gone by now (a machine torn down
    after the kills). Only with no such evidence at all is an unrecognised nested init taken for this
    host's own (a machine of a known engine, LXC, systemd-nspawn, machined, is still another's).
    """
    views = [path for p in processes for path in _cgroup_paths(p)]
    foreign: dict[str, CgroupOwner] = {}
    for path in set(paths):
        owner = classify_cgroup(path)
        if owner.kind is OwnerKind.HOST:
            continue
        if owner.kind is not OwnerKind.MACHINE:
            foreign[path] = owner
            continue
        outside = any(_under(v, owner.prefix) for v in views)
        inside = (bool(owner.inner) and any(_under(v, owner.inner) for v in views)) or (
            owner.inner_unit is not None and owner.inner_unit in host_units)
        if outside or (not inside and (owner.engine is not None or bool(views) or bool(host_units))):
            foreign[path] = _known_machine(owner, processes)
    return foreign


def container_of(containers: Iterable[Container], owner: CgroupOwner) -> Container | None:
    """The engine's record of the container a cgroup belongs to (by id, pod uid, or LXC name)."""
    for c in containers:
        for cid in (c.id, c.last_id):  # a Kubernetes container restarted after a kill has a new id
            if owner.ref and cid and (cid.startswith(owner.ref) or owner.ref.startswith(cid)):
                return c
    if owner.kind is OwnerKind.MACHINE and owner.engine == "lxc":
        return next((c for c in containers if c.engine == "lxc" and c.name == owner.ref), None)
    return None


def service_of_owner(owner: CgroupOwner, container: Container | None, comm: str | None) -> Service | None:
    """The service running in a foreign cgroup: the container's name, the unit inside, or the process name."""
    if container is not None and (found := service_for_container(container.name)) is not None:
        return found
    if owner.inner_unit is not None and (found := service_for_unit(owner.inner_unit)) is not None:
        return found
    if owner.ref and (found := service_for_container(owner.ref)) is not None:
        return found
    return service_for_comm(comm) if comm else None


def describe_owner(owner: CgroupOwner, container: Container | None) -> str:
    """``docker container neutron_server``, ``pod openstack/neutron-0 container neutron-server``,
    ``machine ostlab_controller: neutron-server.service``, ``LXC container juju-1-lxd-0: neutron-server.service``."""
    if container is not None and owner.kind is OwnerKind.CONTAINER:
        return container_label(container)
    if owner.kind is OwnerKind.CONTAINER:
        return f"{owner.engine or 'Kubernetes'} container {(owner.ref or '')[:12]}"
    if owner.kind is OwnerKind.VM:
        return f"virtual machine {owner.ref}"
    kind = {"lxc": "LXC container", "systemd-nspawn": "systemd-nspawn machine",
            "machined": "machine"}.get(owner.engine or "", "machine")
    return f"{kind} {owner.ref}" + (f": {owner.inner_unit}" if owner.inner_unit else "")


# -- placements -----------------------------------------------------------------------------------

def _runs(service: Service, p: PsProcess) -> bool:
    """The process is the service's: by its name, or by the unit its cgroup names (a uWSGI worker of
    ``neutron-server.service``, here or inside another machine)."""
    if p.program == service.name or p.program in service.comms or (p.comm or "") in [c[:15] for c in service.comms]:
        return True
    units = {classify_cgroup(path).inner_unit for path in _cgroup_paths(p)}
    return any(unit is not None and service_for_unit(unit) is service for unit in units)


def _shares_netns(listeners: list[Listener] | None, pids: set[int]) -> bool | None:
    """True when this host's socket listing shows a listener of one of ``pids`` (its netns is the host's)."""
    if listeners is None or not pids:
        return None
    return True if any(ln.pid in pids for ln in listeners) else None


def place_services(*, processes: list[PsProcess], containers: list[Container], loaded_units: Mapping[str, Line | None],
                   unit_private_network: set[str], listeners: list[Listener] | None, logged: set[str],
                   services: Iterable[Service] = SERVICES) -> dict[str, Placement]:
    """Where each service of the knowledge table runs on this host.

    ``loaded_units`` are this host's units (with the line that shows each), ``unit_private_network`` those
    with ``PrivateNetwork=yes``, ``logged`` the services whose own logs are on this host.
    """
    placements: dict[str, Placement] = {}
    for service in services:
        placement = (_by_process(service, processes, containers, loaded_units, unit_private_network, listeners)
                     or _by_container(service, containers)
                     or _by_unit(service, loaded_units, unit_private_network))
        if placement is None:
            placement = (Placement(service.name, Where.PROCESS, "its own log on this host", host_network=True)
                         if service.name in logged else
                         Placement(service.name, Where.NOT_HERE, "no unit, container, process or log of it here"))
        placements[service.name] = placement
    return placements


def _by_process(service: Service, processes: list[PsProcess], containers: list[Container],
                loaded_units: Mapping[str, Line | None], private: set[str],
                listeners: list[Listener] | None) -> Placement | None:
    def named_after(p: PsProcess) -> bool:
        """Its container is named after the service (ovsdb-server runs in OVN's relay pod too, a uWSGI in
        Kolla's neutron_server is neutron-server)."""
        owners = [classify_cgroup(path) for path in _cgroup_paths(p)]
        found = [container_of(containers, o) for o in owners if o.kind is not OwnerKind.HOST]
        return any(c is not None and service_for_container(c.name) is service for c in found)

    # a process in another service's unit is that service's (OVS's ovsdb-server is not OVN's)
    others = {u for s in SERVICES if s is not service for u in s.units}
    mine = [p for p in processes if (_runs(service, p) or (containers and named_after(p))) and p.unit not in others]
    if not mine:
        return None

    def by_name(p: PsProcess) -> bool:
        return p.program == service.name or p.program in service.comms

    # a process in a container named after the service, the service's own program, or one in the service's
    # own units says most
    mine.sort(key=lambda p: (not named_after(p), not by_name(p), p.unit not in service.units))
    for p in mine:
        # the most specific hierarchy first: cgroup v1's cpuset stops at the container, others go down to its unit
        for path in sorted(_cgroup_paths(p), key=len, reverse=True):
            owner = classify_cgroup(path)
            if owner.kind is OwnerKind.HOST:
                continue
            pids = {q.pid for q in processes if any(_under(v, owner.prefix) for v in _cgroup_paths(q))}
            shares = _shares_netns(listeners, pids)
            how = f"process {p.pid} ({p.program}) in cgroup {path}"
            if owner.kind is OwnerKind.CONTAINER:
                c = container_of(containers, owner)
                engine = owner.engine or (c.engine if c else None)
                host_net = c.host_network if c is not None and c.host_network is not None else shares
                return Placement(service.name, Where.CONTAINER, how, unit=c.unit if c else None, container=c,
                                 engine=engine, host_network=host_net, line=p.line)
            if owner.kind is OwnerKind.MACHINE:
                owner = _known_machine(owner, processes)
                c = container_of(containers, owner)
                return Placement(service.name, Where.MACHINE, how, unit=owner.inner_unit, container=c,
                                 machine=owner.ref, engine=owner.engine, host_network=shares, line=p.line)
    p = mine[0]
    unit = p.unit if p.unit and p.unit.endswith(".service") else next((u for u in service.units if u in loaded_units),
                                                                          None)
    host_net = unit not in private
    if unit is not None:
        return Placement(service.name, Where.UNIT, f"process {p.pid} ({p.program}) in unit {unit}", unit=unit,
                         host_network=host_net, line=p.line)
    return Placement(service.name, Where.PROCESS, f"process {p.pid} ({p.program}), in no unit", host_network=True,
                     line=p.line)


def _by_container(service: Service, containers: list[Container]) -> Placement | None:
    named = [c for c in containers if service_for_container(c.name) is service]
    if not named:
        return None
    c = next((c for c in named if c.state == "running"), named[0])
    return Placement(service.name, Where.CONTAINER, f"{container_label(c)} (named after the service)",
                     unit=c.unit, container=c, engine=c.engine, host_network=c.host_network, line=c.line)


def _by_unit(service: Service, loaded_units: Mapping[str, Line | None], private: set[str]) -> Placement | None:
    unit = next((u for u in service.units if u in loaded_units), None)
    if unit is None:
        return None
    return Placement(service.name, Where.UNIT, f"unit {unit} on this host", unit=unit,
                     host_network=unit not in private, line=loaded_units[unit])


def host_unit(event: OomEvent, foreign: Mapping[str, CgroupOwner]) -> str | None:
    """The unit of this host a kill happened in (``None`` when its cgroup is another container's or machine's)."""
    paths = [p for p in (event.task_memcg, event.oom_memcg) if p]
    if any(p in foreign for p in paths):
        return None
    return event.unit
