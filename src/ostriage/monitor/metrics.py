"""The diagnosis as Prometheus samples: from the same ``Facts`` and findings as ``ostriage diagnose``.

``METRICS`` is the catalogue (name, type, help, label names) of everything ostriage exposes, the
diagnosis' metrics and ``watch``'s own; ``docs/monitoring.md`` documents it and a test keeps the two equal.
``diagnosis_samples`` is pure: a ``Sample`` is a name, label values in the catalogue's order, and a value,
so a diagnosis run in another process can hand its samples back as JSON.

Label values are bounded (see ``labels``): per host the series count is a few per rule, service and
unit; the one free-text value of a diagnosis, what could not be read, is reduced to the program or the
directory it concerns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ostriage import __version__
from ostriage.diagnosis import Diagnosis
from ostriage.errors import ParseError
from ostriage.facts.budget import neutron_budget, unit_memory_limit
from ostriage.facts.deployment import model_inputs
from ostriage.facts.model import Facts
from ostriage.facts.where import container_label
from ostriage.findings import Finding, Severity
from ostriage.knowledge import neutron_options as opts
from ostriage.knowledge.memory_figure import figure
from ostriage.knowledge.neutron_memory import largest_safe_ids
from ostriage.knowledge.services import service_by_name, service_for_unit
from ostriage.monitor.labels import LABELS, Target, container_target, service_of_finding, tracked_unit
from ostriage.parsers.containers import Container
from ostriage.parsers.openstack_values import IdRange
from ostriage.rules._common import deployed

__all__ = ["METRICS", "MetricSpec", "Sample", "Timing", "diagnosis_samples", "evidence_source"]

_FINDING = ("code", "rule", "severity", *LABELS)


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    kind: str  # "gauge" or "counter" (a counter's name ends in _total)
    help: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: tuple[str, ...]
    value: float


METRICS: tuple[MetricSpec, ...] = (
    # -- every diagnosis: `ostriage metrics` (textfile collector) and `ostriage watch` (/metrics) --
    MetricSpec("ostriage_build_info", "gauge", "Always 1; the ostriage version that produced these metrics.",
               ("version",)),
    MetricSpec("ostriage_diagnosis_status", "gauge",
               "Worst severity of the last diagnosis: 0 healthy, 1 warning, 2 critical."),
    MetricSpec("ostriage_diagnosis_timestamp_seconds", "gauge", "When the last diagnosis finished (Unix time)."),
    MetricSpec("ostriage_diagnosis_duration_seconds", "gauge", "How long the last diagnosis took."),
    MetricSpec("ostriage_finding", "gauge", "1 for each finding of the last diagnosis (rule code and name, "
               "severity, the workload it is about).", _FINDING),
    MetricSpec("ostriage_root_cause", "gauge", "1 for each root cause of the last diagnosis.", _FINDING),
    MetricSpec("ostriage_oom_kills", "gauge", "Kernel OOM kills of the workload in the evidence the diagnosis "
               "read (kernel ring buffer, kernel logs, the journal's last 7 days).", LABELS),
    MetricSpec("ostriage_oom_kill_last_timestamp_seconds", "gauge",
               "When the workload was last OOM-killed (Unix time).", LABELS),
    MetricSpec("ostriage_unit_restarts", "gauge",
               "systemd's NRestarts of the unit (reset when the unit is started by hand).", LABELS),
    MetricSpec("ostriage_container_restarts", "gauge", "Restarts of the container by its engine (RestartCount of "
               "docker/podman inspect, Kubernetes' restartCount); they start from 0 when it is recreated.", LABELS),
    MetricSpec("ostriage_memory_limit_bytes", "gauge",
               "The workload's memory limit (systemd MemoryMax= or MemoryLimit=, the container's limit).", LABELS),
    MetricSpec("ostriage_memory_predicted_need_bytes", "gauge", "Memory the service needs at start-up by the "
               "memory model (neutron: every syncing process with the configured segment ranges); bound is "
               "low or high end of the model's span.", (*LABELS, "bound")),
    MetricSpec("ostriage_neutron_segment_range_ids", "gauge",
               "Tunnel IDs configured for an enabled type driver (vni_ranges, tunnel_id_ranges).", ("type",)),
    MetricSpec("ostriage_neutron_segment_range_safe_ids", "gauge", "Largest number of tunnel IDs whose start-up "
               "sync fits neutron's memory budget (the memory model's high end).", ("type",)),
    MetricSpec("ostriage_neutron_memory_budget_bytes", "gauge",
               "Memory neutron-server may use: its unit's limit, else half the RAM."),
    MetricSpec("ostriage_neutron_api_workers", "gauge",
               "neutron API processes that sync at start (api_workers, or uWSGI processes)."),
    MetricSpec("ostriage_evidence_missing", "gauge",
               "1 for each kind of evidence looked for and not found (the diagnosis cannot see it).", ("what",)),
    MetricSpec("ostriage_evidence_unreadable", "gauge", "Evidence that exists but could not be read (permission, "
               "timeout, corruption), by the program or directory it concerns.", ("source",)),
    MetricSpec("ostriage_rule_failures", "gauge", "Rules that crashed in the last diagnosis (a bug: report it)."),
    # -- `ostriage watch` only: what it saw since it started --
    MetricSpec("ostriage_watch_oom_kills_total", "counter", "Kernel OOM kills seen by watch.", LABELS),
    MetricSpec("ostriage_watch_restarts_total", "counter", "Restarts systemd scheduled, seen by watch.", LABELS),
    MetricSpec("ostriage_watch_exits_total", "counter",
               "Abnormal exits of a unit's main process (killed, dumped, non-zero status), seen by watch.", LABELS),
    MetricSpec("ostriage_watch_crash_loop", "gauge", "1 while the workload is in a crash loop.", LABELS),
    MetricSpec("ostriage_watch_crash_loops_total", "counter", "Crash loops that started.", LABELS),
    MetricSpec("ostriage_watch_diagnoses_total", "counter", "Diagnoses run by watch, by why they ran.",
               ("reason",)),
    MetricSpec("ostriage_watch_diagnosis_failures_total", "counter", "Diagnoses that failed or timed out."),
    MetricSpec("ostriage_watch_alertmanager_posts_total", "counter",
               "POSTs of alerts to Alertmanager's /api/v2/alerts, by result (ok, error).", ("result",)),
    MetricSpec("ostriage_watch_source_up", "gauge",
               "1 while watch follows the source (journal, kmsg), 0 when it cannot.", ("source",)),
    MetricSpec("ostriage_watch_events_lost_total", "counter",
               "Events watch could not count: kernel log records overwritten before it read them (kmsg), a "
               "journal stream found blind and restarted (journal), events of new workloads while it tracked its "
               "limit of looping ones (tracking).", ("source",)),
)
SPECS = {m.name: m for m in METRICS}

_STATUS = {None: 0, Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


@dataclass(frozen=True, slots=True)
class Timing:
    """When the diagnosis finished (Unix time), how long it took, and the host's UTC offset (to turn the
    logs' local wall-clock times into Unix times; ``None`` when unknown)."""

    finished: float
    duration: float
    utc_offset: timedelta | None


