"""Checks that the lab keeps its promises: loopback only while up, nothing left after down."""

from __future__ import annotations

import re
import subprocess

from . import cgroup, container, paths
from .shell import LabError


def lab_pids() -> set[int]:
    return set(cgroup.all_pids(container.controller_cgroup()))


def assert_loopback_only() -> list[str]:
    """Every TCP/UDP listener owned by a lab process is on 127.0.0.1 / ::1. Returns the listeners."""
    out = subprocess.run(["ss", "-H", "-lntup"], capture_output=True, text=True, check=True).stdout
    mine = lab_pids()
    seen, bad = [], []
    for line in out.splitlines():
        pids = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        if not pids & mine:
            continue
        local = line.split()[4]
        names = re.findall(r'users:\(\("([^"]+)', line)
        seen.append(f"{local} {names[0] if names else '?'}")
        if not (local.startswith("127.") or local.startswith("[::1]")):
            bad.append(line)
    if bad:
        raise LabError("lab process listening beyond loopback: " + " | ".join(bad))
    return seen


def assert_nothing_left() -> None:
    if container.controller_cgroup().exists():
        raise LabError(f"cgroup left: {container.controller_cgroup()}")
    left = [p for p in cgroup.MEMORY_ROOT.joinpath(cgroup.own_path().lstrip('/')).glob("ostlab_controller*")]
    left += [p for p in cgroup.others(container.CGROUP_NAME) if p.exists()] + container.podman_leftovers()
    if left:
        raise LabError(f"cgroups left: {left}")
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    mine = [line for line in ps.splitlines() if str(paths.RUN_ROOT) in line or ("systemd-nspawn" in line
            and paths.MACHINE in line)]
    if mine:
        raise LabError("lab processes left: " + " | ".join(mine))
    if paths.RUN.exists():
        raise LabError(f"run directory left: {paths.RUN}")
