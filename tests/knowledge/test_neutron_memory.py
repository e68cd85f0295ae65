"""The memory model against the real measurements it was calibrated on, and its reasoning."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from ostriage.knowledge.neutron_memory import (
    GIB,
    MIB,
    Inputs,
    Server,
    estimate,
    in_clause_bytes,
    largest_safe_ids,
)
from ostriage.knowledge.releases import parse_neutron_version

RECORDS: list[dict[str, Any]] = json.loads(
    resources.files("ostriage.knowledge").joinpath("data/neutron_memory_measurements.json").read_text())["records"]
V24, V29 = parse_neutron_version("24.2.2"), parse_neutron_version("29.0.0")
FULL = ((1, 16777215),)


def _inputs(r: dict[str, Any]) -> Inputs:
    lo, hi = (int(x) for x in r["range"].split(":"))
    workers = [p for p in r["processes"] if p["vmhwm_mib"] > 50]
    uwsgi = r["mode"] == "uwsgi"
    return Inputs(ranges=((lo, hi),), release=parse_neutron_version(r["neutron_version"]),
                  server=Server.UWSGI if uwsgi else Server.EVENTLET, api_workers=len(workers) if uwsgi else 0,
                  max_allowed_packet=r["max_allowed_packet"], first_start=r["start"] == "first")


@pytest.mark.parametrize("r", [r for r in RECORDS if r["exp"] >= 16],
                         ids=lambda r: f"{r['neutron_version']}-{r['mode']}-{r['type_driver']}-2^{r['exp']}-"
                                       f"{r['start']}-{r['max_allowed_packet'] >> 20}M")
def test_calibration_within_20_percent_of_every_measured_point(r: dict[str, Any]) -> None:
    per = estimate(_inputs(r)).per_process
    if r["oom"]:
        assert per.high >= r["neutron_cgroup_limit_bytes"], "the kernel killed it: the model must allow that"
        return
    measured = r["peak_rss_mib"] * MIB
    if r["mode"] == "uwsgi":
        measured = max(p["vmhwm_mib"] for p in r["processes"]) * MIB
    nearest = min(max(measured, per.low), per.high)
    assert abs(nearest - measured) <= 0.20 * measured


def test_release_decides_what_a_restart_costs() -> None:
    old = estimate(Inputs(ranges=FULL, release=V24, server=Server.EVENTLET, api_workers=4, first_start=False))
    new = estimate(Inputs(ranges=FULL, release=V29, server=Server.UWSGI, api_workers=1, first_start=False,
                          max_allowed_packet=1 << 30))
    # <= 2024.2 loads one ORM object per ID on every restart: over a kilobyte per ID
    assert old.per_process.low > 16777215 * 1000
    # >= 2025.1 binds every ID into one IN clause: a few hundred bytes per ID, plus a possible retry
    assert 16777215 * 300 < new.per_process.low < old.per_process.low
    assert not old.assumptions and new.packet_overflow is False


def test_every_uwsgi_worker_syncs_but_eventlet_syncs_once() -> None:
    common: dict[str, Any] = {"ranges": ((1, 1 << 20),), "release": V29, "api_workers": 8, "first_start": True,
                              "max_allowed_packet": 1 << 30}
    uwsgi = estimate(Inputs(server=Server.UWSGI, **common))
    eventlet = estimate(Inputs(server=Server.EVENTLET, **common))
    plugin = estimate(Inputs(server=Server.UWSGI, segment_range_plugin=True, **common))
    assert (uwsgi.syncing_processes.low, eventlet.syncing_processes.low, plugin.syncing_processes.low) == (8, 1, 1)
    assert uwsgi.service_peak.low > 2 * plugin.service_peak.low


def test_default_packet_overflow_is_named_and_amplified() -> None:
    assert in_clause_bytes(((1, 1 << 20),)) < 16 * MIB < in_clause_bytes(((1, 1 << 22),))
    e = estimate(Inputs(ranges=((1, 1 << 22),), release=V29, server=Server.UWSGI, api_workers=1, first_start=True))
    assert e.packet_overflow is True
    assert any("max_allowed_packet" in a for a in e.assumptions)
    assert e.per_process.high > 20 * GIB  # up to 20 retries, each leaving its garbage


def test_unknowns_widen_the_answer_and_are_named() -> None:
    known = estimate(Inputs(ranges=FULL, release=V24, server=Server.EVENTLET, api_workers=4, first_start=False))
    unknown = estimate(Inputs(ranges=FULL))
    assert unknown.per_process.low <= known.per_process.low <= known.per_process.high <= unknown.per_process.high
    assert {a.split(":")[0] for a in unknown.assumptions} >= {"release", "start", "server", "api_workers"}


def test_largest_safe_range_fits_and_one_more_id_would_not() -> None:
    inputs = Inputs(ranges=((1, 65535),), release=V24, server=Server.EVENTLET, api_workers=2, first_start=False)
    budget = 2 * GIB
    n = largest_safe_ids(inputs, budget)
    fits = estimate(Inputs(**{**_fields(inputs), "ranges": ((1, n),)}))
    over = estimate(Inputs(**{**_fields(inputs), "ranges": ((1, n + 1),)}))
    assert fits.service_peak.high <= budget < over.service_peak.high
    assert 65535 < n < 16777215


def _fields(i: Inputs) -> dict[str, Any]:
    return {f: getattr(i, f) for f in Inputs.__dataclass_fields__}
