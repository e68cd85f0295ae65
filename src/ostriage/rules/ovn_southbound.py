"""The OVN Southbound's unbounded tables: neutron's in-memory replica of them, and the database itself."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from ostriage.errors import ParseError
from ostriage.evidence import Line
from ostriage.facts.deployment import model_inputs
from ostriage.facts.model import Facts
from ostriage.facts.ovn_db import SB, OvnDatabases, TableRows
from ostriage.findings import Citation, Finding, FixSafety, IniEdit, Link, Ref, Relation, Remedy, Severity
from ostriage.knowledge import neutron_options as opts
from ostriage.knowledge.neutron_memory import GIB, MIB, estimate
from ostriage.knowledge.ovn_sb_replica import (
    OVN_AGING,
    OVN_ARP_BROADCAST_OPTION,
    OVN_CIDR_AGING,
    OVN_FDB_AGING,
    UNBOUNDED_SB_TABLES,
    OvnVersion,
    aging_option,
    arp_broadcast_option,
    fdb_aging_option,
    release_without_mac_binding,
    removal_limit_option,
    replicated_tables,
)
from ostriage.knowledge.releases import NeutronRelease
from ostriage.knowledge.sb_replica_memory import coefficients
from ostriage.knowledge.services import service_by_name
from ostriage.parsers.kernel_oom import OomEvent
from ostriage.parsers.openstack_values import IdRange
from ostriage.parsers.ps import PsProcess
from ostriage.rules._common import deployed, host_path, human_bytes, kills_by_victim
from ostriage.rules._registry import rule

__all__ = ["RECOMMENDED_AGE_SECONDS", "aging_remedy", "ovn_configured", "rows_text"]

#: A replica this large at least doubles a steady-state worker (~150-250 MiB): it is what eats the memory.
LARGE_REPLICA_BYTES = 256 * MIB
#: neutron's recommended MAC_Binding/FDB aging (28.0.0's default, 8f161f4e75's advice once OVN is fixed)
RECOMMENDED_AGE_SECONDS = 300
NEUTRON_SERVICES = ("neutron-server", "neutron-rpc-server")
DEFAULT_ML2_CONF = "/etc/neutron/plugins/ml2/ml2_conf.ini"
#: ovsdb-server thresholds worth an operator's attention
SB_RSS_WARNING = 4 * GIB
SB_FILE_WARNING = 1 * GIB
#: a file this many times larger than its rows need has not been compacted
UNCOMPACTED_RATIO = 4
UNCOMPACTED_MIN = 100 * MIB


def ovn_configured(facts: Facts) -> bool:
    config = facts.configs.get("neutron-server")
    return config is not None and ("ovn" in opts.mechanism_drivers(config.ini).value
                                   or bool(opts.ovn_connections(config.ini)))


def rows_text(rows: TableRows) -> str:
    if rows.from_file and rows.from_file > rows.rows:
        return f"about {rows.from_file:,}"
    return f"at least {rows.rows:,}" if rows.truncated else f"{rows.rows:,}"


def _rows_note(rows: TableRows) -> str:
    if not rows.truncated:
        return f"{rows.rows:,} {rows.table} rows"
    estimate = (f"; the Southbound file's size implies about {rows.from_file:,}" if rows.from_file else "")
    return f"{rows.rows:,} {rows.table} rows in the listing's tail (sos cut it: a lower bound){estimate}"


def _ovn_config_path(facts: Facts) -> str:
    """The file holding neutron's ``[ovn]`` section (where the aging options belong)."""
    config = facts.configs.get("neutron-server")
    lines = opts.ovn_connections(config.ini) if config else []
    return host_path(lines[0].path) if lines else DEFAULT_ML2_CONF


