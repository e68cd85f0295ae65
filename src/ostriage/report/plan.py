"""Rendering of ``ostriage fix`` (text and JSON): reasoning, diffs, commands, what was done."""

from __future__ import annotations

from typing import Any

from ostriage.remedy.plan import Plan
from ostriage.remedy.run import FixResult
from ostriage.report.redact import redact, redact_tree

__all__ = ["fix_document", "fix_text", "plan_document"]


def plan_document(p: Plan) -> dict[str, Any]:
    """A plan as ``fix --format json`` shows it (and the diagnosis document's ``fix``), not yet redacted."""
    return {
        "changes": [{"path": c.path, "created": c.old is None, "safety": c.safety.value, "reasons": c.reasons,
                     "findings": c.findings, "diff": c.diff} for c in p.changes],
        "commands": p.commands,
        "reasoning": p.reasoning,
        "manual_steps": p.manual,
        "skipped": p.skipped,
    }


def fix_document(r: FixResult, target: str) -> dict[str, Any]:
    doc = {
        "schema_version": 1,
        "target": target,
        **plan_document(r.plan),
        "applied": {"backup": str(r.applied.backup), "files": list(r.applied.files)} if r.applied else None,
        "verified": {"ok": r.verdict.ok, "details": r.verdict.details} if r.verdict else None,
        "rolled_back": list(r.rolled_back),
        "root_causes_remaining": r.remaining,
    }
    redacted: dict[str, Any] = redact_tree(doc)
    return redacted


def fix_text(r: FixResult, target: str) -> str:
    p = r.plan
    out = [f"ostriage fix plan for {target}: {len(p.changes)} file(s) to change, {len(p.commands)} command(s)"]
    if p.reasoning:
        out += ["", "Reasoning:"] + [f"  - {x}" for x in p.reasoning]
    for c in p.changes:
        out += ["", f"{'create' if c.old is None else 'edit'} {c.path} ({c.safety.value})"]
        out += [f"  why: {reason}" for reason in c.reasons]
        out += [c.diff.rstrip("\n")]
    if p.commands:
        out += ["", "Then run:"] + [f"  {' '.join(cmd)}" for cmd in p.commands]
    if p.manual:
        out += ["", "Manual steps (not automated):"] + [f"  - {m}" for m in p.manual]
    if p.skipped:
        out += ["", "Not planned:"] + [f"  - {s}" for s in p.skipped]
    out.append("")
    if r.applied is None:
        out.append("Nothing was changed." + (" Run again with --apply to apply it (a backup is kept)."
                                              if p.changes else ""))
    else:
        out.append(f"Applied; backup set {r.applied.backup}")
        if r.verdict:
            out += [f"  {'verified' if r.verdict.ok else 'FAILED'}: {d}" for d in r.verdict.details]
        if r.rolled_back:
            out.append(f"Rolled back {len(r.rolled_back)} file(s) to their backups.")
        if r.remaining:
            out.append(f"Still reported after the change: {', '.join(r.remaining)}")
    return redact("\n".join(out)) + "\n"
