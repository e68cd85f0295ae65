"""The leading figure: one number for what is known, checked against the real measurements of the inputs
ostriage detects on the example, and the input that would narrow what is not known."""

from __future__ import annotations

import dataclasses
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from ostriage.facts import collect
from ostriage.facts.deployment import model_inputs
from ostriage.knowledge import neutron_options as opts
from ostriage.knowledge.memory_figure import UNKNOWNS, figure
from ostriage.knowledge.neutron_memory import GIB, MIB, Inputs, Server, estimate, model
from ostriage.knowledge.releases import first_of_series, parse_neutron_version
from ostriage.sources import SosReport

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-incident"
sys.path.insert(0, str(ROOT / "bench"))
import memory_model  # noqa: E402  the calibration bench: its error target is the model's calibration error

RECORDS: list[dict[str, Any]] = json.loads(
    resources.files("ostriage.knowledge").joinpath("data/neutron_memory_measurements.json").read_text())["records"]
FULL = ((1, 16777215),)


@pytest.fixture(scope="module")
def seed_inputs() -> Inputs:
    """The model's inputs exactly as ostriage detects them on the example."""
    with SosReport(SEED) as source:
        facts = collect(source)
    config = facts.configs["neutron-server"]
    (ranges,) = opts.tunnel_ranges(config.ini)
    return model_inputs(facts, ranges.ranges)


def _measured(r: dict[str, Any]) -> float:
    if r["mode"] == "uwsgi":
        return max(p["vmhwm_mib"] for p in r["processes"]) * MIB
    return float(r["peak_rss_mib"] * MIB)


def test_the_example_detects_release_server_and_workers(seed_inputs: Inputs) -> None:
    assert (str(seed_inputs.release), seed_inputs.server, seed_inputs.api_workers) == ("29.0.0", Server.UWSGI, 2)
    assert seed_inputs.ids == 16777215


def test_the_leading_figure_is_within_calibration_error_of_the_measured_point(seed_inputs: Inputs) -> None:
    """Every measurement of this neutron at this size whose sync completed (a 1 GiB packet) is within the
    calibration bench's error target of the leading figure per syncing process."""
    need = figure(seed_inputs)
    completed = [r for r in RECORDS if r["neutron_version"] == str(seed_inputs.release)
                 and r["vni_count"] == seed_inputs.ids and not r["oom"]]
    assert completed, "no completed measurement for the example's inputs"
    for r in completed:
        measured = _measured(r)
        assert abs(need.per_process - measured) <= memory_model.TARGET_ERROR * measured, (need.per_process, measured)
    # and it is one figure: the whole span over what is not known is within the same error
    assert need.span.high <= (1 + memory_model.TARGET_ERROR) * need.span.low
    assert need.service == pytest.approx(need.syncing * need.per_process)
    assert need.syncing == 2


def test_the_default_packet_runs_are_killed_on_the_attempt_the_model_says(seed_inputs: Inputs) -> None:
    """With MariaDB's 16 MiB packet the IN clause never fits: the measurements in a 7 GiB cgroup were killed
    after exactly one retry, as one attempt fits under 7 GiB and a second attempt's garbage does not."""
    need = figure(seed_inputs)
    assert not need.completes and any(a.flag == "--max-allowed-packet" for a in need.assumed)
    killed = [r for r in RECORDS if r["neutron_version"] == str(seed_inputs.release) and r["mode"] == "probe"
              and r["vni_count"] == seed_inputs.ids and r["max_allowed_packet"] == 16 * MIB]
    assert killed and all(r["oom"] for r in killed)
    extra = model().uwsgi_worker_extra_bytes  # the probe is a bare process, not a uWSGI worker
    for r in killed:
        inputs = dataclasses.replace(seed_inputs, server=Server.EVENTLET, api_workers=0,
                                     first_start=r["start"] == "first", max_allowed_packet=r["max_allowed_packet"])
        e = estimate(inputs)
        limit = r["neutron_cgroup_limit_bytes"]
        attempts = next(k for k in range(1, 22) if e.attempt.high + (k - 1) * e.retry_growth > limit)
        assert attempts - 1 == r["retries"], (attempts, r["retries"])
        assert e.attempt.high == pytest.approx(need.per_process - extra, rel=0.15)


