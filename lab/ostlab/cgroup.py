"""Memory cgroups (v1) nested under our own, so the kernel's OOM killer can only hit lab processes."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

MEMORY_ROOT = Path("/sys/fs/cgroup/memory")
PREFIX = "ostlab_"  # every cgroup the lab or the bench creates starts with this


def own_path(pid: int | str = "self") -> str:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return path
    raise RuntimeError("no memory cgroup (v1) found in /proc/self/cgroup")


def create(name: str, limit_bytes: int) -> Path:
    """Create (or reuse) a child memory cgroup of ours with a hard limit."""
    if not name.startswith(PREFIX):
        raise ValueError(f"lab cgroups must start with {PREFIX!r}: {name}")
    cg = MEMORY_ROOT / own_path().lstrip("/") / name
    cg.mkdir(exist_ok=True)
    (cg / "memory.limit_in_bytes").write_text(str(limit_bytes))
    return cg


def enter_argv(cg: Path, argv: list[str]) -> list[str]:
    """argv that moves itself into cg before exec, so the process is limited from its first byte."""
    return ["sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec "$@"', "ostlab-enter", *argv]


def pids(cg: Path) -> list[int]:
    try:
        return [int(p) for p in (cg / "cgroup.procs").read_text().split()]
    except FileNotFoundError:
        return []


def all_pids(cg: Path) -> list[int]:
    """Pids in cg and every descendant cgroup."""
    found: list[int] = []
    if cg.is_dir():
        for sub in [cg, *[p for p in cg.rglob("*") if p.is_dir()]]:
            found += pids(sub)
    return found


def oom_kills(cg: Path) -> int:
    for line in (cg / "memory.oom_control").read_text().splitlines():
        if line.startswith("oom_kill "):
            return int(line.split()[1])
    return 0


def peak_bytes(cg: Path) -> int:
    return int((cg / "memory.max_usage_in_bytes").read_text())


def reset_peak(cg: Path) -> None:
    (cg / "memory.max_usage_in_bytes").write_text("0")


def kill_all_and_remove(cg: Path, timeout: float = 30) -> None:
    """SIGKILL whatever is left in cg (processes we started, by construction) and remove the tree."""
    if not cg.is_dir():
        return
    deadline = time.monotonic() + timeout
    while (left := all_pids(cg)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.3)
    # Children first: rmdir only works on empty leaf cgroups.
    for sub in sorted((p for p in cg.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):  # retried by the parent's rmdir below, which reports
            sub.rmdir()
    try:
        cg.rmdir()
    except OSError as exc:
        raise RuntimeError(f"cannot remove cgroup {cg}: {exc}") from exc
