"""Lint: a neutron release that keeps an unbounded OVN Southbound table in every worker, unaged."""

from __future__ import annotations

from collections.abc import Iterator

from ostriage.facts.model import Facts
from ostriage.findings import Citation, Finding, Severity
from ostriage.knowledge.ovn_sb_replica import fdb_aging_option, release_without_mac_binding, replicated_tables
from ostriage.lint._registry import check
from ostriage.rules.ovn_southbound import aging_remedy, ovn_configured, rows_text

#: FDB rows only accumulate on ports without port security or with localnet learning; below this
#: many rows seen (or with none seen) an FDB replica is not worth a warning.
FDB_ROWS_WORTH_WARNING = 10_000


@check("LNT009", "sb-table-replica-without-aging")
def sb_table_replica_without_aging(facts: Facts) -> Iterator[Finding]:
    """neutron's release keeps an unbounded Southbound table (MAC_Binding, FDB) in every worker and nothing ages it.

    What it does:
        For ML2/OVN with a known neutron release: MAC_Binding is kept by 16.0.0–16.4.1, 17.0.0–17.2.1,
        18.0.0–18.1.1 and 19.0.0 (no aging option in neutron before 24.0.0); FDB by 19.0.0–27.x (and
        16.3.2+, 17.1.2+, 18.1.0+). Warns for MAC_Binding unless the Northbound shows every router with
        `mac_binding_age_threshold`, and for FDB when `[ovn] fdb_age_threshold` is 0 and the host shows a
        large FDB table or `localnet_learn_fdb` is on.
    Why is this bad:
        Each API and RPC worker holds every row (several kilobytes each, measured): the table only
        grows, and neutron's memory with it, until a memory limit or the machine's RAM is reached, weeks
        after any configuration change.
    Fix:
        Upgrade to the series release that no longer keeps the table, or age it: `[ovn]
        fdb_age_threshold`/`mac_binding_age_threshold` (neutron 24.0.0+), or OVN's own router option
        (`ovn-nbctl set Logical_Router <r> options:mac_binding_age_threshold=300`, OVN >= 22.09).
    """
    config = facts.configs.get("neutron-server")
    release = facts.release
    if config is None or release is None or not ovn_configured(facts):
        return
    held = replicated_tables(release) or frozenset()
    db = facts.ovn_db
    release_line = facts.release_line
    if "MAC_Binding" in held:
        routers = db.routers if db else []
        if not routers or (db is not None and db.routers_without_aging()):
            rows = db.rows("MAC_Binding") if db else None
            seen = f" (the host shows {rows_text(rows)} rows)" if rows else ""
            evidence = [Citation(release_line, f"neutron {release}")] if release_line else []
            if rows is not None and rows.line is not None:
                evidence.append(Citation(rows.line, f"{rows.rows:,} MAC_Binding rows"))
            yield sb_table_replica_without_aging.finding(
                subject="OVN_Southbound.MAC_Binding",
                severity=Severity.WARNING,
                summary=(f"neutron {release} keeps every OVN MAC_Binding row in each worker and nothing ages them"
                         f"{seen}: upgrade to {release_without_mac_binding(release)} or age the table in OVN"),
                explanation=(f"neutron {release} registers MAC_Binding in its Southbound IDL (dropped in "
                             f"{release_without_mac_binding(release)}); it has no aging option of its own, so unless "
                             "OVN's routers carry mac_binding_age_threshold the table and neutron's memory grow "
                             "for as long as the cloud runs."),
                evidence=tuple(evidence),
                remedy=aging_remedy(facts, release, db.version if db else None),
                data={"table": "MAC_Binding", "release": str(release)},
            )
    option = fdb_aging_option(release)
    if "FDB" in held:
        value = config.get("ovn", "fdb_age_threshold")
        aged = (value.value.strip() not in ("", "0")) if value is not None else bool(option and option.default)
        rows = db.rows("FDB") if db else None
        learn = config.get("ovn", "localnet_learn_fdb")
        learning = learn is not None and learn.value.strip().lower() in ("true", "1", "yes", "on")
        if not aged and ((rows is not None and rows.rows >= FDB_ROWS_WORTH_WARNING) or learning):
            evidence = [Citation(release_line, f"neutron {release}")] if release_line else []
            if rows is not None and rows.line is not None:
                evidence.append(Citation(rows.line, f"{rows.rows:,} FDB rows"))
            if learning and learn is not None:
                evidence.append(Citation(learn.line, "localnet ports learn MACs into FDB"))
            yield sb_table_replica_without_aging.finding(
                subject="OVN_Southbound.FDB",
                severity=Severity.WARNING,
                summary=f"neutron {release} keeps every OVN FDB row in each worker and FDB aging is off",
                explanation=("FDB (MACs learned on ports with unknown addresses) is registered in neutron's "
                             "Southbound IDL up to 27.x; without [ovn] fdb_age_threshold its rows, and every "
                             "worker's copy of them, only grow."),
                evidence=tuple(evidence),
                remedy=aging_remedy(facts, release, db.version if db else None, "FDB"),
                data={"table": "FDB", "release": str(release)},
            )