def _sample(name: str, value: float, **labels: str) -> Sample:
    return Sample(name, tuple(labels.get(k, "") for k in SPECS[name].labels), float(value))


def _workload(name: str, target: Target, value: float, **more: str) -> Sample:
    return _sample(name, value, **dict(zip(LABELS, target.values, strict=True)), **more)


def _epoch(t: datetime, offset: timedelta) -> float:
    return (t - offset).replace(tzinfo=UTC).timestamp()


def diagnosis_samples(facts: Facts, diagnosis: Diagnosis, timing: Timing) -> list[Sample]:
    samples = [
        _sample("ostriage_build_info", 1, version=__version__),
        _sample("ostriage_diagnosis_status", _STATUS[diagnosis.status]),
        _sample("ostriage_diagnosis_timestamp_seconds", round(timing.finished, 3)),
        _sample("ostriage_diagnosis_duration_seconds", round(timing.duration, 3)),
        _sample("ostriage_rule_failures", len(diagnosis.rule_failures)),
    ]
    roots = {s.root.key for s in diagnosis.stories}
    for f in diagnosis.findings:
        labels = _finding_labels(f, _container_of(facts, f))
        samples.append(_sample("ostriage_finding", 1, **labels))
        if f.key in roots:
            samples.append(_sample("ostriage_root_cause", 1, **labels))
    samples += _oom_kills(facts, diagnosis, timing.utc_offset)
    samples += _units(facts)
    samples += _containers(facts, diagnosis)
    samples += _neutron(facts)
    samples += [_sample("ostriage_evidence_missing", 1, what=w) for w in sorted({_missing(m) for m in facts.missing})]
    unreadable = Counter(evidence_source(p.path) for p in facts.problems)
    samples += [_sample("ostriage_evidence_unreadable", n, source=s) for s, n in sorted(unreadable.items())]
    return samples


