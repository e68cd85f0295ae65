"""The public surface of the packages other code builds on: ``__all__`` is written down here, so a name
added or dropped is a decision made in review, not an accident."""

from __future__ import annotations

import importlib

import pytest

SURFACES = {
    "ostriage.sources": ["ARCHIVE_SUFFIXES", "CATALOG", "CommandOutput", "CommandSpec", "Format", "HostTree",
                         "Limits", "LiveHost", "Problem", "SosReport", "Source", "lookup", "open_target"],
    "ostriage.facts": ["ConfigSet", "Facts", "LogEvent", "Sized", "UnitState", "collect"],
    "ostriage.report": ["FORMATS", "render", "to_document"],
    "ostriage.rules": ["DOC_SECTIONS", "RULES", "Rule"],
    "ostriage.lint": ["CHECKS", "LINT_SECTIONS", "LintResult", "run_checks"],
    "ostriage.report.redact": ["MASK", "redact", "redact_tree"],
    "ostriage.report.document": ["SCHEMA_VERSION", "exit_code_for", "status_label", "to_document"],
    "ostriage.cli": ["EXIT_INPUT", "EXIT_INTERNAL", "EXIT_OUTPUT", "EXIT_USAGE", "main"],
}


@pytest.mark.parametrize("module", SURFACES)
def test_all_does_not_drift(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(SURFACES[module])
    assert len(mod.__all__) == len(set(mod.__all__))
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name} is in __all__ but not defined"


def test_report_formats() -> None:
    from ostriage.report import FORMATS

    assert FORMATS == ("text", "json", "markdown", "html")
