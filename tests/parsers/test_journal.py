"""Journal text/JSON and systemd unit events: the real ussuri journal, and each systemd log form
(src/core/service.c, unit.c, job.c of current and old systemd, as real hosts print them)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ostriage.evidence import numbered
from ostriage.parsers.journal import (
    JournalEntry,
    UnitEvent,
    UnitEventKind,
    parse_journal_json,
    parse_journal_text,
    unit_events,
)

LOGS = "sos_commands/logs"


def entries(text: str | list[str], year: int | None = None) -> list[JournalEntry]:
    return list(parse_journal_text(numbered(text, "journal"), year=year))


def events(text: str | list[str], year: int | None = 2025) -> list[UnitEvent]:
    return list(unit_events(entries(text, year)))


def read(root: Path, name: str) -> list[JournalEntry]:
    with (root / name).open(errors="replace") as f:
        return list(parse_journal_text(numbered(f, name)))


def test_real_full_journal(ussuri_sos: Path) -> None:
    found = read(ussuri_sos, f"{LOGS}/journalctl_--no-pager")
    assert len(found) == 13073  # 13075 lines less the header and "-- Reboot --"
    assert Counter(e.boot for e in found) == {0: 6116, 1: 6957}  # "-- Reboot --" is line 6118
    first = found[0]
    assert (first.timestamp, first.host, first.ident, first.pid) == (datetime(2022, 2, 4, 9, 34, 4), "ubuntu",
                                                                    "kernel", None)
    assert first.message.startswith("Linux version 5.4.0-97-generic")
    assert found[-1].timestamp is not None and found[-1].timestamp.date() == datetime(2022, 2, 10).date()
    assert all(e.timestamp is not None for e in found)


def test_real_l3_agent_restart_loop(ussuri_sos: Path) -> None:
    found = list(unit_events(read(ussuri_sos, f"{LOGS}/journalctl_--no-pager")))
    l3 = [e for e in found if e.unit == "neutron-l3-agent.service"]
    restarts = [e for e in l3 if e.kind is UnitEventKind.RESTART_SCHEDULED]
    assert [(e.line.number, e.counter) for e in restarts] == [(3043, 1), (3048, 2), (3053, 3), (3058, 4)]
    assert restarts[0].timestamp == datetime(2022, 2, 4, 10, 8, 21)
    assert restarts[0].manager_pid == 1 and restarts[0].host == "compute4"
    exits = [e for e in l3 if e.kind is UnitEventKind.MAIN_EXITED]
    assert {(e.code, e.status, e.status_name) for e in exits} == {("exited", 1, "FAILURE")}
    failed = {e.result for e in l3 if e.kind is UnitEventKind.FAILED}
    assert failed == {"exit-code"}
    stopped = [e for e in found if e.kind is UnitEventKind.STOPPED and e.line.number == 3044]
    assert [(e.unit, e.description) for e in stopped] == [(None, "OpenStack Neutron L3 agent")]


def test_real_journal_event_counts(ussuri_sos: Path) -> None:
    kinds = Counter(e.kind for e in unit_events(read(ussuri_sos, f"{LOGS}/journalctl_--no-pager")))
    assert kinds[UnitEventKind.RESTART_SCHEDULED] == 15
    assert kinds[UnitEventKind.KILLING] == 44
    assert kinds[UnitEventKind.START_LIMIT_HIT] == 6
    assert kinds[UnitEventKind.MAIN_EXITED] == 17
    assert kinds[UnitEventKind.OOM_KILL] == 0  # a healthy node


def test_real_nova_compute_stop_timeout_and_sigkill(ussuri_sos: Path) -> None:
    found = [e for e in unit_events(read(ussuri_sos, f"{LOGS}/journalctl_--no-pager"))
             if e.unit == "nova-compute.service"]
    by_line = {e.line.number: e for e in found}
    assert by_line[3448].kind is UnitEventKind.TIMED_OUT
    assert by_line[3448].detail == "State 'stop-sigterm' timed out. Killing."
    killing = [e for e in found if e.kind is UnitEventKind.KILLING]
    assert (killing[0].pid, killing[0].process, killing[0].signal) == (380402, "nova-compute", "SIGKILL")
    killed = [e for e in found if e.kind is UnitEventKind.MAIN_EXITED and e.code == "killed"]
    assert [(e.status, e.status_name) for e in killed] == [(9, "KILL"), (9, "KILL")]
    assert {e.result for e in found if e.kind is UnitEventKind.FAILED} == {"exit-code", "timeout"}


def test_real_catalog_journal_skips_help_text(ussuri_sos: Path) -> None:
    name = f"{LOGS}/journalctl_--no-pager_--catalog_--boot"
    found = read(ussuri_sos, name)
    assert len(found) == 12333 - 5376  # less the catalog lines and the header, which all start with --
    started = next(e for e in found if e.line.number == 707)
    assert (started.ident, started.pid, started.message) == ("systemd-journald", 397, "Journal started")
    assert started.continuation == ()
    assert not any("Defined-By" in e.message or "The job identifier is" in e.message for e in found)
    assert found[-1].line.number == 12326  # followed by its catalog text
    limit = [e for e in unit_events(found) if e.kind is UnitEventKind.START_LIMIT_HIT]
    assert {e.unit for e in limit} == {"ceph-osd@0.service"} and len(limit) == 6


def test_real_previous_boot_catalog_file(ussuri_sos: Path) -> None:
    found = list(unit_events(read(ussuri_sos, f"{LOGS}/journalctl_--no-pager_--catalog_--boot_-1")))
    restarts = [(e.line.number, e.counter) for e in found
                if e.kind is UnitEventKind.RESTART_SCHEDULED and e.unit == "neutron-l3-agent.service"]
    assert restarts == [(5956, 1), (5993, 2), (6030, 3), (6067, 4)]


def test_real_syslog_needs_the_year(ussuri_sos: Path) -> None:
    with (ussuri_sos / "var/log/syslog").open(errors="replace") as f:
        found = list(parse_journal_text(numbered(f, "var/log/syslog"), year=2022))
    assert len(found) == 1406
    assert found[0].timestamp == datetime(2022, 2, 10, 0, 0, 1)
    assert (found[0].ident, found[0].message) == ("systemd", "logrotate.service: Succeeded.")


def test_old_systemd_forms_rhel7() -> None:
    lines = [
        "Jun 28 22:07:11 m1 systemd[1]: kubelet.service: main process exited, code=exited, status=203/EXEC",
        "Jun 28 22:07:11 m1 systemd[1]: Unit kubelet.service entered failed state.",
        "Jun 28 22:07:11 m1 systemd[1]: kubelet.service failed.",
        "Jun 28 22:07:12 m1 systemd[1]: kubelet.service holdoff time over, scheduling restart.",
        "Jun 28 22:07:12 m1 systemd[1]: Stopped Kubernetes Kubelet.",
        "Jun 28 22:07:12 m1 systemd[1]: start request repeated too quickly for kubelet.service",
        "Jun  2 10:57:03 xfce systemd[1]: ssh.service: main process exited, code=exited, status=255/n/a",
        "Dec 24 18:08:35 node01 systemd: kube-apiserver.service holdoff time over, scheduling restart.",
        "Feb 13 09:44:27 off systemd[1]: zammad-web-1.service: Service hold-off time over, scheduling "
        "restart.",
    ]
    found = events(lines, year=2018)
    assert [(e.kind, e.unit) for e in found] == [
        (UnitEventKind.MAIN_EXITED, "kubelet.service"),
        (UnitEventKind.FAILED, "kubelet.service"),
        (UnitEventKind.FAILED, "kubelet.service"),
        (UnitEventKind.RESTART_SCHEDULED, "kubelet.service"),
        (UnitEventKind.STOPPED, None),
        (UnitEventKind.START_LIMIT_HIT, "kubelet.service"),
        (UnitEventKind.MAIN_EXITED, "ssh.service"),
        (UnitEventKind.RESTART_SCHEDULED, "kube-apiserver.service"),
        (UnitEventKind.RESTART_SCHEDULED, "zammad-web-1.service"),
    ]
    assert (found[0].status, found[0].status_name) == (203, "EXEC")
    assert (found[6].status, found[6].status_name) == (255, "n/a")
    assert found[3].counter is None and found[1].result is None
    assert found[7].manager_pid is None


def test_oom_crash_loop_current_systemd() -> None:
    unit = "neutron-server.service"
    lines = [
        f"Nov 21 14:22:56 ctl systemd[1]: {unit}: A process of this unit has been killed by the OOM killer.",
        f"Nov 21 14:22:56 ctl systemd[1]: {unit}: Main process exited, code=killed, status=9/KILL",
        f"Nov 21 14:22:56 ctl systemd[1]: {unit}: Failed with result 'oom-kill'.",
        f"Nov 21 14:22:56 ctl systemd[1]: {unit}: Consumed 1min 2.345s CPU time, 2.1G memory peak.",
        f"Nov 21 14:23:01 ctl systemd[1]: {unit}: Scheduled restart job, restart counter is at 17.",
        f"Nov 21 14:23:01 ctl systemd[1]: Stopped {unit} - OpenStack Neutron Server.",
        f"Nov 21 14:23:01 ctl systemd[1]: Starting {unit} - OpenStack Neutron Server...",
        f"Nov 21 14:23:02 ctl systemd[1]: Started {unit} - OpenStack Neutron Server.",
        f"Nov 21 14:40:00 ctl systemd[1]: {unit}: Start request repeated too quickly.",
        f"Nov 21 14:40:00 ctl systemd[1]: {unit}: Failed with result 'start-limit-hit'.",
        f"Nov 21 14:40:00 ctl systemd[1]: Failed to start {unit} - OpenStack Neutron Server.",
    ]
    found = events(lines)
    assert [e.kind for e in found] == [
        UnitEventKind.OOM_KILL, UnitEventKind.MAIN_EXITED, UnitEventKind.FAILED, UnitEventKind.CONSUMED,
        UnitEventKind.RESTART_SCHEDULED, UnitEventKind.STOPPED, UnitEventKind.STARTING, UnitEventKind.STARTED,
        UnitEventKind.START_LIMIT_HIT, UnitEventKind.FAILED, UnitEventKind.FAILED_TO_START,
    ]
    assert all(e.unit == unit for e in found)
    assert found[2].result == "oom-kill" and found[9].result == "start-limit-hit"
    assert found[3].detail == "1min 2.345s CPU time, 2.1G memory peak"
    assert found[4].counter == 17 and found[4].timestamp == datetime(2025, 11, 21, 14, 23, 1)
    assert {e.description for e in found[5:8]} == {"OpenStack Neutron Server"}
    assert found[0].line.number == 1 and found[10].line.cite() == "journal:11"


def test_core_dump_deactivated_and_user_manager() -> None:
    lines = [
        "Apr 05 08:24:14 h systemd[1]: a.service: Main process exited, code=dumped, status=6/ABRT",
        "Apr 05 08:24:14 h systemd[1]: a.service: Failed with result 'core-dump'.",
        "Apr 05 08:24:21 h systemd[1]: session-689.scope: Deactivated successfully.",
        "Apr 05 08:24:21 h systemd[1]: session-689.scope: Consumed 15h 5min 35.515s CPU time.",
        "Dec 14 17:13:12 h systemd[2765]: run-u820.service: A process of this unit has been killed by the "
        "OOM killer.",
        "Dec 14 17:13:12 h systemd[1]: Starting Daily apt upgrade and clean activities...",
        "Dec 14 17:13:12 h systemd[1]: Reloading.",
        "Dec 14 17:13:12 h neutron-server[4321]: neutron-server.service: Failed with result 'oom-kill'.",
    ]
    found = events(lines)
    assert [(e.kind, e.unit, e.manager_pid) for e in found] == [
        (UnitEventKind.MAIN_EXITED, "a.service", 1),
        (UnitEventKind.FAILED, "a.service", 1),
        (UnitEventKind.SUCCEEDED, "session-689.scope", 1),
        (UnitEventKind.CONSUMED, "session-689.scope", 1),
        (UnitEventKind.OOM_KILL, "run-u820.service", 2765),
        (UnitEventKind.STARTING, None, 1),
    ]
    assert (found[0].code, found[0].status, found[0].status_name) == ("dumped", 6, "ABRT")
    assert found[1].result == "core-dump" and found[3].detail == "15h 5min 35.515s CPU time"
    assert found[5].description == "Daily apt upgrade and clean activities"


def test_markers_headers_and_boot_counting() -> None:
    lines = [
        "-- Journal begins at Mon 2021-12-27 08:00:00 UTC, ends at Mon 2022-01-03 09:00:00 UTC. --",
        "-- Boot 6e0c2b1d0f9b4bbf95ee2c6a5d2e4c31 --",
        "Dec 30 10:00:00 h systemd[1]: a.service: Succeeded.",
        "-- Boot 7f1d3c2e1a0c4ccf06ff3d7b6e3f5d42 --",
        "Jan 02 11:00:00 h systemd[1]: a.service: Succeeded.",
        "-- Reboot --",
        "Jan 03 08:00:00 h kernel: Linux version 6.8.0",
        "-- No entries --",
    ]
    found = entries(lines)
    assert [(e.timestamp, e.boot) for e in found] == [
        (datetime(2021, 12, 30, 10), 0), (datetime(2022, 1, 2, 11), 1), (datetime(2022, 1, 3, 8), 2),
    ]


def test_header_year_wins_over_argument_and_rolls_over() -> None:
    lines = ["-- Logs begin at Fri 2021-12-31 23:00:00 UTC, end at Sat 2022-01-01 01:00:00 UTC. --",
             "Dec 31 23:59:59 h kernel: a", "Jan 01 00:00:01 h kernel: b"]
    assert [e.timestamp for e in entries(lines, year=1999)] == [datetime(2021, 12, 31, 23, 59, 59),
                                                               datetime(2022, 1, 1, 0, 0, 1)]


def test_multi_line_message_continuation() -> None:
    lines = [
        "Feb 04 10:08:21 compute4 neutron-l3-agent[1591]: Traceback (most recent call last):",
        " " * 51 + 'File "/usr/bin/neutron-l3-agent", line 10, in <module>',
        "                                                     sys.exit(main())",
        "Feb 04 10:08:22 compute4 systemd[1]: neutron-l3-agent.service: Succeeded.",
    ]
    first, second = entries(lines, year=2022)
    assert first.message == ('Traceback (most recent call last):\nFile "/usr/bin/neutron-l3-agent", line 10, '
                             "in <module>\nsys.exit(main())")
    assert [line.number for line in first.continuation] == [2, 3]
    assert second.line.number == 4 and second.continuation == ()


def test_other_short_formats() -> None:
    lines = [
        "2022-02-04T09:34:04+0000 compute4 kernel: Linux version 5.4.0-97-generic",
        "2022-02-04T09:34:04.517012+00:00 compute4 systemd[1]: Reloading.",
        "Fri 2022-02-04 09:34:05 UTC compute4 systemd[1]: Reloading.",
        "Feb 04 09:34:05.000123 compute4 systemd[1]: Reloading.",
        "[    2.589609] compute4 systemd[1]: Inserted module 'autofs4'",
    ]
    found = entries(lines, year=2022)
    assert [e.timestamp for e in found] == [
        datetime(2022, 2, 4, 9, 34, 4),
        datetime(2022, 2, 4, 9, 34, 4, 517012),
        datetime(2022, 2, 4, 9, 34, 5),
        datetime(2022, 2, 4, 9, 34, 5, 123),
        None,
    ]
    assert found[4].monotonic == pytest.approx(2.589609) and found[4].host == "compute4"


def test_json_entries() -> None:
    rows = [
        '{"__REALTIME_TIMESTAMP":"1644484284123456","__MONOTONIC_TIMESTAMP":"17795119","_BOOT_ID":"b1",'
        '"_HOSTNAME":"compute4","SYSLOG_IDENTIFIER":"systemd","_PID":"1","PRIORITY":"6",'
        '"UNIT":"neutron-l3-agent.service","_SYSTEMD_UNIT":"init.scope",'
        '"MESSAGE":"Started OpenStack Neutron L3 agent."}',
        "{not json",
        "[1, 2]",
        '{"MESSAGE":null}',
        '{"__REALTIME_TIMESTAMP":"x","_BOOT_ID":"b2","_COMM":"neutron-server","_PID":"4321",'
        '"MESSAGE":[104,105,255],"_SYSTEMD_UNIT":["neutron-server.service","dup"]}',
        "[" * 100_000 + "]" * 100_000,
        '{"__REALTIME_TIMESTAMP":"999999999999999999999999","MESSAGE":[1,2,300]}',
    ]
    found = list(parse_journal_json(numbered(rows, "journal.json"), utc_offset=timedelta(hours=9)))
    assert [e.line.number for e in found] == [1, 4, 5, 7]
    first = found[0]
    assert first.timestamp == datetime(2022, 2, 10, 18, 11, 24, 123456)
    assert (first.host, first.ident, first.pid, first.priority) == ("compute4", "systemd", 1, 6)
    assert (first.unit, first.systemd_unit) == ("neutron-l3-agent.service", "init.scope")
    assert first.monotonic == 17.795119
    assert found[1].message == "" and found[1].timestamp is None
    third = found[2]
    assert (third.ident, third.pid, third.message) == ("neutron-server", 4321, "hi\ufffd")
    assert third.systemd_unit == "neutron-server.service" and third.timestamp is None
    assert [e.boot for e in found] == [0, 1, 2, 1]
    assert found[3].message == "" and found[3].timestamp is None
    (event,) = unit_events(found)
    assert (event.kind, event.unit, event.description) == (
        UnitEventKind.STARTED, "neutron-l3-agent.service", "OpenStack Neutron L3 agent",
    )


@pytest.mark.parametrize(
    "text",
    ["\x00" * 100, "\ufffd" * 1000, "Feb 04 10:08:21 h systemd[1]: " + "a.service: " * 100_000,
     "Feb 04 10:08:21 h systemd[1]: Started " + "x" * 1_000_000,
     "Feb 04 10:08:21 h systemd[1]: a.service: Killing process 1 (" + ")" * 100_000,
     "Feb 04 10:08:21 h systemd[1]: " + "x" * 500_000 + ".service: " + " timed out" * 50_000],
)
def test_garbage_and_huge_lines(text: str) -> None:
    start = time.perf_counter()
    list(unit_events(entries(["Feb 04 10:08:20 h kernel: ok", text, " continued", "--"], year=2022)))
    assert time.perf_counter() - start < 2
