"""Collect a bundle: the real sosreport from inside the controller, plus the kernel's OOM records.

sos runs inside the container and its `dmesg` reads the kernel's ring buffer, which on this machine
is the host's: it holds every OOM of the machine (the bench's, anyone's). The bundle keeps only the
OOM blocks of the lab's own memory cgroups, taken from the host's `dmesg` right after sos ran, byte
for byte, in sos_commands/kernel/dmesg where sos puts that command's output.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from . import container, kolla_image, mac_binding, oom, paths, scenarios
from .shell import LabError, log

PLUGINS = ("systemd,logs,process,networking,openstack_neutron,openstack_nova,openvswitch,ovn_central,"
           "memory,kernel,date,dpkg,host,services,cgroups")
SOS_TMP = "/var/tmp/ostlab-sos"
# Large files no diagnosis reads; dropped from bundles meant for the repository.
PRUNE = ("proc/kallsyms", "proc/vmallocinfo", "sos_reports/sos.html", "sos_reports/sos.json", "sos_reports/sos.txt",
         "sos_commands/systemd/systemd-analyze_dump", "sos_commands/systemd/systemd-analyze_plot.svg",
         "sos_commands/kernel/modinfo_ALL_MODULES", "sos_commands/kernel/ls_-lt_.sys.kernel.slab",
         "sos_commands/memory/slabtop_-o", "var/log/dpkg.log", "sos_commands/logs/ls_-alRh_.var.log",
         "sos_commands/systemd/ls_-lR_.lib.systemd", "sys/module", "sys/firmware")

def prune(sos: Path) -> list[str]:
    """Remove PRUNE's files and directories from a sos tree; returns what was removed."""
    removed = []
    for rel in PRUNE:
        path = sos / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(rel)
    return removed


def _versions(scenario: str | None, contained: bool) -> str:
    venv = mac_binding.VENV if scenario == "mac-binding" else "/opt/neutron"
    pip = "" if contained else (f"; {venv}/bin/pip list 2>/dev/null | "
                                "grep -iE '^(neutron|neutron-lib|pyuwsgi|keystoneauth1|oslo.log|SQLAlchemy|PyMySQL) '")
    out = container.sh(
        "dpkg-query -W -f '${Package} ${Version}\\n' sosreport systemd mariadb-server ovn-central "
        f"openvswitch-switch python3 nova-api podman conmon crun 2>/dev/null{pip}",
        check=False, logname=None).stdout
    # The neutron that ran in the container is the image's (its tar's dist-info directories).
    return out + "".join(f"{v} (image)\n" for v in kolla_image.versions()) if contained else out


def collect(name: str, out: str | None = None, small: bool = False) -> Path:
    container.leader()
    log(f"sosreport inside the controller (plugins: {PLUGINS})")
    started = time.time()
    sos = mac_binding.SOS_COMMAND if scenarios.last_scenario() == "mac-binding" else "sosreport"
    res = container.sh(f"rm -rf {SOS_TMP} && mkdir -p {SOS_TMP} && "
                       f"{sos} --batch --build --tmp-dir {SOS_TMP} -o {PLUGINS}", timeout=900, logname="sos")
    found: list[str] = re.findall(rf"{SOS_TMP}/(sosreport-[^\s]+)", res.stdout)
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

    since = scenarios.started_uptime()
    marker = oom.LAB_MARKER
    lines, kept, dropped = oom.blocks(oom.host_dmesg(), marker, since)
    kern = dest / "sos_commands/kernel/dmesg"
    kern.parent.mkdir(parents=True, exist_ok=True)
    kern.write_text("".join(line + "\n" for line in lines))
    pruned = prune(dest) if small else []
    (dest_root / "README.md").write_text(readme(name, found[-1], stamp, kept, dropped, pruned, marker, since))
    log(f"bundle {dest} ({kept} lab OOM blocks kept, {dropped} other OOM blocks left out)")
    return dest