def aging_remedy(facts: Facts, release: NeutronRelease | None, ovn: OvnVersion | None,
                 table: str = "MAC_Binding") -> Remedy:
    """How to stop ``table`` growing, for this neutron and OVN: neutron's options where it has them
    (a config fix), else OVN's own router option (commands), else a one-off cleanup."""
    path = _ovn_config_path(facts)
    config = facts.configs.get("neutron-server")
    ovn_text = f"OVN {ovn}" if ovn else "OVN (version unknown)"
    if table == "FDB":
        option = fdb_aging_option(release) if release else None
        if option is not None:
            current = config.get(option.section, option.key) if config else None
            safe = ovn is not None and ovn >= OVN_FDB_AGING
            return Remedy(
                title=f"set [{option.section}] {option.key} = {RECOMMENDED_AGE_SECONDS} and restart neutron-server",
                steps=(f"set [{option.section}] {option.key} = {RECOMMENDED_AGE_SECONDS} in {path} "
                       f"(needs OVN >= {OVN_FDB_AGING}; {ovn_text})", "restart neutron-server"),
                ini_edits=(IniEdit(path, option.section, option.key, str(RECOMMENDED_AGE_SECONDS),
                                   "FDB rows otherwise stay forever", old_value=current.value if current else None),),
                restart_units=("neutron-server.service",),
                safety=FixSafety.SAFE if safe else FixSafety.UNSAFE)
        return Remedy(title="upgrade neutron to 28.0.0 or later (no FDB replica), or age FDB in OVN",
                      steps=(f"ovn-nbctl set Logical_Switch <switch> other_config:fdb_age_threshold="
                             f"{RECOMMENDED_AGE_SECONDS} (OVN >= {OVN_FDB_AGING}; {ovn_text})",))
    option = aging_option(release) if release else None
    if option is not None:
        current = config.get(option.section, option.key) if config else None
        edits = [IniEdit(path, option.section, option.key, str(RECOMMENDED_AGE_SECONDS),
                         "MAC_Binding rows otherwise stay forever", old_value=current.value if current else None)]
        steps = [f"set [{option.section}] {option.key} = {RECOMMENDED_AGE_SECONDS} in {path}: neutron's maintenance "
                 f"task writes it into every router (OVN >= {OVN_AGING} ages the rows; {ovn_text})"]
        limit = removal_limit_option(release) if release else None
        if limit is not None and not limit.note:
            steps.append(f"optionally [{limit.section}] {limit.key} = 5000 so one expiry does not delete "
                         "millions of rows in one transaction")
        arp = arp_broadcast_option(release) if release else None
        if arp is not None:
            steps.append(f"with OVN >= {OVN_ARP_BROADCAST_OPTION}, [{arp.section}] {arp.key} = false stops every "
                         "router learning every ARP on its networks (fewer rows in the first place)")
        steps.append("restart neutron-server")
        if option.note:
            steps.append(f"note: {option.note}; check your OVN has that fix before enabling aging")
        safe = ovn is not None and ovn >= OVN_AGING
        title = f"set [{option.section}] {option.key} = {RECOMMENDED_AGE_SECONDS} and restart neutron-server"
        return Remedy(title=title,
                      steps=tuple(steps), ini_edits=tuple(edits), restart_units=("neutron-server.service",),
                      safety=FixSafety.SAFE if safe else FixSafety.UNSAFE)
    steps = []
    if release is not None and "MAC_Binding" in (replicated_tables(release) or ()):
        steps.append(f"upgrade neutron to {release_without_mac_binding(release)} or later: it no longer keeps "
                     "MAC_Binding in every worker (commit f6c3552769, bug #1946318)")
    if ovn is None or ovn >= OVN_AGING:
        cidr = f" (OVN >= {OVN_CIDR_AGING} also takes '<cidr>:<seconds>;...')" if ovn is None or ovn >= OVN_CIDR_AGING \
            else ""
        steps.append(f"age the rows in OVN: for each router, ovn-nbctl set Logical_Router <router> "
                     f"options:mac_binding_age_threshold={RECOMMENDED_AGE_SECONDS}{cidr}; this neutron release does "
                     f"not manage that option (it has no [ovn] mac_binding_age_threshold before 24.0.0); needs OVN >= "
                     f"{OVN_AGING} ({ovn_text})")
    else:
        steps.append(f"{ovn_text} cannot age MAC_Binding (needs >= {OVN_AGING}): clear it once with "
                     "'ovn-sbctl --all destroy MAC_Binding' (routers learn the entries they need again) and "
                     "upgrade OVN")
    steps.append("restart neutron-server so its workers drop the replica they hold")
    return Remedy(title=steps[0].split(":")[0], steps=tuple(steps))


