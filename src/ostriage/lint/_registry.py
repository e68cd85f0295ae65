"""The lint check table."""

from __future__ import annotations

from ostriage.rules._registry import Registry

__all__ = ["CHECKS", "LINT_SECTIONS", "check"]

LINT_SECTIONS = ("What it does", "Why is this bad", "Fix")

CHECKS = Registry(LINT_SECTIONS)
check = CHECKS.register
