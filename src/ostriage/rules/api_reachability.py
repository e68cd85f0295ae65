"""OpenStack API ports that should be listening and are not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from ostriage.facts.model import Facts, Placement
from ostriage.facts.where import Where
from ostriage.findings import Citation, Finding, Link, Ref, Relation, Severity
from ostriage.knowledge import neutron_options as opts
from ostriage.knowledge.services import SERVICES
from ostriage.rules._common import deployed, service_unit
from ostriage.rules._registry import rule


@rule("NEU002", "api-port-not-listening")
def api_port_not_listening(facts: Facts) -> Iterator[Finding]:
    """An API service deployed on this host with nothing listening on its port.

    What it does:
        For each API service the host runs (a loaded unit, a process, a container or its own log), reads its
        port (`[DEFAULT] bind_port` for neutron, default 9696; 8774 for nova-api) and looks for a listener in
        the socket table (`ss`, `netstat` or `lsof` as sos collected it, `ss -lntp` live). The socket table
        shows only this host's network namespace: for a service in a container or pod with a network of its
        own, the orchestrator's readiness (Kubernetes `ready`, the engine's state and health check) and the
        service's own log (requests answered) decide instead, and when neither tells, the finding says it
        cannot tell (information), never that the API is down.
    Why is this bad:
        Every client of the API (nova-api, Horizon, the CLI, agents' RPC is separate) gets "connection
        refused": for neutron, nova-api returns HTTP 500 for anything that needs networking.
    Evidence:
        The socket listing (its first line, with the count of listeners seen) and the `bind_port` line; for a
        container, its state or readiness line and the last request its log shows.
    False positives:
        An API behind a load balancer on another address still listens on this host: not a false
        positive. An API served by Apache/uWSGI on another port is seen only through bind_port.
        When no socket listing exists, nothing is reported.
    Remedy:
        Find why the service is not serving (other findings link here); restart it once fixed.
    Fix safety:
        display-only.
    References:
        neutron/conf/common.py bind_port; ss(8); netstat(8); Kubernetes container readiness.
    """
    ports = {ln.port for ln in facts.listeners or () if ln.port is not None}
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
        placement = facts.placement(service.name)
        if placement is not None and placement.host_network is not True and placement.where in (
                Where.CONTAINER, Where.MACHINE):
            yield from _elsewhere(facts, service.name, port, placement)
            continue
        if facts.listeners is None:
            continue
        first = next(iter(facts.listeners), None)
        note = f"{len(facts.listeners)} listening sockets, none on port {port}"
        evidence = [Citation(first.line, note)] if first else []
        if port_line is not None:
            evidence.append(Citation(port_line))
        unit = service_unit(facts, service)
        state = unit.active_state if unit else None
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


#: a request answered this long before the evidence was taken still says the API was up
SERVED_RECENTLY = timedelta(minutes=15)
_DOWN_STATES = frozenset({"exited", "restarting", "dead", "waiting", "created", "paused", "stopped"})


def _elsewhere(facts: Facts, service: str, port: int, placement: Placement) -> Iterator[Finding]:
    """A service whose sockets this host's listing cannot show: the orchestrator and the service's log decide."""
    c = placement.container
    label = placement.label
    served = [e for e in facts.events("api.request-served", service) if e.groups.get("status", "5") < "500"]
    last = served[-1] if served else None
    recent = (last is not None and last.timestamp is not None and facts.collected_at is not None
              and last.timestamp >= facts.collected_at - SERVED_RECENTLY)
    down = c is not None and (c.state in _DOWN_STATES or c.ready is False or c.health == "unhealthy")
    up = recent or (c is not None and (c.ready is True or (c.state == "running" and c.health == "healthy")))
    data = {"service": service, "port": port, "listeners": len(facts.listeners or ()), "placement": label}
    if up and not down:
        return
    if down and c is not None:
        line = c.lines.get("ready") if c.ready is False else c.lines.get("state")
        why = ("not ready" if c.ready is False else "unhealthy" if c.health == "unhealthy" else
               f"{c.reason or c.state}")
        evidence = [Citation(line or c.line, f"{label}: {why}")]
        if last is not None:
            evidence.append(Citation(last.line, "the last request its log shows answered"))
        yield api_port_not_listening.finding(
            subject=service, severity=Severity.CRITICAL,
            summary=f"the {service} API (port {port}) is down: {label} is {why}",
            explanation=(f"{service} runs in {label}, whose sockets are not in this host's network namespace; "
                         f"its {'orchestrator' if c.orchestrator == 'kubernetes' else 'engine'} reports it {why}, so "
                         f"nothing serves port {port}."),
            evidence=tuple(evidence),
            links=(Link(Relation.CAUSED_BY, Ref("container-crash-looping", label),
                        "a container that keeps restarting never gets to serve"),),
            data=data,
        )
        return
    evidence = [Citation(placement.line, placement.how)] if placement.line else []
    if last is not None:
        evidence.append(Citation(last.line, "the last request its log shows answered"))
    if not evidence:
        return
    yield api_port_not_listening.finding(
        subject=service, severity=Severity.INFO,
        summary=f"cannot tell whether port {port} of {service} answers: it runs in {label}",
        explanation=(f"{service} runs in {label}, which has a network namespace of its own (or one this host cannot "
                     f"tell): this host's socket listing cannot show port {port}, and neither an orchestrator's "
                     "readiness nor a recent request in its own log says it serves. Check from where its clients "
                     "connect."),
        evidence=tuple(evidence), data=data,
    )
