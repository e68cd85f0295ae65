"""ps parsers: the real ps_auxwwwm and ps axo ... cgroup files of the ussuri sosreport, plus ps auxfwww,
cgroup v2 and worker-title variants (real procps-ng 4.0.2 lines from this project's machine where noted)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ostriage.evidence import Line, numbered
from ostriage.parsers.ps import (
    ProcessTitle,
    parse_cgroup,
    parse_process_title,
    parse_ps_aux,
    parse_ps_columns,
    program_of,
)

PROCESS = "sos_commands/process"
AXO = f"{PROCESS}/ps_axo_pid_ppid_user_group_lwp_nlwp_start_time_comm_cgroup"


def _lines(root: Path, rel: str) -> Iterator[Line]:
    with open(root / rel, encoding="utf-8", errors="replace") as handle:
        yield from numbered(handle, rel)


def test_real_ps_auxwwwm(ussuri_sos: Path) -> None:
    processes = {p.pid: p for p in parse_ps_aux(_lines(ussuri_sos, f"{PROCESS}/ps_auxwwwm"))}
    text = (ussuri_sos / f"{PROCESS}/ps_auxwwwm").read_text().splitlines()
    assert len(processes) == sum(1 for t in text[1:] if t.split()[1] != "-")
    agent = processes[1603]
    assert (agent.user, agent.cpu_percent, agent.mem_percent, agent.vsz_kb, agent.rss_kb) == (
        "neutron", 0.2, 0.8, 150604, 131276)
    assert (agent.tty, agent.start, agent.time, agent.threads, agent.stat) == ("?", "Feb09", "2:38", 1, "Ss")
    assert agent.command is not None and agent.command.startswith(
        "/usr/bin/python3 /usr/bin/neutron-openvswitch-agent --config-file=/etc/neutron/neutron.conf")
    assert agent.program == "neutron-openvswitch-agent" and agent.title is None
    assert agent.line.number == 289 and agent.line.path == f"{PROCESS}/ps_auxwwwm"
    assert processes[53085].program == "nova-compute" and processes[53085].threads == 22
    assert processes[53085].stat == "Ssl"
    assert processes[2].command == "[kthreadd]" and processes[2].program == "kthreadd"
    assert processes[1].ppid is None and processes[1].cgroup is None


def test_real_ps_axo_with_cgroups(ussuri_sos: Path) -> None:
    processes = {p.pid: p for p in parse_ps_columns(_lines(ussuri_sos, AXO))}
    assert len(processes) == 450
    agent = processes[1603]
    assert (agent.ppid, agent.user, agent.group, agent.threads, agent.start, agent.comm) == (
        1, "neutron", "neutron", 1, "Feb09", "/usr/bin/python")
    assert agent.unit == "neutron-openvswitch-agent.service"
    assert agent.memory_cgroup == "/system.slice/neutron-openvswitch-agent.service"
    assert agent.cgroup is not None
    assert ("cpu,cpuacct", "/system.slice/neutron-openvswitch-agent.service") in agent.cgroup.entries
    assert agent.command is None and agent.program is None
    # privsep-helper runs as root but belongs to the agent's unit.
    helper = processes[6281]
    assert helper.comm == "privsep-helper" and helper.unit == "neutron-openvswitch-agent.service"
    assert processes[1].unit == "init.scope"
    assert processes[2].cgroup is None and processes[2].unit is None
    worker = processes[1654]
    assert worker.ppid == 977 and worker.unit == "neutron-metadata-agent.service"


# Real lines of "ps auxfwww" (procps-ng 4.0.2) with neutron rows in the same layout.
AUXF = [
    "USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND",
    "root         2  0.0  0.0      0     0 ?        S    04:09   0:00 [kthreadd]",
    "root         3  0.0  0.0      0     0 ?        S    04:09   0:00  \\_ [pool_workqueue_release]",
    "neutron  40211 99.0 61.2 12108488 9729572 ?    Ss   02:50   5:12 /usr/bin/python3 "
    "/usr/bin/neutron-server "
    "--config-file=/etc/neutron/neutron.conf --config-file=/etc/neutron/plugins/ml2/ml2_conf.ini",
    "neutron  40230  0.1  0.9 412000 150000 ?       S    02:55   0:01  \\_ neutron-server: api worker "
    "(/usr/bin/python3 /usr/bin/neutron-server --config-file=/etc/neutron/neutron.conf)",
    "neutron  40231  0.1  0.9 412000 150000 ?       S    02:55   0:01  |   \\_ neutron-server: rpc worker",
]


def test_ps_auxfwww_forest_and_worker_titles() -> None:
    processes = list(parse_ps_aux(numbered(AUXF, "ps_auxfwww")))
    assert [p.pid for p in processes] == [2, 3, 40211, 40230, 40231]
    assert processes[1].command == "[pool_workqueue_release]"
    server, api, rpc = processes[2:]
    assert server.rss_kb == 9729572 and server.vsz_kb == 12108488 and server.program == "neutron-server"
    assert server.threads is None and server.title is None
    assert api.command is not None and api.command.startswith("neutron-server: api worker (")
    parent = "/usr/bin/python3 /usr/bin/neutron-server --config-file=/etc/neutron/neutron.conf"
    assert api.title == ProcessTitle("neutron-server", "api worker", parent)
    assert rpc.title == ProcessTitle("neutron-server", "rpc worker", None)  # setproctitle = brief
    assert rpc.program == "neutron-server"


def test_ps_m_threads_fold_into_their_process() -> None:
    # Real "ps auxwwwm" rows (procps-ng 4.0.2): the process line has STAT "-", threads follow.
    lines = [
        "USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND",
        "root         1  0.2  0.0  37380 10628 ?        -    04:09   0:02 /process_api --firecracker-init",
        "root         -  0.2    -      -     - -        S<Ll 04:09   0:02 -",
        "root         -  0.0    -      -     - -        SLl  04:09   0:00 -",
        "root         -  0.0    -      -     - -        S<Ll 04:09   0:00 -",
        "root        14  0.0  0.0      0     0 ?        -    04:09   0:00 [ksoftirqd/0]",
        "root         -  0.0    -      -     - -        S    04:09   0:00 -",
    ]
    first, second = parse_ps_aux(numbered(lines, "ps"))
    assert (first.pid, first.threads, first.stat, first.program) == (1, 3, "S<Ll", "process_api")
    assert (second.pid, second.threads, second.stat) == (14, 1, "S")


def test_ps_o_cgroup_v2_and_comm_with_spaces() -> None:
    lines = [
        "    PID    PPID USER     GROUP        LWP NLWP START COMMAND         CGROUP",
        "  40211       1 neutron  neutron    40211   12 02:50 neutron-server  0::/system.slice/neutron-server"
        ".service",
        "  40230   40211 neutron  neutron    40230    3 02:55 neutron-server: 0::/system.slice/neutron-server"
        ".service",
        "   2048       1 root     root        2048    1 09:00 tmux: server    0::/user.slice/user-0.slice/"
        "session-3.scope",
        "    901       1 rabbitmq rabbitmq     901   80 02:40 beam.smp        0::/system.slice/"
        "rabbitmq-server.service/x",
        "    999 garbage",
    ]
    processes = list(parse_ps_columns(numbered(lines, "ps_axo")))
    assert [(p.pid, p.comm, p.unit, p.threads) for p in processes] == [
        (40211, "neutron-server", "neutron-server.service", 12),
        (40230, "neutron-server:", "neutron-server.service", 3),
        (2048, "tmux: server", "session-3.scope", 1),
        (901, "beam.smp", "rabbitmq-server.service", 80),
    ]
    assert processes[0].memory_cgroup == "/system.slice/neutron-server.service"


def test_ps_o_with_full_command_and_memory() -> None:
    lines = ["    PID    RSS CMD",
             "  40211 9729572 /usr/bin/python3 /usr/bin/neutron-server --config-file /etc/neutron/a.conf"]
    (p,) = parse_ps_columns(numbered(lines, "$ ps -o pid,rss,cmd -C neutron-server"))
    assert (p.pid, p.rss_kb, p.program) == (40211, 9729572, "neutron-server")
    assert p.command == "/usr/bin/python3 /usr/bin/neutron-server --config-file /etc/neutron/a.conf"


def test_cgroup_v1_unit_and_memory_controller() -> None:
    raw = ("12:pids:/system.slice/neutron-server.service,11:memory:/system.slice/neutron-server.service,"
           "4:cpu,cpuacct:/system.slice/neutron-server.service,"
           "1:name=systemd:/system.slice/neutron-server.service")
    info = parse_cgroup(raw)
    assert info is not None
    assert info.unit == "neutron-server.service"
    assert info.memory_cgroup == "/system.slice/neutron-server.service"
    assert [c for c, _ in info.entries] == ["pids", "memory", "cpu,cpuacct", "name=systemd"]
    assert parse_cgroup("-") is None and parse_cgroup("") is None and parse_cgroup("junk") is None
    container = parse_cgroup("0::/system.slice/docker-0123abcd.scope")
    assert container is not None and container.unit == "docker-0123abcd.scope"
    lab = parse_cgroup("0::/lab_neutron")
    assert lab is not None and lab.unit is None and lab.memory_cgroup == "/lab_neutron"


def test_titles_and_programs() -> None:
    assert parse_process_title("neutron-server: periodic worker") == ProcessTitle(
        "neutron-server", "periodic worker", None)
    assert parse_process_title("neutron-dhcp-agent (/usr/bin/python3 /usr/bin/neutron-dhcp-agent)") == (
        ProcessTitle("neutron-dhcp-agent", None, "/usr/bin/python3 /usr/bin/neutron-dhcp-agent"))
    assert parse_process_title("sshd: root@pts/0") == ProcessTitle("sshd", "root@pts/0", None)
    assert parse_process_title("/usr/sbin/sshd -D") is None and parse_process_title("[kworker/0:1]") is None
    assert program_of("/usr/bin/python3.8 -u /usr/bin/nova-api --config-file=/etc/nova/a.conf") == "nova-api"
    assert program_of("python3") == "python3" and program_of("") is None
    assert program_of("/usr/bin/uwsgi --ini /etc/neutron/neutron-api-uwsgi.ini") == "uwsgi"


def test_garbage_is_skipped() -> None:
    lines = ["\x00\x01", "x" * 1_000_000, "USER PID", "root abc 0.0 0.0 1 1 ? S 04:09 0:00 cmd",
             "root 7 0.0 0.0 1 1 ? S 04:09 0:00"]
    (p,) = parse_ps_aux(numbered(lines, "ps"))
    assert p.pid == 7 and p.command == "" and p.program is None
    assert list(parse_ps_columns(numbered(lines, "ps"))) == []
