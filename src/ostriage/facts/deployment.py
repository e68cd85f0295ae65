"""What the facts tell about how neutron is deployed: the memory model's inputs, from a host.

Everything not evidenced stays ``None`` so the model widens its answer instead of guessing.
"""

from __future__ import annotations

from ostriage.facts.model import Facts
from ostriage.knowledge import neutron_options as opts
from ostriage.knowledge.neutron_memory import Inputs, Server
from ostriage.parsers.openstack_values import IdRange

__all__ = ["model_inputs", "neutron_server"]


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


def model_inputs(facts: Facts, ranges: tuple[IdRange, ...]) -> Inputs:
    config = facts.configs.get("neutron-server")
    ini = config.ini if config else None
    return Inputs(
        ranges=tuple((r.first, r.last) for r in ranges),
        release=facts.release,
        server=neutron_server(facts),
        api_workers=opts.api_workers(ini).value if ini else None,
        cpu_count=facts.cpu_count.value if facts.cpu_count else None,
        ram_bytes=facts.mem_total.value if facts.mem_total else None,
        segment_range_plugin=opts.segment_range_plugin(ini) if ini else False,
        first_start=False if _synced_before(facts) else None,
    )


def _synced_before(facts: Facts) -> bool:
    """neutron finished a sync once (it served its API), so the allocation table is filled: every start
    since is a restart. A sync killed half-way rolls back and proves nothing."""
    return bool(facts.events("neutron.api-listening", "neutron-server"))
