"""The rule registry: one table of every rule, its stable code and kebab-case name.

A rule is a function ``(Facts) -> Iterable[Finding]`` whose docstring is its documentation, with the
sections listed in ``DOC_SECTIONS`` (a test fails when one is missing). ``@rule`` turns the function
into a ``Rule``, which the function body uses to build its findings (``my_rule.finding(...)``) so the
code and name are written once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ostriage.findings import Finding

if TYPE_CHECKING:
    from ostriage.facts.model import Facts

__all__ = ["DOC_SECTIONS", "RULES", "Registry", "Rule", "rule"]

DOC_SECTIONS = ("What it does", "Why is this bad", "Evidence", "False positives", "Remedy", "Fix safety",
                "References")

#: every section title any registry uses (a lint check's "Fix" ends its "Why is this bad")
ALL_SECTIONS = (*DOC_SECTIONS, "Fix")

Check = Callable[["Facts"], Iterable[Finding]]


class Rule:
    __slots__ = ("check", "code", "name")

    def __init__(self, code: str, name: str, check: Check) -> None:
        self.code = code
        self.name = name
        self.check = check

    def __call__(self, facts: Facts) -> Iterable[Finding]:
        return self.check(facts)

    def __repr__(self) -> str:
        return f"Rule({self.code} {self.name})"

    def finding(self, **fields: Any) -> Finding:
        return Finding(rule=self.name, code=self.code, **fields)

    @property
    def doc(self) -> str:
        return self.check.__doc__ or ""

    def section(self, title: str) -> str:
        """The text of one docstring section (``What it does:`` up to the next section)."""
        out: list[str] = []
        inside = False
        for raw in self.doc.splitlines():
            stripped = raw.strip()
            if stripped.endswith(":") and stripped[:-1] in ALL_SECTIONS:
                inside = stripped[:-1] == title
                continue
            if inside:
                out.append(stripped)
        return "\n".join(out).strip()


class Registry(list[Rule]):
    """One table of rules (diagnosis rules, lint checks), each documented with ``sections``."""

    def __init__(self, sections: tuple[str, ...]) -> None:
        super().__init__()
        self.sections = sections

    def register(self, code: str, name: str) -> Callable[[Check], Rule]:
        """Register a rule under a stable code and kebab-case name."""

        def add(check: Check) -> Rule:
            if any(r.code == code or r.name == name for r in self):
                raise ValueError(f"duplicate rule {code} {name}")
            registered = Rule(code, name, check)
            self.append(registered)
            return registered

        return add


RULES = Registry(DOC_SECTIONS)
rule = RULES.register
