"""Rendering of ``ostriage lint`` (text and JSON)."""

from __future__ import annotations

from typing import Any

from ostriage.findings import Severity
from ostriage.lint import CHECKS, LintResult
from ostriage.report.redact import redact, redact_tree

__all__ = ["lint_document", "lint_text"]

_LEVEL = {Severity.CRITICAL: "error", Severity.WARNING: "warning", Severity.INFO: "info"}


def lint_document(result: LintResult, target: str) -> dict[str, Any]:
    doc = {
        "schema_version": 1,
        "target": target,
        "errors": sum(f.severity is Severity.CRITICAL for f in result.findings),
        "warnings": sum(f.severity is Severity.WARNING for f in result.findings),
        "findings": [{"code": f.code, "check": f.rule, "level": _LEVEL[f.severity], "subject": f.subject,
                      "message": f.summary, "explanation": f.explanation,
                      "evidence": [{"path": c.line.path, "line": c.line.number, "text": c.line.text}
                                   for c in f.evidence],
                      "fix": f.remedy.title if f.remedy else None} for f in result.findings],
        "check_failures": [{"check": n, "error": e} for n, e in result.failures],
        "not_read": result.unread,
        "checks": [{"code": c.code, "check": c.name, "what": c.section("What it does")} for c in CHECKS],
    }
    redacted: dict[str, Any] = redact_tree(doc)
    return redacted


def lint_text(result: LintResult, target: str) -> str:
    out: list[str] = []
    for f in result.findings:
        where = f.evidence[0].line.cite() if f.evidence else f.subject
        out.append(f"{where}: {_LEVEL[f.severity]} {f.code} {f.rule}: {f.summary}")
        if f.remedy:
            out.append(f"    fix: {f.remedy.title}")
    for name, error in result.failures:
        out.append(f"{target}: error: check {name} failed: {error}")
    out += [f"{target}: not read, so not checked: {problem}" for problem in result.unread]
    errors = sum(f.severity is Severity.CRITICAL for f in result.findings)
    warnings = sum(f.severity is Severity.WARNING for f in result.findings)
    unread = f", {len(result.unread)} not read" if result.unread else ""
    out.append(f"{target}: {errors} error(s), {warnings} warning(s), {len(CHECKS)} checks run{unread}")
    return redact("\n".join(out)) + "\n"
