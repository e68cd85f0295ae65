"""Collect a bundle: the real sosreport from inside the controller, plus the kernel's OOM records.

sos runs inside the container and its `dmesg` reads the kernel's ring buffer, which on this machine
is the host's: it holds every OOM of the machine (the bench's, anyone's). The bundle keeps only the
OOM blocks of the lab's own memory cgroups, taken from the host's `dmesg` right after sos ran, byte
for byte, in sos_commands/kernel/dmesg where sos puts that command's output.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

from . import container, paths
from .shell import LabError, log

PLUGINS = ("systemd,logs,process,networking,openstack_neutron,openstack_nova,openvswitch,ovn_central,"
           "memory,kernel,date,dpkg,host,services,cgroups")
SOS_TMP = "/var/tmp/ostlab-sos"
# Large files no diagnosis reads; dropped from bundles meant for the repository.
PRUNE = ("proc/kallsyms", "sos_reports/sos.html", "sos_reports/sos.json",
         "sos_commands/systemd/systemd-analyze_dump", "sos_commands/systemd/systemd-analyze_plot.svg",
         "sos_commands/kernel/modinfo_ALL_MODULES", "sos_commands/kernel/ls_-lt_.sys.kernel.slab",
         "sos_commands/memory/slabtop_-o", "var/log/dpkg.log", "sos_commands/logs/ls_-alRh_.var.log",
         "sos_commands/systemd/ls_-lR_.lib.systemd")

_BLOCK_START = re.compile(r"invoked oom-killer: ")
_KILLED = re.compile(r"(?:Memory cgroup out of memory|Out of memory): Killed process (\d+) ")
_MEMCG = re.compile(r"oom-kill:.*?oom_memcg=([^,]+)")
_REAPED = re.compile(r"oom_reaper: reaped process (\d+) ")


def lab_oom_lines(dmesg: str, marker: str) -> tuple[list[str], int, int]:
    """OOM blocks whose memory cgroup path contains marker; returns (lines, kept, dropped)."""
    out: list[str] = []
    block: list[str] = []
    memcg = ""
    kept_pids: set[str] = set()
    kept = dropped = 0
    for line in dmesg.splitlines():
        if _BLOCK_START.search(line):
            block, memcg = [line], ""
            continue
        if block:
            block.append(line)
            if m := _MEMCG.search(line):
                memcg = m.group(1)
            if m := _KILLED.search(line):
                if marker in memcg:
                    out += block
                    kept_pids.add(m.group(1))
                    kept += 1
                else:
                    dropped += 1
                block = []
            continue
        if (m := _REAPED.search(line)) and m.group(1) in kept_pids:
            out.append(line)
    return out, kept, dropped


def _versions() -> str:
    return container.sh(
        "dpkg-query -W -f '${Package} ${Version}\\n' sosreport systemd mariadb-server ovn-central "
        "openvswitch-switch python3; /opt/neutron/bin/pip list 2>/dev/null | "
        "grep -iE '^(neutron|neutron-lib|pyuwsgi|keystoneauth1|oslo.log|SQLAlchemy|PyMySQL) '",
        check=False, logname=None).stdout


def collect(name: str, out: str | None = None, small: bool = False) -> Path:
    container.leader()
    log(f"sosreport inside the controller (plugins: {PLUGINS})")
    started = time.time()
    res = container.sh(f"rm -rf {SOS_TMP} && mkdir -p {SOS_TMP} && "
                       f"sosreport --batch --build --tmp-dir {SOS_TMP} -o {PLUGINS}", timeout=900, logname="sos")
    found = re.findall(rf"{SOS_TMP}/(sosreport-[^\s]+)", res.stdout)
    if not found:
        raise LabError("sosreport printed no build directory (log: sos.log)")
    src = paths.RUN_ROOT / SOS_TMP.lstrip("/") / found[-1]
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
    dest_root = Path(out) if out else paths.BUNDLES / f"{name}-{stamp}"
    dest = dest_root / found[-1]
    if dest.exists():
        shutil.rmtree(dest)
    dest_root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dest, symlinks=True)

    dmesg = subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout
    marker = "/" + container.CGROUP_NAME + "/"
    lines, kept, dropped = lab_oom_lines(dmesg, marker)
    kern = dest / "sos_commands/kernel/dmesg"
    kern.parent.mkdir(parents=True, exist_ok=True)
    kern.write_text("".join(line + "\n" for line in lines))
    pruned: list[str] = []
    if small:
        for rel in PRUNE:
            if (dest / rel).exists():
                (dest / rel).unlink()
                pruned.append(rel)
    (dest_root / "README.md").write_text(readme(name, found[-1], stamp, kept, dropped, pruned, marker))
    log(f"bundle {dest} ({kept} lab OOM blocks kept, {dropped} foreign OOM blocks left out)")
    return dest


def readme(name: str, sos_dir: str, stamp: str, kept: int, dropped: int, pruned: list[str], marker: str) -> str:
    pruned_text = "\n".join(f"- `{p}`" for p in pruned) or "- nothing"
    return f"""# `{name}` bundle recorded by the ostriage lab

Recorded {stamp} by `python3 -m ostlab scenario {name}` then `python3 -m ostlab collect {name}`
(lab/README.md), on Debian 12 with a real systemd booted in a systemd-nspawn container.

`{sos_dir}/` is the directory Debian's sosreport built inside the container:
`sosreport --batch --build -o {PLUGINS}`.

## Versions (inside the container)
```
{_versions().strip()}
```

## What was changed after sos ran
- `sos_commands/kernel/dmesg` was **replaced**. The container shares the host kernel, so sos's own
  `dmesg` captured the whole machine's ring buffer, including memory-cgroup OOMs of unrelated
  processes. It now holds, byte for byte as the host's `dmesg` printed them, only the complete OOM
  blocks whose `oom_memcg` lies under the lab's cgroup (path containing `{marker}`): {kept} block(s)
  kept, {dropped} foreign block(s) left out, plus their `oom_reaper` lines. The memcg paths keep the host's
  prefix (`/process_api/<id>/ostlab_controller/system.slice/neutron-server.service`).
- Pruned (large, read by no diagnosis):
{pruned_text}

## Known differences from a production controller
- `OOMScoreAdjust=-1000` is in the drop-in and in `systemctl show`, but the kernel records
  `oom_score_adj:0`: this machine's sandbox withholds CAP_SYS_RESOURCE, and systemd ignores the
  failed write in a container.
- systemd here runs on cgroup v1 without the memory controller; `MemoryMax=` is enforced by the unit's
  ExecStart wrapper (`/usr/local/sbin/neutron-server-memcg`) with a v1 memory cgroup, and a watcher in
  it stops the service on a kernel OOM kill as systemd's OOMPolicy=stop would on cgroup v2. So the
  journal shows `Failed with result 'signal'` where a cgroup v2 host shows `'oom-kill'`.
- nova-api is a stand-in (`/usr/local/lib/ostlab/nova_api_standin.py`): real keystoneauth1 client and
  ConnectFailure, nova's log messages and logger names; the traceback's frames are the stand-in's.
- sos 4.0's openstack_neutron postproc fails on Python 3.11 (see `sos_logs/`), so it did not mask
  passwords: every secret in this bundle is a lab dummy value.
"""
