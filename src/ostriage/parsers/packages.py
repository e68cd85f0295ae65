"""Installed package versions (which neutron is this?): dpkg, rpm, pip, and neutron's own log banner.

Sources:

- ``dpkg -l`` (sos ``sos_commands/dpkg/dpkg_-l``, root symlink ``installed-debs``). Real lines from the
  ussuri fixture::

    ||/ Name                                 Version                                              Architec...
    +++-====================================-====================================================-========...
    ii  neutron-common                       2:16.4.1-0ubuntu2                                    all      ...
    ii  libgstreamer-plugins-base1.0-0:amd64 1.16.3-0ubuntu1.1                                    amd64    ...

  The first two letters are desired action and state (``ii`` installed, ``rc`` removed with config files
  left); multi-arch names carry ``:arch``, removed from ``name``.
- ``rpm -qa`` (``NAME-VERSION-RELEASE.ARCH`` per line) and sos ``installed-rpms``
  (``rpm --nodigest -qa --qf '%-59{NVRA} %{INSTALLTIME:date}\\n'``, sos ``rpm`` plugin), e.g.
  ``openstack-neutron-common-18.6.0-1.el8.noarch                 Mon 12 Jun 2023 10:00:00 AM UTC``.
  The name may contain dashes; version and release may not, so NVRA is split from the right.
- ``pip list`` (sos ``sos_commands/python/pip_list_installed``, ``pip3_-v_list_installed``:
  ``Package Version`` columns, with ``-v`` also ``Location Installer``), legacy ``pip list``
  (``neutron (16.4.1)``) and ``pip freeze`` (``neutron==16.4.1``).
- neutron's start-up banner (``neutron/common/config.py`` ``setup_logging``: ``LOG.info("%(prog)s version
  %(version)s", {'prog': sys.argv[0], ...})`` from logger ``neutron.common.config``), right after
  ``Logging enabled!``. Real line::

    2022-02-04 09:38:50.706 24147 INFO neutron.common.config [-] /usr/bin/neutron-dhcp-agent version 16.4.1

>>> from ostriage.evidence import numbered
>>> (p,) = parse_dpkg_list(numbered(["ii  neutron-common  2:16.4.1-0ubuntu2  all  Neutron - common"], "debs"))
>>> p.name, p.version, p.arch, p.installed
('neutron-common', '2:16.4.1-0ubuntu2', 'all', True)
>>> rpm = "openstack-neutron-common-18.6.0-1.el8.noarch                 Mon 12 Jun 2023 10:00:00 AM UTC"
>>> (r,) = parse_rpm_list(numbered([rpm], "installed-rpms"))
>>> r.name, r.version, r.arch
('openstack-neutron-common', '18.6.0-1.el8', 'noarch')
>>> neutron_package([p, r]).name
'neutron-common'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ostriage.evidence import Line
from ostriage.parsers.oslo_log import LogRecord

__all__ = [
    "NEUTRON_PACKAGE_NAMES",
    "Package",
    "VersionBanner",
    "neutron_package",
    "parse_dpkg_list",
    "parse_pip_list",
    "parse_rpm_list",
    "parse_version_banner",
    "version_banners",
]

Manager = Literal["dpkg", "rpm", "pip"]


@dataclass(frozen=True, slots=True)
class Package:
    """One installed package; ``version`` as the manager prints it (epoch, release and all)."""

    name: str
    version: str
    manager: Manager
    line: Line
    arch: str | None = None
    status: str | None = None

    @property
    def installed(self) -> bool:
        """dpkg: state ``i`` (installed) or ``w``/``t`` (triggers awaited/pending, still installed);
        rpm and pip only list installed packages."""
        return self.status is None or self.status[1:2] in ("i", "w", "t")


def parse_dpkg_list(lines: Iterable[Line]) -> Iterator[Package]:
    """``dpkg -l``: every package line (status in ``Package.status``), headers skipped."""
    for line in lines:
        fields = line.text.split(None, 4)
        if len(fields) < 4 or len(fields[0]) not in (2, 3) or not fields[0].isalpha():
            continue
        if fields[0][0] not in "uihrp" or fields[1] == "Name":
            continue
        name = fields[1].split(":", 1)[0]
        yield Package(name, fields[2], "dpkg", line, fields[3], fields[0])


# rpm's ARCH values (rpmrc arch names) plus "(none)" for gpg-pubkey pseudo-packages.
_RPM_ARCHES = {"noarch", "x86_64", "i386", "i486", "i586", "i686", "aarch64", "ppc64le", "ppc64", "ppc",
               "s390x", "s390", "armv7hl", "armhfp", "src", "(none)"}


def parse_rpm_list(lines: Iterable[Line]) -> Iterator[Package]:
    """``rpm -qa`` (NVRA or, with an old rpm, NVR) and sos ``installed-rpms`` (NVRA then install date)."""
    for line in lines:
        fields = line.text.split()
        if not fields:
            continue
        nvra = fields[0]
        stem, dot, arch = nvra.rpartition(".")
        if not dot or arch not in _RPM_ARCHES:
            stem, arch = nvra, ""
        parts = stem.rsplit("-", 2)
        if len(parts) != 3 or not all(parts) or not any(c.isdigit() for c in parts[1]):
            continue
        name, version, release = parts
        yield Package(name, f"{version}-{release}", "rpm", line, arch if arch not in ("", "(none)") else None)


_PIP_LEGACY = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*) \((?P<version>[^,)\s]+)")
_PIP_FREEZE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)===?(?P<version>\S+)")


def parse_pip_list(lines: Iterable[Line]) -> Iterator[Package]:
    """``pip list`` (columns or legacy) and ``pip freeze``; editable and URL installs (no version) skipped.

    >>> from ostriage.evidence import numbered
    >>> pip = ["Package    Version", "---------- -------", "neutron    16.4.1", "neutron-lib (2.3.0)",
    ...        "oslo.config==8.0.2", "-e git+https://opendev.org/openstack/neutron#egg=neutron"]
    >>> [(p.name, p.version) for p in parse_pip_list(numbered(pip, "pip"))]
    [('neutron', '16.4.1'), ('neutron-lib', '2.3.0'), ('oslo.config', '8.0.2')]
    """
    for line in lines:
        text = line.text.strip()
        match = _PIP_FREEZE.match(text) or _PIP_LEGACY.match(text)
        if match is not None:
            yield Package(match["name"], match["version"], "pip", line)
            continue
        fields = text.split()
        if len(fields) >= 2 and fields[1][:1].isdigit() and fields[0][:1].isalnum():
            yield Package(fields[0], fields[1], "pip", line)


# The package that carries neutron's code, by manager, most specific first.
NEUTRON_PACKAGE_NAMES = ("python3-neutron", "neutron-common", "openstack-neutron-common",
                         "openstack-neutron", "python-neutron", "neutron")


def neutron_package(packages: Iterable[Package]) -> Package | None:
    """The installed package whose version is neutron's (``NEUTRON_PACKAGE_NAMES`` order), if any."""
    best: tuple[int, Package] | None = None
    for package in packages:
        if package.name in NEUTRON_PACKAGE_NAMES and package.installed:
            rank = NEUTRON_PACKAGE_NAMES.index(package.name)
            if best is None or rank < best[0]:
                best = (rank, package)
    return best[1] if best else None


