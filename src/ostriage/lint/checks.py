"""The static checks: what neutron-server will do with this configuration at its next start."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ostriage.errors import ParseError
from ostriage.facts.budget import neutron_budget, unit_memory_limit
from ostriage.facts.deployment import SANE_IDS, model_inputs, range_inputs, sane_estimate
from ostriage.facts.model import ConfigSet, Facts
from ostriage.findings import Citation, Finding, FixSafety, IniEdit, Remedy, Severity, UnitEdit
from ostriage.knowledge import neutron_options as opts
from ostriage.knowledge.memory_figure import figure
from ostriage.knowledge.neutron_memory import estimate
from ostriage.knowledge.services import service_by_name
from ostriage.lint._registry import check
from ostriage.parsers.ini import IniFile
from ostriage.parsers.openstack_values import (
    IdRange,
    parse_flat_networks,
    parse_mappings,
    parse_network_vlan_ranges,
)
from ostriage.rules._common import host_path, human_bytes
from ostriage.rules._range_advice import range_advice
from ostriage.rules.ml2_ranges import LARGE_SYNC_BYTES, assumed_text, need_text, sentence, span_note
from ostriage.rules.systemd_limits import PROTECTED_SCORE

SERVER = "neutron-server"


def _server(facts: Facts) -> ConfigSet | None:
    return facts.configs.get(SERVER)


def _neutron_units(facts: Facts) -> list[str]:
    return [u for u in service_by_name(SERVER).units if u in facts.units]


@check("LNT001", "segment-range-exceeds-budget")
def segment_range_exceeds_budget(facts: Facts) -> Iterator[Finding]:
    """A tunnel range whose start-up sync needs more memory than neutron-server may use.

    What it does:
        Estimates the start-up peak of neutron-server for each enabled tunnel range with the memory
        model (release, server, workers, database when known) and compares it with the budget: the
        unit's `MemoryMax`, else half the host's RAM.
    Why is this bad:
        neutron allocates the whole range in memory at every start: a range too large for the budget is
        an OOM kill at the next restart, and a crash loop.
    Fix:
        Shrink the range to the one ostriage recommends (`1:65535` unless more networks are in use;
        `ostriage predict` prints it with its reasoning).
    """
    config = _server(facts)
    if config is None:
        return
    try:
        all_ranges = opts.tunnel_ranges(config.ini)
    except ParseError:
        return
    budget = neutron_budget(facts)
    sane = sane_estimate(facts)
    for ranges in all_ranges:
        inputs = range_inputs(facts, ranges.ranges)
        est = estimate(inputs)
        need = figure(inputs)
        fits = need.fits(budget.bytes) if budget is not None else None
        large = est.per_process.low - est.baseline >= LARGE_SYNC_BYTES
        # over budget *because of the range*: with a sane range it would fit (else LNT005/LNT007 say why)
        over = budget is not None and fits is not True and budget.bytes >= sane.service_peak.high
        if not (large or over):
            continue
        certain = budget is not None and fits is False
        section, key = opts.TUNNEL_OPTIONS[ranges.tunnel_type]
        if budget is not None and (certain or over):
            verb = "exceeds" if certain else "may exceed"
            verdict = f"{verb} the budget of {human_bytes(budget.bytes)} ({budget.what})"
        else:
            verdict = "is large"
        evidence = [Citation(ranges.line, f"{ranges.ids:,} IDs")] if ranges.line else []
        if budget and budget.line:
            evidence.append(Citation(budget.line, "the budget"))
        advice = range_advice(facts, ranges.tunnel_type, ranges.ranges, budget=budget)
        yield segment_range_exceeds_budget.finding(
            subject=f"{section}.{key}",
            severity=Severity.CRITICAL if certain else Severity.WARNING,
            summary=f"[{section}] {key}: {ranges.ids:,} IDs need {need_text(need)} at start-up, which {verdict}",
            explanation=(f"Predicted neutron-server peak for one sync attempt of {ranges.ids:,} {ranges.tunnel_type} "
                         f"IDs: {need_text(need)}."
                         + (f" {sentence(span_note(need))}." if span_note(need) else "")
                         + (f" Assumed: {assumed_text(need)}." if need.assumed else "")),
            evidence=tuple(evidence),
            remedy=Remedy(title=f"set [{section}] {key} = {advice.value}", steps=advice.reasoning,
                          ini_edits=(IniEdit(host_path(ranges.line.path) if ranges.line else "", section, key,
                                             advice.value, f"{advice.ids:,} IDs"),) if ranges.line else (),
                          safety=FixSafety.SAFE),
            data={"ids": ranges.ids, "need_bytes": [need.span.low, need.span.high],
                  "budget_bytes": budget.bytes if budget else None, "suggested": advice.value},
        )


@check("LNT002", "ovn-geneve-header-too-small")
def ovn_geneve_header_too_small(facts: Facts) -> Iterator[Finding]:
    """OVN with Geneve and `[ml2_type_geneve] max_header_size` below 38 (the default is 30).

    What it does:
        Reads `mechanism_drivers`, `type_drivers` and `max_header_size` (neutron's default when unset).
    Why is this bad:
        The OVN mechanism driver exits at start (`Geneve max_header_size set too low for OVN`): neutron
        never starts.
    Fix:
        Set `[ml2_type_geneve] max_header_size = 38`.
    """
    config = _server(facts)
    if config is None:
        return
    mech, types = opts.mechanism_drivers(config.ini), opts.type_drivers(config.ini)
    try:
        header = opts.max_header_size(config.ini)
    except ParseError:
        return
    if "ovn" in mech.value and "geneve" in types.value and header.value < opts.OVN_MIN_GENEVE_HEADER:
        line = header.line or mech.line
        yield ovn_geneve_header_too_small.finding(
            subject="ml2_type_geneve.max_header_size", severity=Severity.CRITICAL,
            summary=(f"max_header_size = {header.value} < {opts.OVN_MIN_GENEVE_HEADER}: "
                     "neutron-server will exit at start"),
            explanation="OVN needs 38 bytes of Geneve header; neutron's OVN driver refuses anything smaller.",
            evidence=(Citation(line, "" if header.line else f"unset: default {header.value}"),) if line else (),
            remedy=Remedy(title=f"set [ml2_type_geneve] max_header_size = {opts.OVN_MIN_GENEVE_HEADER}",
                          safety=FixSafety.SAFE),
        )


@check("LNT003", "mechanism-driver-backend-mismatch")
def mechanism_driver_backend_mismatch(facts: Facts) -> Iterator[Finding]:
    """`mechanism_drivers` disagrees with the OVN settings.

    What it does:
        Flags the `ovn-router` service plugin without the `ovn` driver (an error: neutron will not start),
        `openvswitch` without `ovn` while `[ovn]` NB/SB connections are set, and `ovn` without any
        `ovn_nb_connection`/`ovn_sb_connection` (the defaults point at 127.0.0.1).
    Why is this bad:
        neutron programs one backend and the hosts run another: networks without datapath, ports that
        never bind.
    Fix:
        Make `mechanism_drivers` name the backend the cloud runs, and set the OVN connections for OVN.
    """
    config = _server(facts)
    if config is None:
        return
    mech = opts.mechanism_drivers(config.ini)
    ovn = opts.ovn_connections(config.ini)
    if opts.ovn_router_plugin(config.ini) and not {"ovn", "ovn-sync"} & set(mech.value):
        router = opts.service_plugins(config.ini)
        yield mechanism_driver_backend_mismatch.finding(
            subject="ml2.mechanism_drivers", severity=Severity.CRITICAL,
            summary=f"service_plugins has ovn-router but mechanism_drivers = {','.join(mech.value)}: "
                    "neutron-server will not start (MechanismDriverNotFound)",
            explanation="The OVN L3 plugin loads only beside the ovn (or ovn-sync) mechanism driver.",
            evidence=tuple(Citation(ln) for ln in (mech.line, router.line) if ln),
            remedy=Remedy(title="add ovn to mechanism_drivers (in place of openvswitch for ML2/OVN)",
                          safety=FixSafety.SAFE),
        )
    elif "openvswitch" in mech.value and "ovn" not in mech.value and ovn:
        yield mechanism_driver_backend_mismatch.finding(
            subject="ml2.mechanism_drivers", severity=Severity.WARNING,
            summary=f"mechanism_drivers = {','.join(mech.value)} but [ovn] connections are set",
            explanation="ML2/OVS does not use OVN; OVN connections suggest the cloud is meant to be ML2/OVN.",
            evidence=tuple(Citation(ln) for ln in ([mech.line] if mech.line else []) + ovn),
            remedy=Remedy(title="set mechanism_drivers = ovn if the cloud is ML2/OVN", safety=FixSafety.UNSAFE),
        )
    elif "ovn" in mech.value and len(ovn) < 2:
        yield mechanism_driver_backend_mismatch.finding(
            subject="ml2.mechanism_drivers", severity=Severity.WARNING,
            summary="mechanism_drivers includes ovn but [ovn] ovn_nb_connection/ovn_sb_connection are not both set",
            explanation="Unset, they default to tcp:127.0.0.1:6641/6642: right only when OVN central runs here.",
            evidence=(Citation(mech.line),) if mech.line else (),
            remedy=Remedy(title="set [ovn] ovn_nb_connection and ovn_sb_connection", safety=FixSafety.DISPLAY_ONLY),
        )


@check("LNT004", "physnet-bridge-mapping-mismatch")
def physnet_bridge_mapping_mismatch(facts: Facts) -> Iterator[Finding]:
    """Physical networks of ML2 (`flat_networks`, `network_vlan_ranges`) vs the OVS agent's `bridge_mappings`.

    What it does:
        With ML2/OVS (`openvswitch` in `mechanism_drivers`) and the agent's configuration present, checks
        that every physical network ML2 offers
        has a bridge mapping, and that every mapping names a physical network ML2 knows.
    Why is this bad:
        A physnet without mapping cannot be wired on this host (ports fail to bind); a mapping ML2 does
        not know is dead configuration, often a typo (`phynet2` vs `physnet2`).
    Fix:
        Make the names match on both sides.
    """
    server, agent = _server(facts), facts.configs.get("neutron-openvswitch-agent")
    if server is None or agent is None or "openvswitch" not in opts.mechanism_drivers(server.ini).value:
        return
    value = agent.ini.get("ovs", "bridge_mappings")
    try:
        mappings = parse_mappings(value) if value is not None else {}
        flat_v = server.ini.get("ml2_type_flat", "flat_networks")
        flat = parse_flat_networks(flat_v) if flat_v is not None else None
        vlan_v = server.ini.get("ml2_type_vlan", "network_vlan_ranges")
        vlans = {r.physnet for r in parse_network_vlan_ranges(vlan_v)} if vlan_v is not None else set()
    except ParseError:
        return
    ml2 = (set(flat.names) if flat else set()) | vlans
    for physnet in sorted(ml2 - set(mappings)):
        line = (flat_v.line if flat_v is not None and physnet in (flat.names if flat else ()) else
                vlan_v.line if vlan_v is not None else None)
        yield physnet_bridge_mapping_mismatch.finding(
            subject=f"physnet:{physnet}", severity=Severity.WARNING,
            summary=f"physical network {physnet} has no bridge in bridge_mappings",
            explanation=f"ML2 offers {physnet}, but this host's OVS agent cannot wire it.",
            evidence=tuple(Citation(ln) for ln in (line, value.line if value is not None else None) if ln),
            remedy=Remedy(title=f"add {physnet}:<bridge> to bridge_mappings", safety=FixSafety.DISPLAY_ONLY),
        )
    if flat is not None and flat.any:
        return
    for physnet in sorted(set(mappings) - ml2):
        yield physnet_bridge_mapping_mismatch.finding(
            subject=f"physnet:{physnet}", severity=Severity.WARNING,
            summary=f"bridge_mappings maps {physnet}, which ML2 does not offer",
            explanation="No flat or VLAN network can use this mapping: a typo or dead configuration.",
            evidence=(Citation(value.line),) if value is not None else (),
            remedy=Remedy(title=f"remove {physnet} or add it to flat_networks/network_vlan_ranges",
                          safety=FixSafety.DISPLAY_ONLY),
        )


@check("LNT005", "memory-max-below-predicted-need")
def memory_max_below_predicted_need(facts: Facts) -> Iterator[Finding]:
    """neutron-server's `MemoryMax` below the memory model's prediction of its start-up peak.

    What it does:
        Compares the unit's memory limit (unit file and drop-ins) with the predicted service peak for
        the configured ranges (or a sane 1:65535 when no tunnel type is enabled).
    Why is this bad:
        The kernel kills neutron-server when it reaches the limit: a crash loop at the next start.
    Fix:
        Raise `MemoryMax` above the prediction with headroom, or fix what makes the need large.
    """
    config = _server(facts)
    for unit in _neutron_units(facts):
        limit = unit_memory_limit(facts, facts.units[unit])
        if limit is None or config is None:
            continue
        try:
            ranges = opts.tunnel_id_ranges(config.ini)
        except ParseError:
            continue
        need = figure(model_inputs(facts, ranges or (IdRange(1, SANE_IDS),)))
        fits = need.fits(limit[0])
        if fits is True:
            continue
        yield memory_max_below_predicted_need.finding(
            subject=unit, severity=Severity.CRITICAL if fits is False else Severity.WARNING,
            summary=f"{unit}: {limit[2]}={human_bytes(limit[0])} is below the predicted need {need_text(need)}",
            explanation=(f"{sentence(span_note(need))}. " if span_note(need) else "")
            + f"Assumed: {assumed_text(need) or 'nothing'}.",
            evidence=(Citation(limit[1]),) if limit[1] else (),
            remedy=Remedy(title=f"raise {limit[2]} or shrink the ranges"
                          + (" or age the OVN Southbound tables neutron keeps" if need.estimate.sb_replica
                             and need.estimate.sb_replica.per_process[0] else ""),
                          unit_edits=(UnitEdit(unit, "Service", limit[2], None, "below need"),),
                          safety=FixSafety.DISPLAY_ONLY),
        )


@check("LNT006", "oom-protection-on-neutron")
def oom_protection_on_neutron(facts: Facts) -> Iterator[Finding]:
    """`OOMScoreAdjust=` at or below -900 on a neutron-server unit.

    What it does:
        Reads `OOMScoreAdjust=` from the unit file and drop-ins of neutron's units.
    Why is this bad:
        neutron-server is the controller's largest process; a protected hog makes the kernel kill the
        database or the message queue instead, or hang inside its memory cgroup.
    Fix:
        Remove `OOMScoreAdjust=` (and never write `oom_adj`/`oom_score_adj` by hand).
    """
    for unit in _neutron_units(facts):
        setting = facts.units[unit].setting("OOMScoreAdjust")
        if setting is None or not setting.value.lstrip("-").isdecimal() or int(setting.value) > PROTECTED_SCORE:
            continue
        yield oom_protection_on_neutron.finding(
            subject=unit, severity=Severity.WARNING,
            summary=f"{unit}: OOMScoreAdjust={setting.value} shields the largest process from the OOM killer",
            explanation="The kernel will kill the database or the message queue instead of neutron-server.",
            evidence=(Citation(setting.line),),
            remedy=Remedy(title="remove OOMScoreAdjust", safety=FixSafety.SAFE),
        )


@check("LNT007", "workers-exceed-ram")
def workers_exceed_ram(facts: Facts) -> Iterator[Finding]:
    """neutron-server's processes (API and RPC workers) need more memory than the host can give.

    What it does:
        Multiplies the predicted memory per process by the number of processes the configuration starts
        (`api_workers`, `rpc_workers`, or neutron's defaults from CPUs and RAM) and compares it with the
        host's RAM share for neutron.
    Why is this bad:
        Each worker is a full neutron process (150-250 MiB at rest, more with large ranges under uWSGI);
        `api_workers = 64` on a 16 GiB controller exhausts it before any request arrives.
    Fix:
        Set `api_workers`/`rpc_workers` explicitly to what the RAM allows.
    """
    config = _server(facts)
    if config is None or facts.mem_total is None:
        return
    est = sane_estimate(facts)
    api = opts.or_default(opts.api_workers, config.ini, None)
    share = facts.mem_total.value / 2
    if est.service_peak.high <= share:
        return
    yield workers_exceed_ram.finding(
        subject="DEFAULT.api_workers", severity=Severity.WARNING,
        summary=(f"neutron-server's workers need up to {human_bytes(est.service_peak.high)}, more than half of "
                 f"the host's {human_bytes(facts.mem_total.value)}"),
        explanation=f"Assumptions: {'; '.join(est.assumptions) or 'none'}.",
        evidence=tuple(Citation(ln) for ln in (api.line, facts.mem_total.line) if ln),
        remedy=Remedy(title="lower api_workers / rpc_workers", safety=FixSafety.DISPLAY_ONLY),
    )


#: typed options of neutron-server that ostriage reads, and how (each raises ``ParseError`` on a refused value)
_TYPED: tuple[tuple[str, str, Callable[[IniFile], object]], ...] = (
    ("DEFAULT", "bind_port", opts.bind_port),
    ("DEFAULT", "api_workers", opts.api_workers),
    ("ml2_type_geneve", "max_header_size", opts.max_header_size),
)


@check("LNT008", "invalid-option-value")
def invalid_option_value(facts: Facts) -> Iterator[Finding]:
    """A value neutron refuses at start (a malformed range, a port out of range, an unparsable line).

    What it does:
        Parses the tunnel ranges with neutron's own rules, checks `bind_port`, `api_workers` and Geneve's
        `max_header_size` against their option types, and reports every ini line oslo.config could not parse.
    Why is this bad:
        neutron-server exits at start with a configuration error.
    Fix:
        Correct the line named.
    """
    config = _server(facts)
    if config is None:
        return
    try:
        opts.tunnel_ranges(config.ini)
    except ParseError as exc:
        line = next((v.line for sec, key in opts.TUNNEL_OPTIONS.values()
                     if (v := config.ini.get(sec, key)) is not None and v.line.number == exc.line), None)
        yield invalid_option_value.finding(
            subject=f"{exc.path}:{exc.line}", severity=Severity.CRITICAL, summary=exc.message,
            explanation="neutron validates tunnel ranges when its type drivers load and exits on this error.",
            evidence=(Citation(line),) if line else (), remedy=Remedy(title="correct the range"))
    for section, key, read in _TYPED:
        try:
            read(config.ini)
        except ParseError as exc:
            value = config.ini.get(section, key)
            yield invalid_option_value.finding(
                subject=f"{exc.path}:{exc.line}", severity=Severity.CRITICAL,
                summary=f"[{section}] {key}: {exc.message}: {exc.text!r}",
                explanation="oslo.config checks the option's type and bounds when neutron-server starts, and "
                            "neutron exits on this value.",
                evidence=(Citation(value.line),) if value else (), remedy=Remedy(title="correct the value"))
    for error in config.ini.errors:
        yield invalid_option_value.finding(
            subject=f"{error.path}:{error.line}", severity=Severity.CRITICAL,
            summary=f"{error.message}: {error.text!r}",
            explanation="oslo.config cannot parse this line: the service refuses the whole file.",
            evidence=(), remedy=Remedy(title="correct the line"))
