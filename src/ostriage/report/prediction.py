"""Rendering of ``ostriage predict`` (text and JSON): one figure first, then what it stands on."""

from __future__ import annotations

from typing import Any

from ostriage.knowledge.memory_figure import Figure
from ostriage.knowledge.neutron_memory import Inputs, Server
from ostriage.prediction import Prediction, Verdict
from ostriage.report.redact import redact, redact_tree
from ostriage.rules._common import human_bytes
from ostriage.rules.ml2_ranges import need_text, overflow_text, span_note, span_text

__all__ = ["prediction_document", "prediction_text"]

_VERDICT = {
    Verdict.FITS: "FITS: the sync completes within the budget, whatever is not known",
    Verdict.AT_RISK: "AT RISK: the budget holds for some values of what is not known, not for all",
    Verdict.WILL_OOM: "WILL OOM: neutron-server needs more than the budget, whatever is not known",
    Verdict.WILL_NOT_START: "WILL NOT START: the sync cannot complete, whatever the memory",
    Verdict.NO_BUDGET: "no budget known (give --memory-max, --ram or --budget)",
}


def _known(i: Inputs) -> list[str]:
    """The model's inputs the host or the command line gave."""
    known = []
    if i.release is not None:
        known.append(f"release {i.release}")
    if i.server is not None:
        known.append("uWSGI" if i.server is Server.UWSGI else "eventlet neutron-server")
    if i.api_workers is not None:
        known.append(f"{i.api_workers} API worker{'s' if i.api_workers != 1 else ''}")
    if i.first_start is not None:
        known.append("first start" if i.first_start else "restart")
    if i.max_allowed_packet is not None:
        known.append(f"max_allowed_packet {human_bytes(i.max_allowed_packet)}")
    if i.segment_range_plugin:
        known.append("network_segment_range plugin")
    if i.mac_bindings is not None:
        known.append(f"{i.mac_bindings:,} MAC_Binding rows")
    return known


def _need_document(f: Figure) -> dict[str, Any]:
    e = f.estimate
    return {
        "bytes": f.service,
        "per_process_bytes": f.per_process,
        "syncing_processes": f.syncing,
        "startup_seconds": f.startup_seconds,
        "database_extra_bytes": e.db_extra.high,
        "sync_completes": f.completes,
        "retry_growth_bytes": e.retry_growth,
        "span_bytes": [f.span.low, f.span.high],
        "narrowing": {"input": f.narrowing.name, "flag": f.narrowing.flag,
                      "left_bytes": [f.narrowing.left.low, f.narrowing.left.high]} if f.narrowing else None,
        "assumed": [{"input": a.name, "flag": a.flag, "value": a.value, "why": a.why} for a in f.assumed],
        "sb_replica_bytes": e.sb_replica.total[1] if e.sb_replica else None,
    }


def prediction_document(p: Prediction) -> dict[str, Any]:
    e = p.estimate
    i = p.inputs
    a = p.advice
    doc = {
        "schema_version": 1,
        "ranges": [list(r) for r in i.ranges],
        "tunnel_type": p.tunnel_type,
        "ids": e.ids,
        "ranges_from": p.source,
        "inputs": {"release": str(i.release) if i.release else None, "server": i.server.value if i.server else None,
                   "api_workers": i.api_workers, "cpus": i.cpu_count, "ram_bytes": i.ram_bytes,
                   "max_allowed_packet": i.max_allowed_packet, "first_start": i.first_start,
                   "segment_range_plugin": i.segment_range_plugin, "mac_bindings": i.mac_bindings,
                   "fdb_rows": i.fdb_rows},
        "need": _need_document(p.need),
        "per_process_peak_bytes": [e.per_process.low, e.per_process.high],
        "syncing_processes": [e.syncing_processes.low, e.syncing_processes.high],
        "service_peak_bytes": [e.service_peak.low, e.service_peak.high],
        "startup_seconds": [e.startup_seconds.low, e.startup_seconds.high],
        "database_extra_bytes": [e.db_extra.low, e.db_extra.high],
        "packet_overflow": e.packet_overflow,
        "budget": {"bytes": p.budget.bytes, "what": p.budget.what} if p.budget else None,
        "verdict": p.verdict.value,
        "recommended": {"value": a.value, "tunnel_type": a.tunnel_type, "ids": a.ids,
                        "networks_in_use": a.in_use.count, "networks_how": a.in_use.how,
                        "need_bytes": a.need, "reasoning": list(a.reasoning)},
        "largest_safe_ids": p.largest_safe_ids,
        "assumptions": list(e.assumptions),
        "sb_replica": _replica_document(p),
    }
    redacted: dict[str, Any] = redact_tree(doc)
    return redacted


