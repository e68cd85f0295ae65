"""The kernel's OOM records for the lab, read from the host's `dmesg` (the container's kernel is the host's)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

_STAMP = re.compile(r"^\[\s*(\d+\.\d+)\]")
_BLOCK_START = re.compile(r"invoked oom-killer: ")
_KILLED = re.compile(r"(?:Memory cgroup out of memory|Out of memory): Killed process (\d+) ")
_MEMCG = re.compile(r"oom-kill:.*?oom_memcg=([^,]+)")
_REAPED = re.compile(r"oom_reaper: reaped process (\d+) ")

# Every lab memory cgroup path contains this (container.CGROUP_NAME), nested under the host's.
LAB_MARKER = "/ostlab_controller/"
NEUTRON_MARKER = LAB_MARKER + "system.slice/neutron-server.service"
# podman's cgroupfs manager: /libpod_parent/libpod-<64-hex id> below the controller's cgroup.
CONTAINER_MARKER = LAB_MARKER + "libpod_parent/libpod-"


def uptime() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])


def host_dmesg() -> str:
    return subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout


def _stamp(line: str) -> float:
    m = _STAMP.match(line)
    return float(m.group(1)) if m else 0.0


def blocks(dmesg: str, marker: str, since: float = 0.0) -> tuple[list[str], int, int]:
    """Complete OOM blocks whose oom_memcg contains marker and that began at or after `since`
    (seconds since boot); returns (lines byte-exact, blocks kept, OOM blocks left out)."""
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
                if marker in memcg and _stamp(block[0]) >= since:
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


def kills_since(since: float, marker: str = NEUTRON_MARKER) -> int:
    return blocks(host_dmesg(), marker, since)[1]
