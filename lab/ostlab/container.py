"""The live controller: an overlay on the cached image, booted with systemd-nspawn, entered with nsenter."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from . import cgroup, paths
from .shell import LabError, log, run, wait_for

# Whole controller (MariaDB, OVN, OVS, agent, nova-api, sos) without neutron-server stays near
# 1 GiB; neutron-server gets its own nested limit from its unit. 4 GiB leaves room for the bench
# (7 + 3 GiB) under the 14 GiB the lab and the bench may hold together.
CONTROLLER_LIMIT = int(os.environ.get("OSTRIAGE_LAB_LIMIT", str(4 << 30)))
CGROUP_NAME = "ostlab_controller"
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"
CONTAINER_CA = "/usr/local/share/ostlab/host-ca-bundle.crt"
CONTAINER_REPO = "/opt/ostriage-src"
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def state() -> dict[str, int | str] | None:
    """The live lab's pids, or None. A state file cut short by a killed run reads as none: what it
    left is then found (and removed) by its cgroup and run directory, not by its pids."""
    try:
        st = json.loads(paths.STATE.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return st if isinstance(st, dict) and {"nspawn", "leader"} <= st.keys() else None


def up_plan(st: dict[str, int | str] | None, lab_pids: set[int], leftovers: bool) -> str:
    """What `up` does with what an earlier run left: "reuse" a lab whose systemd still runs in the
    lab's cgroup, "clean" anything else it left (a state file whose systemd is gone or whose pid now
    belongs to someone else, a mounted overlay, an upper dir holding another scenario's databases)
    before starting afresh, or start "fresh" when there is nothing."""
    if st is not None and int(st["leader"]) in lab_pids:
        return "reuse"
    return "clean" if st is not None or leftovers else "fresh"


def found_plan() -> str:
    leftovers = paths.RUN.exists() or os.path.ismount(paths.RUN_ROOT) or controller_cgroup().exists()
    return up_plan(state(), set(cgroup.all_pids(controller_cgroup())), leftovers)


def controller_cgroup() -> Path:
    return cgroup.MEMORY_ROOT / cgroup.own_path().lstrip("/") / CGROUP_NAME


def leader() -> int:
    st = state()
    if not st:
        raise LabError("the lab is not up (run: python3 -m ostlab up)")
    pid = int(st["leader"])
    if not Path(f"/proc/{pid}").exists():
        raise LabError(f"the lab's systemd (pid {pid}) is gone; `python3 -m ostlab up` tears the rest down "
                       "and starts anew")
    return pid


def enter_argv(cmd: list[str]) -> list[str]:
    """argv running cmd inside the container, charged to the controller's memory cgroup."""
    # env -i: nsenter would hand the host's environment (proxies, CA paths, pip settings) to the
    # controller's commands; give them a root shell's environment of their own instead.
    others = tuple(p for p in cgroup.others(CGROUP_NAME) if p.is_dir())
    return cgroup.enter_argv(controller_cgroup(), ["nsenter", "-t", str(leader()), "-a", "--", "env", "-i",
                                                   f"PATH={CONTAINER_PATH}", "HOME=/root", "LANG=C.UTF-8", *cmd],
                             also=others)


def sh(script: str, *, check: bool = True, timeout: float = 600, logname: str | None = "container") \
        -> subprocess.CompletedProcess[str]:
    return run(enter_argv(["/bin/sh", "-c", script]), check=check, timeout=timeout, logname=logname)


def _mount_overlay() -> None:
    for d in (paths.RUN_UPPER, paths.RUN_WORK, paths.RUN_ROOT):
        d.mkdir(parents=True, exist_ok=True)
    if os.path.ismount(paths.RUN_ROOT):
        return
    run(["mount", "-t", "overlay", "overlay", "-o",
         f"lowerdir={paths.IMAGE_ROOT},upperdir={paths.RUN_UPPER},workdir={paths.RUN_WORK}",
         str(paths.RUN_ROOT)])


