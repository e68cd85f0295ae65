"""The own logs of services that run in Kubernetes pods: ``kubectl logs`` as sos's kubernetes plugin keeps
it (``podlogs``), and the kubelet's ``/var/log/pods/<namespace>_<pod>_<uid>/<container>/*.log``.

Kolla and TripleO containers write their logs to files of the host (``/var/log/kolla/``,
``/var/log/containers/``), already among each service's logs; a pod's output exists only through its
runtime. Records are matched against the same signatures as every other service log.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ostriage.evidence import Line
from ostriage.facts._logs import _record_events
from ostriage.facts.model import LogEvent
from ostriage.knowledge.services import service_for_container
from ostriage.parsers.containers import Container
from ostriage.parsers.oslo_log import parse_oslo_log
from ostriage.parsers.packages import VersionBanner, parse_version_banner
from ostriage.sources.base import Source

__all__ = ["pod_log_events"]


def _pod_log_lines(source: Source, c: Container) -> Iterator[Iterable[Line]]:
    namespace, _, pod = (c.pod or "").partition("/")
    if not namespace or not pod:
        return
    try:
        output = source.command(f"pod-log:{namespace}/{pod}/{c.name}")
    except KeyError:
        output = None  # a name the catalog will not put in an argv
    if output is not None:
        yield output.lines
    if c.pod_uid:
        for path in source.glob(f"/var/log/pods/{namespace}_{pod}_{c.pod_uid}/{c.name}/*.log"):
            yield source.read_log(path)


def pod_log_events(source: Source, containers: Iterable[Container]) -> tuple[list[LogEvent], list[VersionBanner]]:
    """Signature matches (and neutron's version banners) in the logs of pod containers that run a known service.

    The pids these logs print are the pod's own (its pid namespace), so they are not used to name the
    host's OOM victims."""
    events: list[LogEvent] = []
    banners: list[VersionBanner] = []
    for c in containers:
        service = service_for_container(c.name)
        if service is None or c.pod is None:
            continue
        for lines in _pod_log_lines(source, c):
            for record in parse_oslo_log(lines):
                events.extend(_record_events(service.name, record))
                if service.name.startswith("neutron") and (banner := parse_version_banner(record)):
                    banners.append(banner)
    return events, banners
