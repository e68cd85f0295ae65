"""The rules read through where services run: a Kolla-style docker container of neutron-server killed by the
kernel in its own cgroup, restarted by its engine, its configuration in /etc/kolla. The report is built here from
the formats sos writes (docker ps -a, docker inspect, dmesg, ps with cgroups), so that each step of the chain can
be asserted; the recorded bundles (Sunbeam, the lab) show the same on real data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ostriage.diagnosis import diagnose
from ostriage.facts import collect
from ostriage.facts.where import Where
from ostriage.report import to_document
from ostriage.sources import open_target

CID = "7d2f" * 16
SCOPE = f"/system.slice/docker-{CID}.scope"


def _kill(t: float, pid: int) -> list[str]:
    return [
        f"[{t:12.6f}] neutron-server invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        f"[{t:12.6f}] memory: usage 2097152kB, limit 2097152kB, failcnt 4096",
        f"[{t:12.6f}] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
        f"oom_memcg={SCOPE},task_memcg={SCOPE},task=neutron-server,pid={pid},uid=42435",
        f"[{t:12.6f}] Memory cgroup out of memory: Killed process {pid} (neutron-server) total-vm:2306164kB, "
        "anon-rss:2091520kB, file-rss:10432kB, shmem-rss:0kB, UID:42435 pgtables:4400kB oom_score_adj:0",
    ]


INSPECT = [{
    "Id": CID, "Created": "2026-11-25T05:00:00.000000000Z", "Path": "dumb-init",
    "State": {"Status": "running", "Running": True, "Paused": False, "Restarting": False, "OOMKilled": False,
              "Dead": False, "Pid": 4500, "ExitCode": 0, "Error": "", "StartedAt": "2026-11-25T05:54:20.1Z",
              "FinishedAt": "2026-11-25T05:54:19.9Z"},
    "Name": "/neutron_server", "RestartCount": 5,
    "HostConfig": {"NetworkMode": "host", "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
                   "Memory": 2147483648},
    "Mounts": [{"Type": "bind", "Source": "/etc/kolla/neutron-server", "Destination": "/var/lib/kolla/config_files",
                "Mode": "ro", "RW": False}],
    "Config": {"Image": "quay.io/openstack.kolla/neutron-server:2024.1-ubuntu-jammy",
               "Labels": {"kolla_version": "18.1.0"}},
}]
CONFIG_JSON = {"command": "neutron-server --config-file /etc/neutron/neutron.conf --config-file "
                          "/etc/neutron/plugins/ml2/ml2_conf.ini",
               "config_files": [
                   {"source": "/var/lib/kolla/config_files/neutron.conf", "dest": "/etc/neutron/neutron.conf",
                    "owner": "neutron", "perm": "0600"},
                   {"source": "/var/lib/kolla/config_files/ml2_conf.ini",
                    "dest": "/etc/neutron/plugins/ml2/ml2_conf.ini", "owner": "neutron", "perm": "0600"}]}
PS_HEADER = "    PID    PPID USER     GROUP        LWP NLWP START COMMAND         CGROUP"


def _report(root: Path) -> Path:
    files = {
        "version.txt": "sosreport: 4.5.6\n",
        "sos_commands/date/date": "Wed Nov 25 05:56:00 UTC 2026\n",
        "sos_commands/date/date_--utc": "Wed Nov 25 05:56:00 UTC 2026\n",
        "proc/uptime": "6300.00 12000.00\n",
        "sos_commands/kernel/dmesg": "\n".join(
            line for i, t in enumerate((6000.0, 6100.0, 6200.0)) for line in _kill(t, 4000 + i)) + "\n",
        "sos_commands/docker/docker_ps_-a": (
            "CONTAINER ID   IMAGE                                                        COMMAND                  "
            "CREATED       STATUS                 PORTS     NAMES\n"
            f"{CID[:12]}   quay.io/openstack.kolla/neutron-server:2024.1-ubuntu-jammy   \"dumb-init --single-…\"   "
            "1 hour ago    Up 1 minute                      neutron_server\n"),
        f"sos_commands/docker/containers/docker_inspect_{CID[:12]}": json.dumps(INSPECT, indent=4) + "\n",
        "sos_commands/process/ps_auxwwwm": (
            "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n"
            "42435       4500  9.0  4.0 900000 800000 ?       Ss   05:54   0:10 /usr/bin/python3 "
            "/usr/bin/neutron-server --config-file /etc/neutron/neutron.conf --config-file "
            "/etc/neutron/plugins/ml2/ml2_conf.ini\n"),
        "sos_commands/process/ps_axo_pid_ppid_user_group_lwp_nlwp_start_time_comm_cgroup": (
            f"{PS_HEADER}\n   4500    4480 42435    42435       4500    1 05:54 neutron-server  "
            f"12:memory:{SCOPE},0::{SCOPE}\n"),
        "sos_commands/networking/ss_-peaonmi": (
            "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
            'tcp   LISTEN 0      128        0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=900,fd=3)) ino:1\n'),
        "etc/kolla/neutron-server/config.json": json.dumps(CONFIG_JSON, indent=4) + "\n",
        "etc/kolla/neutron-server/neutron.conf": "[DEFAULT]\ncore_plugin = ml2\n",
        "etc/kolla/neutron-server/ml2_conf.ini": (
            "[ml2]\ntype_drivers = geneve,flat\ntenant_network_types = geneve\nmechanism_drivers = ovn\n"
            "[ml2_type_geneve]\nvni_ranges = 1:16777215\nmax_header_size = 38\n"),
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _doc(tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    with open_target(str(_report(tmp_path))) as source:
        facts = collect(source)
    return facts, to_document(diagnose(facts))


def test_kolla_neutron_server_in_docker(tmp_path: Path) -> None:
    facts, doc = _doc(tmp_path)
    placement = facts.placement("neutron-server")
    assert placement.where is Where.CONTAINER and placement.label == "docker container neutron_server"
    assert placement.container.orchestrator == "kolla" and placement.host_network is True
    # the configuration Kolla copies into the container, read where the host keeps it
    assert facts.configs["neutron-server"].files == (
        "/etc/kolla/neutron-server/neutron.conf", "/etc/kolla/neutron-server/ml2_conf.ini")
    findings = {f["key"]: f for f in doc["findings"]}
    assert doc["rule_failures"] == []
    assert [r["rule"] for r in doc["root_causes"]] == ["ml2-segment-range-too-large"]
    oom = findings["service-oom-kill-loop:docker container neutron_server"]
    assert oom["data"]["unit"] is None and oom["data"]["service"] == "neutron-server"
    assert oom["data"]["inside"] == "docker container neutron_server" and oom["data"]["kills"] == 3
    crash = findings["container-crash-looping:docker container neutron_server"]
    assert crash["severity"] == "critical" and crash["data"]["restart_count"] == 5
    limit = findings["container-memory-limit-below-need:docker container neutron_server"]
    assert limit["data"]["limit_bytes"] == 2 * 2**30
    story = doc["root_causes"][0]
    assert [s["rule"] for s in story["chain"]][:2] == ["service-oom-kill-loop", "container-crash-looping"]
    assert {(s["rule"], s["relation"]) for s in story["contributors"]} >= {
        ("container-memory-limit-below-need", "aggravates")}
    # no unit of this host is blamed, and the fix restarts the container, lasting in Kolla's own config
    assert not [f for f in doc["findings"] if f["code"].startswith("SYS")]
    root = findings[story["finding"]]
    assert root["remedy"]["restart_units"] == []
    assert "docker restart neutron_server (its allocation table is trimmed to the new range at start)" in \
        root["remedy"]["steps"]
    assert any("/etc/kolla/config/neutron/ml2_conf.ini" in s for s in root["remedy"]["steps"])
    assert root["evidence"][0]["path"] == "etc/kolla/neutron-server/ml2_conf.ini"


def test_the_port_check_needs_the_hosts_network(tmp_path: Path) -> None:
    """With the host's network, 9696 missing from the host's socket table is the API down; with a network of
    its own, the table cannot tell, and the container's state decides."""
    root = _report(tmp_path / "host")
    _, doc = _doc(root)
    assert "api-port-not-listening:neutron-server" in {f["key"] for f in doc["findings"]}
    inspect = json.loads(json.dumps(INSPECT))
    inspect[0]["HostConfig"]["NetworkMode"] = "bridge"
    (root / f"sos_commands/docker/containers/docker_inspect_{CID[:12]}").write_text(json.dumps(inspect, indent=4))
    with open_target(str(root)) as source:
        doc = to_document(diagnose(collect(source)))
    neu002 = [f for f in doc["findings"] if f["code"] == "NEU002"]
    assert [(f["severity"], f["data"]["placement"]) for f in neu002] == [("info", "docker container neutron_server")]
    assert neu002[0]["summary"].startswith("cannot tell whether port 9696")