def _release_citation(facts: Facts, table: str) -> Citation | None:
    if facts.release is None or facts.release_line is None:
        return None
    if table == "MAC_Binding":
        note = (f"neutron {facts.release} keeps every MAC_Binding row in each API and RPC worker "
                f"(fixed in {release_without_mac_binding(facts.release)})")
    else:
        note = f"neutron {facts.release} keeps every FDB row in each API and RPC worker (dropped in 28.0.0)"
    return Citation(facts.release_line, note)


def _aging_citation(facts: Facts, db: OvnDatabases, table: str) -> Citation | None:
    """Evidence that nothing ages the table: routers without a threshold, or neutron's missing option."""
    if table == "MAC_Binding" and db.routers:
        without = db.routers_without_aging()
        if without:
            return Citation(without[0].line, f"no mac_binding_age_threshold on {len(without)} of {len(db.routers)} "
                                             "router(s): their MAC_Binding rows never expire")
        return None
    config = facts.configs.get("neutron-server")
    if config is None:
        return None
    release = facts.release
    option = (aging_option(release) if table == "MAC_Binding" else fdb_aging_option(release)) if release else None
    if option is not None:
        value = config.get(option.section, option.key)
        if value is not None:
            return Citation(value.line, "0: no aging") if value.value.strip() == "0" else None
        if option.default:
            return None
    anchor = opts.ovn_connections(config.ini)
    if not anchor:
        return None
    if option is None and release is not None:
        prefix = "mac_binding" if table == "MAC_Binding" else "fdb"
        return Citation(anchor[0], f"neutron {release} has no [ovn] {prefix}_age_threshold (added in 24.0.0): "
                                   "nothing in neutron ages the table")
    key = "mac_binding_age_threshold" if table == "MAC_Binding" else "fdb_age_threshold"
    return Citation(anchor[0], f"[ovn] {key} not set: default 0, no aging")


