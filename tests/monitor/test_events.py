"""What watch reacts to, on real records: the seed incident's kernel log and journal, kmsg records."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from ostriage.evidence import numbered
from ostriage.monitor.events import EventKind, KernelKills, journal_event, parse_journal_row
from ostriage.monitor.labels import Target, engine_of_cgroup, target_of
from ostriage.parsers.journal import parse_journal_text
from ostriage.parsers.kmsg import parse_kmsg_record

from .conftest import SEED

DMESG = SEED / "sos_commands" / "kernel" / "dmesg"
JOURNAL = SEED / "sos_commands" / "logs" / "journalctl_--no-pager"
_STAMP = re.compile(r"^\[\s*(\d+)\.(\d+)\] (.*)$")


def kmsg_records(path: Path) -> list[bytes]:
    """The dmesg lines as /dev/kmsg hands them out: ``level,seq,usec,-;message``."""
    out = []
    for seq, line in enumerate(path.read_text().splitlines()):
        m = _STAMP.match(line)
        if m:
            out.append(f"6,{seq},{m.group(1)}{m.group(2)},-;{m.group(3)}\n".encode())
    return out


def test_kernel_kills_of_the_seed_are_neutron_servers_every_one() -> None:
    kills = KernelKills()
    events = [e for raw in kmsg_records(DMESG) if (r := parse_kmsg_record(raw)) and (e := kills.feed(r.message))]
    expected = DMESG.read_text().count("Memory cgroup out of memory: Killed process")
    assert len(events) == expected == 14
    assert {e.target for e in events} == {Target("neutron-server", "neutron-server.service")}
    assert all(e.kind is EventKind.OOM_KILL and e.source == "kmsg" and "Killed process" in e.detail for e in events)


def test_a_kill_without_its_summary_line_falls_back_to_the_process_name() -> None:
    kills = KernelKills()
    # the summary of another pid does not attribute this kill
    assert kills.feed("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
                      "task_memcg=/system.slice/mariadb.service,task=mariadbd,pid=700,uid=106") is None
    event = kills.feed("Out of memory: Killed process 812 (neutron-server) total-vm:2306164kB, anon-rss:2091520kB")
    assert event is not None and event.target == Target("neutron-server", "")
    assert kills.feed("Out of memory: Killed process 9 (python3)").target == Target()  # type: ignore[union-attr]


def test_container_cgroups_give_the_engine_never_the_id() -> None:
    kills = KernelKills()
    scope = "/system.slice/docker-9f3c1b2a7d4e5f60718293a4b5c6d7e8f9012345678901234567890abcdef12.scope"
    kills.feed(f"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg={scope},"
               f"task_memcg={scope},task=neutron-server,pid=4242,uid=42435")
    event = kills.feed("Memory cgroup out of memory: Killed process 4242 (neutron-server) total-vm:1kB")
    assert event is not None
    assert event.target == Target("neutron-server", "", "", "docker")
    assert engine_of_cgroup("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
                            "cri-containerd-0123456789abcdef0123.scope") == "containerd"
    assert engine_of_cgroup("/machine.slice/libpod-conmon-0123456789abcdef.scope") == "podman"


def test_the_seed_journal_gives_restarts_and_exits_of_neutron_server() -> None:
    entries = list(parse_journal_text(numbered(JOURNAL.read_text().splitlines(), str(JOURNAL)), year=2026))
    events = [e for entry in entries if (e := journal_event(entry))]
    by_kind = Counter((e.kind, e.target.unit) for e in events)
    assert by_kind[(EventKind.RESTART, "neutron-server.service")] == JOURNAL.read_text().count(
        "neutron-server.service: Scheduled restart job") == 7
    assert by_kind[(EventKind.EXIT, "neutron-server.service")] >= 7  # code=killed, status=9/KILL
    assert all(e.target.service for e in events if e.kind is not EventKind.UNIT_CHANGE)
    assert (EventKind.UNIT_CHANGE, "neutron-server.service") in by_kind


def test_journal_json_rows() -> None:
    row = {"__REALTIME_TIMESTAMP": "1764050066000000", "_PID": "1", "SYSLOG_IDENTIFIER": "systemd",
           "UNIT": "neutron-server.service", "_HOSTNAME": "ostlab-controller",
           "MESSAGE": "neutron-server.service: Scheduled restart job, restart counter is at 3."}
    entry = parse_journal_row(json.dumps(row))
    assert entry is not None
    event = journal_event(entry)
    assert event is not None and event.kind is EventKind.RESTART
    assert event.target == target_of("neutron-server.service")
    assert parse_journal_row("not json") is None
    # systemd's cgroup v2 OOM notice, and a transient unit nobody could put a label on
    notice = {**row, "MESSAGE": "neutron-server.service: A process of this unit has been killed by the OOM killer."}
    assert journal_event(parse_journal_row(json.dumps(notice))).kind is EventKind.OOM_KILL  # type: ignore[arg-type,union-attr]
    transient = {**row, "UNIT": "run-r1a2b3.service", "MESSAGE": "run-r1a2b3.service: Scheduled restart job, "
                 "restart counter is at 1."}
    assert journal_event(parse_journal_row(json.dumps(transient))) is None  # type: ignore[arg-type]
