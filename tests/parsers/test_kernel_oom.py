"""Kernel OOM blocks: the real 6.18 lines of evidence-formats.md, and every variant built from the
kernel's own format strings (mm/oom_kill.c dump_task/dump_header/__oom_kill_process/oom_reap_task_mm,
mm/memcontrol.c mem_cgroup_print_oom_context/_meminfo) with each prefix style."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from ostriage.evidence import Line, numbered
from ostriage.parsers import kernel_oom
from ostriage.parsers.journal import parse_journal_json, parse_journal_text
from ostriage.parsers.kernel_oom import (
    Constraint,
    OomEvent,
    oom_events_from_journal,
    parse_oom_events,
    unit_from_cgroup,
)

# dump_task() formats, copied from the kernel (C length modifiers dropped).
ROW_6X = "[%7d] %5d %5d %8d %8d %8d %8d %9d %8d %8d         %5d %s"  # 6.x: rss_anon/file/shmem
ROW_5X = "[%7d] %5d %5d %8d %8d %8d %8d         %5d %s"  # 4.19 .. 5.x: pgtables_bytes
ROW_4X = "[%5d] %5d %5d %8d %8d %7d %7d %8d         %5d %s"  # 4.x: nr_ptes nr_pmds
ROW_3X = "[%5d] %5d %5d %8d %8d %7d %8d         %5d %s"  # 3.10: nr_ptes
HEAD_6X = "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name"  # noqa: E501
HEAD_5X = "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"
HEAD_4X = "[ pid ]   uid  tgid total_vm      rss nr_ptes nr_pmds swapents oom_score_adj name"
HEAD_3X = "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name"

# Real lines, evidence-formats.md (memory-cgroup OOM on kernel 6.18, this project's machine).
REAL_618 = """\
[ 3502.297970] python invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
[ 3502.298161] memory: usage 8388608kB, limit 8388608kB, failcnt 11855
[ 3502.298173] memory+swap: usage 8388608kB, limit 9007199254740988kB, failcnt 0
[ 3502.298294] Tasks state (memory values in pages):
[ 3502.298305] [  22426]     0 22426  2145929  2098697  2092847     5850         0 17039360        0             0 python
[ 3502.298310] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/lab_neutron,task_memcg=/lab_neutron,task=python,pid=22426,uid=0
[ 3502.298345] Memory cgroup out of memory: Killed process 22426 (python) total-vm:8583716kB, anon-rss:8371388kB, file-rss:23400kB, shmem-rss:0kB, UID:0 pgtables:16640kB oom_score_adj:0
"""  # noqa: E501


REAPED_22426 = "oom_reaper: reaped process 22426 (python), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB"


def events(text: str | list[str], path: str = "var/log/kern.log", year: int | None = 2025) -> list[OomEvent]:
    return list(parse_oom_events(numbered(text, path), year=year))


def kern(prefix: str, lines: list[str]) -> list[str]:
    return [prefix + line for line in lines]


def test_real_618_memcg_block() -> None:
    (e,) = events(REAL_618, "sos_commands/kernel/dmesg")
    assert (e.trigger_comm, e.gfp_mask, e.gfp_flags, e.order, e.trigger_oom_score_adj) == (
        "python", 0xCC0, "GFP_KERNEL", 0, 0,
    )
    assert e.constraint is Constraint.MEMCG and e.memcg_oom
    assert (e.oom_memcg, e.task_memcg, e.unit) == ("/lab_neutron", "/lab_neutron", None)
    assert (e.victim_pid, e.victim_comm, e.victim_uid) == (22426, "python", 0)
    assert (e.total_vm_kb, e.anon_rss_kb, e.file_rss_kb, e.shmem_rss_kb) == (8583716, 8371388, 23400, 0)
    assert (e.pgtables_kb, e.victim_oom_score_adj, e.score) == (16640, 0, None)
    assert (e.memcg_usage_kb, e.memcg_limit_kb, e.memcg_failcnt) == (8388608, 8388608, 11855)
    assert e.memory is not None and not e.memory.unlimited
    assert e.memory_swap is not None and e.memory_swap.unlimited and e.memory_swap.usage_kb == 8388608
    (task,) = e.tasks
    assert (task.pid, task.uid, task.tgid) == (22426, 0, 22426)
    assert (task.total_vm_pages, task.rss_pages) == (2145929, 2098697)
    assert (task.rss_anon_pages, task.rss_file_pages, task.rss_shmem_pages) == (2092847, 5850, 0)
    assert (task.pgtables_bytes, task.swapents, task.oom_score_adj, task.name) == (17039360, 0, 0, "python")
    assert task.line.number == 5
    assert e.monotonic == pytest.approx(3502.29797) and e.timestamp is None
    assert e.trigger_line is not None and e.trigger_line.number == 1
    assert e.kill_line is not None and e.kill_line.cite() == "sos_commands/kernel/dmesg:7"
    assert e.summary_line is not None and e.summary_line.number == 6
    assert [line.number for line in e.lines] == [1, 2, 3, 4, 5, 6, 7]
    assert e.complete and not e.reaped and e.citation == e.kill_line


def focal_global_oom(prefix: str = "Nov 21 14:22:56 ctl kernel: [183224.118041] ") -> list[str]:
    """A global OOM as Ubuntu focal's 5.4 prints it, with the incident's neutron-server sizes."""
    return kern(prefix, [
        "neutron-server invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, "
        "oom_score_adj=0",
        "CPU: 3 PID: 40211 Comm: neutron-server Not tainted 5.4.0-97-generic #110-Ubuntu",
        "Call Trace:",
        " dump_stack+0x6d/0x8b",
        " dump_header+0x4f/0x1eb",
        " oom_kill_process.cold+0xb/0x10",
        " out_of_memory+0x1cf/0x4d0",
        "Mem-Info:",
        "active_anon:2904113 inactive_anon:16233 isolated_anon:0",
        "Free swap  = 0kB",
        "4194165 pages RAM",
        "Tasks state (memory values in pages):",
        HEAD_5X,
        ROW_5X % (412, 0, 412, 35284, 1153, 294912, 0, -250, "systemd-journal"),
        ROW_5X % (2212, 111, 2212, 620213, 90431, 1490944, 0, 0, "mysqld"),
        ROW_5X % (40211, 64060, 40211, 3148221, 2915332, 23711744, 0, 0, "neutron-server"),
        "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
        "task_memcg=/system.slice/neutron-server.service,task=neutron-server,pid=40211,uid=64060",
        "Out of memory: Killed process 40211 (neutron-server) total-vm:12592884kB, anon-rss:11661328kB, "
        "file-rss:0kB, shmem-rss:0kB, UID:64060 pgtables:23156kB oom_score_adj:0",
        "oom_reaper: reaped process 40211 (neutron-server), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
    ])


def test_global_oom_names_the_victims_unit_and_is_reaped() -> None:
    (e,) = events(focal_global_oom())
    assert e.constraint is Constraint.NONE and not e.memcg_oom
    assert e.oom_memcg is None and e.task_memcg == "/system.slice/neutron-server.service"
    assert e.unit == e.task_unit == "neutron-server.service" and e.oom_unit is None
    assert (e.victim_pid, e.victim_uid, e.total_vm_kb, e.anon_rss_kb) == (40211, 64060, 12592884, 11661328)
    assert e.memory is None and e.memcg_usage_kb is None
    assert e.reaped and e.reaped_anon_rss_kb == 0
    assert e.timestamp == datetime(2025, 11, 21, 14, 22, 56)
    assert e.host == "ctl"
    assert [t.name for t in e.tasks] == ["systemd-journal", "mysqld", "neutron-server"]
    neutron = e.tasks[2]
    assert neutron.rss_pages * 4 == e.anon_rss_kb and neutron.pgtables_bytes == 23711744
    assert neutron.rss_anon_pages is None and e.tasks[0].oom_score_adj == -250
    assert len(e.lines) == 19 and e.lines[-1].text.endswith("shmem-rss:0kB")


def test_old_kernel_kill_process_score_or_sacrifice_child() -> None:
    lines = kern("Mar  2 11:04:11 ctl kernel: [ 9912.221312] ", [
        "neutron-server invoked oom-killer: gfp_mask=0x24201ca, order=0, oom_score_adj=0",
        HEAD_4X,
        ROW_4X % (1234, 118, 1234, 3148221, 2915333, 5578, 13, 0, 0, "neutron-server"),
        ROW_4X % (1250, 118, 1250, 900000, 600000, 1200, 6, 0, 0, "neutron-server"),
        "Out of memory: Kill process 1234 (neutron-server) score 912 or sacrifice child",
        "Killed process 1250 (neutron-server) total-vm:3600000kB, anon-rss:2400000kB, file-rss:4kB, "
        "shmem-rss:0kB",
    ])
    (e,) = events(lines, year=2017)
    assert e.constraint is None and not e.memcg_oom and e.summary_line is None
    assert (e.score, e.selected_pid) == (912, 1234)
    assert (e.victim_pid, e.victim_comm) == (1250, "neutron-server")
    assert (e.anon_rss_kb, e.shmem_rss_kb) == (2400000, 0)
    assert e.victim_uid is None and e.pgtables_kb is None and e.victim_oom_score_adj is None
    assert e.gfp_mask == 0x24201CA and e.gfp_flags is None
    assert [(t.pid, t.rss_pages, t.pgtables_bytes, t.swapents) for t in e.tasks] == [
        (1234, 2915333, None, 0), (1250, 600000, None, 0),
    ]
    assert e.kill_line is not None and e.kill_line.number == 6


def test_rhel7_memcg_v1_task_in_and_uid_in_kill_line() -> None:
    lines = kern("May 12 03:10:44 ctl kernel: ", [
        "neutron-server invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=0",
        "neutron-server cpuset=/ mems_allowed=0",
        "Task in /system.slice/neutron-server.service killed as a result of limit of "
        "/system.slice/neutron-server.service",
        "memory: usage 2097152kB, limit 2097152kB, failcnt 5121",
        "memory+swap: usage 2097152kB, limit 9007199254740988kB, failcnt 0",
        "kmem: usage 0kB, limit 9007199254740988kB, failcnt 0",
        "Memory cgroup stats for /system.slice/neutron-server.service: cache:0KB rss:2097152KB rss_huge:0KB",
        HEAD_3X,
        ROW_3X % (4321, 995, 4321, 576541, 524288, 1060, 0, 0, "neutron-server"),
        "Memory cgroup out of memory: Kill process 4321 (neutron-server) score 1001 or sacrifice child",
        "Killed process 4321 (neutron-server), UID 995, total-vm:2306164kB, anon-rss:2091520kB, "
        "file-rss:5628kB, shmem-rss:0kB",
    ])
    (e,) = events(lines, year=2021)
    assert e.memcg_oom and e.constraint is None
    assert e.oom_memcg == e.task_memcg == "/system.slice/neutron-server.service"
    assert e.oom_unit == "neutron-server.service"
    assert (e.victim_pid, e.victim_uid, e.total_vm_kb, e.score) == (4321, 995, 2306164, 1001)
    assert (e.memcg_limit_kb, e.memcg_failcnt) == (2097152, 5121)
    assert e.kmem is not None and e.kmem.usage_kb == 0 and e.kmem.unlimited
    assert e.tasks[0].pgtables_bytes is None and e.tasks[0].rss_pages == 524288
    assert e.timestamp == datetime(2021, 5, 12, 3, 10, 44)


def test_cgroup_v2_without_memory_lines_dmesg_t() -> None:
    lines = kern("[Fri Nov 21 14:22:56 2025] ", [
        "neutron-server invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        "Tasks state (memory values in pages):",
        HEAD_6X,
        ROW_6X % (40211, 64060, 40211, 576541, 524288, 522880, 1408, 0, 4505600, 0, 0, "neutron-server"),
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
        "oom_memcg=/system.slice/neutron-server.service,task_memcg=/system.slice/neutron-server.service,"
        "task=neutron-server,pid=40211,uid=64060",
        "Memory cgroup out of memory: Killed process 40211 (neutron-server) total-vm:2306164kB, "
        "anon-rss:2091520kB, file-rss:5632kB, shmem-rss:0kB, UID:64060 pgtables:4400kB oom_score_adj:0",
    ])
    (e,) = events(lines, "sos_commands/kernel/dmesg_-T", year=None)
    assert e.memory is None and e.memcg_oom
    assert e.oom_unit == e.task_unit == "neutron-server.service"
    assert e.timestamp == datetime(2025, 11, 21, 14, 22, 56)
    (task,) = e.tasks
    assert task.rss_anon_pages is not None and task.rss_anon_pages * 4 == e.anon_rss_kb
    assert task.rss_file_pages is not None and task.rss_file_pages * 4 == e.file_rss_kb
    assert task.pgtables_bytes is not None and task.pgtables_bytes // 1024 == e.pgtables_kb


def test_journal_short_iso_mixed_idents_nested_memcg_v2_swap() -> None:
    lines = [
        "-- Logs begin at Fri 2025-11-21 00:00:01 UTC, end at Fri 2025-11-21 15:00:00 UTC. --",
        "2025-11-21T14:22:56+0000 ctl kernel: python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), "
        "order=0, oom_score_adj=0",
        "2025-11-21T14:22:56+0000 ctl neutron-server[40211]: 2025-11-21 14:22:56.101 40211 INFO "
        "neutron.plugins.ml2.drivers.type_tunnel [-] geneve ID ranges: [(1, 16777215)]",
        "2025-11-21T14:22:56+0000 ctl kernel: memory: usage 2097152kB, limit 2097152kB, failcnt 77",
        "2025-11-21T14:22:56+0000 ctl kernel: swap: usage 0kB, limit 0kB, failcnt 0",
        "2025-11-21T14:22:56+0000 ctl kernel: Memory cgroup stats for "
        "/system.slice/neutron-server.service/lab_limit:",
        "2025-11-21T14:22:56+0000 ctl kernel: anon 2141192192",
        "2025-11-21T14:22:56+0000 ctl kernel: oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,"
        "mems_allowed=0,oom_memcg=/system.slice/neutron-server.service/lab_limit,"
        "task_memcg=/system.slice/neutron-server.service/lab_limit,task=python3,pid=40211,uid=0",
        "2025-11-21T14:22:56+0000 ctl systemd[1]: neutron-server.service: A process of this unit has been "
        "killed by the OOM killer.",
        "2025-11-21T14:22:56+0000 ctl kernel: Memory cgroup out of memory: Killed process 40211 (python3) "
        "total-vm:2306164kB, anon-rss:2091520kB, file-rss:5632kB, shmem-rss:0kB, UID:0 pgtables:4400kB "
        "oom_score_adj:0",
        "2025-11-21T14:22:57+0000 ctl systemd[1]: neutron-server.service: Main process exited, code=killed, "
        "status=9/KILL",
        "2025-11-21T14:22:57+0000 ctl kernel: oom_reaper: reaped process 40211 (python3), now anon-rss:0kB, "
        "file-rss:0kB, shmem-rss:0kB",
    ]
    (e,) = events(lines, "sos_commands/logs/journalctl_--no-pager", year=None)
    assert e.unit == "neutron-server.service" and e.victim_comm == "python3"
    assert e.swap is not None and e.swap.limit_kb == 0 and e.memory_swap is None
    assert e.reaped
    assert [line.number for line in e.lines] == [2, 4, 5, 6, 7, 8, 10, 12]
    assert e.timestamp == datetime(2025, 11, 21, 14, 22, 56)


def test_memcg_oom_on_focal_syslog_names_limit_unit() -> None:
    lines = kern("Feb 10 09:11:24 compute4 kernel: [ 4931.803472] ", [
        "neutron-server invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        "memory: usage 2097152kB, limit 2097152kB, failcnt 3",
        "memory+swap: usage 2097152kB, limit 9007199254740988kB, failcnt 0",
        "kmem: usage 13200kB, limit 9007199254740988kB, failcnt 0",
        "Memory cgroup stats for /system.slice/neutron-server.service: cache:0KB rss:2083952KB",
        HEAD_5X,
        ROW_5X % (40211, 64060, 40211, 576541, 524288, 4505600, 0, 0, "neutron-server"),
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
        "oom_memcg=/system.slice/neutron-server.service,task_memcg=/system.slice/neutron-server.service,"
        "task=neutron-server,pid=40211,uid=64060",
        "Memory cgroup out of memory: Killed process 40211 (neutron-server) total-vm:2306164kB, "
        "anon-rss:2091520kB, file-rss:5632kB, shmem-rss:0kB, UID:64060 pgtables:4400kB oom_score_adj:0",
    ])
    (e,) = events(lines, year=2022)
    assert e.oom_unit == "neutron-server.service" and e.memcg_limit_kb == 2 * 1024 * 1024
    assert e.monotonic == pytest.approx(4931.803472) and e.timestamp == datetime(2022, 2, 10, 9, 11, 24)


def killed(pid: int, uid: int = 64060) -> str:
    return (f"Memory cgroup out of memory: Killed process {pid} (neutron-server) total-vm:2306164kB, "
            f"anon-rss:{pid}kB, file-rss:0kB, shmem-rss:0kB, UID:{uid} pgtables:4400kB oom_score_adj:0")


def test_memory_oom_group_kill_gives_one_event_per_task() -> None:
    """systemd's OOMPolicy=kill sets memory.oom.group: the kernel kills every task of the unit."""
    unit = "/system.slice/neutron-server.service"
    lines = kern("[  812.100000] ", [
        "neutron-server invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        "memory: usage 2097152kB, limit 2097152kB, failcnt 12",
        f"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg={unit},"
        f"task_memcg={unit},task=neutron-server,pid=501,uid=64060",
        killed(501),
        f"Tasks in {unit} are going to be killed due to memory.oom.group set",
        killed(502),
        killed(503, uid=0),
        "oom_reaper: reaped process 503 (neutron-server), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
    ])
    first, second, third = events(lines)
    assert [(e.victim_pid, e.anon_rss_kb, e.victim_uid) for e in (first, second, third)] == [
        (501, 501, 64060), (502, 502, 64060), (503, 503, 0),
    ]
    assert {e.oom_group for e in (first, second, third)} == {unit}
    assert {e.oom_unit for e in (first, second, third)} == {"neutron-server.service"}
    assert first.task_memcg == unit and second.task_memcg is None
    assert second.memcg_limit_kb == 2097152 and second.trigger_comm == "neutron-server"
    assert [line.number for line in second.lines] == [1, 3, 5, 6]
    assert (first.reaped, second.reaped, third.reaped) == (False, False, True)


