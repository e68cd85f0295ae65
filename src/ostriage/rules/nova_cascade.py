"""The cascade into nova-api: HTTP 500 because neutron cannot be reached."""

from __future__ import annotations

from collections.abc import Iterator

from ostriage.facts.model import Facts
from ostriage.facts.where import Where, container_of, describe_owner
from ostriage.findings import Citation, Finding, Link, Mark, Ref, Relation, Severity, TimelineEntry
from ostriage.knowledge import neutron_options as opts
from ostriage.knowledge.services import service_by_name
from ostriage.rules._common import service_unit, when
from ostriage.rules._registry import rule


def _endpoint(url: str) -> str:
    """The endpoint without the query string (which can list dozens of device IDs).

    >>> _endpoint("http://controller-1:9696/v2.0/ports?device_id=1&device_id=2")
    'http://controller-1:9696/v2.0/ports'
    """
    return url.split("?", 1)[0]


@rule("NOV001", "nova-api-neutron-connect-failure")
def nova_api_neutron_connect_failure(facts: Facts) -> Iterator[Finding]:
    """nova-api answering HTTP 500 because keystoneauth cannot connect to the neutron endpoint.

    What it does:
        Finds keystoneauth1 `ConnectFailure` (`Unable to establish connection to <url>`) in nova-api's
        log whose URL is neutron's (its port, 9696 or `bind_port`, or `/v2.0/` paths), with the
        `Unexpected exception in API method` records and the `returned with HTTP 500` lines around them.
    Why is this bad:
        Every nova call that needs networking (list servers with addresses, boot, attach) fails with
        `Unexpected API Error ... <class 'keystoneauth1.exceptions.connection.ConnectFailure'> (HTTP 500)`;
        Horizon shows no data. The fault is not in nova.
    Evidence:
        The ConnectFailure line (or the traceback's last line), the HTTP 500 lines, with counts and time window.
    False positives:
        Connect failures to other endpoints (glance, placement) are not counted.
    Remedy:
        Bring neutron-server back (the findings this links to); nova needs no change.
    Fix safety:
        display-only.
    References:
        keystoneauth1/session.py (ConnectFailure); nova/api/openstack/wsgi.py (Unexpected exception in API method).
    """
    config = facts.configs.get("neutron-server")
    port = opts.or_default(opts.bind_port, config.ini, opts.DEFAULT_BIND_PORT).value if config else 9696
    failures = [e for e in facts.events("keystoneauth.connect-failure", "nova-api")
                if e.groups.get("port") == str(port) or "/v2.0/" in e.groups.get("url", "")]
    if not failures:
        return
    errors = [e for e in facts.events("nova-api.http-error", "nova-api") if e.groups.get("status") == "500"]
    unexpected = facts.events("nova-api.unexpected-exception", "nova-api")
    first, last = failures[0], failures[-1]
    evidence = [Citation(last.line, f"{len(failures)} connection failure(s) to neutron")]
    if unexpected:
        evidence.append(Citation(unexpected[-1].line))
    if errors:
        evidence.append(Citation(errors[-1].line, f"{len(errors)} HTTP 500 response(s)"))
    nova = service_unit(facts, service_by_name("nova-api"))
    where = nova.name if nova else "nova-api"  # the chart's row: the unit, as for the other findings
    timeline = [TimelineEntry(e.timestamp, "nova-api cannot reach neutron (HTTP 500)", e.line, Mark.CONNECT_FAILURE,
                              where, headline=e in (first, last))
                for e in failures if e.timestamp]
    timeline += [TimelineEntry(e.timestamp, "nova-api answered HTTP 500", e.line, Mark.HTTP_5XX, where,
                               headline=False) for e in errors if e.timestamp]
    yield nova_api_neutron_connect_failure.finding(
        subject="nova-api",
        severity=Severity.CRITICAL,
        summary=(f"nova-api failed {len(failures)} time(s) to connect to neutron "
                 f"({_endpoint(first.groups.get('url', ''))})"
                 f" between {when(first.timestamp)} and {when(last.timestamp)}"),
        explanation=("keystoneauth1 could not open a connection to the neutron endpoint, so nova-api answered "
                     "HTTP 500 'Unexpected API Error ... ConnectFailure' to its clients (Horizon, the CLI). "
                     "The fault is neutron's, not nova's."),
        evidence=tuple(evidence),
        links=(Link(Relation.CAUSED_BY, Ref("api-port-not-listening", "neutron-server"),
                    "nothing accepts connections on neutron's port"),
               # with the port bound by a uWSGI master, the refusals come in the restart gaps
               *(Link(Relation.CAUSED_BY, Ref(rule, unit), "neutron-server keeps dying and restarting")
                 for unit in service_by_name("neutron-server").units if unit in facts.units
                 for rule in ("unit-crash-looping-while-active", "service-oom-kill-loop")),
               *(Link(Relation.CAUSED_BY, Ref(rule, label), "neutron-server keeps dying and restarting")
                 for label in _container_labels(facts)
                 for rule in ("container-crash-looping", "service-oom-kill-loop"))),
        timeline=tuple(timeline),
        data={"connect_failures": len(failures), "http_500": len(errors), "url": first.groups.get("url")},
    )


def _container_labels(facts: Facts) -> list[str]:
    """How findings name neutron-server's container or machine, when it runs in one."""
    placement = facts.placement("neutron-server")
    if placement is None or placement.where not in (Where.CONTAINER, Where.MACHINE):
        return []
    labels = [placement.label]
    owners = [describe_owner(o, container_of(facts.containers, o)) for o in facts.foreign_cgroups.values()]
    labels += [o for o in owners if o.startswith(placement.label)]
    return list(dict.fromkeys(labels))
