"""The report document: a ``Diagnosis`` as a plain JSON-ready tree, schema version 1, secrets redacted.

Every renderer (text, Markdown, HTML, JSON) is fed from this one tree, so nothing can reach any
output without passing through ``redact_tree``. The schema is documented in docs/json-schema.md and
machine-checked against ``schema/diagnosis-v1.json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ostriage import __version__
from ostriage.diagnosis import Diagnosis, Story, StoryStep
from ostriage.findings import Citation, Finding, Remedy, Severity, TimelineEntry
from ostriage.remedy.plan import Plan
from ostriage.report.plan import plan_document
from ostriage.report.redact import redact_tree

__all__ = ["SCHEMA_VERSION", "exit_code_for", "status_label", "to_document"]

SCHEMA_VERSION = 1


def status_label(status: Severity | None) -> str:
    return "healthy" if status is None else status.label


def exit_code_for(status: Severity | None) -> int:
    """0 healthy, 1 warnings, 2 critical (input and usage errors use other codes, see cli)."""
    return 0 if status is None else int(status)


def _time(t: datetime | None) -> str | None:
    return t.isoformat(sep=" ", timespec="seconds") if t else None


def _citation(c: Citation) -> dict[str, Any]:
    return {"path": c.line.path, "line": c.line.number, "text": c.line.text, "note": c.note}


def _remedy(r: Remedy | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "title": r.title,
        "steps": list(r.steps),
        "safety": r.safety.value,
        "ini_edits": [{"path": e.path, "section": e.section, "key": e.key, "value": e.value,
                       "old_value": e.old_value, "reason": e.reason} for e in r.ini_edits],
        "unit_edits": [{"unit": e.unit, "drop_in": e.drop_in, "section": e.section, "key": e.key,
                        "value": e.value, "old_value": e.old_value, "reason": e.reason} for e in r.unit_edits],
        "restart_units": list(r.restart_units),
    }


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "key": f.key,
        "rule": f.rule,
        "code": f.code,
        "subject": f.subject,
        "severity": f.severity.label,
        "summary": f.summary,
        "explanation": f.explanation,
        "evidence": [_citation(c) for c in f.evidence],
        "remedy": _remedy(f.remedy),
        "data": f.data,
    }


def _step(s: StoryStep) -> dict[str, Any]:
    return {"finding": s.finding.key, "rule": s.finding.rule, "code": s.finding.code,
            "severity": s.finding.severity.label, "summary": s.finding.summary, "depth": s.depth,
            "relation": s.relation.value if s.relation else None, "from": s.parent, "why": s.why}


def _story(s: Story) -> dict[str, Any]:
    return {"finding": s.root.key, "rule": s.root.rule, "code": s.root.code,
            "severity": s.root.severity.label, "summary": s.root.summary,
            "chain": [_step(x) for x in s.chain], "contributors": [_step(x) for x in s.contributors]}


def _events(d: Diagnosis) -> list[dict[str, Any]]:
    """Every moment of the findings' series, for a chart: ``offset_seconds`` from the first one, to the
    microsecond the evidence gives (``time`` is to the second)."""
    if not d.events:
        return []
    start = d.events[0][0].time

    def event(t: TimelineEntry, key: str) -> dict[str, Any]:
        return {"time": _time(t.time), "offset_seconds": (t.time - start).total_seconds(), "kind": t.mark.value,
                "subject": t.subject, "what": t.what, "bytes": t.value, "limit_bytes": t.limit,
                "finding": key or None,
                "evidence": {"path": t.line.path, "line": t.line.number or None, "text": t.line.text}}

    return [event(t, key) for t, key in d.events]


def to_document(d: Diagnosis, plan: Plan | None = None) -> dict[str, Any]:
    """The document of ``d``; ``plan`` is the fix ``ostriage fix`` would show for it (``fix``: null without)."""
    doc = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "ostriage", "version": __version__},
        "target": {"path": d.target, "kind": d.kind, "hostname": d.hostname,
                   "collected_at": _time(d.collected_at)},
        "status": status_label(d.status),
        "exit_code": exit_code_for(d.status),
        "root_causes": [_story(s) for s in d.stories],
        "timeline": [{"time": _time(t.time), "what": t.what,
                      "evidence": {"path": t.line.path, "line": t.line.number, "text": t.line.text}}
                     for t in d.timeline],
        "events": _events(d),
        "fix": plan_document(plan) if plan is not None else None,
        "findings": [_finding(f) for f in d.findings],
        "links": [{"from": e.source, "relation": e.relation.value, "to": e.target, "why": e.why}
                  for e in d.edges],
        "problems": list(dict.fromkeys(d.problems)),  # a file read for several services is one problem
        "rule_failures": [{"rule": r.rule, "error": r.error} for r in d.rule_failures],
        "facts": d.facts_summary,
    }
    redacted: dict[str, Any] = redact_tree(doc)
    return redacted
