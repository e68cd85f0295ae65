"""Debian's podman inside the controller: its configuration, the locally built image, containers.

podman runs nested in the systemd-nspawn controller, so everything it starts is charged to the
controller's memory cgroup (`ostlab_controller`, nested under ours) and dies with it. Its storage is
a host directory under the run directory (bind-mounted at boot, so podman's overlay layers sit on
the host's own filesystem rather than on the controller's overlayfs root), removed by `down` like the
rest of the run. The imported image
lives in a second, cached store (podman's `additionalimagestores`), so neither `up` nor `down` pays
for its 670 MB again.
"""

from __future__ import annotations

import json
from typing import Any

from . import container, kolla_image, paths

STORAGE = paths.RUN / "containers"          # host side of /var/lib/containers
IMAGES_IN_CONTROLLER = "/var/lib/ostlab-images"  # kolla_image.DIR: the image's tar and its store
IMAGE_STORE = f"{IMAGES_IN_CONTROLLER}/storage"
# containers.conf: systemd in the controller has no memory controller delegated (cgroup v1), so
# podman manages cgroups itself (cgroupfs): each container's cgroup is /libpod_parent/libpod-<id>
# below the controller's, and `--memory` becomes that cgroup's memory.limit_in_bytes. nspawn's
# seccomp filter denies the (not namespaced) keyring calls, so no per-container session keyring.
CONTAINERS_CONF = """# Set by the ostriage lab.
[containers]
keyring = false

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
"""
STORAGE_CONF = f"""# Set by the ostriage lab.
[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"

[storage.options]
additionalimagestores = ["{IMAGE_STORE}"]
"""


def binds() -> list[str]:
    """systemd-nspawn options that give the controller podman's storage and the built images."""
    STORAGE.mkdir(parents=True, exist_ok=True)
    kolla_image.DIR.mkdir(parents=True, exist_ok=True)  # the image may be built while the lab is up
    return [f"--bind={STORAGE}:/var/lib/containers", f"--bind={kolla_image.DIR}:{IMAGES_IN_CONTROLLER}"]


def lay_files() -> None:
    for rel, text in (("etc/containers/containers.conf", CONTAINERS_CONF),
                      ("etc/containers/storage.conf", STORAGE_CONF)):
        path = paths.RUN_ROOT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def podman(args: str, *, check: bool = True, timeout: float = 600) -> str:
    return container.sh(f"podman {args}", check=check, timeout=timeout, logname="podman").stdout


def writable_cgroups() -> None:
    """nspawn mounts the v1 hierarchies read-only in the controller; podman (cgroupfs) creates a
    cgroup per container in each. The controller keeps CAP_SYS_ADMIN, and every hierarchy is rooted
    at the lab's own `ostlab_controller` cgroup there (its cgroup namespace), so this exposes only
    the lab's subtree."""
    container.sh("for h in /sys/fs/cgroup/*; do "
                 "case $h in */unified|*/systemd) continue;; esac; "
                 "[ -w $h ] || mount -o remount,bind,rw $h; done")


def ensure_image() -> None:
    """Import the Kolla-style image into the cached image store, once per image build."""
    writable_cgroups()
    if container.sh(f"podman image exists {kolla_image.NAME}", check=False, logname=None).returncode == 0:
        return
    kolla_image.build()  # on the host, once (about 7 minutes from empty download caches)
    changes = " ".join(f"--change '{c}'" for c in kolla_image.CHANGES)
    podman(f"--root {IMAGE_STORE} --runroot /run/ostlab-image-store import {changes} "
           f"{IMAGES_IN_CONTROLLER}/{kolla_image.TAR.name} {kolla_image.NAME}", timeout=900)


def remove(name: str) -> None:
    podman(f"rm --force --ignore --time 10 {name}", check=False)


def inspect(name: str) -> dict[str, Any]:
    out = podman(f"inspect {name}", check=False)
    try:
        found: list[dict[str, Any]] = json.loads(out)
    except json.JSONDecodeError:
        return {}
    return found[0] if found else {}


def state(name: str) -> dict[str, Any]:
    """The facts a scenario waits on: running or not, restarts, exit code, OOMKilled, id."""
    info = inspect(name)
    st = info.get("State", {})
    return {"id": info.get("Id", ""), "status": st.get("Status"), "exit_code": st.get("ExitCode"),
            "oom_killed": st.get("OOMKilled"), "restart_count": info.get("RestartCount"),
            "started_at": st.get("StartedAt"), "memory": info.get("HostConfig", {}).get("Memory")}