@rule("OVN002", "ovn-sb-replica-growth")
def ovn_sb_replica_growth(facts: Facts) -> Iterator[Finding]:
    """neutron keeps a full copy of an unbounded OVN Southbound table (MAC_Binding, FDB) in every worker.

    What it does:
        For ML2/OVN, reads the row counts of the Southbound's MAC_Binding and FDB tables (sos's
        `ovn-sbctl list` output, or live `ovn-sbctl --columns=_uuid list`), checks whether this neutron
        release registers the table in its Southbound IDL, and prices the replica with the measured
        per-row cost times the processes that hold one (API workers + RPC workers: the maintenance
        worker's smaller IDL has neither table). Blames it for neutron's OOM kills when the replica is
        large and the segment ranges are sane.
    Why is this bad:
        An OVSDB IDL holds every row of every table it registers, in every process. MAC_Binding gets one
        row per IP address a router ever resolved and nothing removes them unless aging is on: over
        weeks neutron's memory climbs with it, with a sane `vni_ranges`, until a memory limit or the
        machine's RAM is reached. FDB (ports without port security) grows the same way.
    Evidence:
        The row count line (a lower bound when sos cut the listing), neutron's release, the missing aging
        setting (routers without `mac_binding_age_threshold`, or neutron's missing/zero option), the
        kernel's kill records of neutron, the Southbound database file size.
    False positives:
        Releases that do not register the table are not reported (MAC_Binding: 20.0.0+, 16.4.2+, 17.3.0+,
        18.2.0+, 19.1.0+; FDB: 28.0.0+). A replica below 256 MiB per process is not reported.
    Remedy:
        Upgrade to the series' release that dropped the replica; age the rows (neutron's `[ovn]
        mac_binding_age_threshold`/`fdb_age_threshold` from 24.0.0, or OVN's router/switch options with
        OVN >= 22.09/23.09); restart neutron-server.
    Fix safety:
        safe for neutron's own aging option when OVN supports aging; unsafe when OVN's version is
        unknown or too old; an upgrade or OVN-side commands are shown, never applied.
    References:
        neutron ovsdb_monitor.py OvnSbIdl.from_server; commits f6c3552769 (bug #1946318), 662cd60075,
        becde60abd, 0a554b4f29; OVN ovn-nb.xml mac_binding_age_threshold (22.09+).
    """
    db = facts.ovn_db
    if db is None or facts.release is None or not ovn_configured(facts):
        return
    if not deployed(facts, service_by_name("neutron-server")):
        return
    held = replicated_tables(facts.release) or frozenset()
    config = facts.configs.get("neutron-server")
    try:
        ranges = opts.tunnel_id_ranges(config.ini) if config else ()
    except ParseError:
        ranges = ()
    inputs = model_inputs(facts, ranges or (IdRange(1, 1),))
    est = estimate(inputs)
    replica = est.sb_replica
    if replica is None:
        return
    groups = kills_by_victim(facts)
    neutron_kills = [g for g in groups if g.victim.service and g.victim.service.name in NEUTRON_SERVICES]
    sync_large = est.per_process.low - est.baseline >= LARGE_REPLICA_BYTES
    c = replica
    for table in UNBOUNDED_SB_TABLES:
        rows = db.rows(table)
        if rows is None or table not in held or not rows.rows:
            continue
        per_process = rows.best * coefficients().replica_bytes_per_row
        if per_process < LARGE_REPLICA_BYTES:
            continue
        total = per_process * c.holders[0], per_process * c.holders[1]
        blamed = bool(neutron_kills) and not sync_large
        evidence = [Citation(rows.line, _rows_note(rows))] if rows.line else []
        for cited in (_release_citation(facts, table), _aging_citation(facts, db, table)):
            if cited is not None:
                evidence.append(cited)
        observed = ""
        kills = [e for g in neutron_kills for e in g.events if e.kill_line and e.anon_rss_kb]
        if kills:
            top = max(kills, key=lambda e: e.anon_rss_kb or 0)
            if top.kill_line is not None:
                rss = human_bytes((top.anon_rss_kb or 0) * 1024)
                evidence.append(Citation(top.kill_line, f"anon-rss {rss} at kill"))
            observed = (f" The kernel killed neutron {sum(len(g.events) for g in neutron_kills)} time(s), at anon-rss "
                        f"up to {human_bytes((top.anon_rss_kb or 0) * 1024)}.") + _trend(kills)
        running = _largest_neutron_process(facts)
        if running is not None and running.rss_kb:
            evidence.append(Citation(running.line, f"RSS {human_bytes(running.rss_kb * 1024)} when collected"))
        file = db.files.get(SB)
        if file is not None:
            evidence.append(Citation(file.line, f"Southbound database file {human_bytes(file.bytes)}"))
        holders = (f"{c.holders[0]:.0f}" if c.holders[0] == c.holders[1] else f"{c.holders[0]:.0f}–{c.holders[1]:.0f}")
        links = tuple(Link(Relation.CAUSES, Ref("service-oom-kill-loop", g.victim.subject),
                           f"every worker's copy of {table} is what fills neutron's memory")
                      for g in neutron_kills) if blamed else ()
        yield ovn_sb_replica_growth.finding(
            subject=f"OVN_Southbound.{table}",
            severity=Severity.CRITICAL if blamed else Severity.WARNING,
            summary=(f"neutron {facts.release} keeps the OVN Southbound's {table} table ({rows_text(rows)} rows) in "
                     f"each of its {holders} IDL processes: about {human_bytes(per_process)} each"),
            explanation=(
                f"neutron {facts.release} registers {table} in its Southbound IDL, and an OVSDB IDL holds every row "
                f"of every registered table in every process that connects: each API worker and "
                f"RPC worker (measured: about {human_bytes(per_process / rows.best * 1000)} per 1,000 rows in each), "
                f"so {rows_text(rows)} rows take about {human_bytes(per_process)} in each of {holders} processes "
                f"({human_bytes(total[0])} in all). Nothing ages the table, so it only grows: "
                f"neutron's memory climbs with it although its segment ranges are sane.{observed}"
                + (" This is why neutron runs out of memory." if blamed else "")),
            evidence=tuple(evidence),
            remedy=aging_remedy(facts, facts.release, db.version, table),
            links=links,
            data={"table": table, "rows": rows.best, "rows_listed": rows.rows, "rows_lower_bound": rows.truncated,
                  "release": str(facts.release), "replica_bytes_per_process": per_process,
                  "processes": list(c.holders), "replica_bytes_total": list(total)},
        )


