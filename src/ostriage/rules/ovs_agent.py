"""The Open vSwitch agent's physical bridges, and the ML2 mechanism driver that decides who needs them."""

from __future__ import annotations

from collections.abc import Iterator

from ostriage.errors import ParseError
from ostriage.facts.model import Facts
from ostriage.findings import (
    Citation,
    Finding,
    FixSafety,
    IniEdit,
    Link,
    Mark,
    Ref,
    Relation,
    Remedy,
    Severity,
    TimelineEntry,
)
from ostriage.knowledge import neutron_options as opts
from ostriage.knowledge.services import service_by_name
from ostriage.parsers.openstack_values import parse_mappings
from ostriage.rules._common import deployed, host_path, service_unit, when
from ostriage.rules._registry import rule


@rule("OVS001", "ovs-agent-bridge-missing")
def ovs_agent_bridge_missing(facts: Facts) -> Iterator[Finding]:
    """neutron-openvswitch-agent exits because a bridge named in `bridge_mappings` does not exist.

    What it does:
        Finds the agent's own `Bridge <br> for physical network <net> does not exist. Agent terminated!`
        records, and compares `[ovs] bridge_mappings` with the bridges Open vSwitch has
        (`ovs-vsctl show` / `list-br`) when the agent runs on this host.
    Why is this bad:
        The agent exits at start-up: no L2 wiring, no port bindings on this host; with `Restart=` it
        loops. Instances on this host lose networking.
    Evidence:
        The agent's log line, the `bridge_mappings` line, and the OVS bridge listing.
    False positives:
        A bridge created after the sosreport was taken.
    Remedy:
        Create the bridge (`ovs-vsctl add-br br-ex`, then add the physical interface) or correct
        `bridge_mappings`; if the deployment is ML2/OVN, the OVS agent should not run at all.
    Fix safety:
        display-only: creating bridges and moving NICs can cut the host off; an operator decides.
    References:
        neutron/plugins/ml2/drivers/openvswitch/agent/ovs_neutron_agent.py setup_physical_bridges.
    """
    service = service_by_name("neutron-openvswitch-agent")
    terminated = facts.events("ovs-agent.bridge-missing")
    config = facts.configs.get("neutron-openvswitch-agent")
    mappings: dict[str, str] = {}
    mapping_line = None
    if config is not None and (value := config.ini.get("ovs", "bridge_mappings")) is not None:
        try:
            mappings = parse_mappings(value)
        except ParseError:
            mappings = {}
        mapping_line = value.line
    missing: dict[str, str] = {}
    if facts.ovs_bridges is not None and deployed(facts, service):
        missing = {net: br for net, br in mappings.items() if br not in facts.ovs_bridges}
    for e in terminated:
        missing.setdefault(e.groups["physnet"], e.groups["bridge"])
    if not missing:
        return
    unit = service_unit(facts, service)
    for physnet, bridge in sorted(missing.items()):
        logged = [e for e in terminated if e.groups.get("bridge") == bridge]
        evidence: list[Citation] = []
        if logged:
            note = f"agent terminated {len(logged)} time(s), last {when(logged[-1].timestamp)}"
            evidence.append(Citation(logged[-1].line, note))
        if mapping_line is not None:
            evidence.append(Citation(mapping_line))
        if facts.ovs_bridges:
            some = next(iter(facts.ovs_bridges.values()))
            evidence.append(Citation(some, f"Open vSwitch bridges: {', '.join(sorted(facts.ovs_bridges))}"))
        timeline = tuple(TimelineEntry(e.timestamp, f"neutron-openvswitch-agent terminated: no bridge {bridge}", e.line,
                                       Mark.EXIT, unit.name if unit else service.name, headline=False)
                         for e in logged if e.timestamp)
        yield ovs_agent_bridge_missing.finding(
            subject=f"{bridge}",
            timeline=timeline,
            severity=Severity.CRITICAL,
            summary=f"neutron-openvswitch-agent exits: bridge {bridge} for physical network {physnet} does not exist",
            explanation=(f"bridge_mappings maps {physnet} to {bridge}, but Open vSwitch has no bridge {bridge}; "
                         "the agent gives up at start ('Agent terminated!'), so this host has no working L2 agent "
                         "(from neutron 2023.x the process may even stay up: only its main loop ends)."),
            evidence=tuple(evidence),
            remedy=Remedy(
                title=f"create {bridge} (ovs-vsctl add-br {bridge}) or correct bridge_mappings",
                steps=(f"ovs-vsctl add-br {bridge} and add the physical interface for {physnet} to it",
                       f"or remove/correct '{physnet}:{bridge}' in bridge_mappings",
                       "if this deployment is ML2/OVN, stop and disable neutron-openvswitch-agent instead"),
                safety=FixSafety.DISPLAY_ONLY,
            ),
            links=((Link(Relation.CAUSES, Ref("unit-crash-looping-while-active", unit.name),
                         "the agent exits at every start"),) if unit else ()),
            data={"bridge": bridge, "physnet": physnet, "terminations": len(logged)},
        )


