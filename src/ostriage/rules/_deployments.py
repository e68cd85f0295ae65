"""What fixing neutron-server means where it runs: which unit or container to restart, and where the
deployment tool keeps the setting so that its next run does not put the old value back."""

from __future__ import annotations

from ostriage.facts.model import Facts
from ostriage.facts.where import Where

__all__ = ["durable_steps", "restart_step", "restart_units"]


def restart_units(facts: Facts, service: str = "neutron-server") -> tuple[str, ...]:
    """The systemd unit ``fix`` restarts: the service's own, the unit that starts its container
    (TripleO, Kolla 2023.2+), or none when only the container engine can restart it."""
    placement = facts.placement(service)
    if placement is None or placement.where in (Where.UNIT, Where.PROCESS, Where.NOT_HERE):
        return (f"{service}.service",)
    return (placement.unit,) if placement.where is Where.CONTAINER and placement.unit else ()


def restart_step(facts: Facts, service: str = "neutron-server") -> str:
    """How to restart the service, in words."""
    placement = facts.placement(service)
    why = " (its allocation table is trimmed to the new range at start)" if service == "neutron-server" else ""
    if placement is None or placement.where in (Where.UNIT, Where.PROCESS, Where.NOT_HERE):
        return f"restart {service}{why}"
    c = placement.container
    if placement.where is Where.MACHINE:
        inside = f"systemctl restart {placement.unit}" if placement.unit else f"restart {service}"
        return f"{inside} inside {placement.label} (machinectl shell, lxc exec or nsenter){why}"
    if placement.unit:
        return f"systemctl restart {placement.unit}{why}"
    if c is not None and c.pod:
        return f"delete pod {c.pod} so that its controller recreates it{why}"
    if c is not None:
        return f"{c.engine} restart {c.name}{why}"
    return f"restart {service} in {placement.label}{why}"


def durable_steps(facts: Facts, section: str, key: str, value: str, service: str = "neutron-server") -> tuple[str, ...]:
    """Where the deployment tool keeps a neutron setting (its next run rewrites the files read here)."""
    placement = facts.placement(service)
    c = placement.container if placement is not None else None
    if c is None:
        return ()
    if c.orchestrator == "kolla":
        return (f"make it last: set [{section}] {key} = {value} in /etc/kolla/config/neutron/ml2_conf.ini on the "
                "deployment host (kolla-ansible merges it; reconfigure would otherwise restore the old value)",)
    if c.orchestrator == "tripleo":
        return (f"make it last: set the matching parameter (NeutronVniRanges / NeutronTunnelIdRanges) to "
                f"['{value}'] in the overcloud environment files (a stack update would restore the old value)",)
    if c.orchestrator == "kubernetes":
        return (f"make it last in what renders the pod's configuration (its charm or Helm values): a file edited "
                f"inside pod {c.pod} is lost when the pod is recreated",)
    return ()
