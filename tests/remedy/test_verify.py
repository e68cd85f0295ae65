"""``verify.verify`` on a scripted host: stable units and an answering port pass; a restart, a new OOM kill,
a dead unit or a silent port fail, and the watch ends as soon as it fails."""

from __future__ import annotations

from ostriage.remedy.verify import POLL_SECONDS, verify

from .conftest import ScriptedHost, UnitScript, steady

UNIT = "neutron-server.service"
SINCE = "@1718200000"
OLD_KILL = "Memory cgroup out of memory: Killed process 118056 (neutron-server) total-vm:2901524kB"


def test_stable_units_and_an_answering_port_pass() -> None:
    host = ScriptedHost({UNIT: steady(), "ovn-northd.service": steady(pid=77, restarts=0)},
                        kernel=[(-30.0, OLD_KILL)], port_answers_from=8.0)
    verdict = verify(host.host, [UNIT, "ovn-northd.service"], 9696, 30, SINCE)
    assert verdict.ok, verdict.details
    assert verdict.details == [f"{UNIT}, ovn-northd.service stable for 30 s, no OOM kill", "port 9696 answers HTTP"]
    # it watched the whole window, polling every POLL_SECONDS, and asked the journal only since the restart
    assert host.clock == 30
    shows = [c for c in host.calls if c[:3] == ("systemctl", "show", UNIT)]
    assert len(shows) == 30 / POLL_SECONDS + 2  # the first look, then one per poll
    assert shows[0] == ("systemctl", "show", UNIT, "-p", "ActiveState,SubState,NRestarts,MainPID")
    journal = [c for c in host.calls if c[0] == "journalctl"]
    assert journal and all(f"--since={SINCE}" in c and "-k" in c for c in journal)
    # the port is asked until it answers, not after
    assert host.http_calls[-1] == ("127.0.0.1", 9696) and len(host.http_calls) == 8 / POLL_SECONDS + 1


def test_no_port_to_check() -> None:
    host = ScriptedHost({UNIT: steady()}, port_answers_from=None)
    verdict = verify(host.host, [UNIT], None, 10, SINCE)
    assert verdict.ok and verdict.details == [f"{UNIT} stable for 10 s, no OOM kill"]
    assert host.http_calls == []


def test_a_restart_fails_at_once() -> None:
    unit = UnitScript([*steady().changes, (12.0, {"NRestarts": "4"})])
    host = ScriptedHost({UNIT: unit})
    verdict = verify(host.host, [UNIT], 9696, 60, SINCE)
    assert not verdict.ok
    assert verdict.details == [f"{UNIT} restarted again (NRestarts 3 → 4, main PID 4242 → 4242)"]
    assert 12 <= host.clock < 60  # it did not wait out the window


def test_a_new_main_pid_fails() -> None:
    unit = UnitScript([*steady().changes, (6.0, {"MainPID": "5000"})])
    verdict = verify(ScriptedHost({UNIT: unit}).host, [UNIT], 9696, 60, SINCE)
    assert not verdict.ok and "main PID 4242 → 5000" in verdict.details[0]


def test_a_unit_that_dies_fails() -> None:
    unit = UnitScript([*steady().changes, (4.0, {"ActiveState": "failed", "SubState": "failed"})])
    verdict = verify(ScriptedHost({UNIT: unit}).host, [UNIT], 9696, 60, SINCE)
    assert verdict.details == [f"{UNIT} is failed/failed"] and not verdict.ok


def test_a_new_oom_kill_fails() -> None:
    kill = "Out of memory: Killed process 2311 (neutron-server) total-vm:15778696kB, anon-rss:15581528kB"
    host = ScriptedHost({UNIT: steady()}, kernel=[(-30.0, OLD_KILL), (20.0, kill)])
    verdict = verify(host.host, [UNIT], 9696, 60, SINCE)
    assert not verdict.ok
    assert verdict.details == ["1 OOM kill(s) since the restart"]
    assert 20 <= host.clock < 60


def test_a_kill_before_the_restart_does_not_count() -> None:
    host = ScriptedHost({UNIT: steady()}, kernel=[(-1.0, OLD_KILL)])
    assert verify(host.host, [UNIT], 9696, 20, SINCE).ok


def test_a_port_that_never_answers_fails_after_the_window() -> None:
    host = ScriptedHost({UNIT: steady()}, port_answers_from=None)
    verdict = verify(host.host, [UNIT], 9696, 30, SINCE)
    assert not verdict.ok
    assert verdict.details == ["nothing answers HTTP on 127.0.0.1:9696 after 30 s"]
    assert host.clock == 30
    assert len(host.http_calls) == 30 / POLL_SECONDS + 1


def test_a_port_answering_late_in_the_window_passes() -> None:
    host = ScriptedHost({UNIT: steady()}, port_answers_from=30.0)
    assert verify(host.host, [UNIT], 9696, 30, SINCE).ok


def test_the_ring_buffer_counts_kills_since_the_watch_began() -> None:
    """Inside a container the journal never sees the kernel: dmesg does, history included."""
    kill = "Memory cgroup out of memory: Killed process 9311 (uwsgi) total-vm:2151504kB, anon-rss:2092176kB"
    quiet = ScriptedHost({UNIT: steady()}, kernel=[(-30.0, OLD_KILL)], ring_buffer=True)
    assert verify(quiet.host, [UNIT], 9696, 20, SINCE).ok
    assert not [c for c in quiet.calls if c[0] == "journalctl"]
    loud = ScriptedHost({UNIT: steady()}, kernel=[(-30.0, OLD_KILL), (10.0, kill)], ring_buffer=True)
    verdict = verify(loud.host, [UNIT], 9696, 60, SINCE)
    assert verdict.details == ["1 OOM kill(s) since the restart"] and 10 <= loud.clock < 60
