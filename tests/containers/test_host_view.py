"""The issue's live case, replayed: `ostriage diagnose` on the lab's host while neutron-server is OOM-killed in a
loop inside the systemd-nspawn controller. The host runs no neutron; the kernel's kill lines name the machine's
cgroup. The host's own commands were recorded at that moment (tests/scenarios/machine-oom-host-view); the
controller's configuration is the seed scenario's (examples/seed-incident), at the machine's root as nspawn's
`-D` names it."""

from __future__ import annotations

import shutil
from pathlib import Path

from ostriage.diagnosis import diagnose
from ostriage.facts import collect
from ostriage.facts.where import Where
from ostriage.report import to_document
from ostriage.sources import LiveHost

from ._replay import Replay

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT / "tests" / "scenarios" / "machine-oom-host-view"
SOS = RECORDED / "sos" / "sos_commands"
MACHINE_ROOT = "var/cache/ostriage-lab/run/rootfs"


def test_live_host_of_a_machine_in_an_oom_loop(tmp_path: Path) -> None:
    seed_config = ROOT / "examples" / "seed-incident" / "etc" / "neutron"
    shutil.copytree(seed_config, tmp_path / MACHINE_ROOT / "etc" / "neutron")
    (tmp_path / "proc").mkdir()
    shutil.copy(RECORDED / "sos" / "proc" / "uptime", tmp_path / "proc" / "uptime")
    runner = Replay({
        ("dmesg",): (SOS / "kernel" / "dmesg").read_bytes(),
        ("ps", "auxwwwm"): (SOS / "process" / "ps_auxwwwm").read_bytes(),
        ("ps", "axo", "pid,ppid,user,group,lwp,nlwp,start_time,comm,cgroup"):
            (SOS / "process" / "ps_axo_pid_ppid_user_group_lwp_nlwp_start_time_comm_cgroup").read_bytes(),
        ("ss", "-lntp"): (RECORDED / "live" / "ss_-lntp").read_bytes(),
    })
    facts = collect(LiveHost(tmp_path, runner))
    doc = to_document(diagnose(facts))
    placement = facts.placement("neutron-server")
    assert (placement.where, placement.engine, placement.machine, placement.unit, placement.host_network) == (
        Where.MACHINE, "systemd-nspawn", "ostlab-controller", "neutron-server.service", True)
    findings = {f["key"]: f for f in doc["findings"]}
    kills = findings["service-oom-kill-loop:systemd-nspawn machine ostlab-controller: neutron-server.service"]
    assert kills["data"]["unit"] is None and kills["data"]["service"] == "neutron-server"
    # no unit of this host is blamed, the API is not "down" (the machine's uWSGI listens in the host's table)
    assert not [f for f in doc["findings"] if f["code"].startswith("SYS") or f["code"] == "NEU002"]
    assert not [f for f in doc["findings"] if f["code"] == "OOM001" and f["data"]["unit"]]
    # the root cause, read from the machine's own configuration
    roots = [r["rule"] for r in doc["root_causes"]]
    assert roots[0] == "ml2-segment-range-too-large"
    root = findings[doc["root_causes"][0]["finding"]]
    assert root["evidence"][0]["path"] == f"/{MACHINE_ROOT}/etc/neutron/plugins/ml2/ml2_conf.ini"
    assert kills["key"] in {s["finding"] for s in doc["root_causes"][0]["chain"]}
    assert any("inside systemd-nspawn machine ostlab-controller" in s for s in root["remedy"]["steps"])
    assert root["remedy"]["restart_units"] == []