def _trend(kills: list[OomEvent]) -> str:
    """Memory that climbs over weeks shows in OOM records spread over days: what each kill found."""
    dated = sorted((e for e in kills if e.timestamp and e.anon_rss_kb), key=lambda e: e.timestamp or datetime.min)
    if len(dated) < 2 or dated[0].timestamp is None or dated[-1].timestamp is None:
        return ""
    days = (dated[-1].timestamp - dated[0].timestamp).total_seconds() / 86400
    if days < 1:
        return ""
    return (f" The kills span {days:.0f} days, anon-rss at kill going from "
            f"{human_bytes((dated[0].anon_rss_kb or 0) * 1024)} to {human_bytes((dated[-1].anon_rss_kb or 0) * 1024)}.")


def _largest_neutron_process(facts: Facts) -> PsProcess | None:
    procs = [p for p in facts.processes if p.rss_kb and (p.program in NEUTRON_SERVICES
                                                          or "neutron-server" in (p.command or ""))]
    return max(procs, key=lambda p: p.rss_kb or 0) if procs else None


def _sb_kills(facts: Facts) -> list[Line]:
    return [e.kill_line for g in kills_by_victim(facts) for e in g.events
            if e.kill_line and (e.victim_comm or "").startswith("ovsdb-server")
            and "ovnsb" in (g.victim.unit or "") + (e.task_memcg or "") + (g.victim.comm or "")]


