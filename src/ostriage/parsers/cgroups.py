"""Whose cgroup is it? A cgroup path (a kernel OOM record's ``oom_memcg=``/``task_memcg=``, a process's
``ps -o cgroup`` entry) classified as this host's own hierarchy, a container engine's container, or
another machine (a systemd-nspawn or machined machine, an LXC/LXD container, any nested init).

The layouts, as the engines create them (cgroup v1 paths are the same below each controller's root):

- docker: ``/system.slice/docker-<64 hex>.scope`` (systemd cgroup driver), ``/docker/<64 hex>``
  (cgroupfs driver);
- podman: ``/machine.slice/libpod-<64 hex>.scope`` (systemd), ``/libpod_parent/libpod-<64 hex>``
  (cgroupfs, e.g. Debian's podman 4.3 on cgroup v1), rootless below ``user@<uid>.service``;
  ``libpod-conmon-<id>.scope`` holds the container's conmon;
- Kubernetes (CRI): ``/kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid, _ for ->.slice/
  cri-containerd-<64 hex>.scope`` (containerd, systemd driver; ``crio-<id>.scope`` for CRI-O,
  ``docker-<id>.scope`` for dockershim), ``/kubepods/<qos>/pod<uid>/<64 hex>`` (cgroupfs driver);
- LXC/LXD: ``/lxc/<name>`` (LXC ≤ 3), ``/lxc.payload/<name>`` (LXC 4 on v1), ``/lxc.payload.<name>``
  (LXC ≥ 4 and LXD on v2), ``lxc.monitor…`` for the container's monitor;
- machined: ``/machine.slice/machine-<name, systemd-escaped>.scope`` (``systemd-nspawn`` registered,
  libvirt's ``machine-qemu\\x2d1\\x2dinstance\\x2d00000001.scope``), ``/machine.slice/systemd-nspawn@<name>.service``;
- any other nested init (``systemd-nspawn --keep-unit``, a sandbox): a ``system.slice`` or ``init.scope``
  below a prefix: the prefix is the machine, its last component names it.

What follows the container's own cgroup (``inner``) is the path as the container itself sees it, e.g.
``/system.slice/neutron-server.service`` for a service of an nspawn machine or an LXD container.
Whether a nested path is another machine or the report's own host seen from inside its cgroup
namespace is not decided here (``facts.where`` does, from the processes' own view).

>>> o = classify_cgroup("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod6174adda_ae11_4e96_8616"
...                     "_9e4df87d87a7.slice/cri-containerd-3bc9b296a9d3b53ece5ba70649edaf5e560db68b6b1e9a3fe6e26d"
...                     "522f4d9154.scope")
>>> o.kind.value, o.engine, o.ref[:12], o.pod_uid
('container', 'containerd', '3bc9b296a9d3', '6174adda-ae11-4e96-8616-9e4df87d87a7')
>>> o = classify_cgroup("/process_api/dbe2/ostlab_controller/system.slice/neutron-server.service")
>>> o.kind.value, o.engine, o.ref, o.prefix, o.inner, o.inner_unit
('machine', None, 'ostlab_controller', '/process_api/dbe2/ostlab_controller', '/system.slice/neutron-server.service', \
'neutron-server.service')
>>> classify_cgroup("/system.slice/neutron-server.service").kind.value
'host'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from ostriage.parsers.kernel_oom import unit_from_cgroup

__all__ = ["CgroupOwner", "OwnerKind", "classify_cgroup", "unescape_unit"]

_HEX64 = r"[0-9a-f]{64}"
# (segment pattern, engine); the container id or name is group 1
_CONTAINER_SEGMENTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), engine) for p, engine in (
        (rf"docker-({_HEX64})\.scope", "docker"),
        (rf"libpod-(?:conmon-)?({_HEX64})(?:\.scope)?", "podman"),
        (rf"cri-containerd-({_HEX64})\.scope", "containerd"),
        (rf"crio-(?:conmon-)?({_HEX64})\.scope", "cri-o"),
    )
)
_POD_SYSTEMD = re.compile(r"kubepods(?:-\w+)?-pod([0-9a-f_]{36})\.slice")
_POD_CGROUPFS = re.compile(r"pod([0-9a-f-]{36})")
_HEX_ONLY = re.compile(_HEX64)
_LXC_DOTTED = re.compile(r"lxc\.(payload|monitor)\.(.+)")
_MACHINE_SCOPE = re.compile(r"machine-(.+)\.scope")
_NSPAWN_UNIT = re.compile(r"systemd-nspawn@(.+)\.service")
_USER_MANAGER = re.compile(r"user@\d+\.service")
_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")


class OwnerKind(StrEnum):
    """Who a cgroup belongs to."""

    HOST = "host"
    CONTAINER = "container"
    MACHINE = "machine"
    VM = "vm"


@dataclass(frozen=True, slots=True)
class CgroupOwner:
    """The owner of a cgroup path: ``prefix`` is the owner's own cgroup, ``inner`` the rest."""

    kind: OwnerKind
    engine: str | None
    ref: str | None
    prefix: str
    inner: str
    pod_uid: str | None = None

    @property
    def inner_unit(self) -> str | None:
        """The innermost systemd unit below the owner's cgroup (a machine's own service)."""
        return unit_from_cgroup(self.inner) if self.inner else None


