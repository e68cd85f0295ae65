"""Every diagnosis rule and lint check is documented in its docstring, with the sections its registry
requires, under a stable unique code and a kebab-case name (the ruff model: the docstring is the
documentation `ostriage rules CODE` prints)."""

from __future__ import annotations

import re

import pytest

from ostriage.lint import CHECKS, LINT_SECTIONS
from ostriage.rules import DOC_SECTIONS, RULES, Rule
from ostriage.rules._registry import ALL_SECTIONS, Registry

EVERY = [*RULES, *CHECKS]
KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
#: prefixes of rule codes: the subsystem a rule is about
PREFIXES = {"CTR", "NEU", "NOV", "OOM", "OVN", "OVS", "SYS"}


def _registry(r: Rule) -> Registry:
    return RULES if r in RULES else CHECKS


def test_the_registries() -> None:
    assert RULES.sections == DOC_SECTIONS == (
        "What it does", "Why is this bad", "Evidence", "False positives", "Remedy", "Fix safety", "References")
    assert CHECKS.sections == LINT_SECTIONS == ("What it does", "Why is this bad", "Fix")
    assert len(RULES) >= 10 and len(CHECKS) >= 8


@pytest.mark.parametrize("r", EVERY, ids=[r.code for r in EVERY])
def test_documented_with_every_section_in_order(r: Rule) -> None:
    doc = r.doc
    summary = doc.strip().splitlines()[0]
    assert summary and not summary.endswith(":"), f"{r.code}: the docstring starts with a one-line summary"
    titles = [line.strip()[:-1] for line in doc.splitlines() if line.strip()[:-1] in ALL_SECTIONS
              and line.strip().endswith(":")]
    assert titles == list(_registry(r).sections), f"{r.code} {r.name}: sections {titles}"
    for title in _registry(r).sections:
        assert len(r.section(title)) >= 10, f"{r.code} {r.name}: section {title!r} is empty"


@pytest.mark.parametrize("r", RULES, ids=[r.code for r in RULES])
def test_fix_safety_names_a_safety_level(r: Rule) -> None:
    assert re.match(r"^(safe|unsafe|display-only)\b", r.section("Fix safety")), r.section("Fix safety")


def test_codes_are_stable_unique_and_well_formed() -> None:
    codes = [r.code for r in EVERY]
    assert len(codes) == len(set(codes))
    for r in RULES:
        assert re.fullmatch(r"[A-Z]{3}\d{3}", r.code) and r.code[:3] in PREFIXES, r.code
    for c in CHECKS:
        assert re.fullmatch(r"LNT\d{3}", c.code), c.code
    # the codes users and automation already know (docs/json-schema.md, README): never renumbered
    assert {r.code: r.name for r in RULES} == {
        "NEU001": "ml2-segment-range-too-large",
        "NEU002": "api-port-not-listening",
        "NEU003": "ml2-mechanism-driver-mismatch",
        "NEU004": "ml2-tunnel-range-invalid",
        "NOV001": "nova-api-neutron-connect-failure",
        "OOM001": "service-oom-kill-loop",
        "OVN001": "ovn-geneve-header-too-small",
        "OVN002": "ovn-sb-replica-growth",
        "OVN003": "ovn-sb-database-growth",
        "OVS001": "ovs-agent-bridge-missing",
        "SYS001": "unit-memory-limit-below-need",
        "SYS002": "oom-protection-on-memory-hog",
        "SYS003": "unit-crash-looping-while-active",
        "CTR001": "container-crash-looping",
        "CTR002": "container-memory-limit-below-need",
    }
    assert {c.code: c.name for c in CHECKS} == {
        "LNT001": "segment-range-exceeds-budget",
        "LNT002": "ovn-geneve-header-too-small",
        "LNT003": "mechanism-driver-backend-mismatch",
        "LNT004": "physnet-bridge-mapping-mismatch",
        "LNT005": "memory-max-below-predicted-need",
        "LNT006": "oom-protection-on-neutron",
        "LNT007": "workers-exceed-ram",
        "LNT008": "invalid-option-value",
        "LNT009": "sb-table-replica-without-aging",
    }


def test_names_are_kebab_case_and_unique_per_registry() -> None:
    for registry in (RULES, CHECKS):
        names = [r.name for r in registry]
        assert len(names) == len(set(names))
        for name in names:
            assert KEBAB.match(name), name


def test_registering_a_duplicate_is_refused() -> None:
    registry = Registry(LINT_SECTIONS)
    registry.register("LNT900", "some-check")(lambda facts: [])
    with pytest.raises(ValueError, match="duplicate rule"):
        registry.register("LNT900", "other-check")(lambda facts: [])
    with pytest.raises(ValueError, match="duplicate rule"):
        registry.register("LNT901", "some-check")(lambda facts: [])


def test_the_rules_command_prints_the_documentation(capsys: pytest.CaptureFixture[str]) -> None:
    from ostriage.cli import main

    for r in EVERY:
        try:
            main(["rules", r.code])
        except SystemExit as exc:
            assert exc.code in (0, None)
        out = capsys.readouterr().out
        assert out.startswith(f"{r.code} {r.name}\n")
        for title in _registry(r).sections:
            assert f"\n{title}:\n" in out
