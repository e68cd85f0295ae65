"""A Kolla-style neutron-server container image, built locally (no container registry is reachable).

Laid out as Kolla's own Dockerfiles lay out `neutron-server` on Debian (kolla/docker/base,
openstack-base, neutron-base, neutron-server): users kolla (42400) and neutron (42435), the
OpenStack venv at /var/lib/kolla/venv, Kolla's real start-up scripts (`kolla_start`,
`kolla_set_configs`, the neutron `extend_start` hooks, the sudoers files) taken from the `kolla`
package on PyPI at build time, `dumb-init --single-child --` as entrypoint, `kolla_start` as command,
USER neutron. neutron itself is the lab's version from PyPI. The root is built with debootstrap,
exported as a tar, and imported into the controller's podman with `podman import --change ...`
(the Dockerfile's ENTRYPOINT/CMD/USER/ENV), because `FROM debian:bookworm` cannot be pulled here.
TripleO ran Kolla-built images too, so the TripleO-style deployment uses the same image.
"""

from __future__ import annotations

import os
import shutil

from . import image, paths
from .shell import log, run

KOLLA_VERSION = os.environ.get("OSTRIAGE_LAB_KOLLA", "23.0.0")  # kolla's 2026.2 release, as neutron 29
DIR = paths.CACHE / "kolla-images"
ROOT = DIR / "neutron-server-rootfs"
TAR = DIR / f"neutron-server-{paths.NEUTRON_VERSION}.tar"
NAME = f"localhost/openstack.kolla/neutron-server:{paths.NEUTRON_VERSION}-debian-bookworm"
VENV = "/var/lib/kolla/venv"
# What the Dockerfile would set; `podman import --change` applies them to the imported layer.
CHANGES = (
    'ENTRYPOINT ["dumb-init", "--single-child", "--"]',
    'CMD ["kolla_start"]',
    "USER neutron",
    f"ENV PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=en_US.UTF-8",
    "ENV KOLLA_BASE_DISTRO=debian",
    "ENV KOLLA_BASE_ARCH=x86_64",
    f'LABEL name="neutron-server" kolla_version="{KOLLA_VERSION}"',
)
# kolla's files, from its wheel, to where kolla's Dockerfiles COPY them (mode as they chmod them).
KOLLA_FILES = (
    ("kolla/docker/base/set_configs.py", "/usr/local/bin/kolla_set_configs", 0o755),
    ("kolla/docker/base/start.sh", "/usr/local/bin/kolla_start", 0o755),
    ("kolla/docker/base/copy_cacerts.sh", "/usr/local/bin/kolla_copy_cacerts", 0o755),
    ("kolla/docker/base/install_projects.sh", "/usr/local/bin/kolla_install_projects", 0o755),
    ("kolla/docker/base/sudoers", "/etc/sudoers", 0o440),
    ("kolla/docker/neutron/neutron-base/neutron_sudoers", "/etc/sudoers.d/kolla_neutron_sudoers", 0o440),
    ("kolla/docker/neutron/neutron-base/extend_start.sh", "/usr/local/bin/kolla_extend_start", 0o644),
    ("kolla/docker/neutron/neutron-server/extend_start.sh", "/usr/local/bin/kolla_neutron_extend_start", 0o644),
)
PACKAGES = ["python3", "python3-venv", "python3-yaml", "dumb-init", "sudo", "ca-certificates", "procps",
            "locales"]


VERSIONS = ("neutron", "neutron_lib", "pyuwsgi", "keystoneauth1", "oslo_log", "sqlalchemy", "pymysql")


def versions() -> list[str]:
    """`name version` of the image's main Python packages, from the dist-info directories in its tar."""
    import re
    import tarfile
    found = []
    with tarfile.open(TAR) as tar:
        for member in tar:
            m = re.search(r"/site-packages/([^/]+)-([^-/]+)\.dist-info$", member.name)
            if m and m.group(1).lower() in VERSIONS:
                found.append(f"{m.group(1)} {m.group(2)}")
    return sorted(found)


def _stamp() -> str:
    return str(DIR / f".done-neutron-server-{paths.NEUTRON_VERSION}-kolla-{KOLLA_VERSION}")


def _extract_script() -> str:
    lines = ["import glob, os, zipfile", "z = zipfile.ZipFile(glob.glob('/tmp/kolla-wheel/kolla-*.whl')[0])"]
    for member, dest, mode in KOLLA_FILES:
        lines.append(f"open({dest!r}, 'wb').write(z.read({member!r})); os.chmod({dest!r}, {mode:#o})")
    return "\n".join(lines)


def build() -> None:
    """debootstrap + apt + the venv + kolla's scripts, then a tar for `podman import`. Cached."""
    if os.path.exists(_stamp()) and TAR.exists():
        return
    log(f"Kolla-style neutron-server image (neutron {paths.NEUTRON_VERSION}, kolla {KOLLA_VERSION}) -> {TAR}")
    for stale in (ROOT, DIR / "storage"):  # the old root, and the store holding the old image
        if stale.exists():
            shutil.rmtree(stale)
    DIR.mkdir(parents=True, exist_ok=True)
    run(["debootstrap", "--variant=minbase", f"--cache-dir={paths.APT_ARCHIVES}", "bookworm", str(ROOT),
         image.MIRROR], logname="kolla-debootstrap")
    users = "\n".join(f"groupadd --gid {uid} {name} && useradd -l -M --shell /usr/sbin/nologin --uid {uid} "
                      f"--gid {uid} {name}" for name, uid in (("kolla", 42400), ("neutron", 42435)))
    image._in_image(image.apt_install(PACKAGES) + f"""
        sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen && locale-gen
        {users}
        usermod --append --home /var/lib/neutron --groups kolla neutron
        mkdir -p /var/lib/neutron /var/log/kolla /etc/neutron
        chown neutron: /var/lib/neutron; chown :kolla /var/log/kolla; chmod 2775 /var/log/kolla
        python3 -m venv --system-site-packages {VENV}
        ln -s python3.11 {VENV}/lib/python3
        {VENV}/bin/pip install -q 'neutron=={paths.NEUTRON_VERSION}' pymysql
        {VENV}/bin/pip install -q --only-binary :all: pyuwsgi
        {VENV}/bin/pip download -q --no-deps 'kolla=={KOLLA_VERSION}' -d /tmp/kolla-wheel
        mkdir -p /etc/sudoers.d && chmod 750 /etc/sudoers.d
        {VENV}/bin/python3 - <<'EOF'
{_extract_script()}
EOF
        rm -rf /tmp/kolla-wheel
        touch /usr/local/bin/kolla_extend_start
        cp -r {VENV}/etc/neutron/* /etc/neutron/
        apt-get clean
    """, "kolla-image", root=ROOT)
    run(["tar", "--numeric-owner", "--xattrs", "-C", str(ROOT), "-cf", str(TAR), "."], logname="kolla-image")
    shutil.rmtree(ROOT)
    open(_stamp(), "w").close()