@rule("NEU003", "ml2-mechanism-driver-mismatch")
def ml2_mechanism_driver_mismatch(facts: Facts) -> Iterator[Finding]:
    """ML2's mechanism drivers disagree with the backend the host is set up for (OVS agent vs OVN).

    What it does:
        Compares `[ml2] mechanism_drivers` with the evidence of the backend: `[ovn]` NB/SB connections in
        neutron's config, ovn-controller/ovn-central units or processes, `ovn-remote` in Open vSwitch's
        external_ids (OVN), or a running neutron-openvswitch-agent (ML2/OVS).
    Why is this bad:
        With `openvswitch` while OVN is configured, neutron never programs OVN (networks have no
        datapath) and expects OVS agents that should not run; with `ovn` while the OVS agent runs, ports
        bind nowhere. Either way networking silently half-works. With the `ovn-router` service plugin and
        no ovn driver, neutron-server does not start at all (often hidden behind another failure, such as
        an OOM during the segment sync, until that one is fixed).
    Evidence:
        The `mechanism_drivers` line and the OVN connection lines / OVN or agent units.
    False positives:
        A deliberate migration in progress (both backends configured for a while).
    Remedy:
        Set `mechanism_drivers` to the backend the cloud really uses (`ovn` when OVN is configured and
        running); for an existing ML2/OVS cloud that means a planned migration, not a config edit.
    Fix safety:
        unsafe in general: changing the mechanism driver of a cloud with existing networks needs a
        migration. Safe when the `ovn-router` service plugin is configured without the ovn driver: neutron
        cannot start at all then (MechanismDriverNotFound), so nothing running depends on ML2/OVS.
    References:
        neutron ML2/OVN install guide; neutron/plugins/ml2/drivers/ovn/mech_driver/mech_driver.py;
        neutron/services/ovn_l3/plugin.py _initialize_plugin_driver.
    """
    config = facts.configs.get("neutron-server")
    if config is None or not deployed(facts, service_by_name("neutron-server")):
        return
    mech = opts.mechanism_drivers(config.ini)
    ovn_lines = opts.ovn_connections(config.ini)
    ovn_units = [u for u in ("ovn-central.service", "ovn-northd.service", "ovn-controller.service") if u in facts.units]
    agent = service_by_name("neutron-openvswitch-agent")
    router = opts.service_plugins(config.ini)
    blocked = opts.ovn_router_plugin(config.ini) and not {"ovn", "ovn-sync"} & set(mech.value)
    if "ovn" not in mech.value and (("openvswitch" in mech.value and (ovn_lines or ovn_units)) or blocked):
        refused = facts.events("neutron.ovn-l3-no-mech-driver", "neutron-server")
        evidence = [Citation(mech.line, "ML2/OVS")] if mech.line else []
        if blocked and router.line is not None:
            evidence.append(Citation(router.line, "the OVN L3 plugin needs the ovn mechanism driver"))
        evidence += [Citation(ln, "OVN is configured") for ln in ovn_lines]
        if refused:
            evidence.append(Citation(refused[-1].line, f"neutron refused to start {len(refused)} time(s)"))
        new = ",".join("ovn" if d == "openvswitch" else d for d in mech.value) if "openvswitch" in mech.value \
            else ",".join([*mech.value, "ovn"])
        explanation = (
            "The ovn-router service plugin refuses to load without the ovn mechanism driver "
            "(MechanismDriverNotFound): neutron-server cannot start with this configuration"
            + (" and did not" if refused else "; another failure may hide it for now (it only shows once neutron "
               "gets that far)")
            + ". Since neutron cannot run like this, no working ML2/OVS state is at stake: switching the "
            "driver is the fix, as OVN is what is configured." if blocked else
            "neutron-server loads the Open vSwitch mechanism driver, so it expects neutron-openvswitch-agent "
            "on every host and never programs OVN, although the [ovn] NB/SB connections are configured. The "
            "backend must be one or the other.")
        links: tuple[Link, ...]
        if blocked and refused:
            links = tuple(Link(Relation.CAUSES, Ref(r, s), "neutron exits at start") for r, s in (
                ("unit-crash-looping-while-active", "neutron-server.service"),
                ("api-port-not-listening", "neutron-server")))
        elif blocked:
            links = ()
        else:
            links = (Link(Relation.RELATED, Ref("ovs-agent-bridge-missing"),
                          "the OVS agent is only needed because ML2 says openvswitch"),)
        yield ml2_mechanism_driver_mismatch.finding(
            subject="ml2.mechanism_drivers",
            severity=Severity.CRITICAL if blocked else Severity.WARNING,
            summary=(f"mechanism_drivers = {','.join(mech.value)} with the ovn-router plugin: neutron-server "
                     "cannot start (MechanismDriverNotFound)" if blocked else
                     f"mechanism_drivers = {','.join(mech.value)} while OVN is configured"
                     + (f" ({', '.join(ovn_units)} present)" if ovn_units else "")),
            explanation=explanation,
            evidence=tuple(evidence),
            remedy=Remedy(
                title=f"set [ml2] mechanism_drivers = {new}" + ("" if blocked else " if this cloud is ML2/OVN"),
                steps=(("confirm the cloud is meant to be ML2/OVN (OVN central and ovn-controller deployed)",)
                       if not blocked else ()) + (
                       f"set [ml2] mechanism_drivers = {new}", "restart neutron-server",
                       "stop and disable neutron-openvswitch-agent on the hosts"),
                ini_edits=((IniEdit(host_path(mech.line.path), "ml2", "mechanism_drivers", new,
                                    "the ovn-router plugin and the [ovn] settings need the ovn driver" if blocked
                                    else "OVN is configured; the OVS driver is not",
                                    old_value=",".join(mech.value)),)
                           if mech.line else ()),
                restart_units=("neutron-server.service",),
                safety=FixSafety.SAFE if blocked else FixSafety.UNSAFE,
            ),
            links=links,
            data={"mechanism_drivers": list(mech.value), "ovn_configured": bool(ovn_lines),
                  "ovn_router_plugin": opts.ovn_router_plugin(config.ini), "refused_starts": len(refused)},
        )
    elif "ovn" in mech.value and deployed(facts, agent) and "openvswitch" not in mech.value:
        unit = service_unit(facts, agent)
        evidence = [Citation(mech.line, "ML2/OVN")] if mech.line else []
        if unit and unit.properties and (ln := unit.properties.line_for("ActiveState")):
            evidence.append(Citation(ln, "the OVS agent runs here"))
        yield ml2_mechanism_driver_mismatch.finding(
            subject="neutron-openvswitch-agent",
            severity=Severity.WARNING,
            summary="mechanism_drivers = ovn but neutron-openvswitch-agent runs on this host",
            explanation=("With ML2/OVN, ovn-controller wires the ports; the OVS agent fights it for br-int and "
                         "its bridges. Stop and disable it."),
            evidence=tuple(evidence),
            remedy=Remedy(title="stop and disable neutron-openvswitch-agent",
                          steps=("systemctl disable --now neutron-openvswitch-agent",),
                          safety=FixSafety.DISPLAY_ONLY),
            data={"mechanism_drivers": list(mech.value)},
        )
