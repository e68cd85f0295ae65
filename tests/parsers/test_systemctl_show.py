"""systemctl show: the real ``systemctl_show_service_--all`` of the ussuri sosreport, and a crash-looping,
memory-limited neutron-server as ``systemctl show neutron-server`` prints it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ostriage.evidence import numbered
from ostriage.parsers.systemctl_show import EXIT_CODES, UnitProperties, parse_systemctl_show

SHOW_ALL = "sos_commands/systemd/systemctl_show_service_--all"


@pytest.fixture(scope="module")
def units(ussuri_sos: Path) -> dict[str, UnitProperties]:
    with (ussuri_sos / SHOW_ALL).open(errors="replace") as f:
        parsed = list(parse_systemctl_show(numbered(f, SHOW_ALL)))
    assert len(parsed) == 181
    return {u.id or "": u for u in parsed}


def test_real_unit_count_and_ids(units: dict[str, UnitProperties]) -> None:
    assert len(units) == 181
    assert {"neutron-l3-agent.service", "neutron-openvswitch-agent.service", "nova-compute.service"} <= set(
        units
    )


def test_real_neutron_l3_agent(units: dict[str, UnitProperties]) -> None:
    u = units["neutron-l3-agent.service"]
    assert (u.description, u.load_state, u.active_state, u.sub_state, u.result) == (
        "OpenStack Neutron L3 agent", "loaded", "active", "running", "success",
    )
    assert (u.n_restarts, u.main_pid, u.exec_main_pid) == (0, 1591, 1591)
    assert (u.exec_main_code, u.exec_main_status) == (0, 0)
    assert u.exec_main_start_timestamp == datetime(2022, 2, 9, 22, 38, 26)
    assert u.memory_current == 294281216
    assert (u.memory_max, u.memory_high, u.memory_limit, u.memory_swap_max) == (None, None, None, None)
    assert (u.oom_score_adjust, u.oom_policy, u.restart) == (0, "stop", "on-failure")
    assert u.restart_usec == timedelta(milliseconds=100)
    assert (u.start_limit_burst, u.start_limit_interval_usec) == (5, timedelta(seconds=10))
    assert u.fragment_path == "/lib/systemd/system/neutron-l3-agent.service"
    assert u.drop_in_paths == ()
    assert u.control_group == "/system.slice/neutron-l3-agent.service"
    line = u.line_for("NRestarts")
    assert line is not None and line.text == "NRestarts=0" and line.cite() == f"{SHOW_ALL}:11542"


def test_real_drop_in_and_exec_start(units: dict[str, UnitProperties]) -> None:
    nova = units["nova-compute.service"]
    assert nova.drop_in_paths == ("/etc/systemd/system/nova-compute.service.d/99-mount.conf",)
    assert nova.memory_current == 1515671552
    (exec_start,) = nova.get_all("ExecStart")
    assert exec_start.startswith("{ path=/etc/init.d/nova-compute ; argv[]=/etc/init.d/nova-compute ")


def test_real_facts_across_units(units: dict[str, UnitProperties]) -> None:
    assert all(u.n_restarts == 0 for u in units.values())
    assert all(u.memory_max is None for u in units.values())
    assert Counter(u.oom_score_adjust for u in units.values()) == {0: 174, -900: 4, -1000: 2, -250: 1}
    assert units["systemd-udevd.service"].oom_score_adjust == -1000
    assert sum(u.memory_current is None for u in units.values()) == 98  # "[not set]": not running
    repeated = [u for u in units.values() if len(u.get_all("ExecStartPre")) > 1]
    assert repeated and all(len(set(u.get_all("ExecStartPre"))) > 1 for u in repeated)


def test_real_manager_properties(ussuri_sos: Path) -> None:
    name = "sos_commands/systemd/systemctl_show_--all"
    (manager,) = parse_systemctl_show(numbered((ussuri_sos / name).read_text(), name))
    assert manager.get("Version") == "245.4-4ubuntu3.15" and manager.id is None
    assert (manager.get("Features") or "").endswith("default-hierarchy=hybrid")


CRASH_LOOP = """\
Type=notify
Restart=on-failure
RestartUSec=5s
MainPID=51234
Result=success
NRestarts=17
ExecMainStartTimestamp=Fri 2025-11-21 14:23:02 UTC
ExecMainPID=51234
ExecMainCode=2
ExecMainStatus=9
MemoryCurrent=2013265920
MemoryHigh=infinity
MemoryMax=2147483648
MemorySwapMax=18446744073709551615
MemoryLimit=infinity
OOMScoreAdjust=-1000
Environment=LANG=C.UTF-8 OS_LOG=/var/log/neutron
Id=neutron-server.service
Description=OpenStack Neutron Server
ActiveState=active
SubState=running
FragmentPath=/lib/systemd/system/neutron-server.service
DropInPaths=/etc/systemd/system/neutron-server.service.d/override.conf /run/systemd/system/neutron-server.service.d/50-x.conf
OOMPolicy=stop
StartLimitIntervalUSec=1min 30s
StartLimitBurst=20
ControlGroup=/system.slice/neutron-server.service
"""  # noqa: E501


def test_crash_looping_limited_neutron_server() -> None:
    (u,) = parse_systemctl_show(numbered(CRASH_LOOP, "$ systemctl show neutron-server"))
    assert (u.id, u.active_state, u.sub_state) == ("neutron-server.service", "active", "running")
    assert u.n_restarts == 17
    assert u.memory_max == 2 * 1024**3 and u.memory_high is None and u.memory_swap_max is None
    assert u.memory_current == 2013265920 and u.memory_limit is None
    assert u.oom_score_adjust == -1000
    assert EXIT_CODES[u.exec_main_code or 0] == "killed" and u.exec_main_status == 9
    assert u.restart_usec == timedelta(seconds=5)
    assert u.start_limit_interval_usec == timedelta(seconds=90) and u.start_limit_burst == 20
    assert u.exec_main_start_timestamp == datetime(2025, 11, 21, 14, 23, 2)
    assert u.get("Environment") == "LANG=C.UTF-8 OS_LOG=/var/log/neutron"
    assert u.drop_in_paths == ("/etc/systemd/system/neutron-server.service.d/override.conf",
                               "/run/systemd/system/neutron-server.service.d/50-x.conf")
    line = u.line_for("MemoryMax")
    assert line is not None and line.cite() == "$ systemctl show neutron-server:13"
    assert u.get("NoSuchProperty") is None and u.line_for("NoSuchProperty") is None


def test_blocks_blank_lines_and_garbage() -> None:
    text = ("\n\nId=a.service\nNRestarts=x\n\x00\x00garbage without equals\n=novalue\n"
            "RestartUSec=forever\n\n\nId=b.service\nMemoryMax=[not set]\nExecMainStartTimestamp=n/a\n"
            "X=" + "y" * 1_000_000)
    a, b = parse_systemctl_show(numbered(text))
    assert (a.id, a.n_restarts, a.restart_usec) == ("a.service", None, None)
    assert (b.id, b.memory_max, b.exec_main_start_timestamp, len(b.get("X") or "")) == (
        "b.service", None, None, 1_000_000,
    )
    assert list(parse_systemctl_show(numbered("\n\n\n"))) == []