def test_oom_kill_allocating_task_is_global() -> None:
    (e,) = events(["Out of memory (oom_kill_allocating_task): Killed process 9 (x) total-vm:4kB, "
                   "anon-rss:4kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0"])
    assert not e.memcg_oom and e.victim_pid == 9 and e.trigger_line is None and not e.complete


def test_very_old_kill_line_without_sizes() -> None:
    (e,) = events(["Out of Memory: Killed process 2592 (mysqld)."])
    assert (e.victim_pid, e.victim_comm, e.anon_rss_kb) == (2592, "mysqld", None)


def two_blocks() -> list[str]:
    first = REAL_618.splitlines()
    second = [line.replace("22426", "22501").replace("[ 3502.", "[ 3511.") for line in first]
    reap = "[ 3502.311000] " + REAPED_22426
    return [*first, "[ 3502.300000] audit: type=1400 apparmor=\"DENIED\"", reap, *second]


def test_back_to_back_blocks() -> None:
    first, second = events(two_blocks())
    assert (first.victim_pid, first.reaped) == (22426, True)
    assert (second.victim_pid, second.reaped) == (22501, False)
    assert first.lines[-1].number == 9 and "audit" not in "".join(line.text for line in first.lines)
    assert second.trigger_line is not None and second.trigger_line.number == 10


