"""What the facts tell about how neutron is deployed: the memory model's inputs, from a host.

Everything not evidenced stays ``None`` so the model widens its answer instead of guessing.
"""

from __future__ import annotations

from dataclasses import replace

from ostriage.facts.model import Facts
from ostriage.knowledge import neutron_options as opts
from ostriage.knowledge.neutron_memory import Estimate, Inputs, Server, estimate
from ostriage.parsers.ini import IniFile
from ostriage.parsers.openstack_values import IdRange
from ostriage.parsers.unit_files import parse_size

#: What install guides and devstack configure for ML2/OVN (1:65536) and what the incident's operator
#: chose (1:65535): tens of thousands of networks, far above any real deployment's count.
SANE_IDS = 65535

__all__ = ["SANE_IDS", "model_inputs", "neutron_server", "range_inputs", "sane_estimate"]


def neutron_server(facts: Facts) -> Server | None:
    """uWSGI when the neutron API runs as ``neutron-api`` or under uwsgi; eventlet for ``neutron-server``."""
    for p in facts.processes:
        command = p.command or ""
        if "neutron.wsgi.api" in command or "neutron-api" in command or (
                "uwsgi" in (p.program or "") and "neutron" in command):
            return Server.UWSGI
        if p.program == "neutron-server":
            return Server.EVENTLET
    if "neutron-api.service" in facts.units:
        return Server.UWSGI
    if "neutron-server.service" in facts.units:
        return None  # some distributions run uWSGI under the old unit name
    return None


def _uwsgi_processes(facts: Facts) -> int | None:
    config = facts.configs.get("neutron-api-uwsgi")
    if config is None:
        return None
    value = config.get("uwsgi", "processes") or config.get("uwsgi", "workers")
    return int(value.value) if value is not None and value.value.strip().isdecimal() else None


def _max_allowed_packet(facts: Facts) -> int | None:
    """The local database server's ``max_allowed_packet`` (``[mysqld]``/``[mariadb]``/``[server]``)."""
    config = facts.configs.get("mysql")
    if config is None:
        return None
    for section in ("mariadb", "mysqld", "server"):
        value = config.get(section, "max_allowed_packet")
        if value is not None:
            try:
                size = parse_size(value.value.strip())
            except ValueError:
                return None
            return size if isinstance(size, int) else None
    return None


def model_inputs(facts: Facts, ranges: tuple[IdRange, ...]) -> Inputs:
    config = facts.configs.get("neutron-server")
    ini = config.ini if config else None
    server = neutron_server(facts)
    workers = opts.or_default(opts.api_workers, ini, None).value if ini else None
    if server is Server.UWSGI:
        # under uWSGI the API processes are uWSGI's, api_workers does not apply
        workers = _uwsgi_processes(facts)
    return Inputs(
        ranges=tuple((r.first, r.last) for r in ranges),
        release=facts.release,
        server=server,
        api_workers=workers,
        max_allowed_packet=_max_allowed_packet(facts),
        cpu_count=facts.cpu_count.value if facts.cpu_count else None,
        ram_bytes=facts.mem_total.value if facts.mem_total else None,
        segment_range_plugin=opts.segment_range_plugin(ini) if ini else False,
        first_start=False if _synced_before(facts) else None,
        rpc_workers=_rpc_workers(ini),
        mac_bindings=_sb_rows(facts, "MAC_Binding"),
        fdb_rows=_sb_rows(facts, "FDB"),
    )


def _rpc_workers(ini: IniFile | None) -> int | None:
    value = ini.get("DEFAULT", "rpc_workers") if ini else None
    return int(value.value) if value is not None and value.value.strip().isdigit() else None


def _sb_rows(facts: Facts, table: str) -> int | None:
    """Rows the host shows of a Southbound table (a lower bound when its listing was cut)."""
    rows = facts.ovn_db.rows(table) if facts.ovn_db else None
    return rows.best if rows is not None else None


def range_inputs(facts: Facts, ranges: tuple[IdRange, ...]) -> Inputs:
    """The model's inputs for what ``ranges`` themselves cost: no Southbound table counted (the rows the host
    shows are OVN002's and LNT009's), and none left unknown either, so no figure assumes or names them."""
    return replace(model_inputs(facts, ranges), mac_bindings=0, fdb_rows=0)


def sane_estimate(facts: Facts) -> Estimate:
    """What neutron-server needs on this host with a sane range (``SANE_IDS``) and no Southbound table
    left to grow: the need once a range (or an unbounded table) is fixed."""
    return estimate(range_inputs(facts, (IdRange(1, SANE_IDS),)))


def _synced_before(facts: Facts) -> bool:
    """neutron finished a sync once (it served its API), so the allocation table is filled: every start
    since is a restart. A sync killed half-way rolls back and proves nothing."""
    return bool(facts.events("neutron.api-listening", "neutron-server"))
