"""``ostriage lint``: static checks of neutron's configuration and units, before a restart.

Checks read the same ``Facts`` as diagnosis rules, but judge configuration alone: what *will* happen
at the next start, not what the logs say happened. Each check is registered in ``CHECKS`` with a
stable code and its documentation (What it does / Why is this bad / Fix).
"""

from ostriage.lint import checks, sb_tables  # noqa: F401 - imported for registration
from ostriage.lint._registry import CHECKS, LINT_SECTIONS
from ostriage.lint.run import LintResult, run_checks

__all__ = ["CHECKS", "LINT_SECTIONS", "LintResult", "run_checks"]