@dataclass(frozen=True, slots=True)
class VersionBanner:
    """``<argv[0]> version <version>`` logged by a neutron process at start-up."""

    program: str
    version: str
    timestamp: datetime
    pid: int
    line: Line


_BANNER = re.compile(r"^(?P<program>\S+) version (?P<version>\d\S*)\s*$")


def parse_version_banner(record: LogRecord) -> VersionBanner | None:
    """The version banner in a record, if it is one.

    >>> from ostriage.evidence import numbered
    >>> from ostriage.parsers.oslo_log import parse_oslo_log
    >>> log = ("2022-02-04 09:38:50.706 24147 INFO neutron.common.config [-] "
    ...        "/usr/bin/neutron-dhcp-agent version 16.4.1")
    >>> banner = parse_version_banner(next(parse_oslo_log(numbered([log], "dhcp.log"))))
    >>> banner.program, banner.version, banner.pid
    ('/usr/bin/neutron-dhcp-agent', '16.4.1', 24147)
    """
    if record.logger != "neutron.common.config":
        return None
    match = _BANNER.match(record.message)
    if match is None:
        return None
    return VersionBanner(match["program"], match["version"], record.timestamp, record.pid, record.line)


def version_banners(records: Iterable[LogRecord]) -> Iterator[VersionBanner]:
    for record in records:
        banner = parse_version_banner(record)
        if banner is not None:
            yield banner