def test_next_trigger_closes_an_unreaped_block() -> None:
    first = REAL_618.splitlines()
    assert [e.victim_pid for e in events(first + first)] == [22426, 22426]


def test_truncated_start_emits_what_remains() -> None:
    tail = REAL_618.splitlines()[3:]  # log cut inside the tasks table
    (e,) = events(tail)
    assert e.trigger_line is None and e.trigger_comm is None and not e.complete
    assert e.tasks == () and e.victim_pid == 22426 and e.unit is None
    assert e.summary_line is not None and e.citation == e.kill_line


def test_truncated_end_emits_what_was_seen() -> None:
    head = REAL_618.splitlines()[:5]  # cut before the summary
    (e,) = events(head)
    assert e.kill_line is None and e.victim_pid is None and not e.complete
    assert e.tasks[0].name == "python" and e.memcg_oom  # from the memory: counter
    assert e.citation == e.trigger_line


def test_reaper_of_another_pid_is_not_attached_nor_an_event() -> None:
    lines = [*REAL_618.splitlines(), "[ 3502.31] oom_reaper: reaped process 999 (other), now anon-rss:0kB, "
             "file-rss:0kB, shmem-rss:0kB"]
    (e,) = events(lines)
    assert not e.reaped


def test_reaper_outside_window_is_not_attached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernel_oom, "REAPER_WINDOW", 2)
    lines = [*REAL_618.splitlines(), "[ 3503.0] a", "[ 3503.1] b", "[ 3503.2] c",
             "[ 3503.3] " + REAPED_22426]
    (e,) = events(lines)
    assert not e.reaped


