"""Rules: one module per concern, each a registered function ``(Facts) -> Iterable[Finding]``.

Importing this package registers every rule in ``RULES`` (the registry table).
"""

from ostriage.rules import (  # noqa: F401 - imported for registration
    api_reachability,
    containers,
    ml2_ranges,
    nova_cascade,
    oom,
    ovn,
    ovn_southbound,
    ovs_agent,
    systemd_limits,
)
from ostriage.rules._registry import DOC_SECTIONS, RULES, Rule

__all__ = ["DOC_SECTIONS", "RULES", "Rule"]
