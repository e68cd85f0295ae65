"""The crash-loop detector against a brute-force reference, and its memory bound."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ostriage.monitor.detector import DUPLICATE_SECONDS, LoopDetector, LoopPolicy
from ostriage.monitor.events import EventKind, WatchEvent
from ostriage.monitor.labels import Target

UNITS = [Target("neutron-server", "neutron-server.service"), Target("nova-api", "nova-api.service"),
         Target("", "backup.service")]
KINDS = [EventKind.OOM_KILL, EventKind.RESTART, EventKind.EXIT, EventKind.UNIT_CHANGE]


def event(kind: EventKind, target: Target = UNITS[0], source: str = "journal") -> WatchEvent:
    return WatchEvent(kind, target, source, "")


def reference_starts(policy: LoopPolicy, timeline: list[tuple[float, WatchEvent]]) -> list[tuple[float, Target]]:
    """When a loop starts, from the whole history: brute force over every event so far."""
    starts: list[tuple[float, Target]] = []
    history: dict[Target, list[tuple[float, EventKind]]] = {}
    looping: dict[Target, float] = {}  # target -> time of its last event
    for now, e in timeline:
        for t, last in list(looping.items()):
            if now - last >= policy.window:
                del looping[t]
                history[t] = []
        if e.kind in (EventKind.UNIT_CHANGE,):
            continue
        past = history.setdefault(e.target, [])
        if e.target in looping:
            looping[e.target] = now
            past.append((now, e.kind))
            continue
        past.append((now, e.kind))
        kills = [t for t, k in past if k is EventKind.OOM_KILL][-policy.kills:]
        restarts = [t for t, k in past if k is EventKind.RESTART][-policy.restarts:]
        if (len(kills) == policy.kills and now - kills[0] <= policy.window) or (
                len(restarts) == policy.restarts and now - restarts[0] <= policy.window):
            starts.append((now, e.target))
            looping[e.target] = now
    return starts


timelines = st.lists(
    st.tuples(st.floats(min_value=0.1, max_value=400.0), st.sampled_from(KINDS), st.sampled_from(UNITS)),
    min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(timelines, st.integers(1, 4), st.integers(1, 4), st.sampled_from([30.0, 120.0, 600.0]))
def test_loops_start_exactly_when_the_reference_says(steps: list[tuple[float, EventKind, Target]], kills: int,
                                                     restarts: int, window: float) -> None:
    policy = LoopPolicy(window=window, kills=kills, restarts=restarts)
    now, timeline = 0.0, []
    for gap, kind, target in steps:
        now += gap
        timeline.append((now, event(kind, target)))
    detector = LoopDetector(policy)
    seen = []
    for at, e in timeline:
        detector.expire(at)
        if detector.observe(e, at):
            seen.append((at, e.target))
        for target in UNITS:  # memory stays within the thresholds
            state = detector.state(target)
            assert state is None or (len(state.kills) <= kills and len(state.restarts) <= restarts)
    assert seen == reference_starts(policy, timeline)


def test_the_seed_loop_starts_at_the_second_restart_and_ends_a_window_after_the_last() -> None:
    detector = LoopDetector(LoopPolicy(window=600, kills=2, restarts=2))
    neutron = UNITS[0]
    assert not detector.observe(event(EventKind.EXIT, neutron), 13.0)
    assert not detector.observe(event(EventKind.RESTART, neutron), 13.6)
    assert detector.observe(event(EventKind.RESTART, neutron), 25.0)
    state = detector.state(neutron)
    assert state is not None and state.reason == "2 restarts within 600 s"
    assert not detector.observe(event(EventKind.RESTART, neutron), 37.0)  # already looping
    assert detector.expire(636.9) == [] and detector.deadline() == 637.0
    assert detector.expire(637.0) == [neutron] and detector.active() == []


def test_systemds_oom_notice_right_after_the_kernels_kill_counts_once() -> None:
    detector = LoopDetector(LoopPolicy(window=600, kills=2, restarts=5))
    neutron = UNITS[0]
    assert not detector.observe(event(EventKind.OOM_KILL, neutron, "kmsg"), 10.0)
    assert not detector.observe(event(EventKind.OOM_KILL, neutron, "journal"), 10.5)  # the same kill
    assert detector.observe(event(EventKind.OOM_KILL, neutron, "journal"), 10.0 + DUPLICATE_SECONDS + 1)


def test_systemd_giving_up_is_a_loop_at_once() -> None:
    detector = LoopDetector(LoopPolicy(kills=5, restarts=5))
    assert detector.observe(event(EventKind.START_LIMIT), 1.0)
    assert detector.state(UNITS[0]).reason.startswith("systemd gave up")  # type: ignore[union-attr]


def test_at_most_max_targets_are_remembered_quiet_ones_first_forgotten() -> None:
    detector = LoopDetector(LoopPolicy(window=600, restarts=1, max_targets=3))
    looping = Target("", "a.service")
    assert detector.observe(event(EventKind.RESTART, looping), 1.0)
    for i in range(10):
        detector.observe(event(EventKind.EXIT, Target("", f"quiet{i}.service")), 2.0 + i)
    assert detector.state(looping) is not None  # the looping one is kept
    assert sum(detector.state(Target("", f"quiet{i}.service")) is not None for i in range(10)) == 2
    full = LoopDetector(LoopPolicy(window=600, restarts=1, max_targets=1))
    assert full.observe(event(EventKind.RESTART, looping), 1.0)
    assert not full.observe(event(EventKind.RESTART, UNITS[0]), 2.0) and full.dropped == 1


def test_a_workload_without_unit_or_service_is_not_tracked() -> None:
    detector = LoopDetector(LoopPolicy(kills=1))
    assert not detector.observe(event(EventKind.OOM_KILL, Target(engine="docker"), "kmsg"), 1.0)
    assert detector.active() == []


@pytest.mark.parametrize("bad", [dict(window=0), dict(kills=0), dict(restarts=0), dict(max_targets=0)])
def test_policy_refuses_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LoopPolicy(**bad)  # type: ignore[arg-type]