def test_summary_split_by_pr_cont() -> None:
    lines = kern("Nov 21 14:22:56 ctl kernel: ", [
        "neutron-server invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0",
        ",oom_memcg=/system.slice/neutron-server.service,task_memcg=/system.slice/neutron-server.service,"
        "task=neutron-server,pid=40211,uid=64060",
        "Memory cgroup out of memory: Killed process 40211 (neutron-server) total-vm:4kB, anon-rss:4kB, "
        "file-rss:0kB, shmem-rss:0kB, UID:64060 pgtables:4kB oom_score_adj:0",
    ])
    (e,) = events(lines)
    assert e.oom_unit == "neutron-server.service" and e.victim_uid == 64060 and len(e.lines) == 4


def test_rows_without_header_are_read_by_column_count() -> None:
    lines = [
        "[ 1.0] x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        "[ 1.1] " + ROW_6X % (10, 0, 10, 100, 50, 40, 10, 0, 8192, 0, 0, "python3"),
        "[ 1.2] " + ROW_4X % (11, 0, 11, 100, 50, 7, 3, 0, -1000, "sshd"),
        "[ 1.3] " + ROW_5X % (12, 0, 12, 100, 50, 8192, 0, 0, "1234"),
    ]
    (e,) = events(lines)
    assert [(t.pid, t.name, t.rss_anon_pages, t.pgtables_bytes, t.oom_score_adj) for t in e.tasks] == [
        (10, "python3", 40, 8192, 0), (11, "sshd", None, None, -1000), (12, "1234", None, 8192, 0),
    ]