@rule("OVN003", "ovn-sb-database-growth")
def ovn_sb_database_growth(facts: Facts) -> Iterator[Finding]:
    """The OVN Southbound database itself: ovsdb-server memory, an uncompacted file, raft trouble.

    What it does:
        Reads the Southbound ovsdb-server's RSS (ps), its database file size (sos's `ls -lan`/`ls -alZ`
        of `ovnsb_db.db`), the rows of its unbounded tables and its raft status (`cluster/status`):
        role, term, uncommitted entries, disconnections, log length; and kernel OOM kills of ovsdb-server.
    Why is this bad:
        Every row lives in ovsdb-server's memory and in the file; every client (ovn-controller on each
        chassis, ovn-northd, each neutron worker) gets them on every reconnect. A huge table makes
        snapshots and reconnections slow, raft elections time out and leaders change, and ovsdb-server
        itself can be OOM-killed: then every OVN client reconnects at once.
    Evidence:
        The ovsdb-server process line with its RSS, the file listing, the row count lines, the
        cluster status lines, the kernel's kill lines.
    False positives:
        A large but stable deployment has a large database too: row counts of tables that grow with
        the deployment (Port_Binding, Logical_Flow) are not blamed; only MAC_Binding/FDB are.
    Remedy:
        Age MAC_Binding (neutron `[ovn] mac_binding_age_threshold` from 24.0.0; OVN router option from
        22.09), limit removal bursts (`mac_binding_removal_limit`), stop ARP flooding to routers
        (`broadcast_arps_to_all_routers = false`, neutron 25.0.0+, OVN 23.06+), compact the database
        (`ovs-appctl -t /var/run/ovn/ovnsb_db.ctl ovsdb-server/compact`), and for raft trouble raise the
        election timer (`cluster/change-election-timer`).
    Fix safety:
        safe for neutron's aging option with OVN >= 22.09; commands (compaction, election timer) are shown.
    References:
        OVN ovn-nb.xml (Logical_Router options, NB_Global options), ovsdb-server(1) ovsdb-server/compact,
        cluster/status, cluster/change-election-timer.
    """
    db = facts.ovn_db
    if db is None:
        return
    server = db.servers.get(SB)
    rss = (server.rss_kb or 0) * 1024 if server else 0
    file = db.files.get(SB)
    status = db.cluster.get(SB)
    kills = _sb_kills(facts)
    grow = [r for t in UNBOUNDED_SB_TABLES if (r := db.rows(t)) is not None and r.rows]
    evidence: list[Citation] = []
    problems: list[str] = []
    if kills:
        evidence.append(Citation(kills[-1], f"ovsdb-server OOM-killed {len(kills)} time(s)"))
        problems.append(f"the kernel OOM-killed the Southbound ovsdb-server {len(kills)} time(s)")
    if server is not None and rss >= SB_RSS_WARNING:
        evidence.append(Citation(server.line, f"RSS {human_bytes(rss)}"))
        problems.append(f"the Southbound ovsdb-server holds {human_bytes(rss)}")
    rows_total = sum(r.best for r in grow)
    needed = rows_total * coefficients().file_bytes_per_row if rows_total else 0.0
    if file is not None and file.bytes >= UNCOMPACTED_MIN and needed and file.bytes > UNCOMPACTED_RATIO * needed:
        ratio = file.bytes / needed
        evidence.append(Citation(file.line, f"{human_bytes(file.bytes)}, {ratio:.0f}x what its rows need"))
        problems.append(f"its database file ({human_bytes(file.bytes)}) has not been compacted")
    elif file is not None and file.bytes >= SB_FILE_WARNING:
        evidence.append(Citation(file.line, f"{human_bytes(file.bytes)}"))
        problems.append(f"its database file is {human_bytes(file.bytes)}")
    if status is not None:
        trouble = []
        if status.not_committed:
            trouble.append(f"{status.not_committed} entries not yet committed")
        if status.disconnections:
            trouble.append(f"{status.disconnections} disconnection(s)")
        if status.role and status.role not in ("leader", "follower"):
            trouble.append(f"role {status.role}")
        if trouble:
            line = status.line("Role") or status.line("Disconnections") or status.line("Status")
            if line is not None:
                evidence.append(Citation(line, ", ".join(trouble)))
            problems.append("raft: " + ", ".join(trouble))
    if not problems:
        return
    for rows in grow:
        if rows.line is not None:
            evidence.append(Citation(rows.line, _rows_note(rows)))
    table = grow[0].table if grow else "MAC_Binding"
    remedy = aging_remedy(facts, facts.release, db.version, table) if ovn_configured(facts) or grow else None
    compact = ("compact it: ovs-appctl -t /var/run/ovn/ovnsb_db.ctl ovsdb-server/compact (Red Hat: "
               "/var/run/openvswitch/ovnsb_db.ctl); a clustered database compacts each server's log")
    if remedy is not None:
        remedy = Remedy(remedy.title, (*remedy.steps, compact), remedy.ini_edits, remedy.unit_edits,
                        remedy.restart_units, remedy.safety)
    else:
        remedy = Remedy("compact the Southbound database", (compact,))
    severity = Severity.CRITICAL if kills else Severity.WARNING
    rows_text = f" {rows_total:,} rows of {', '.join(r.table for r in grow)} never expire." if grow else ""
    yield ovn_sb_database_growth.finding(
        subject="OVN_Southbound",
        severity=severity,
        summary="OVN Southbound database under strain: " + "; ".join(problems),
        explanation=("ovsdb-server keeps every row in memory and every client downloads them on each reconnect; "
                     "a table that only grows makes the server, its file and each reconnection bigger."
                     + rows_text),
        evidence=tuple(evidence),
        remedy=remedy,
        data={"ovsdb_server_rss_bytes": rss, "db_file_bytes": file.bytes if file else None,
              "unbounded_rows": {r.table: r.best for r in grow}, "ovsdb_server_kills": len(kills)},
    )
