"""Which segmentation IDs are in use: the facts a range change must respect.

Read-only, on a live host only: neutron's own database through the ``[database] connection`` URL of
its config (``mysql+pymysql://user:password@host/neutron``), one ``SELECT`` in a read-only
transaction. A sosreport or a copy of a host's files has no database: the check says so instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["AllocationCheck", "DatabaseUrl", "parse_database_url", "segments_in_use"]

#: connect and query timeouts: the database may be under the same memory pressure as neutron
TIMEOUT_SECONDS = 10


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    driver: str
    user: str | None
    password: str | None
    host: str | None
    port: int | None
    database: str
    unix_socket: str | None = None


def parse_database_url(url: str) -> DatabaseUrl:
    """An SQLAlchemy URL as oslo.db takes it.

    >>> u = parse_database_url("mysql+pymysql://neutron:p%40ss@10.0.0.11:3307/neutron?charset=utf8")
    >>> (u.driver, u.user, u.password, u.host, u.port, u.database)
    ('mysql+pymysql', 'neutron', 'p@ss', '10.0.0.11', 3307, 'neutron')
    >>> parse_database_url("mysql+pymysql://n:x@localhost/neutron?unix_socket=/run/mysqld/mysqld.sock").unix_socket
    '/run/mysqld/mysqld.sock'
    """
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return DatabaseUrl(
        driver=parts.scheme,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        host=parts.hostname,
        port=parts.port,
        database=parts.path.lstrip("/"),
        unix_socket=query.get("unix_socket", [None])[0],
    )


@dataclass(frozen=True, slots=True)
class AllocationCheck:
    """What is known of the IDs in use for one network type; ``ids is None`` when it cannot be known."""

    network_type: str
    ids: tuple[int, ...] | None
    how: str
    problems: tuple[str, ...] = field(default=())

    def outside(self, first: int, last: int) -> tuple[int, ...]:
        return tuple(i for i in self.ids or () if not first <= i <= last)


def segments_in_use(url: str, network_type: str) -> AllocationCheck:
    """Segmentation IDs of every network segment of ``network_type`` (``networksegments`` table)."""
    db = parse_database_url(url)
    if not db.driver.startswith("mysql"):
        return AllocationCheck(network_type, None, f"database driver {db.driver} is not supported (MySQL/MariaDB only)")
    try:
        import pymysql
    except ImportError:
        return AllocationCheck(network_type, None, "pymysql is not installed")
    try:
        conn = pymysql.connect(host=db.host or "localhost", port=db.port or 3306, user=db.user or "",
                               password=db.password or "", database=db.database, unix_socket=db.unix_socket,
                               connect_timeout=TIMEOUT_SECONDS, read_timeout=TIMEOUT_SECONDS)
    except pymysql.MySQLError as exc:
        return AllocationCheck(network_type, None, f"cannot connect to neutron's database: {exc.args[-1]}")
    try:
        with conn.cursor() as cur:
            cur.execute("START TRANSACTION READ ONLY")
            cur.execute("SELECT segmentation_id FROM networksegments "
                        "WHERE network_type = %s AND segmentation_id IS NOT NULL", (network_type,))
            ids = tuple(sorted(int(row[0]) for row in cur.fetchall()))
            cur.execute("ROLLBACK")
    except pymysql.MySQLError as exc:
        return AllocationCheck(network_type, None, f"cannot read networksegments: {exc.args[-1]}")
    finally:
        conn.close()
    where = db.unix_socket or f"{db.host}:{db.port or 3306}"
    return AllocationCheck(network_type, ids, f"networksegments in database {db.database} at {where}")
