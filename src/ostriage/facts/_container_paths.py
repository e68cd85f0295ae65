"""Where a containerised service's files are on the host: its container paths (``/etc/neutron/neutron.conf``
in the ``--config-file`` of its command line) translated to the host's.

- Kolla-Ansible: the host's ``/etc/kolla/<service>/`` is mounted at ``/var/lib/kolla/config_files/``, and
  ``kolla_set_configs`` copies each file to its place as ``config.json`` says (``{"source":
  "/var/lib/kolla/config_files/ml2_conf.ini", "dest": "/etc/neutron/plugins/ml2/ml2_conf.ini"}``);
- TripleO: ``/var/lib/config-data/puppet-generated/<config volume>/`` is mounted at
  ``/var/lib/kolla/config_files/src`` and copied to ``/`` (``{"source": "/var/lib/kolla/config_files/src/*",
  "dest": "/", "merge": true}``), so ``/etc/neutron/neutron.conf`` is ``…/puppet-generated/neutron/etc/neutron/
  neutron.conf``;
- any other container: its bind mounts (``docker``/``podman inspect`` ``Mounts``);
- a systemd-nspawn machine: its root directory (``systemd-nspawn -D <dir>``, ``/var/lib/machines/<name>``).

Without the engine's record, Kolla's and TripleO's own layouts are looked for by the container's name.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from ostriage.facts.where import Placement, Where, nspawn_root
from ostriage.parsers.ps import PsProcess
from ostriage.sources.base import Source

__all__ = ["PathMap", "container_paths"]

_KOLLA_CONFIG_FILES = "/var/lib/kolla/config_files"


@dataclass(frozen=True, slots=True)
class PathMap:
    """Container path prefixes and the host paths they are at, longest prefix first."""

    prefixes: tuple[tuple[str, str], ...]
    label: str

    def host(self, path: str) -> str | None:
        """The host path of a container path; ``None`` when the host cannot see it (not mounted, not copied).

        >>> m = PathMap((("/etc/neutron/neutron.conf", "/etc/kolla/neutron-server/neutron.conf"),), "x")
        >>> m.host("/etc/neutron/neutron.conf"), m.host("/etc/neutron/other.conf")
        ('/etc/kolla/neutron-server/neutron.conf', None)
        """
        for inside, outside in self.prefixes:
            if path == inside:
                return outside
            base = inside if inside.endswith("/") else inside + "/"
            if path.startswith(base):
                return posixpath.join(outside, path[len(base):])
        return None


def _ordered(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(dict(pairs).items(), key=lambda p: len(p[0].rstrip("/")), reverse=True))


def _kolla_config(source: Source, path: str) -> list[tuple[str, str]]:
    """``config.json``'s ``dest`` → ``source`` pairs (directories as prefixes)."""
    lines = source.read_lines(path)
    if lines is None:
        return []
    try:
        data = json.loads("\n".join(line.text for line in lines))
    except (ValueError, RecursionError):
        return []
    pairs = []
    for entry in data.get("config_files") or () if isinstance(data, dict) else ():
        if not isinstance(entry, dict):
            continue
        src, dest = entry.get("source"), entry.get("dest")
        if not isinstance(src, str) or not isinstance(dest, str):
            continue
        if src.endswith("/*"):
            pairs.append((dest if dest.endswith("/") else dest + "/", src[:-1]))
        elif dest.endswith("/"):
            pairs.append((dest + posixpath.basename(src), src))
        else:
            pairs.append((dest, src))
    return pairs


def container_paths(source: Source, placement: Placement | None, processes: list[PsProcess],
                    defaults: Iterable[str] = ()) -> PathMap | None:
    """How the placement's container paths map to the host's (``None``: they are the host's own; a map with
    no prefix: none of them is visible from the host). ``defaults`` are the service's usual files, found in
    Kolla's flat directory by name when its ``config.json`` is not at hand."""
    if placement is None or placement.where not in (Where.CONTAINER, Where.MACHINE):
        return None
    if placement.where is Where.MACHINE:
        root = nspawn_root(processes, placement.machine) if placement.engine in (None, "systemd-nspawn") else None
        if root is None and placement.machine and placement.engine in ("systemd-nspawn", "machined"):
            root = f"/var/lib/machines/{placement.machine}"
        return PathMap((("/", root),) if root else (), f"root of {placement.label} at {root}" if root
                       else f"{placement.label}, whose files this host does not show")
    c = placement.container
    nothing = PathMap((), f"{placement.label}, whose files this host does not show")
    if c is None:
        return nothing
    kolla = f"/etc/kolla/{c.name.replace('_', '-')}"
    puppet = f"/var/lib/config-data/puppet-generated/{c.name.split('_', 1)[0]}"
    where = {"kolla": f"{kolla}/ (Kolla's; no sos plugin collects it)",
             "tripleo": f"{puppet}/ (TripleO's)"}.get(c.orchestrator or "")
    if where is not None:
        nothing = PathMap((), f"{placement.label}, whose files would be in {where}, not in this evidence")
    mounts = [(dest, src) for src, dest in c.mounts]
    by_mount = PathMap(_ordered(mounts), "")
    guesses: list[tuple[str, str]] = []
    fallback: list[tuple[str, str]] = []
    if not mounts:
        # no engine record: Kolla's and TripleO's own layouts, by the container's name
        if source.glob(kolla):
            guesses.append((_KOLLA_CONFIG_FILES, kolla))
            # without its config.json, Kolla's flat directory holds each file under its own name
            fallback += [(path, posixpath.join(kolla, posixpath.basename(path))) for path in defaults]
        if source.glob(puppet):
            guesses += [(f"{_KOLLA_CONFIG_FILES}/src", puppet),
                        (f"{_KOLLA_CONFIG_FILES}/config.json", f"{_KOLLA_CONFIG_FILES}/{c.name}.json")]
            # every TripleO service's config.json copies src/* to / (kolla_set_configs, "merge": true)
            fallback.append(("/", puppet))
        by_mount = PathMap(_ordered(guesses), "")
    config_json = by_mount.host(f"{_KOLLA_CONFIG_FILES}/config.json")
    config = _kolla_config(source, config_json) if config_json else []
    if not config:
        guesses += fallback
    pairs = ([(dest, host) for dest, src in config if (host := by_mount.host(src))] + list(by_mount.prefixes)
             + ([] if config else fallback))
    if not pairs:
        return nothing
    how = ("Kolla's config.json and the container's mounts" if config else "the container's mounts" if mounts
           else "Kolla's and TripleO's layouts")
    return PathMap(_ordered(pairs), f"{placement.label}'s paths through {how}")
