"""Run every rule, link the findings into a causal graph, and tell one story per root cause.

Root causes are findings (warning or worse) that nothing else *causes* and that are not themselves
merely aggravating or related to another finding; beneath each, the chain of what it caused and the
findings that aggravated any link of that chain. A rule that crashes is reported by name and the
rest of the run goes on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ostriage.evidence import Line
from ostriage.facts.model import Facts
from ostriage.findings import Finding, Mark, Relation, Severity, TimelineEntry
from ostriage.rules import RULES, Rule

__all__ = ["Diagnosis", "Edge", "RuleFailure", "Story", "diagnose"]

#: a configuration change this long before the first event of the incident may be what started it
CHANGE_WINDOW = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    relation: Relation
    target: str
    why: str = ""


@dataclass(frozen=True, slots=True)
class RuleFailure:
    rule: str
    error: str


@dataclass(frozen=True, slots=True)
class StoryStep:
    """One finding in a chain: ``depth`` below the root, reached through ``relation`` from ``parent``."""

    finding: Finding
    depth: int
    relation: Relation | None
    parent: str | None
    why: str = ""


@dataclass(frozen=True, slots=True)
class Story:
    """A root cause, what it caused (depth-first), and what aggravated the chain."""

    root: Finding
    chain: tuple[StoryStep, ...]
    contributors: tuple[StoryStep, ...]


@dataclass(frozen=True, slots=True)
class Diagnosis:
    target: str
    kind: str
    hostname: str | None
    collected_at: datetime | None
    findings: tuple[Finding, ...]
    edges: tuple[Edge, ...]
    stories: tuple[Story, ...]
    timeline: tuple[TimelineEntry, ...]
    problems: tuple[str, ...] = ()
    #: every moment of every finding's series (each kill, each restart) with the key of its finding, and the
    #: configuration changes around them (key ``""``: no finding; line 0: the file as a whole)
    events: tuple[tuple[TimelineEntry, str], ...] = ()
    rule_failures: tuple[RuleFailure, ...] = ()
    facts_summary: dict[str, object] = field(default_factory=dict)

    @property
    def status(self) -> Severity | None:
        """The worst severity found, or ``None`` when healthy."""
        worst = [f.severity for f in self.findings if f.severity > Severity.INFO]
        return max(worst) if worst else None

    def finding(self, key: str) -> Finding:
        return next(f for f in self.findings if f.key == key)


def run_rules(facts: Facts, rules: Sequence[Rule] = RULES) -> tuple[list[Finding], list[RuleFailure]]:
    findings: dict[str, Finding] = {}
    failures: list[RuleFailure] = []
    for r in rules:
        try:
            produced = list(r(facts))
        except Exception as exc:
            failures.append(RuleFailure(r.name, f"{type(exc).__name__}: {exc}"))
            continue
        for f in produced:
            findings.setdefault(f.key, f)
    return list(findings.values()), failures


def link(findings: Iterable[Finding]) -> list[Edge]:
    """Resolve every finding's ``Ref``s against the findings that fired; unresolved links vanish."""
    pool = list(findings)
    edges: list[Edge] = []
    seen: set[tuple[str, Relation, str]] = set()
    for f in pool:
        for ln in f.links:
            for target in pool:
                if target is f or not target.refers_to(ln.target):
                    continue
                if ln.relation is Relation.CAUSED_BY:
                    k = (target.key, Relation.CAUSES, f.key)
                else:
                    k = (f.key, ln.relation, target.key)
                if k not in seen:
                    seen.add(k)
                    edges.append(Edge(k[0], k[1], k[2], ln.why))
    return edges


def _stories(findings: list[Finding], edges: list[Edge]) -> list[Story]:
    by_key = {f.key: f for f in findings}
    caused = {e.target for e in edges if e.relation is Relation.CAUSES}
    subordinate = {e.source for e in edges if e.relation is not Relation.CAUSES}
    roots = [f for f in findings
             if f.severity > Severity.INFO and f.key not in caused and f.key not in subordinate]
    roots.sort(key=lambda f: (-f.severity, -_reach(f.key, edges), f.code))

    stories: list[Story] = []
    for root in roots:
        chain = _chain(root.key, by_key, edges)
        members = {root.key} | {s.finding.key for s in chain}
        contributors = [StoryStep(by_key[e.source], 1, e.relation, e.target, e.why)
                        for e in edges
                        if e.relation is not Relation.CAUSES and e.target in members
                        and e.source not in members]
        stories.append(Story(root, tuple(chain), tuple(contributors)))
    return stories


def _chain(root: str, by_key: dict[str, Finding], edges: list[Edge]) -> list[StoryStep]:
    """What ``root`` caused, depth first, each finding once."""
    chain: list[StoryStep] = []
    visited = {root}

    def walk(key: str, depth: int) -> None:
        # the mechanism in the same subject first (the unit's own crash loop), then what reaches furthest
        children = sorted((e for e in edges if e.source == key and e.relation is Relation.CAUSES),
                          key=lambda e: (by_key[e.target].subject != by_key[key].subject, -_reach(e.target, edges)))
        for e in children:
            if e.target not in visited:
                visited.add(e.target)
                chain.append(StoryStep(by_key[e.target], depth, e.relation, key, e.why))
                walk(e.target, depth + 1)

    walk(root, 1)
    return chain


def _reach(key: str, edges: list[Edge]) -> int:
    """How many findings a finding explains: the bigger story is told first."""
    seen: set[str] = set()
    stack = [key]
    while stack:
        k = stack.pop()
        for e in edges:
            if e.source == k and e.relation is Relation.CAUSES and e.target not in seen:
                seen.add(e.target)
                stack.append(e.target)
    return len(seen)


def _changes(facts: Facts, times: list[datetime]) -> list[tuple[TimelineEntry, str]]:
    """The configuration files changed from a day before the incident's first event to its last."""
    if not times:
        return []
    start, end = min(times) - CHANGE_WINDOW, max(times)
    return [(TimelineEntry(m.time, f"{m.shown} changed", Line(m.shown, 0, ""), Mark.CONFIG_CHANGE, m.owner,
                           headline=False), "") for m in facts.modified if start <= m.time <= end]


def diagnose(facts: Facts, rules: Sequence[Rule] = RULES) -> Diagnosis:
    findings, failures = run_rules(facts, rules)
    findings.sort(key=lambda f: (-f.severity, f.code, f.subject))
    edges = link(findings)
    moments = {(t.time, t.line, t.what): (t, f.key) for f in findings for t in f.timeline}
    events = sorted([*moments.values(), *_changes(facts, [t.time for t, _ in moments.values()])],
                    key=lambda e: (e[0].time, e[0].line.path, e[0].line.number))
    timeline = [t for t, key in events if t.headline]
    return Diagnosis(
        target=facts.target,
        kind=facts.kind,
        hostname=facts.hostname,
        collected_at=facts.collected_at,
        findings=tuple(findings),
        edges=tuple(edges),
        stories=tuple(_stories(findings, edges)),
        timeline=tuple(timeline),
        events=tuple(events),
        problems=tuple(str(p) for p in facts.problems),
        rule_failures=tuple(failures),
        facts_summary=facts.summary(),
    )