def test_a_known_input_replaces_its_assumption() -> None:
    unknown = figure(Inputs(ranges=FULL, release=first_of_series("2024.1"), api_workers=8))
    assert [a.flag for a in unknown.assumed] == ["--server", "--first-start/--restart"]
    # what the figure assumed for the server, given: the same figure, one assumption fewer
    given = figure(Inputs(ranges=FULL, release=first_of_series("2024.1"), api_workers=8, server=Server.EVENTLET))
    assert given.service == unknown.service
    assert [a.flag for a in given.assumed] == ["--first-start/--restart"]


def test_the_narrowing_input_narrows_the_span_most() -> None:
    inputs = Inputs(ranges=FULL, release=first_of_series("2024.1"), api_workers=8)
    need = figure(inputs)
    assert need.narrowing is not None
    ratios = {}
    for row in UNKNOWNS:
        if getattr(inputs, row.field) is not None or len(row.candidates(inputs)) < 2 or not row.matters(inputs):
            continue
        spans = [figure(dataclasses.replace(inputs, **{row.field: v})).span for v in row.candidates(inputs)]
        ratios[row.flag] = max(s.high / s.low for s in spans)
    assert set(ratios) == {"--server", "--first-start/--restart"}
    assert ratios[need.narrowing.flag] == min(ratios.values())
    assert need.narrowing.left.high / need.narrowing.left.low == pytest.approx(min(ratios.values()))
    assert need.narrowing.left.high / need.narrowing.left.low < need.span.high / need.span.low


def test_an_unknown_release_takes_the_one_that_needs_more() -> None:
    need = figure(Inputs(ranges=FULL, api_workers=4, first_start=False, max_allowed_packet=GIB))
    others = [figure(Inputs(ranges=FULL, api_workers=4, first_start=False, max_allowed_packet=GIB,
                            release=first_of_series(s))).service for s in ("2024.2", "2025.1")]
    assert need.service == max(others)
    assert need.assumed[0].name == "release" and "needs more memory" in need.assumed[0].why


def test_fits_is_decided_over_every_value_of_what_is_not_known() -> None:
    need = figure(Inputs(ranges=((1, 1 << 20),), release=first_of_series("2024.1"), api_workers=4))
    assert need.fits(need.span.high) is True
    assert need.fits(need.span.low * 0.99) is False
    assert need.fits((need.span.low + need.span.high) / 2) is None


def test_every_row_names_an_input_of_the_model() -> None:
    fields = {f.name for f in dataclasses.fields(Inputs)}
    for row in UNKNOWNS:
        assert row.field in fields and row.flag.startswith("--")
        assert row.candidates(Inputs(ranges=FULL)), row.field


def test_known_mac_binding_rows_make_an_unknown_release_one_that_keeps_them() -> None:
    """The figure assumes the release that needs more memory: with a large MAC_Binding table that is one whose
    workers keep every row (≤ 19.0.0), and the replica is in the figure."""
    rows = dataclasses.replace(Inputs(ranges=((1, 65535),), api_workers=4, first_start=False), mac_bindings=500_000)
    need = figure(rows)
    assert need.inputs.release is not None and str(need.inputs.release) == "19.0.0"
    assert need.estimate.sb_replica is not None and need.estimate.sb_replica.per_process[0] > 0
    assert need.service == pytest.approx(need.estimate.attempt_service.high)
    newer = figure(dataclasses.replace(rows, release=first_of_series("2024.2")))
    assert need.service - newer.service == pytest.approx(need.estimate.sb_replica.total[1])
    assert need.narrowing is not None and need.narrowing.flag == "--release"


def test_unknown_rows_invent_no_memory_and_say_so_where_the_release_keeps_them() -> None:
    keeping = parse_neutron_version("19.0.0")
    assert keeping is not None
    need = figure(Inputs(ranges=((1, 65535),), release=keeping, api_workers=4, first_start=False))
    assert need.estimate.sb_replica is None
    assert need.service == figure(Inputs(ranges=((1, 65535),), release=keeping, api_workers=4, first_start=False,
                                         mac_bindings=0)).service
    (row,) = [a for a in need.assumed if a.flag == "--mac-bindings"]
    assert row.value == "not counted"
    # a release that does not keep the table has nothing left out: no row
    later = figure(Inputs(ranges=((1, 65535),), release=first_of_series("2024.1"), api_workers=4, first_start=False))
    assert all(a.flag != "--mac-bindings" for a in later.assumed)
    # and without rows an unknown release is never assumed to keep them (nothing to keep)
    unknown = figure(Inputs(ranges=((1, 65535),), api_workers=4, first_start=False))
    assert unknown.inputs.release is not None and unknown.inputs.release.major >= 25