SEED_DIFFERENCES = """## Known differences from a production controller
- `OOMScoreAdjust=-1000` is in the drop-in and in `systemctl show`, but the kernel records
  `oom_score_adj:0`: this machine's sandbox withholds CAP_SYS_RESOURCE, and systemd ignores the
  failed write in a container.
- systemd here runs on cgroup v1 without the memory controller; `MemoryMax=` is enforced by the unit's
  ExecStart wrapper (`/usr/local/sbin/neutron-server-memcg`) with a v1 memory cgroup, and a watcher in
  it stops the service on a kernel OOM kill as systemd's OOMPolicy=stop would on cgroup v2. So the
  journal shows `Failed with result 'signal'` where a cgroup v2 host shows `'oom-kill'`.
- nova-api is Debian's nova 26 (zed) under Debian's uWSGI with `auth_strategy = noauth2`,
  `[neutron] auth_type = none` + `endpoint_override`, `transport_url = fake://`; it was asked for
  `GET /v2.1/os-security-groups` (a nova API that asks neutron) every ~10 s.
- sos 4.0's openstack_neutron postproc fails on Python 3.11 (see `sos_logs/`), so it did not mask
  passwords: every secret in this bundle is a lab dummy value.
"""

CONTAINER_DIFFERENCES = """## Known differences from a production controller
- podman runs nested in the lab's systemd-nspawn controller (the "host" of this report), with its
  cgroupfs manager: systemd in the controller has no memory controller on cgroup v1. So the
  container's cgroup is `/libpod_parent/libpod-<id>` below the controller's (a real host with podman
  on cgroupfs says `/libpod_parent/libpod-<id>`; with podman's systemd manager on cgroup v2,
  `/machine.slice/libpod-<id>.scope`). podman's own restart policy is off: the systemd unit
  restarts the container, as Kolla-Ansible's and TripleO's tooling set it up.
- The image is built locally (no registry is reachable): Kolla's Debian layout with the real start-up
  scripts of the `kolla` package (kolla_start, kolla_set_configs, neutron's extend_start, sudoers),
  neutron from PyPI in /var/lib/kolla/venv, uWSGI from pyuwsgi's wheel (python plugin built in).
- sos 4.0 on Debian cannot collect podman: its podman (and docker) plugin is tagged for Red Hat and
  Ubuntu only, does not validate under the Debian policy, and `-o podman` is refused. So there is no
  `podman ps`, `inspect` or `logs` here. No sos plugin collects `/etc/kolla` or `/var/log/kolla`
  (nor TripleO's `/var/log/containers`); `openstack_neutron`, forced with `-o`, collects TripleO's
  `/var/lib/config-data/puppet-generated/neutron/etc/neutron/`. The `cgroups` plugin copies the
  controller's `/sys/fs/cgroup`, the container's memory cgroup included.
- No keystone (`auth_strategy = noauth`), no RabbitMQ (`transport_url = fake:/`), no neutron agents,
  no nova: only neutron's API, its MariaDB and OVN.
- sos 4.0's openstack_neutron postproc fails on Python 3.11 (see `sos_logs/`), so it did not mask
  passwords: every secret in this bundle is a lab dummy value.
"""


def readme(name: str, sos_dir: str, stamp: str, kept: int, dropped: int, pruned: list[str], marker: str,
           since: float) -> str:
    pruned_text = "\n".join(f"  - `{p}`" for p in pruned) or "  - nothing"
    last = scenarios.last_scenario()
    contained = scenarios.SCENARIOS[last].style if last in scenarios.SCENARIOS else None
    differences = CONTAINER_DIFFERENCES if contained else SEED_DIFFERENCES
    memcg = "libpod_parent/libpod-<id>" if contained else "system.slice/neutron-server.service"
    return f"""# `{name}` bundle recorded by the ostriage lab

Recorded {stamp} by `python3 -m ostlab scenario {name}` then `python3 -m ostlab collect {name}`
(lab/README.md), on Debian 12 with a real systemd booted in a systemd-nspawn container.

`{sos_dir}/` is the directory Debian's sosreport built inside the container:
`sosreport --batch --build -o {PLUGINS}`.

## Versions (inside the container)
```
{_versions(last, contained is not None).strip()}
```

## What was changed after sos ran
- `sos_commands/kernel/dmesg` was **replaced**. The container shares the host kernel, so sos's own
  `dmesg` captured the whole machine's ring buffer, including memory-cgroup OOMs of unrelated
  processes. It now holds, byte for byte as the host's `dmesg` printed them, only the complete OOM
  blocks whose `oom_memcg` lies under the lab's cgroup (path containing `{marker}`) and that began
  after the scenario started (kernel time {since:.0f} s): {kept} block(s) kept, {dropped} other OOM
  block(s) left out (other cgroups, or before the scenario), plus their `oom_reaper` lines.
  The memcg paths keep the host's prefix (`/process_api/<id>/ostlab_controller/{memcg}`).
- Pruned (large, read by no diagnosis):
{pruned_text}

{differences}"""
