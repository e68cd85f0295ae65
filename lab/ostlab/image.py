"""The controller image: Debian bookworm with real systemd, MariaDB, OVN, OVS, sos and a neutron venv.

Built once into the cache and reused by every `up` (which layers an overlay on top), because
debootstrap + apt + pip is the slow part of a fresh machine.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

from . import cgroup, hostapt, paths
from .shell import LabError, log, run

HOST_PACKAGES = {"systemd-nspawn": "systemd-container", "debootstrap": "debootstrap"}
# What an operator's controller would have, plus the tools sos calls (ps, ss, lsof, netstat).
CONTAINER_PACKAGES = [
    "mariadb-server", "ovn-central", "openvswitch-switch", "sosreport",
    "python3", "python3-venv", "procps", "iproute2", "lsof", "net-tools", "curl", "less",
    "ca-certificates", "psmisc", "sudo",
]
MIRROR = os.environ.get("OSTRIAGE_LAB_MIRROR", "http://deb.debian.org/debian")
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
BUILD_LIMIT = 3 << 30  # apt, mariadb-install-db and pip's resolver: well under 1 GiB seen


def _stamp(name: str) -> os.PathLike[str]:
    return paths.IMAGE / f".done-{name}"


def host_packages(allow_upgrades: bool = False) -> None:
    """The host's own packages the lab needs, added without upgrading anything else (``hostapt``)."""
    missing = [pkg for cmd, pkg in HOST_PACKAGES.items() if shutil.which(cmd) is None]
    hostapt.install(missing, allow_upgrades=allow_upgrades)


def _in_image(script: str, logname: str, timeout: float = 1800, root: Path = paths.IMAGE_ROOT) -> None:
    """Run a shell script inside the (not booted) image (or another root), confined to a memory cgroup."""
    cg = cgroup.create("ostlab_build", BUILD_LIMIT)
    # pip must trust what the host trusts (a site may reach PyPI through a TLS-inspecting proxy
    # whose CA is only in the host's bundle); lend the bundle read-only instead of editing the image.
    trust = []
    if os.path.exists(HOST_CA_BUNDLE):
        trust = [f"--bind-ro={HOST_CA_BUNDLE}:/run/host-ca-bundle.crt", "--setenv=PIP_CERT=/run/host-ca-bundle.crt"]
    try:
        run(cgroup.enter_argv(cg, [
            "systemd-nspawn", "-q", "-D", str(root), "--register=no", "--keep-unit",
            f"--bind={paths.APT_ARCHIVES}:/var/cache/apt/archives",
            f"--bind={paths.PIP_CACHE}:/root/.cache/pip", *trust,
            "--setenv=DEBIAN_FRONTEND=noninteractive", "/bin/sh", "-euc", script,
        ]), logname=logname, timeout=timeout)
    finally:
        cgroup.kill_all_and_remove(cg)


def debootstrap() -> None:
    if os.path.exists(_stamp("debootstrap")):
        return
    log(f"debootstrap bookworm -> {paths.IMAGE_ROOT} (about a minute)")
    if paths.IMAGE_ROOT.exists():
        shutil.rmtree(paths.IMAGE_ROOT)  # a half-built root from an interrupted run
    paths.IMAGE.mkdir(parents=True, exist_ok=True)
    run(["debootstrap", "--variant=minbase", "--include=systemd,systemd-sysv,dbus",
         f"--cache-dir={paths.APT_ARCHIVES}", "bookworm", str(paths.IMAGE_ROOT), MIRROR],
        logname="debootstrap")
    open(_stamp("debootstrap"), "w").close()


def apt_install(packages: list[str]) -> str:
    """Shell lines installing packages in a root being built; policy-rc.d keeps package scripts
    from starting daemons during the build, and is removed after."""
    return f"""
        printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
        apt-get -q update
        apt-get -y -q install --no-install-recommends {' '.join(packages)}
        rm -f /usr/sbin/policy-rc.d
    """


def _apt_step(name: str, packages: list[str], logname: str, then: str = "") -> None:
    # The stamp names the package list, so adding a package re-runs apt (which skips what is there).
    stamp = _stamp(f"{name}-" + hashlib.sha1(" ".join(sorted(packages)).encode()).hexdigest()[:10])
    if os.path.exists(stamp):
        return
    log("apt-get install in the image: " + " ".join(packages))
    _in_image(apt_install(packages) + then, logname)
    open(stamp, "w").close()


def packages() -> None:
    _apt_step("packages", CONTAINER_PACKAGES, "image-apt", f"echo {paths.MACHINE} > /etc/hostname\n")


def neutron_venv() -> None:
    stamp = _stamp(f"neutron-{paths.NEUTRON_VERSION}-v2")
    if os.path.exists(stamp):
        return
    log(f"neutron {paths.NEUTRON_VERSION} venv in the image at {paths.VENV} (pip, about a minute)")
    # pyuwsgi is the binary wheel of uWSGI: no compiler needed in the image.
    _in_image(f"""
        python3 -m venv {paths.VENV}
        {paths.VENV}/bin/pip install -q 'neutron=={paths.NEUTRON_VERSION}' pymysql
        {paths.VENV}/bin/pip install -q --only-binary :all: pyuwsgi
        # Where a distribution package would put them: oslo.privsep runs "sudo privsep-helper",
        # and sudo's secure_path includes /usr/local/bin.
        for cmd in privsep-helper neutron-rootwrap; do ln -sf {paths.VENV}/bin/$cmd /usr/local/bin/$cmd; done
    """, "image-venv")
    open(stamp, "w").close()


def nova_api() -> None:
    """Debian's real nova-api (zed, 26.x) under Debian's uWSGI; configured by the lab, not by debconf."""
    stamp = _stamp("nova-api")
    if os.path.exists(stamp):
        return
    log("apt-get install nova-api in the image (Debian's nova 26, a few minutes)")
    # No debconf database/keystone/rabbit set-up: the lab writes nova.conf and runs nova-manage itself.
    # Disabled at boot: the scenarios start it once its configuration and databases exist.
    _in_image("""
        printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
        for q in configure_db configure_rabbit configure_neutron configure_placement; do
            echo "nova-common nova/$q boolean false" | debconf-set-selections
        done
        echo "nova-api nova/register-endpoint boolean false" | debconf-set-selections
        apt-get -y -q install --no-install-recommends nova-api python3-pymysql
        systemctl disable nova-api.service nova-api-metadata.service
        rm -f /usr/sbin/policy-rc.d
    """, "image-nova")
    open(stamp, "w").close()


# Kolla and TripleO run their services with a container engine on the controller: Debian's podman.
# Its own step (and stamp), so the package list's stamp of images built before stays valid.
ENGINE_PACKAGES = ["podman", "conmon", "crun", "containernetworking-plugins"]


def container_engine() -> None:
    _apt_step("engine", ENGINE_PACKAGES, "image-engine")


def build(allow_host_upgrades: bool = False) -> float:
    """Idempotent: each step is skipped when its stamp exists. Returns seconds spent."""
    start = time.monotonic()
    for d in (paths.APT_ARCHIVES, paths.PIP_CACHE, paths.LOGS):
        d.mkdir(parents=True, exist_ok=True)
    host_packages(allow_host_upgrades)
    debootstrap()
    packages()
    neutron_venv()
    nova_api()
    container_engine()
    if not paths.IMAGE_ROOT.is_dir():
        raise LabError(f"image missing after build: {paths.IMAGE_ROOT}")
    return time.monotonic() - start
