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


def enter_argv(cg: Path, argv: list[str], also: tuple[Path, ...] = ()) -> list[str]:
    """argv that moves itself into cg (and the cgroups `also`) before exec, so the process is
    limited from its first byte."""
    moves = " && ".join(f"echo $$ > {c}/cgroup.procs" for c in (cg, *also))
    return ["sh", "-c", f'{moves} && exec "$@"', "ostlab-enter", *argv]


def other_hierarchies() -> list[tuple[Path, str]]:
    """The v1 hierarchies besides memory (cpu, pids, ...): (mount point, our path in it)."""
    found = []
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if not controllers or controllers.startswith("name=") or "memory" in controllers.split(","):
            continue
        mount = Path("/sys/fs/cgroup") / controllers
        if mount.is_dir():
            found.append((mount, path))
    return found


def create_in_others(name: str) -> tuple[Path, ...]:
    """The cgroup `name` below ours in every other v1 hierarchy (no limits: so that a cgroup
    namespace rooted there keeps what a container engine creates inside out of the host's tree)."""
    if not name.startswith(PREFIX):
        raise ValueError(f"lab cgroups must start with {PREFIX!r}: {name}")
    made = []
    for mount, own in other_hierarchies():
        cg = mount / own.lstrip("/") / name
        cg.mkdir(exist_ok=True)
        if (cg / "cpuset.cpus").exists():  # cpuset: a new cgroup has no CPUs or nodes until given some
            for f in ("cpuset.cpus", "cpuset.mems"):
                (cg / f).write_text((cg.parent / f).read_text())
        made.append(cg)
    return tuple(made)


def systemd_hierarchies() -> list[Path]:
    """Our cgroup in the name=systemd and unified hierarchies, where systemd-nspawn makes the
    container's `payload` cgroup (and anything the container creates lands below it)."""
    found = []
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        mount = {"name=systemd": "systemd", "": "unified"}.get(controllers)
        if mount and (Path("/sys/fs/cgroup") / mount).is_dir():
            found.append(Path("/sys/fs/cgroup") / mount / path.lstrip("/"))
    return found


def others(name: str) -> list[Path]:
    return [mount / own.lstrip("/") / name for mount, own in other_hierarchies()]


def remove_tree(cg: Path) -> None:
    """rmdir cg and its descendants, deepest first (their processes must be gone already)."""
    if not cg.is_dir():
        return
    for sub in sorted((p for p in cg.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):  # retried by the parent's rmdir below, which reports
            sub.rmdir()
    try:
        cg.rmdir()
    except OSError as exc:
        raise RuntimeError(f"cannot remove cgroup {cg}: {exc}") from exc


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
    remove_tree(cg)
