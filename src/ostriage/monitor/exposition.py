"""Samples in the Prometheus exposition format, through prometheus-client (text 0.0.4 and OpenMetrics).

``SampleCollector`` serves whatever list of samples its provider returns at scrape time, so ``watch``
swaps in a new diagnosis without a lock; ``render`` gives the text format for stdout, and
``write_textfile`` writes node_exporter's textfile-collector file atomically (a temporary file in the same
directory, then a rename: node_exporter reads ``*.prom`` only, so it never sees half a file).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import generate_latest, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from ostriage.monitor.metrics import METRICS, Sample

__all__ = ["SampleCollector", "families", "registry_of", "render", "write_textfile"]


def families(samples: Iterable[Sample]) -> list[Metric]:
    """One metric family per catalogue entry that has samples, in the catalogue's order."""
    by_name: dict[str, list[Sample]] = {}
    for s in samples:
        by_name.setdefault(s.name, []).append(s)
    out: list[Metric] = []
    for spec in METRICS:
        present = by_name.get(spec.name)
        if not present:
            continue
        family: GaugeMetricFamily | CounterMetricFamily
        if spec.kind == "counter":
            family = CounterMetricFamily(spec.name, spec.help, labels=spec.labels)
        else:
            family = GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
        for s in present:
            family.add_metric(list(s.labels), s.value)
        out.append(family)
    return out


class SampleCollector(Collector):
    """A prometheus-client collector over ``provider()``'s samples, read at every scrape."""

    def __init__(self, provider: Callable[[], Iterable[Sample]]) -> None:
        self._provider = provider

    def collect(self) -> Iterator[Metric]:
        yield from families(self._provider())


def registry_of(provider: Callable[[], Iterable[Sample]]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SampleCollector(provider))
    return registry


def render(samples: Iterable[Sample]) -> str:
    fixed = list(samples)
    return generate_latest(registry_of(lambda: fixed)).decode("utf-8")


def write_textfile(path: str, samples: Iterable[Sample]) -> None:
    """Replace ``path`` atomically; readable by node_exporter (0644 whatever the umask)."""
    fixed = list(samples)
    write_to_textfile(path, registry_of(lambda: fixed))
    os.chmod(path, 0o644)
