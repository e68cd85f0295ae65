"""Installing the lab's host packages (systemd-nspawn, debootstrap) without touching anything else.

A plain ``apt-get install systemd-container`` on a host behind its point releases pulls the matching
systemd, libsystemd0, udev ... along: once it upgraded 8 host packages, systemd included. So apt is asked
first what it would do (``apt-get install -s``, which changes nothing), and the install goes ahead only when
it adds new packages and changes no installed one; otherwise ostlab stops and names every package it would
upgrade, downgrade or remove. ``--allow-host-upgrades`` (``make lab ALLOW_HOST_UPGRADES=1``) lets it go
ahead anyway, after logging that list. Recommended packages are left out (``--no-install-recommends``):
the lab needs none, and each would be one more change to the host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .shell import LabError, log, run

__all__ = ["AptPlan", "install", "parse_simulation"]

APT_GET = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "-q"]
# "Inst name [installed version] (new version release [arch])"; no brackets: a new package
_INST = re.compile(r"^Inst (\S+) (?:\[([^\]]*)\] )?\((\S+)")
_REMOVE = re.compile(r"^(?:Remv|Purg) (\S+)(?: \[([^\]]*)\])?")


@dataclass(frozen=True)
class AptPlan:
    """What ``apt-get install -s`` says it would do."""

    new: tuple[str, ...]  # "name version"
    changed: tuple[str, ...]  # "name old -> new", "name old removed"

    def describe(self) -> str:
        return "; ".join(self.changed)


def parse_simulation(output: str) -> AptPlan:
    """Read ``apt-get install -s`` output (``Inst``/``Remv`` lines; ``Conf`` lines repeat ``Inst``).

    >>> plan = parse_simulation("Inst curl [7.88.1-10+deb12u14] (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])\\n"
    ...                         "Inst hello (2.10-3 Debian:12.15/oldstable [amd64])\\nConf hello (2.10-3 Debian)\\n")
    >>> plan.new, plan.changed
    (('hello 2.10-3',), ('curl 7.88.1-10+deb12u14 -> 7.88.1-10+deb12u15',))
    """
    new: list[str] = []
    changed: list[str] = []
    for line in output.splitlines():
        if m := _INST.match(line):
            name, old, version = m.groups()
            (changed if old is not None else new).append(f"{name} {old} -> {version}" if old else f"{name} {version}")
        elif m := _REMOVE.match(line):
            changed.append(f"{m.group(1)} {m.group(2) or ''} removed".replace("  ", " "))
    return AptPlan(tuple(new), tuple(changed))


def _simulate(packages: list[str]) -> AptPlan:
    done = run([*APT_GET, "-s", "install", "--no-install-recommends", *packages], logname="host-apt",
               check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        raise LabError(f"apt-get cannot install {' '.join(packages)} on this host: {tail[0]}")
    return parse_simulation(done.stdout)


def install(packages: list[str], *, allow_upgrades: bool) -> None:
    """Install ``packages`` on the host if that adds packages only, or if ``allow_upgrades`` accepts what else
    apt would change (named in the log)."""
    if not packages:
        return
    log(f"apt-get update (host package lists only), then a simulated install of {' '.join(packages)}")
    run([*APT_GET, "update"], logname="host-apt")
    plan = _simulate(packages)
    if plan.changed and not allow_upgrades:
        raise LabError(
            f"installing {' '.join(packages)} on this host would also change {len(plan.changed)} installed "
            f"package(s): {plan.describe()}. Nothing was installed. Install them yourself, or accept exactly "
            "these changes with `python3 -m ostlab up --allow-host-upgrades` (make lab ALLOW_HOST_UPGRADES=1)")
    if plan.changed:
        log(f"--allow-host-upgrades: apt also changes {plan.describe()}")
    log(f"apt-get install {' '.join(packages)} (host): new {', '.join(plan.new) or 'nothing'}")
    run([*APT_GET, "-y", "install", "--no-install-recommends", *packages], logname="host-apt")