HOTSOS_JOURNAL = (Path(__file__).resolve().parents[1] / "scenarios" / "ovs-service-restarts" / "sos" / "sos_commands"
                  / "logs" / "journalctl_--no-pager")


def _sys003(tmp_path: Path, files: dict[str, str]) -> list[dict[str, Any]]:
    for rel, text in {"version.txt": "sosreport: 4.5.6\n", **files}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    with open_target(str(tmp_path)) as source:
        doc = to_document(diagnose(collect(source)))
    return [f for f in doc["findings"] if f["code"] == "SYS003"]


def test_a_loop_that_ended_long_before_is_history(tmp_path: Path) -> None:
    """hotsos's ten starts of ovs-vswitchd, with the report taken two hours after the last one."""
    journal = HOTSOS_JOURNAL.read_text()
    (loop,) = _sys003(tmp_path / "now", {"sos_commands/logs/journalctl_--no-pager": journal,
                                         "sos_commands/date/date": "Thu Feb 10 18:05:00 CET 2022\n"})
    assert loop["severity"] == "critical" and "10 times in 9 minutes" in loop["summary"]
    (old,) = _sys003(tmp_path / "later", {"sos_commands/logs/journalctl_--no-pager": journal,
                                          "sos_commands/date/date": "Thu Feb 10 20:05:00 CET 2022\n"})
    assert old["severity"] == "info"
    assert old["summary"] == ("ovs-vswitchd.service was restarted 9 times (last 2022-02-10 18:01:37); "
                              "no restart since")


