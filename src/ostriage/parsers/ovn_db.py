"""OVN database evidence: row counts of ``ovn-sbctl``/``ovn-nbctl list`` output, ``ls -l`` sizes of the
database files, ovsdb-server's ``cluster/status`` and the options of ``list`` records.

Sources: sos's ovn_central plugin runs ``ovn-sbctl --no-leader-only list <Table>`` for every Southbound
table but Logical_Flow (``ovn-sbctl list <Table>`` before sos 4.5), ``--columns=_uuid list MAC_Binding``
(4.11+), ``ls -lan`` (4.5) / ``ls -alZ`` (4.6+) of each database file and ``ovs-appctl -t <ctl>
cluster/status <DB>``. sos keeps only the last 25 MiB of a command's output (``--log-size``), so a
large table's listing starts in the middle of a record: the count is then a lower bound
(``truncated``). Pure functions: lines in, records out.

>>> from ostriage.evidence import Line
>>> text = ["_uuid               : 0b3e", 'ip                  : "10.0.0.5"', "", "_uuid               : 7c1d",
...         'ip                  : "10.0.0.6"', ""]
>>> c = count_records(Line("mb", n, t) for n, t in enumerate(text, 1))
>>> c.rows, c.truncated, c.last.number
(2, False, 4)
>>> tail = count_records(Line("mb", n, t) for n, t in enumerate(['.0.0.5"', ""] + text, 1))
>>> tail.rows, tail.truncated
(2, True)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ostriage.evidence import Line

__all__ = ["ClusterStatus", "FileSize", "RecordCount", "count_records", "list_options",
           "parse_cluster_status", "parse_ls_sizes"]


@dataclass(frozen=True, slots=True)
class RecordCount:
    """Records of one ``list`` output; ``truncated`` when it starts mid-record (a tailed file)."""

    rows: int
    truncated: bool
    first: Line | None
    last: Line | None


def count_records(lines: Iterable[Line]) -> RecordCount:
    """Count ``_uuid`` lines: ovn-sbctl/ovn-nbctl ``list`` always prints ``_uuid`` first (or alone
    with ``--columns=_uuid``; ``--bare`` prints bare UUIDs, one per line, also counted)."""
    rows, truncated = 0, False
    first: Line | None = None
    last: Line | None = None
    seen_text = False
    for line in lines:
        text = line.text.strip()
        if not text:
            continue
        is_uuid = text.startswith("_uuid ") or text.startswith("_uuid:") or _BARE_UUID.match(text) is not None
        if not seen_text:
            seen_text = True
            truncated = not is_uuid
        if is_uuid:
            rows += 1
            first = first or line
            last = line
    return RecordCount(rows, truncated, first, last)


_BARE_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def list_options(lines: Iterable[Line], column: str = "options") -> Iterator[tuple[str, dict[str, str], Line]]:
    """``(name, {key: value}, line)`` per record of a ``list`` output with a ``name`` column (routers,
    switches; NB_Global has no name: ``""``). Values are unquoted.

    >>> rec = ['_uuid               : 1', 'name                : "neutron-abc"',
    ...        'options             : {always_learn_from_arp_request="false", mac_binding_age_threshold="300"}', '']
    >>> [(n, o) for n, o, _ in list_options(Line("lr", i, t) for i, t in enumerate(rec, 1))]
    [('neutron-abc', {'always_learn_from_arp_request': 'false', 'mac_binding_age_threshold': '300'})]
    """
    name, where = "", None
    options: dict[str, str] = {}
    started = False
    for line in [*lines, Line("", 0, "")]:
        text = line.text
        if not text.strip():
            if started and where is not None:
                yield name, options, where
            name, options, where, started = "", {}, None, False
            continue
        key, sep, value = text.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        started = True
        if key == "name":
            name = value.strip('"')
        elif key == column:
            options = dict(_pairs(value))
            where = line
        elif key == "_uuid" and where is None:
            where = line


_PAIR = re.compile(r'([\w:.-]+|"[^"]*")=("(?:[^"\\]|\\.)*"|[^,}]*)')


def _pairs(value: str) -> Iterator[tuple[str, str]]:
    for match in _PAIR.finditer(value.strip().removeprefix("{").removesuffix("}")):
        yield match[1].strip('"'), match[2].strip().strip('"')


@dataclass(frozen=True, slots=True)
class FileSize:
    path: str
    bytes: int
    line: Line


_MONTH = re.compile(r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)$|^\d{4}-\d{2}-\d{2}")


def parse_ls_sizes(lines: Iterable[Line]) -> Iterator[FileSize]:
    """Sizes from ``ls -l``/``-ln``/``-lan``/``-alZ`` lines (an SELinux context column may sit
    between the group and the size; the size is the number before the date).

    >>> rows = ["-rw-r----- 1 0 0 10485760 Nov 25 05:54 /var/lib/ovn/ovnsb_db.db",
    ...         "-rw-r--r--. 1 openvswitch hugetlbfs system_u:object_r:openvswitch_rw_t:s0 52428 Nov 2 10:01 "
    ...         "/var/lib/openvswitch/ovn/ovnsb_db.db",
    ...         "ls: cannot access '/etc/openvswitch/ovnsb_db.db': No such file or directory"]
    >>> [(f.path, f.bytes) for f in parse_ls_sizes(Line("ls", i, t) for i, t in enumerate(rows, 1))]
    [('/var/lib/ovn/ovnsb_db.db', 10485760), ('/var/lib/openvswitch/ovn/ovnsb_db.db', 52428)]
    """
    for line in lines:
        tokens = line.text.split()
        if len(tokens) < 6 or tokens[0][:1] not in "-lrwxdbcsp" or len(tokens[0]) < 10:
            continue
        for i in range(2, len(tokens) - 1):
            if _MONTH.match(tokens[i]) and tokens[i - 1].isdigit():
                yield FileSize(tokens[-1], int(tokens[i - 1]), line)
                break


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """``ovs-appctl -t <db>.ctl cluster/status <DB>`` of a clustered (raft) ovsdb-server."""

    name: str | None
    status: str | None
    role: str | None
    term: int | None
    leader: str | None
    log_entries: int | None            # Log: [first, next): entries not yet compacted away
    not_committed: int | None
    not_applied: int | None
    disconnections: int | None
    servers: int
    election_timer_ms: int | None
    last_election_ms_ago: int | None
    lines: dict[str, Line]

    def line(self, key: str) -> Line | None:
        return self.lines.get(key)


def parse_cluster_status(lines: Iterable[Line]) -> ClusterStatus | None:
    """One server's raft status; ``None`` when the output is not one (a standalone database).

    >>> out = ["9182", "Name: OVN_Southbound", "Status: cluster member", "Role: leader", "Term: 1454",
    ...        "Leader: self", "", "Last Election started 1732603 ms ago, reason: timeout",
    ...        "Election timer: 1000", "Log: [7332, 12512]", "Entries not yet committed: 1",
    ...        "Disconnections: 1", "Servers:", "    f080 (f080 at tcp:[10.0.129.139]:6643) next_index=12512",
    ...        "    9182 (9182 at tcp:[10.0.128.61]:6643) (self) next_index=10394"]
    >>> s = parse_cluster_status(Line("cs", i, t) for i, t in enumerate(out, 1))
    >>> s.role, s.term, s.log_entries, s.disconnections, s.servers, s.last_election_ms_ago
    ('leader', 1454, 5180, 1, 2, 1732603)
    """
    values: dict[str, str] = {}
    where: dict[str, Line] = {}
    servers = 0
    in_servers = False
    for line in lines:
        text = line.text.rstrip()
        if in_servers and text.startswith((" ", "\t")) and text.strip():
            servers += 1
            continue
        in_servers = False
        if text.startswith("Last Election started"):
            values["Last Election started"] = text.split("started", 1)[1].strip()
            where["Last Election started"] = line
            continue
        key, sep, value = text.partition(":")
        if not sep:
            continue
        key = key.strip()
        if key == "Servers":
            in_servers = True
            where[key] = line
            continue
        values[key] = value.strip()
        where[key] = line
    if "Role" not in values and "Status" not in values:
        return None

    def num(key: str) -> int | None:
        match = re.match(r"-?\d+", values.get(key, ""))
        return int(match[0]) if match else None

    log = re.match(r"\[(\d+),\s*(\d+)\]", values.get("Log", ""))
    return ClusterStatus(
        name=values.get("Name"), status=values.get("Status"), role=values.get("Role"), term=num("Term"),
        leader=values.get("Leader"), log_entries=int(log[2]) - int(log[1]) if log else None,
        not_committed=num("Entries not yet committed"), not_applied=num("Entries not yet applied"),
        disconnections=num("Disconnections"), servers=servers, election_timer_ms=num("Election timer"),
        last_election_ms_ago=num("Last Election started"), lines=where)