def _replica_document(p: Prediction) -> dict[str, Any] | None:
    r = p.estimate.sb_replica
    if r is None:
        return None
    return {"rows": r.tables, "per_process_bytes": list(r.per_process), "processes": list(r.holders),
            "total_bytes": list(r.total), "ovsdb_server_bytes": r.ovsdb_rss, "db_file_bytes": r.db_file}


def _replica_lines(p: Prediction) -> list[str]:
    """The Southbound replica inside the leading figure (its assumed release and workers), and the server's side."""
    r = p.need.estimate.sb_replica
    if r is None:
        return []
    b = human_bytes
    rows = ", ".join(f"{n:,} {t}" for t, n in r.tables.items())
    holders = span_text(r.holders[0], r.holders[1], lambda n: f"{n:.0f}")
    held = "kept in memory by neutron" if r.per_process[1] else "not kept by this release's workers"
    return [
        f"OVN Southbound: {rows} rows, {held}",
        f"  replica per IDL process     {span_text(r.per_process[0], r.per_process[1], b)} × {holders} "
        "(API + RPC workers)",
        f"  Southbound ovsdb-server     {b(r.ovsdb_rss)}, database file {b(r.db_file)} (compacted)",
        *(f"  - {note}" for note in r.notes),
    ]


def prediction_text(p: Prediction) -> str:
    need = p.need
    i = p.inputs
    ranges = ",".join(f"{lo}:{hi}" for lo, hi in i.ranges)
    known = _known(i)
    lines = [
        f"neutron start-up for {p.tunnel_type} ranges {ranges or 'none'} ({need.estimate.ids:,} IDs, from {p.source})",
        f"  known: {', '.join(known) if known else 'nothing but the ranges'}"
        + (f"; assumed: {', '.join(a.value if a.name == 'release' else f'{a.name} {a.value}' for a in need.assumed)}"
           if need.assumed else ""),
        f"neutron-server needs {need_text(need)} for one sync attempt, start-up ≈ {need.startup_seconds:.0f} s"
        + (f", the database server ≈ {human_bytes(need.estimate.db_extra.high)} more"
           if need.estimate.db_extra.high >= 0.05 * need.service else ""),
    ]
    if span_note(need):
        lines.append(f"  {span_note(need)}")
    if not need.completes:
        lines.append(f"  {overflow_text(need)}")
    lines += _replica_lines(p)
    if p.budget:
        lines.append(f"budget {human_bytes(p.budget.bytes)} ({p.budget.what})")
    lines.append(f"verdict: {_VERDICT[p.verdict]}")
    a = p.advice
    section_key = {"geneve": "[ml2_type_geneve] vni_ranges", "vxlan": "[ml2_type_vxlan] vni_ranges",
                   "gre": "[ml2_type_gre] tunnel_id_ranges"}[a.tunnel_type]
    lines.append(f"recommended: {section_key} = {a.value}")
    lines += [f"  - {r}" for r in a.reasoning]
    if need.assumed:
        lines.append("assumed (give the flag to replace the assumption):")
        lines += [f"  - {x.name}: {x.value}, {x.why} ({x.flag})" for x in need.assumed]
    return redact("\n".join(lines)) + "\n"
