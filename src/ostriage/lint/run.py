"""Run the lint checks; one crashing check is reported by name and the others still run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ostriage.facts.model import Facts
from ostriage.findings import Finding
from ostriage.lint._registry import CHECKS
from ostriage.rules._registry import Rule

__all__ = ["LintResult", "run_checks"]


@dataclass
class LintResult:
    findings: list[Finding] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: evidence that exists but could not be read (a configuration file over the parser's limits): not checked
    unread: list[str] = field(default_factory=list)


def run_checks(facts: Facts, checks: Sequence[Rule] = CHECKS) -> LintResult:
    result = LintResult(unread=list(dict.fromkeys(str(p) for p in facts.problems)))
    for c in checks:
        try:
            result.findings += list(c(facts))
        except Exception as exc:
            result.failures.append((c.name, f"{type(exc).__name__}: {exc}"))
    result.findings.sort(key=lambda f: (-f.severity, f.code, f.subject))
    return result