def test_task_names_with_spaces() -> None:
    lines = ["[ 1.0] " + HEAD_5X, "[ 1.1] " + ROW_5X % (2279, 1000, 2279, 1401628, 423539, 4882432, 0, 0,
                                                          "Web Content")]
    lines.insert(0, "[ 0.9] Web Content invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, "
                    "oom_score_adj=0")
    (e,) = events(lines)
    assert e.trigger_comm == "Web Content" and e.tasks[0].name == "Web Content"


def test_caps_on_rows_and_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernel_oom, "MAX_TASKS", 2)
    monkeypatch.setattr(kernel_oom, "MAX_LINES", 3)
    lines = focal_global_oom()
    (e,) = events(lines)
    assert len(e.tasks) == 2 and e.tasks_omitted == 1
    kept = [line.number for line in e.lines]
    assert kept == [1, 2, 3, 13, 17, 18, 19]  # three lines, then only the OOM lines themselves (13: header)
    assert e.lines_omitted == 12


def test_unfinished_block_closed_after_span(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernel_oom, "MAX_SPAN", 5)
    lines = [REAL_618.splitlines()[0], *(f"[ 3503.{i}] noise" for i in range(10)), REAL_618.splitlines()[-1]]
    first, second = events(lines)
    assert first.kill_line is None and first.trigger_line is not None
    assert second.trigger_line is None and second.victim_pid == 22426


