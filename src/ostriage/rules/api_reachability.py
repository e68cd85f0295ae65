"""OpenStack API ports that should be listening and are not."""

from __future__ import annotations

from collections.abc import Iterator

from ostriage.facts.model import Facts
from ostriage.findings import Citation, Finding, Link, Ref, Relation, Severity
from ostriage.knowledge import neutron_options as opts
from ostriage.knowledge.services import SERVICES
from ostriage.rules._common import deployed, service_unit
from ostriage.rules._registry import rule


@rule("NEU002", "api-port-not-listening")
def api_port_not_listening(facts: Facts) -> Iterator[Finding]:
    """An API service deployed on this host with nothing listening on its port.

    What it does:
        For each API service the host runs (a loaded unit, a process or its own log), reads its port
        (`[DEFAULT] bind_port` for neutron, default 9696; 8774 for nova-api) and looks for a listener in
        the socket table (`ss`, `netstat` or `lsof` as sos collected it, `ss -lntp` live).
    Why is this bad:
        Every client of the API (nova-api, Horizon, the CLI, agents' RPC is separate) gets "connection
        refused": for neutron, nova-api returns HTTP 500 for anything that needs networking.
    Evidence:
        The socket listing (its first line, with the count of listeners seen) and the `bind_port` line.
    False positives:
        An API behind a load balancer on another address still listens on this host: not a false
        positive. An API served by Apache/uWSGI on another port is seen only through bind_port.
        When no socket listing exists, nothing is reported.
    Remedy:
        Find why the service is not serving (other findings link here); restart it once fixed.
    Fix safety:
        display-only.
    References:
        neutron/conf/common.py bind_port; ss(8); netstat(8).
    """
    if facts.listeners is None:
        return
    ports = {ln.port for ln in facts.listeners if ln.port is not None}
    for service in SERVICES:
        if service.api_port is None or not deployed(facts, service):
            continue
        port, port_line = service.api_port, None
        config = facts.configs.get(service.name)
        if service.name == "neutron-server" and config is not None:
            bind = opts.or_default(opts.bind_port, config.ini, opts.DEFAULT_BIND_PORT)
            port, port_line = bind.value, bind.line
        if port in ports:
            continue
        first = next(iter(facts.listeners), None)
        note = f"{len(facts.listeners)} listening sockets, none on port {port}"
        evidence = [Citation(first.line, note)] if first else []
        if port_line is not None:
            evidence.append(Citation(port_line))
        unit = service_unit(facts, service)
        state = unit.properties.active_state if unit and unit.properties else None
        yield api_port_not_listening.finding(
            subject=service.name,
            severity=Severity.CRITICAL,
            summary=f"nothing listens on port {port}: the {service.name} API is down",
            explanation=(f"{service.name} ({service.role}) runs on this host"
                         + (f" (its unit is {state})" if state else "")
                         + f", but no socket listens on port {port} in {facts.listeners_origin}: every API client "
                         "gets connection refused."),
            evidence=tuple(evidence),
            links=((Link(Relation.CAUSED_BY, Ref("unit-crash-looping-while-active", unit.name),
                         "a unit that keeps restarting never gets to serve"),) if unit else ()),
            data={"service": service.name, "port": port, "listeners": len(facts.listeners)},
        )