def _container_of(facts: Facts, f: Finding) -> Container | None:
    """The container a finding is about: named in its data (CTR001, CTR002), or its subject (OOM001's victim)."""
    name, engine = f.data.get("container"), f.data.get("engine")
    return next((c for c in facts.containers
                 if (c.name == name and c.engine == engine) or container_label(c) == f.subject), None)


def _finding_labels(f: Finding, container: Container | None) -> dict[str, str]:
    unit = f.data.get("unit") if isinstance(f.data.get("unit"), str) else None
    service = f.data.get("service") if isinstance(f.data.get("service"), str) else None
    labels = {"code": f.code, "rule": f.rule, "severity": f.severity.label}
    if container is not None:
        target = container_target(container)
        return labels | dict(zip(LABELS, target.values, strict=True)) | {"service": service or target.service}
    unit = unit or (f.subject if service_for_unit(f.subject) or f.subject.endswith(".service") else None)
    return labels | {"service": service_of_finding(f.code, f.subject, unit, service), "unit": tracked_unit(unit)}


def _oom_kills(facts: Facts, diagnosis: Diagnosis, offset: timedelta | None) -> Iterator[Sample]:
    """Kills per victim as the OOM rule counted them (so the metric says what ``diagnose`` says)."""
    for f in diagnosis.findings:
        if f.rule != "service-oom-kill-loop":
            continue
        data = f.data
        container = _container_of(facts, f)
        if container is not None:
            target = container_target(container)
        else:
            unit = data.get("unit") if isinstance(data.get("unit"), str) else None
            target = Target(data.get("service") or "", tracked_unit(unit))
        yield _workload("ostriage_oom_kills", target, int(data.get("kills") or 0))
        last = _local_time(data.get("last"))
        if offset is not None and last is not None:
            yield _workload("ostriage_oom_kill_last_timestamp_seconds", target, round(_epoch(last, offset), 3))


def _local_time(text: object) -> datetime | None:
    """A finding's time (``rules._common.when``: host-local ``YYYY-MM-DD HH:MM:SS``)."""
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def _units(facts: Facts) -> Iterator[Sample]:
    """Restarts and limits of the units of known services, and of any unit that restarts."""
    for unit in sorted(facts.units.values(), key=lambda u: u.name):
        name = tracked_unit(unit.name)
        service = service_for_unit(unit.name)
        if not name or (service is None and not (unit.properties and unit.properties.n_restarts)):
            continue
        if unit.properties is not None and unit.properties.get("LoadState") == "not-found":
            continue  # a known service's unit name that this host does not have
        target = Target(service.name if service else "", name)
        if unit.properties is not None and unit.properties.n_restarts is not None:
            yield _workload("ostriage_unit_restarts", target, unit.properties.n_restarts)
        limit = unit_memory_limit(facts, unit)
        if limit is not None:
            yield _workload("ostriage_memory_limit_bytes", target, limit[0])