def test_non_kernel_lines_never_open_a_block() -> None:
    lines = [
        "Feb 04 10:08:21 compute4 python3[77]: Out of memory: Killed process 1 (x) total-vm:1kB, "
        "anon-rss:1kB, file-rss:1kB",
        "Feb 04 10:08:21 compute4 Out of memory: Killed process 1 (x) total-vm:1kB, anon-rss:1kB, "
        "file-rss:1kB",
    ]
    assert events(lines, year=2022) == []


def test_garbage_binary_and_huge_lines_inside_a_block() -> None:
    block = REAL_618.splitlines()
    lines = [block[0], "\x00\x00\ufffd\ufffd" * 1000, "[ 3502.2981] " + "A" * 1_000_000, *block[1:]]
    (e,) = events(lines)
    assert e.victim_pid == 22426 and e.complete


def test_pathological_line_is_fast() -> None:
    text = "[ 1.0] Out of memory: " + "Killed process 1 (" * 60_000 + "Kill process 2 ("
    start = time.perf_counter()
    assert events([text, "x invoked oom-killer: " * 50_000, "oom-kill:" + ",task=" * 100_000]) != []
    assert time.perf_counter() - start < 5


def test_from_journal_json_entries() -> None:
    rows = [
        '{"__REALTIME_TIMESTAMP":"1763734976000000","_HOSTNAME":"ctl","SYSLOG_IDENTIFIER":"kernel",'
        '"MESSAGE":"python invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0"}',
        '{"__REALTIME_TIMESTAMP":"1763734976000100","SYSLOG_IDENTIFIER":"systemd","_PID":"1",'
        '"MESSAGE":"oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),task=a,pid=1,uid=0"}',
        '{"__REALTIME_TIMESTAMP":"1763734976000200","SYSLOG_IDENTIFIER":"kernel","MESSAGE":"Out of memory: '
        'Killed process 22426 (python) total-vm:8583716kB, anon-rss:8371388kB, file-rss:23400kB, '
        'shmem-rss:0kB, UID:0 pgtables:16640kB oom_score_adj:0"}',
    ]
    (e,) = oom_events_from_journal(parse_journal_json(numbered(rows, "journal.json")))
    assert e.timestamp == datetime(2025, 11, 21, 14, 22, 56) and e.host == "ctl"
    assert e.summary_line is None and e.kill_line == Line("journal.json", 3, rows[2])
    assert e.anon_rss_kb == 8371388 and e.complete


