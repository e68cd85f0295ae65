"""Rendering of ``ostriage predict`` (text and JSON)."""

from __future__ import annotations

from typing import Any

from ostriage.prediction import Prediction, Verdict
from ostriage.report.redact import redact, redact_tree
from ostriage.rules._common import human_bytes
from ostriage.rules.ml2_ranges import span_text

__all__ = ["prediction_document", "prediction_text"]

_VERDICT = {
    Verdict.FITS: "FITS: the predicted peak stays within the budget",
    Verdict.AT_RISK: "AT RISK: the budget holds only in the best case of what is unknown",
    Verdict.WILL_OOM: "WILL OOM: even the lowest prediction exceeds the budget",
    Verdict.NO_BUDGET: "no budget known (give --memory-max, --ram or --budget)",
}


def prediction_document(p: Prediction) -> dict[str, Any]:
    e = p.estimate
    i = p.inputs
    doc = {
        "schema_version": 1,
        "ranges": [list(r) for r in i.ranges],
        "tunnel_type": p.tunnel_type,
        "ids": e.ids,
        "ranges_from": p.source,
        "inputs": {"release": str(i.release) if i.release else None, "server": i.server.value if i.server else None,
                   "api_workers": i.api_workers, "cpus": i.cpu_count, "ram_bytes": i.ram_bytes,
                   "max_allowed_packet": i.max_allowed_packet, "first_start": i.first_start,
                   "segment_range_plugin": i.segment_range_plugin},
        "per_process_peak_bytes": [e.per_process.low, e.per_process.high],
        "syncing_processes": [e.syncing_processes.low, e.syncing_processes.high],
        "service_peak_bytes": [e.service_peak.low, e.service_peak.high],
        "startup_seconds": [e.startup_seconds.low, e.startup_seconds.high],
        "database_extra_bytes": [e.db_extra.low, e.db_extra.high],
        "packet_overflow": e.packet_overflow,
        "budget": {"bytes": p.budget.bytes, "what": p.budget.what} if p.budget else None,
        "verdict": p.verdict.value,
        "largest_safe_ids": p.largest_safe_ids,
        "assumptions": list(e.assumptions),
    }
    redacted: dict[str, Any] = redact_tree(doc)
    return redacted


def prediction_text(p: Prediction) -> str:
    e = p.estimate
    i = p.inputs
    ranges = ",".join(f"{lo}:{hi}" for lo, hi in i.ranges)
    b = human_bytes

    def count(n: float) -> str:
        return f"{n:.0f}"

    def seconds(n: float) -> str:
        return f"{n:.0f} s"

    lines = [
        f"neutron start-up for {p.tunnel_type} ranges {ranges} ({e.ids:,} IDs, from {p.source})",
        f"  release {i.release or 'not given'}, server {i.server.value if i.server else 'not given'}, "
        f"api_workers {i.api_workers if i.api_workers is not None else 'default'}",
        f"  peak per syncing process   {span_text(e.per_process.low, e.per_process.high, b)}",
        f"  syncing processes          {span_text(e.syncing_processes.low, e.syncing_processes.high, count)}",
        f"  neutron-server peak        {span_text(e.service_peak.low, e.service_peak.high, b)}",
        f"  start-up time              {span_text(e.startup_seconds.low, e.startup_seconds.high, seconds)}",
        f"  database server extra      {span_text(e.db_extra.low, e.db_extra.high, b)}",
    ]
    if p.budget:
        lines.append(f"  budget                     {b(p.budget.bytes)} ({p.budget.what})")
    lines.append(f"verdict: {_VERDICT[p.verdict]}")
    if p.largest_safe_ids is not None and p.budget:
        first = i.ranges[0][0] if i.ranges else 1
        if p.largest_safe_ids:
            lines.append(f"largest safe range for {b(p.budget.bytes)}: {first}:{first + p.largest_safe_ids - 1} "
                         f"({p.largest_safe_ids:,} IDs)")
        else:
            lines.append(f"no range fits {b(p.budget.bytes)}: neutron-server needs more than that at rest")
    if e.assumptions:
        lines.append("assumptions:")
        lines += [f"  - {a}" for a in e.assumptions]
    return redact("\n".join(lines)) + "\n"
