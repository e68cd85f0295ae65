"""ML2 segment ranges whose size makes neutron's start-up allocation sync exhaust memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ostriage.errors import ParseError
from ostriage.facts.deployment import SANE_IDS, range_inputs
from ostriage.facts.model import Facts
from ostriage.findings import Citation, Finding, FixSafety, IniEdit, Link, Ref, Relation, Remedy, Severity
from ostriage.knowledge import neutron_options as opts
from ostriage.knowledge.memory_figure import Figure, figure
from ostriage.knowledge.neutron_memory import DB_MAX_RETRIES, MIB, estimate
from ostriage.knowledge.services import service_by_name
from ostriage.rules._common import (
    NEUTRON_EXITS_AT_START,
    deployed,
    hog_of,
    host_path,
    human_bytes,
    kills_by_victim,
    when,
)
from ostriage.rules._deployments import durable_steps, restart_step, restart_units
from ostriage.rules._range_advice import range_advice
from ostriage.rules._registry import rule

#: A sync that needs more than a whole steady-state API worker (~150-250 MiB) at least doubles each
#: syncing process; below it the range is not what is eating the memory.
LARGE_SYNC_BYTES = 256 * MIB
NEUTRON_SERVICES = ("neutron-server", "neutron-rpc-server")
DEFAULT_ML2_CONF = "/etc/neutron/plugins/ml2/ml2_conf.ini"


def _neutron_units(facts: Facts) -> set[str]:
    return {u for name in NEUTRON_SERVICES for u in service_by_name(name).units}


def span_text(lo: float, hi: float, fmt: Callable[[float], str]) -> str:
    """``2.0 GiB`` when the two ends agree within 5 %, else ``2.0 GiB–6.1 GiB``."""
    return fmt(lo) if hi - lo <= 0.05 * hi else f"{fmt(lo)}–{fmt(hi)}"


def need_text(f: Figure) -> str:
    """The leading figure and what it is made of: ``≈ 13.1 GiB (2 syncing processes × 6.6 GiB)``, with the other
    workers and the OVN Southbound replica (every API and RPC worker's copy) where they count."""
    per = human_bytes(f.per_process)
    what = f"{f.syncing} syncing processes × {per}" if f.syncing > 1 else f"the syncing process {per}"
    replica = f.estimate.sb_replica.total[1] if f.estimate.sb_replica else 0.0
    rest = f.service - f.syncing * f.per_process - replica
    # judged against the need without the Southbound replica, so the parts shown add up to the figure
    if rest > 0.02 * (f.service - replica):
        what += f" + {human_bytes(rest)} for the other workers"
    if replica > 0.02 * f.service:
        what += f" + {human_bytes(replica)} for the OVN Southbound replica"
    return f"≈ {human_bytes(f.service)} ({what})"


def span_note(f: Figure) -> str:
    """The span over what is not known and the input that would narrow it most (empty when it is one figure)."""
    if f.narrowing is None:
        return ""
    return (f"{span_text(f.span.low, f.span.high, human_bytes)} over what is not known; knowing the "
            f"{f.narrowing.name} ({f.narrowing.flag}) would narrow it most")


def sentence(text: str) -> str:
    """``text`` with its first letter upper-case (``str.capitalize`` would lower-case the rest: GiB)."""
    return text[:1].upper() + text[1:]


def assumed_text(f: Figure) -> str:
    return "; ".join(f"{a.name}: {a.value} ({a.why})" for a in f.assumed)


def overflow_text(f: Figure) -> str:
    """What an IN clause larger than the database's packet does (empty when it fits)."""
    e, packet = f.estimate, f.inputs.max_allowed_packet
    if not e.packet_overflow or packet is None:
        return ""
    assumed = any(a.flag == "--max-allowed-packet" for a in f.assumed)
    return (f"The IN clause of every ID ({e.statement_bytes / MIB:.0f} MiB) exceeds max_allowed_packet "
            f"({packet // MIB} MiB{', assumed' if assumed else ''}): every attempt fails, leaves "
            f"≈ {human_bytes(e.retry_growth)} behind in each syncing process and is retried up to {DB_MAX_RETRIES} "
            "times, so neutron never completes the sync, whatever its memory.")


@rule("NEU001", "ml2-segment-range-too-large")
def ml2_segment_range_too_large(facts: Facts) -> Iterator[Finding]:
    """A tunnel ID range so large that neutron's allocation sync needs gigabytes at every start.

    What it does:
        Reads the tunnel ranges neutron-server really uses (`[ml2_type_geneve] vni_ranges`,
        `[ml2_type_vxlan] vni_ranges`, `[ml2_type_gre] tunnel_id_ranges`, for enabled type drivers),
        estimates the start-up memory of the allocation sync with the release- and deployment-aware
        model, and compares it with what the kernel's OOM records show. Blames the range only when the
        estimate is large AND neutron is the process the memory went to (killed, or the hog in the
        kill's task table); otherwise reports it as a warning.
    Why is this bad:
        Every release builds a Python set of every ID, and loads (≤ 2024.2) every allocation row as an
        ORM object or (≥ 2025.1) binds every ID into one `IN (...)` statement: a few hundred bytes to
        over a kilobyte per ID, in every process that syncs (the eventlet parent before port 9696 is
        bound; every uWSGI worker). 1:16777215 means 16.7 million IDs: many gigabytes and minutes.
        With ML2/OVN only the count matters: OVN ignores the values.
    Evidence:
        The ini line of the range, neutron's own `<type> ID ranges: [...]` log line, and the kernel's
        kill records of neutron with their anon-rss.
    False positives:
        A large range on a host that does not run neutron-server is not reported. A large range with no
        OOM evidence is a warning (it still costs memory and start-up time).
    Remedy:
        Shrink the range to what the cloud can ever use (e.g. `1:65535`), keeping every segment
        already allocated inside it; restart neutron-server.
    Fix safety:
        safe when no allocated segment lies outside the new range (`ostriage fix` checks the database
        on a live host); otherwise unsafe.
    References:
        neutron/plugins/ml2/drivers/type_tunnel.py (sync_allocations, _sync_allocations); bug #2089940;
        neutron ML2/OVN install guide (vni_ranges = 1:65536).
    """
    config = facts.configs.get("neutron-server")
    if config is None or not deployed(facts, service_by_name("neutron-server")):
        return
    try:
        all_ranges = opts.tunnel_ranges(config.ini)
    except ParseError:
        return  # neutron refuses the value at start: NEU004
    groups = kills_by_victim(facts)
    neutron_kills = [g for g in groups if g.victim.service and g.victim.service.name in NEUTRON_SERVICES]
    hogged = [g for g in groups if g not in neutron_kills
              and any(hog_of(facts, e) in NEUTRON_SERVICES for e in g.events)]
    for ranges in all_ranges:
        # the range's own cost: a Southbound replica the host shows is OVN002's
        inputs = range_inputs(facts, ranges.ranges)
        est = estimate(inputs)
        if est.per_process.low - est.baseline < LARGE_SYNC_BYTES:
            continue
        section, key = opts.TUNNEL_OPTIONS[ranges.tunnel_type]
        logged = facts.events("neutron.tunnel-ranges", "neutron-server")
        logged = [e for e in logged if e.groups.get("type") == ranges.tunnel_type]
        evidence = [Citation(ranges.line, f"{ranges.ids:,} IDs")] if ranges.line else []
        if logged:
            evidence.append(Citation(logged[-1].line, f"neutron read it ({len(logged)} start(s) logged)"))
        rss = [(e.anon_rss_kb, e.kill_line) for g in neutron_kills for e in g.events
               if e.anon_rss_kb and e.kill_line]
        if rss:
            top_kb, top_line = max(rss, key=lambda x: x[0])
            evidence.append(Citation(top_line, f"anon-rss {human_bytes(top_kb * 1024)} at kill"))
        stuck = [e for e in facts.oom_events if e.no_killable_line and facts.host_unit(e) in _neutron_units(facts)]
        blamed = bool(neutron_kills or hogged or stuck)
        links = tuple(Link(Relation.CAUSES, Ref("service-oom-kill-loop", g.victim.subject),
                           "the sync's memory is what the kernel ran out of") for g in neutron_kills + hogged)
        if blamed:
            links += (Link(Relation.CAUSES, Ref("api-port-not-listening", "neutron-server"),
                           "neutron serves its API only after the sync has finished"),)
        need = figure(inputs)
        observed = (f" The OOM records show neutron at anon-rss up to {human_bytes(top_kb * 1024)} when killed."
                    if rss else "")
        limits = [e.memcg_limit_kb * 1024 for g in neutron_kills for e in g.memcg_kills if e.memcg_limit_kb]
        if limits and max(limits) < need.per_process:
            observed += (f" Its memory cgroup stops it at {human_bytes(max(limits))}, far below that: it never "
                         "gets through the sync, so it never serves.")
        advice = range_advice(facts, ranges.tunnel_type, ranges.ranges)
        old_value = ranges.line.text.split("=", 1)[-1].strip() if ranges.line else None
        yield ml2_segment_range_too_large.finding(
            subject=f"{section}.{key}",
            severity=Severity.CRITICAL if blamed else Severity.WARNING,
            summary=(f"[{section}] {key} = {old_value or ''} "
                     f"makes neutron build {ranges.ids:,} {ranges.tunnel_type} allocations at every start"),
            explanation=(
                f"neutron's {ranges.tunnel_type} allocation sync holds every ID of the range in memory at start-up "
                f"(a set of all IDs plus the allocation rows or an IN clause of all of them): neutron-server needs "
                f"{need_text(need)} for it, start-up ≈ {need.startup_seconds:.0f} s. "
                + (overflow_text(need) + " " if not need.completes else "")
                + observed.lstrip()
                + (" This is why neutron runs out of memory." if blamed else
                   " No OOM kill of neutron was found, but every start pays this cost.")
                + f" Only the number of IDs matters to ML2/OVN; {SANE_IDS:,} is far above any real network count."
                + (f" {sentence(span_note(need))}." if span_note(need) else "")
                + (f" Assumed: {assumed_text(need)}." if need.assumed else "")),
            evidence=tuple(evidence),
            remedy=Remedy(
                title=f"set [{section}] {key} = {advice.value} and restart neutron-server",
                steps=(*advice.reasoning,
                       f"set [{section}] {key} = {advice.value} in "
                       f"{ranges.line.path if ranges.line else 'ml2_conf.ini'}; allocated segments outside it keep "
                       "working (ostriage fix counts them in neutron's database on a live host)",
                       *durable_steps(facts, section, key, advice.value),
                       restart_step(facts)),
                ini_edits=(IniEdit(host_path(ranges.line.path) if ranges.line else DEFAULT_ML2_CONF,
                                   section, key, advice.value,
                                   f"{ranges.ids:,} IDs need {need_text(need)} at start-up",
                                   old_value=old_value),),
                restart_units=restart_units(facts),
                safety=FixSafety.SAFE,
            ),
            links=links,
            data={"type": ranges.tunnel_type, "ids": ranges.ids,
                  "predicted_per_process_bytes": [est.per_process.low, est.per_process.high],
                  "predicted_service_bytes": [est.service_peak.low, est.service_peak.high],
                  "predicted_startup_seconds": [est.startup_seconds.low, est.startup_seconds.high],
                  "assumptions": list(est.assumptions), "suggested": advice.value,
                  "need_bytes": need.service, "need_span_bytes": [need.span.low, need.span.high],
                  "sync_completes": need.completes, "suggested_reasoning": list(advice.reasoning)},
        )


@rule("NEU004", "ml2-tunnel-range-invalid")
def ml2_tunnel_range_invalid(facts: Facts) -> Iterator[Finding]:
    """A tunnel ID range neutron refuses: neutron-server exits at start.

    What it does:
        Parses the tunnel ranges neutron-server really uses (`vni_ranges` of `[ml2_type_geneve]` and
        `[ml2_type_vxlan]`, `[ml2_type_gre] tunnel_id_ranges`, for enabled type drivers) with neutron's own
        rules: each entry `MIN:MAX`, integers, within the type's IDs (1–16777215 for Geneve and VXLAN,
        1–4294967295 for GRE), MIN not above MAX. Cites neutron's own `Invalid network tunnel range` line
        when its log has it.
    Why is this bad:
        The tunnel type driver parses the range when ML2 initialises and raises `NetworkTunnelRangeError`:
        neutron-server stops before serving, systemd restarts it in a loop, the API port never answers.
        NEU001 cannot size the range's memory either: the range is not a range.
    Evidence:
        The option's line in the config file neutron-server reads, and neutron's error line.
    False positives:
        None known: the check is neutron's own. A range of a type driver that is not enabled is ignored, as
        neutron ignores it.
    Remedy:
        Correct the value (e.g. `1:65535`) and restart neutron-server.
    Fix safety:
        display-only: the intended range is the operator's to say.
    References:
        neutron/plugins/ml2/drivers/type_tunnel.py `_parse_tunnel_ranges`; neutron_lib/plugins/utils.py
        `verify_tunnel_range`; neutron_lib/exceptions NetworkTunnelRangeError.
    """
    config = facts.configs.get("neutron-server")
    if config is None or not deployed(facts, service_by_name("neutron-server")):
        return
    try:
        opts.tunnel_ranges(config.ini)
    except ParseError as exc:
        found = next(((sec, key, v) for sec, key in opts.TUNNEL_OPTIONS.values()
                      if (v := config.ini.get(sec, key)) is not None and v.line.number == exc.line
                      and v.line.path == exc.path), None)
        if found is None:
            return
        section, key, value = found
        evidence = [Citation(value.line)]
        logged = facts.events("neutron.tunnel-range-invalid", "neutron-server")
        if logged:
            evidence.append(Citation(logged[-1].line, f"neutron refused it {len(logged)} time(s), "
                                                      f"last {when(logged[-1].timestamp)}"))
        yield ml2_tunnel_range_invalid.finding(
            subject=f"{section}.{key}",
            severity=Severity.CRITICAL,
            summary=f"[{section}] {key} = {value.value.strip()}: neutron-server refuses it and exits at start",
            explanation=(f"{exc.message} neutron's tunnel type driver parses this option when ML2 initialises "
                         "and raises NetworkTunnelRangeError: neutron-server stops before serving its API, and "
                         "its start-up memory cannot be predicted from a value that is not a range."),
            evidence=tuple(evidence),
            remedy=Remedy(
                title=f"correct [{section}] {key} (e.g. 1:{SANE_IDS}) and restart neutron-server",
                steps=(f"set [{section}] {key} to MIN:MAX ranges neutron accepts in {value.line.path}",
                       "restart neutron-server"),
                safety=FixSafety.DISPLAY_ONLY),
            links=NEUTRON_EXITS_AT_START,
            data={"section": section, "key": key, "value": value.value, "error": exc.message},
        )