def unescape_unit(name: str) -> str:
    r"""systemd's unit-name escaping undone (``\x2d`` is ``-``).

    >>> unescape_unit(r"qemu\x2d1\x2dinstance\x2d00000001")
    'qemu-1-instance-00000001'
    """
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), name)


def _owner(kind: OwnerKind, engine: str | None, ref: str | None, parts: list[str], end: int,
           pod_uid: str | None = None) -> CgroupOwner:
    prefix = "/" + "/".join(parts[:end])
    inner = "/" + "/".join(parts[end:]) if parts[end:] else ""
    return CgroupOwner(kind, engine, ref, prefix, inner, pod_uid)


def _pod_uid(parts: list[str]) -> str | None:
    for part in parts:
        if (m := _POD_SYSTEMD.fullmatch(part)) is not None:
            return m.group(1).replace("_", "-")
        if (m := _POD_CGROUPFS.fullmatch(part)) is not None:
            return m.group(1)
    return None


def _engine_container(parts: list[str]) -> CgroupOwner | None:
    for i, part in enumerate(parts):
        for pattern, engine in _CONTAINER_SEGMENTS:
            if (m := pattern.fullmatch(part)) is not None:
                return _owner(OwnerKind.CONTAINER, engine, m.group(1), parts, i + 1, _pod_uid(parts[:i]))
        if _HEX_ONLY.fullmatch(part) and i > 0:
            previous = parts[i - 1]
            if previous == "docker":
                return _owner(OwnerKind.CONTAINER, "docker", part, parts, i + 1)
            if _POD_CGROUPFS.fullmatch(previous):
                # the kubelet's cgroupfs layout does not say which runtime made the container
                return _owner(OwnerKind.CONTAINER, None, part, parts, i + 1, _pod_uid(parts[:i]))
    return None


def _machine(parts: list[str]) -> CgroupOwner | None:
    for i, part in enumerate(parts):
        if part in ("lxc", "lxc.payload") and i + 1 < len(parts):
            return _owner(OwnerKind.MACHINE, "lxc", parts[i + 1], parts, i + 2)
        if (m := _LXC_DOTTED.fullmatch(part)) is not None:
            return _owner(OwnerKind.MACHINE, "lxc", m.group(2), parts, i + 1)
        if i > 0 and parts[i - 1] == "machine.slice":
            if (m := _NSPAWN_UNIT.fullmatch(part)) is not None:
                return _owner(OwnerKind.MACHINE, "systemd-nspawn", unescape_unit(m.group(1)), parts, i + 1)
            if (m := _MACHINE_SCOPE.fullmatch(part)) is not None:
                name = unescape_unit(m.group(1))
                if name.startswith("qemu-"):
                    return _owner(OwnerKind.VM, "libvirt", name, parts, i + 1)
                return _owner(OwnerKind.MACHINE, "machined", name, parts, i + 1)
    # a systemd (or other init) of its own below a prefix: a machine nobody registered (systemd-nspawn puts
    # it in a "payload" subgroup of its own cgroup, which then names it)
    for i, part in enumerate(parts):
        if i > 0 and part in ("system.slice", "init.scope") and not _USER_MANAGER.fullmatch(parts[i - 1]):
            name = parts[i - 2] if parts[i - 1] == "payload" and i > 1 else parts[i - 1]
            return _owner(OwnerKind.MACHINE, None, name, parts, i)
    return None


@lru_cache(maxsize=8192)  # every process of a container repeats its path; the answer is pure
def classify_cgroup(path: str) -> CgroupOwner:
    """The owner of a cgroup path (see the module's documentation for the layouts).

    >>> classify_cgroup("/system.slice/docker-" + "a" * 64 + ".scope").engine
    'docker'
    >>> o = classify_cgroup("/libpod_parent/libpod-" + "b" * 64)
    >>> o.engine, o.ref == "b" * 64, o.inner
    ('podman', True, '')
    >>> o = classify_cgroup("/lxc.payload.juju-04f1e3-1-lxd-0/system.slice/neutron-server.service")
    >>> o.kind.value, o.engine, o.ref, o.inner_unit
    ('machine', 'lxc', 'juju-04f1e3-1-lxd-0', 'neutron-server.service')
    >>> classify_cgroup(r"/machine.slice/machine-qemu\\x2d1\\x2dinstance\\x2d00000001.scope/libvirt").kind.value
    'vm'
    >>> classify_cgroup("/user.slice/user-1000.slice/user@1000.service/init.scope").kind.value
    'host'
    """
    parts = [p for p in path.split("/") if p]
    found = _engine_container(parts) or _machine(parts)
    return found if found is not None else CgroupOwner(OwnerKind.HOST, None, None, "", path)
