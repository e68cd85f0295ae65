"""The OVN databases as the host shows them: rows per table, database file sizes, raft status, the
ovsdb-server processes, OVN's version and the aging options set in the Northbound.

Everything comes from the catalog's logical commands (``ovn-sb-mac-binding``, ``ovn-sb-list:<T>``,
``ovn-nb-list:<T>``, ``ovn-*-db-listing``, ``ovn-*-cluster-status``) and from what other parts already
read (packages, processes). On a live host that cannot reach the Southbound (no MAC_Binding answer),
the other tables are not asked for: each would only time out the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ostriage.evidence import Line
from ostriage.knowledge.ovn_sb_replica import OvnVersion, parse_ovn_version
from ostriage.knowledge.sb_replica_memory import coefficients
from ostriage.parsers.ovn_db import ClusterStatus, count_records, list_options, parse_cluster_status, parse_ls_sizes
from ostriage.parsers.packages import Package
from ostriage.parsers.ps import PsProcess
from ostriage.sources.base import Source
from ostriage.sources.catalog import OVN_NB_TABLES, OVN_SB_TABLES

__all__ = ["DbFile", "OvnDatabases", "RouterOptions", "TableRows", "ovn_databases"]

SB, NB = "OVN_Southbound", "OVN_Northbound"


@dataclass(frozen=True, slots=True)
class TableRows:
    """Rows of one table; a lower bound when ``truncated`` (sos kept only the listing's tail)."""

    table: str
    rows: int
    truncated: bool
    line: Line | None
    origin: str
    #: when the listing was cut: the rows the Southbound file's size implies (measured bytes per row)
    from_file: int | None = None

    @property
    def best(self) -> int:
        """The count to reason with: the listing's, or the file's estimate when the listing was cut."""
        return max(self.rows, self.from_file or 0)


@dataclass(frozen=True, slots=True)
class DbFile:
    database: str
    path: str
    bytes: int
    line: Line


@dataclass(frozen=True, slots=True)
class RouterOptions:
    """A Northbound logical router and its ``options`` (``mac_binding_age_threshold``...)."""

    name: str
    options: dict[str, str]
    line: Line


@dataclass
class OvnDatabases:
    sb_rows: dict[str, TableRows] = field(default_factory=dict)
    nb_rows: dict[str, TableRows] = field(default_factory=dict)
    files: dict[str, DbFile] = field(default_factory=dict)
    cluster: dict[str, ClusterStatus] = field(default_factory=dict)
    servers: dict[str, PsProcess] = field(default_factory=dict)
    version: OvnVersion | None = None
    version_line: Line | None = None
    routers: list[RouterOptions] = field(default_factory=list)
    nb_global: dict[str, str] = field(default_factory=dict)
    nb_global_line: Line | None = None

    def rows(self, table: str) -> TableRows | None:
        return self.sb_rows.get(table)

    def routers_without_aging(self) -> list[RouterOptions]:
        return [r for r in self.routers if not _positive(r.options.get("mac_binding_age_threshold"))]

    def summary(self) -> dict[str, object]:
        """For the report's ``facts`` section."""
        return {
            "ovn_version": str(self.version) if self.version else None,
            "southbound_rows": {t: r.rows for t, r in self.sb_rows.items()},
            "southbound_rows_truncated": sorted(t for t, r in self.sb_rows.items() if r.truncated),
            "southbound_rows_estimated": {t: r.from_file for t, r in self.sb_rows.items() if r.from_file},
            "northbound_rows": {t: r.rows for t, r in self.nb_rows.items()},
            "database_file_bytes": {db: f.bytes for db, f in self.files.items()},
            "raft": {db: {"role": c.role, "term": c.term, "log_entries": c.log_entries,
                          "disconnections": c.disconnections} for db, c in self.cluster.items()},
            "ovsdb_server_rss_bytes": {db: (p.rss_kb or 0) * 1024 for db, p in self.servers.items()},
        }


def _positive(value: str | None) -> bool:
    """An aging threshold that ages something: a number > 0, or a CIDR list (OVN >= 24.03) with one."""
    if not value:
        return False
    return any(part.rsplit(":", 1)[-1].strip().isdigit() and int(part.rsplit(":", 1)[-1]) > 0
               for part in value.split(";"))


def _count(source: Source, name: str, table: str) -> TableRows | None:
    out = source.command(name)
    if out is None:
        return None
    counted = count_records(out.lines)
    if counted.rows == 0 and counted.first is None and not counted.truncated:
        return TableRows(table, 0, False, None, out.origin)
    return TableRows(table, counted.rows, counted.truncated, counted.last, out.origin)


def _ovn_version(packages: Iterable[Package]) -> tuple[OvnVersion, Line] | None:
    for package in packages:
        # Debian ovn-central/ovn-common, RDO ovn22.12-central, ovn-2021-central; never OVS's own packages
        if package.name.startswith("ovn") and package.installed:
            found = parse_ovn_version(f"{package.name} {package.version}")
            if found is not None:
                return found, package.line
    return None


def ovn_databases(source: Source, packages: Iterable[Package], processes: Iterable[PsProcess]) -> OvnDatabases | None:
    """What the host shows of its OVN databases; ``None`` when it shows nothing at all."""
    db = OvnDatabases()
    found = _ovn_version(packages)
    if found is not None:
        db.version, db.version_line = found
    for proc in processes:
        command = proc.command or ""
        if "ovsdb-server" in command:
            for name, marker in ((SB, "ovnsb_db"), (NB, "ovnnb_db")):
                if marker in command:
                    db.servers[name] = proc
    mac = _count(source, "ovn-sb-mac-binding", "MAC_Binding")
    if mac is not None:
        db.sb_rows["MAC_Binding"] = mac
    if mac is not None or source.kind != "live":
        for table in OVN_SB_TABLES:
            if table not in db.sb_rows:
                rows = _count(source, f"ovn-sb-list:{table}", table)
                if rows is not None:
                    db.sb_rows[table] = rows
        for table in OVN_NB_TABLES:
            rows = _count(source, f"ovn-nb-list:{table}", table)
            if rows is not None:
                db.nb_rows[table] = rows
        _nb_options(source, db)
    for name, listing, status in ((SB, "ovn-sb-db-listing", "ovn-sb-cluster-status"),
                                  (NB, "ovn-nb-db-listing", "ovn-nb-cluster-status")):
        out = source.command(listing)
        if out is not None:
            sizes = list(parse_ls_sizes(out.lines))
            if sizes:
                biggest = max(sizes, key=lambda s: s.bytes)
                db.files[name] = DbFile(name, biggest.path, biggest.bytes, biggest.line)
        out = source.command(status)
        parsed = parse_cluster_status(out.lines) if out is not None else None
        if parsed is not None:
            db.cluster[name] = parsed
    if not (db.sb_rows or db.nb_rows or db.files or db.cluster or db.servers or db.version):
        return None
    mac = db.sb_rows.get("MAC_Binding")
    if mac is not None and mac.truncated and SB in db.files:
        db.sb_rows["MAC_Binding"] = replace(mac, from_file=int(db.files[SB].bytes / coefficients().file_bytes_per_row))
    return db


def _nb_options(source: Source, db: OvnDatabases) -> None:
    out = source.command("ovn-nb-list:Logical_Router")
    if out is not None:
        db.routers = [RouterOptions(name, options, line) for name, options, line in list_options(out.lines)]
    out = source.command("ovn-nb-list:NB_Global")
    if out is not None:
        for _, options, line in list_options(out.lines):
            db.nb_global, db.nb_global_line = options, line