def test_from_journal_text_entries() -> None:
    messages = [line.split("] ", 1)[1] for line in REAL_618.splitlines()]  # as the journal stores them
    rows = kern("Nov 21 14:22:56 ctl kernel: ", messages)
    (e,) = oom_events_from_journal(parse_journal_text(numbered(rows), year=2025))
    assert e.victim_pid == 22426 and e.tasks[0].rss_pages == 2098697 and e.monotonic is None


@pytest.mark.parametrize(
    ("path", "unit"),
    [
        ("/system.slice/neutron-server.service", "neutron-server.service"),
        ("/system.slice/neutron-server.service/lab_limit", "neutron-server.service"),
        ("/user.slice/user-1000.slice/user@1000.service/app.slice/run-u820.service", "run-u820.service"),
        ("/system.slice", "system.slice"),
        ("/system.slice/docker-60ef727c9751.scope", "docker-60ef727c9751.scope"),
        ("/docker/34186d9bd07706222bd427bb647ceed81e8e108eb653ff73c7137099fca1cab6", None),
        ("/", None),
    ],
)
def test_unit_from_cgroup(path: str, unit: str | None) -> None:
    assert unit_from_cgroup(path) == unit


@pytest.mark.parametrize(
    "name",
    ["var/log/kern.log", "var/log/syslog", "sos_commands/kernel/dmesg", "var/log/dmesg",
     "sos_commands/logs/journalctl_--no-pager", "sos_commands/logs/journalctl_--no-pager_--catalog_--boot"],
)
def test_real_ussuri_logs_have_no_oom(ussuri_sos: Path, name: str) -> None:
    """The fixture is a healthy compute node: not one OOM event may be invented from its logs."""
    with (ussuri_sos / name).open(errors="replace") as f:
        found = list(parse_oom_events(numbered(f, name), year=2022))
    assert found == []


def test_real_kern_log_with_a_block_spliced_in(ussuri_sos: Path) -> None:
    """A real OOM block inside the real kern.log: found once, with the real lines around it left out."""
    real = (ussuri_sos / "var/log/kern.log").read_text(errors="replace").splitlines()
    block = focal_global_oom("Feb  4 10:08:09 compute4 kernel: [ 2040.100000] ")
    lines = real[:1500] + block + real[1500:]
    (e,) = events(lines, year=2022)
    assert e.trigger_line is not None and e.trigger_line.number == 1501
    assert e.kill_line is not None and e.kill_line.number == 1518
    assert e.timestamp == datetime(2022, 2, 4, 10, 8, 9) and e.reaped


def test_no_killable_processes_ends_the_block_without_a_victim() -> None:
    """Linux 5.15 mm/oom_kill.c out_of_memory(): every task in the memcg is at oom_score_adj -1000."""
    log = [
        "[28353.679871] neutron-server invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=-1000",
        "[28353.680101] memory: usage 2097152kB, limit 2097152kB, failcnt 912345",
        "[28353.680252] Out of memory and no killable processes...",
        "[28353.680402] Huh VM_FAULT_OOM leaked out to the #PF handler. Retrying PF",
        "[28366.979871] neutron-server invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=-1000",
        "[28366.980252] Out of memory and no killable processes...",
    ]
    events = list(parse_oom_events(numbered(log, "sos_commands/kernel/dmesg")))
    assert [e.no_killable_line.number for e in events if e.no_killable_line] == [3, 6]
    assert all(e.victim_pid is None and e.kill_line is None for e in events)
    assert events[0].memcg_limit_kb == 2097152