def boot() -> float:
    """Boot the container; return seconds until its systemd reports running/degraded."""
    if state() and Path(f"/proc/{state()['leader']}").exists():  # type: ignore[index]
        return 0.0
    if not paths.IMAGE_ROOT.is_dir():
        raise LabError("no image: run python3 -m ostlab install first")
    start = time.monotonic()
    _mount_overlay()
    cg = cgroup.create(CGROUP_NAME, CONTROLLER_LIMIT)
    # The same cgroup in every other v1 hierarchy: the container's cgroup namespace is rooted
    # there, so what its podman creates (libpod_parent/...) stays below the lab's own cgroups.
    others = cgroup.create_in_others(CGROUP_NAME)
    binds = [f"--bind-ro={paths.REPO}:{CONTAINER_REPO}"]
    if os.path.exists(HOST_CA):
        binds.append(f"--bind-ro={HOST_CA}:{CONTAINER_CA}")
    from . import engine
    binds += engine.binds()
    # The kernel log as a controller's root has it (nspawn withholds both): CAP_SYSLOG for dmesg, and
    # /dev/kmsg read-only, so that services of the container (ostriage watch) see the kernel's OOM kills.
    binds += ["--capability=CAP_SYSLOG", "--bind-ro=/dev/kmsg"]
    console = (paths.RUN / "console.log").open("w")
    # --register=no/--keep-unit: there is no host systemd or machined here to talk to.
    # No --private-network: the lab shares the host's network namespace, so every service is
    # configured to listen on 127.0.0.1 only (checked by `ostlab check-listeners`).
    proc = subprocess.Popen(cgroup.enter_argv(cg, [
        "systemd-nspawn", "-D", str(paths.RUN_ROOT), "--boot", "--register=no", "--keep-unit",
        f"--machine={paths.MACHINE}", "--console=passive", *binds], also=others),
        stdin=subprocess.DEVNULL, stdout=console, stderr=console, start_new_session=True)

    def find_leader() -> bool:
        try:
            kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        except FileNotFoundError:
            raise LabError(f"systemd-nspawn exited early; see {paths.RUN / 'console.log'}") from None
        for kid in kids:
            if Path(f"/proc/{kid}/comm").read_text().strip() == "systemd":
                paths.STATE.write_text(json.dumps({"nspawn": proc.pid, "leader": int(kid)}))
                return True
        return False

    wait_for("the container's systemd to start", find_leader, 60, 0.2)

    def booted() -> bool:
        out = run(enter_argv(["systemctl", "is-system-running"]), check=False).stdout.strip()
        return out in ("running", "degraded")

    wait_for("the container to finish booting", booted, 180, 1)
    return time.monotonic() - start


def podman_leftovers() -> list[Path]:
    """What the controller's podman made in the hierarchies systemd-nspawn shares with it."""
    return [h / "payload" / "libpod_parent" for h in cgroup.systemd_hierarchies()
            if (h / "payload" / "libpod_parent").is_dir()]


def units_failed() -> str:
    return sh("systemctl --failed --no-legend --plain", check=False).stdout.strip()


def shutdown() -> None:
    """Stop the container and remove everything the lab created on the host. Kills only lab pids."""
    st = state()
    if st:
        nspawn, lead = int(st["nspawn"]), int(st["leader"])
        if Path(f"/proc/{lead}").exists():
            # Containers first, briefly: their units' own stop timeouts (60 s for Kolla's) would
            # otherwise hold the power-off up.
            sh("command -v podman >/dev/null && podman rm --all --force --time 5; true", check=False,
               timeout=120, logname=None)
            log("powering off the container")
            with contextlib.suppress(ProcessLookupError):
                os.kill(lead, signal.SIGRTMIN + 4)  # systemd's "poweroff" signal

        def gone() -> bool:
            return not Path(f"/proc/{nspawn}").exists() or \
                Path(f"/proc/{nspawn}/stat").read_text().split()[2] == "Z"
        try:
            wait_for("the container to power off", gone, 90, 0.5)
        except LabError:
            log("container did not power off in 90s; killing its cgroup")
    cg = controller_cgroup()
    cgroup.kill_all_and_remove(cg)
    for other in cgroup.others(CGROUP_NAME):  # every lab process is gone with the memory cgroup
        cgroup.remove_tree(other)
    for leftover in podman_leftovers():  # systemd-nspawn cannot remove its payload with these inside
        cgroup.remove_tree(leftover)
    if os.path.ismount(paths.RUN_ROOT):
        run(["umount", str(paths.RUN_ROOT)], check=False)
        if os.path.ismount(paths.RUN_ROOT):
            run(["umount", "-l", str(paths.RUN_ROOT)])
    if paths.RUN.exists():
        if (paths.RUN / "console.log").exists():  # kept for debugging a boot or a shutdown
            paths.LOGS.mkdir(parents=True, exist_ok=True)
            shutil.copy(paths.RUN / "console.log", paths.LOGS / "last-console.log")
        shutil.rmtree(paths.RUN)