def test_a_failed_unit_in_the_unit_listing(tmp_path: Path) -> None:
    listing = ("  UNIT                   LOAD   ACTIVE SUB    DESCRIPTION\n"
               "● neutron-server.service loaded failed failed OpenStack Neutron Server\n\n"
               "1 loaded units listed.\n")
    (failed,) = _sys003(tmp_path, {"sos_commands/systemd/systemctl_list-units": listing})
    assert failed["severity"] == "critical"
    assert failed["summary"] == "neutron-server.service has failed: it is not running"
    assert failed["evidence"][0]["path"] == "sos_commands/systemd/systemctl_list-units"


K8S_UNIT = Path(__file__).resolve().parents[1] / "data" / "hotsos" / "kubernetes-unit-journal"


def test_per_unit_journal_files_are_read_once(tmp_path: Path) -> None:
    """hotsos's Charmed Kubernetes master: sos kept kube-controller-manager's journal in its kubernetes plugin
    (xz-compressed by hotsos). Its crash loop is found there; the same lines in the whole journal count once."""
    (alone,) = _sys003_of(K8S_UNIT)
    assert alone["subject"] == "snap.kube-controller-manager.daemon.service"
    assert alone["evidence"][0]["path"].startswith("sos_commands/kubernetes/journalctl_--no-pager_--unit_")
    assert (alone["data"]["journal_restart_counter"], alone["data"]["start_limit_hit"]) == (16, True)
    import lzma
    import shutil
    copy = tmp_path / "both"
    shutil.copytree(K8S_UNIT, copy)
    unit = next((copy / "sos_commands" / "kubernetes").iterdir())
    whole = copy / "sos_commands" / "logs" / "journalctl_--no-pager"
    whole.parent.mkdir(parents=True)
    whole.write_bytes(lzma.decompress(unit.read_bytes()))
    (both,) = _sys003_of(copy)
    assert both["data"] == alone["data"]
    assert both["evidence"][0]["path"] == "sos_commands/logs/journalctl_--no-pager"


def _sys003_of(root: Path) -> list[dict[str, Any]]:
    with open_target(str(root)) as source:
        doc = to_document(diagnose(collect(source)))
    return [f for f in doc["findings"] if f["code"] == "SYS003"]
