"""What the lab may change on the host: its apt installs add packages and upgrade none unless told, and
`ostlab clean` removes its cache only when nothing of it is still mounted. No lab is needed (no root, no
apt run): apt's own simulated output, recorded on this Debian 12 host, is what is read."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "lab"))

from ostlab import cache, hostapt  # noqa: E402 - the lab package lives outside src/, on purpose
from ostlab.shell import LabError  # noqa: E402

# `apt-get -s -q install libcurl4-openssl-dev` on a Debian 12 host four point releases behind
UPGRADES = """\
Reading package lists...
Building dependency tree...
Reading state information...
The following packages will be upgraded:
  curl libcurl3-gnutls libcurl3-nss libcurl4
4 upgraded, 1 newly installed, 0 to remove and 128 not upgraded.
Inst curl [7.88.1-10+deb12u14] (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64]) []
Inst libcurl4 [7.88.1-10+deb12u14] (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Inst libcurl3-gnutls [7.88.1-10+deb12u14] (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Inst libcurl3-nss [7.88.1-10+deb12u14] (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Inst libcurl4-openssl-dev (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Conf curl (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Conf libcurl4 (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Conf libcurl3-gnutls (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Conf libcurl3-nss (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
Conf libcurl4-openssl-dev (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
"""
# `apt-get -s -q install hello` on the same host
NEW_ONLY = """\
The following NEW packages will be installed:
  hello
0 upgraded, 1 newly installed, 0 to remove and 132 not upgraded.
Inst hello (2.10-3 Debian:12.15/oldstable [amd64])
Conf hello (2.10-3 Debian:12.15/oldstable [amd64])
"""


def test_the_simulation_tells_new_packages_from_changed_ones() -> None:
    plan = hostapt.parse_simulation(UPGRADES)
    assert plan.new == ("libcurl4-openssl-dev 7.88.1-10+deb12u15",)
    assert plan.changed == tuple(f"{name} 7.88.1-10+deb12u14 -> 7.88.1-10+deb12u15"
                                 for name in ("curl", "libcurl4", "libcurl3-gnutls", "libcurl3-nss"))
    assert hostapt.parse_simulation("Remv libfoo1 [1.0-1]\n").changed == ("libfoo1 1.0-1 removed",)


class Apt:
    """Stands in for apt-get (never run here): answers the simulation with a recorded output, keeps argv."""

    def __init__(self, simulation: str) -> None:
        self.simulation = simulation
        self.calls: list[list[str]] = []

    def __call__(self, cmd: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(cmd))
        out = self.simulation if "-s" in cmd else ""
        return subprocess.CompletedProcess(list(cmd), 0, out, "")

    @property
    def installed(self) -> bool:
        return any("install" in c and "-s" not in c for c in self.calls)


def test_an_install_that_would_upgrade_host_packages_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    apt = Apt(UPGRADES)
    monkeypatch.setattr(hostapt, "run", apt)
    with pytest.raises(LabError) as refused:
        hostapt.install(["libcurl4-openssl-dev"], allow_upgrades=False)
    message = str(refused.value)
    assert "would also change 4 installed package(s): curl 7.88.1-10+deb12u14 -> 7.88.1-10+deb12u15;" in message
    assert "Nothing was installed" in message and "--allow-host-upgrades" in message
    assert not apt.installed


def test_new_packages_only_are_installed_and_upgrades_only_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    for simulation, allow in ((NEW_ONLY, False), (UPGRADES, True)):
        apt = Apt(simulation)
        monkeypatch.setattr(hostapt, "run", apt)
        hostapt.install(["hello"], allow_upgrades=allow)
        assert apt.calls[-1][-3:] == ["install", "--no-install-recommends", "hello"] and "-y" in apt.calls[-1]


def test_clean_refuses_while_something_is_mounted_in_the_cache() -> None:
    mountinfo = ("25 1 0:23 / / rw - ext4 /dev/vda rw\n"
                 "36 25 0:32 / /var/cache/ostriage-lab/run/rootfs rw - overlay overlay rw\n"
                 "37 25 0:33 / /var/cache/ostriage\\040lab rw - tmpfs tmpfs rw\n")
    assert cache.mounts_under(Path("/var/cache/ostriage-lab"), mountinfo) == ["/var/cache/ostriage-lab/run/rootfs"]
    assert cache.mounts_under(Path("/var/cache/ostriage lab"), mountinfo) == ["/var/cache/ostriage lab"]