def _containers(facts: Facts, diagnosis: Diagnosis) -> Iterator[Sample]:
    """Restarts and memory limits of the containers of known services, and of any container that restarts.

    A limit the engine's record does not state is the one CTR002 read from the kernel's kill lines. Two
    records with one name and engine (a pod's container in two pods) are one workload: the most restarts,
    the largest limit.
    """
    stated = {(f.data.get("container"), f.data.get("engine")): f.data.get("limit_bytes") for f in diagnosis.findings
              if f.rule == "container-memory-limit-below-need"}
    restarts: dict[Target, int] = {}
    limits: dict[Target, int] = {}
    for c in facts.containers:
        target = container_target(c)
        if not target.service and not c.restart_count:
            continue
        if c.restart_count is not None:
            restarts[target] = max(restarts.get(target, 0), c.restart_count)
        limit = c.memory_limit or stated.get((c.name, c.engine))
        if isinstance(limit, int) and limit > 0:
            limits[target] = max(limits.get(target, 0), limit)
    for target, n in sorted(restarts.items(), key=lambda kv: kv[0].values):
        yield _workload("ostriage_container_restarts", target, n)
    for target, limit in sorted(limits.items(), key=lambda kv: kv[0].values):
        yield _workload("ostriage_memory_limit_bytes", target, limit)


def _neutron(facts: Facts) -> Iterator[Sample]:
    """The memory model's view of neutron-server: ranges, what fits, and what the service needs."""
    config = facts.configs.get("neutron-server")
    service = service_by_name("neutron-server")
    if config is None or not deployed(facts, service):
        return  # a compute node has neutron.conf too: only a host that runs the server has its needs
    try:
        ranges = opts.tunnel_ranges(config.ini)
        all_ids = opts.tunnel_id_ranges(config.ini) or (IdRange(1, 1),)
    except ParseError:
        return  # neutron refuses the value at start: lint and diagnose say so, there is no need to model
    placement = facts.placement(service.name)
    if placement is not None and placement.container is not None:
        target = container_target(placement.container)  # the labels of the container's limit
    else:
        target = Target(service.name, tracked_unit(next((u for u in service.units if u in facts.units), "")))
    inputs = model_inputs(facts, all_ids)
    need = figure(inputs).span  # the memory model's leading figure, as SYS001 and predict state it
    yield _workload("ostriage_memory_predicted_need_bytes", target, round(need.low), bound="low")
    yield _workload("ostriage_memory_predicted_need_bytes", target, round(need.high), bound="high")
    if inputs.api_workers is not None:
        yield _sample("ostriage_neutron_api_workers", inputs.api_workers)
    budget = neutron_budget(facts)
    if budget is not None:
        yield _sample("ostriage_neutron_memory_budget_bytes", round(budget.bytes))
    for r in ranges:
        yield _sample("ostriage_neutron_segment_range_ids", r.ids, type=r.tunnel_type)
        if budget is not None:
            # unknown inputs assumed as the range advice assumes them, so the two agree on what fits
            safe = largest_safe_ids(figure(model_inputs(facts, r.ranges)).inputs, budget.bytes)
            yield _sample("ostriage_neutron_segment_range_safe_ids", safe, type=r.tunnel_type)


def _missing(text: str) -> str:
    """``kernel log (dmesg, ...): OOM kills cannot be seen`` -> ``kernel log``: the kind, not the sentence."""
    return text.split(" (", 1)[0].split(":", 1)[0].strip()


def evidence_source(path: str) -> str:
    """What an unreadable piece of evidence concerns: a command's program, or a file's directory (at most
    three levels deep, so one label value stands for every file of a service's directory).

    >>> evidence_source("$ journalctl --no-pager -o short-iso"), evidence_source("/etc/neutron/neutron.conf")
    ('journalctl', '/etc/neutron')
    >>> evidence_source("/etc/neutron/plugins/ml2/ml2_conf.ini"), evidence_source("sos_commands/kernel/dmesg")
    ('/etc/neutron/plugins', 'sos_commands/kernel')
    >>> evidence_source("neutron.conf")
    'neutron.conf'
    """
    if path.startswith("$ "):
        words = path[2:].split()
        return words[0].rsplit("/", 1)[-1] if words else "command"
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2:
        return path
    return ("/" if path.startswith("/") else "") + "/".join(parts[:min(3, len(parts) - 1)])
