"""Which Southbound tables neutron keeps a full replica of, and which aging settings exist where.

An OVSDB IDL holds every row of every table it registers, in every process that connects: with
ML2/OVN that is each API worker, RPC worker and the maintenance worker. A table that grows without
bound in the Southbound (``MAC_Binding``: one row per IP a logical router ever resolved; ``FDB``: one
row per MAC learned on a port with unknown addresses) makes neutron's memory grow with it.

Every fact below was read in the sources, not guessed (mirrors: openstack/neutron at 2131d26f73,
ovn-org/ovn with its release tags), with ``git show <tag>:<file>`` on every release tag:

*Registered Southbound tables* (``OvnSbIdl.from_server`` in
``neutron/plugins/ml2/drivers/ovn/mech_driver/ovsdb/ovsdb_monitor.py``; ML2/OVN is in-tree from 16.0.0):

- ``MAC_Binding``: registered in 16.0.0–16.4.1, 17.0.0–17.2.1, 18.0.0–18.1.1 and 19.0.0; commit
  f6c3552769 (2021-10-07, bug #1946318, "memory consumption of neutron-server dropped from 75GB to 7GB")
  stopped it: first in 20.0.0 and backported to 16.4.2, 17.3.0, 18.2.0 and 19.1.0 (each tag read).
  Since then neutron deletes a detached floating IP's rows with ``ovsdb-client transact`` instead.
- ``FDB`` (when the Southbound schema has it: OVN >= 21.03, ``ovn-sb.ovsschema``): registered by commit
  662cd60075 (2021-04-16) in 19.0.0, backported to 16.3.2 (611a86b8f5), 17.1.2 (ae7a0567ef) and 18.1.0
  (a226f23326); every release up to 27.x (2025.2) still registers it; reverted by becde60abd
  (2026-02-05, "at scale with millions of rows it has a significant impact on CPU and memory"), first
  in 28.0.0 (2026.1).
- The other registered tables (Chassis, Chassis_Private, Encap, Port_Binding, Datapath_Binding,
  Connection, SB_Global's external_ids) grow with the deployment, not over time.

*Neutron options* (``neutron/conf/plugins/ml2/drivers/ovn/ovn_conf.py``, ``neutron/common/ovn/constants.py``):

- ``[ovn] mac_binding_age_threshold`` and ``[ovn_nb_global] mac_binding_removal_limit``: commit
  0a554b4f29, first in 24.0.0 (2024.1), absent from every earlier tag; both default 0 (no aging, no
  limit). The maintenance task writes the threshold into every router's ``options`` (24.0.0
  ``update_mac_aging_settings``); the removal limit reached ``NB_Global`` only from 24.1.0 (d15ef79c4d,
  "Actualy set global removal limit options"). Threshold default 300 in 28.0.0 (e4156ee070, bug
  #2142652), back to 0 in 28.0.1 (8f161f4e75, stable-only, bug #2146769: an OVN bug makes aging send
  ARPs for gateway router ports from other chassis; "the recommended value is 300 seconds" once OVN
  has the fix), 300 again on master (29.0.0.0b1) and in PyPI's 29.0.0 (read in the lab's venv:
  ``MAC_BINDING_AGE_THRESHOLD = 300``; its ``OvnSbIdl`` registers neither MAC_Binding nor FDB).
- ``[ovn] broadcast_arps_to_all_routers``: f651b28c42, first in 25.0.0, default True (OVN's own
  behaviour: every router on a network learns every ARP); False keeps routers from filling
  ``MAC_Binding`` with bindings they never asked for. Needs OVN >= 23.06.
- ``[ovn] fdb_age_threshold`` / ``[ovn_nb_global] fdb_removal_limit``: 24.0.0, default 0; threshold
  default 300 from 28.0.0 (e6f32d6391). Needs OVN >= 23.09.

*OVN* (``ovn-nb.xml`` at each ``vX.Y.0`` tag, ``NEWS``):

- v22.09.0: ``Logical_Router options:mac_binding_age_threshold`` (seconds, 0 disables; aging runs in
  ovn-northd, ``northd/mac-binding-aging.c``, from each row's ``timestamp``) and ``NB_Global
  options:mac_binding_removal_limit``. No global threshold exists (v26.03.0 included): it is per router.
- v23.06.0: ``Logical_Switch other_config:broadcast-arps-to-all-routers``.
- v23.09.0: ``Logical_Switch other_config:fdb_age_threshold``, ``NB_Global options:fdb_removal_limit``.
- v24.03.0: the router threshold accepts CIDRs, ``[cidr:]threshold;...`` (commit 78851b6ff).

>>> from ostriage.knowledge.releases import parse_neutron_version as v
>>> sorted(replicated_tables(v("19.0.0"))), sorted(replicated_tables(v("19.1.0")))
(['FDB', 'MAC_Binding'], ['FDB'])
>>> sorted(replicated_tables(v("16.4.1"))), sorted(replicated_tables(v("28.0.1"))), replicated_tables(v("15.3.4"))
(['FDB', 'MAC_Binding'], [], None)
>>> aging_option(v("24.2.2")).default, aging_option(v("28.0.0")).default, aging_option(v("23.5.0"))
(0, 300, None)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ostriage.knowledge.releases import NeutronRelease

__all__ = [
    "OVN_AGING",
    "OVN_ARP_BROADCAST_OPTION",
    "OVN_CIDR_AGING",
    "OVN_FDB_AGING",
    "UNBOUNDED_SB_TABLES",
    "AgingOption",
    "OvnVersion",
    "aging_option",
    "arp_broadcast_option",
    "fdb_aging_option",
    "parse_ovn_version",
    "release_without_mac_binding",
    "removal_limit_option",
    "replicated_tables",
]

#: Southbound tables whose rows accumulate over time rather than with the deployment's size.
UNBOUNDED_SB_TABLES = ("MAC_Binding", "FDB")

# First release of each series that no longer registers MAC_Binding (f6c3552769 and its backports).
_MAC_BINDING_DROPPED = {16: (16, 4, 2), 17: (17, 3, 0), 18: (18, 2, 0), 19: (19, 1, 0)}
# First release of each series that registers FDB (662cd60075 and its backports); 28.0.0 dropped it.
_FDB_ADDED = {16: (16, 3, 2), 17: (17, 1, 2), 18: (18, 1, 0)}
_FIRST_ML2_OVN_MAJOR = 16
_FDB_DROPPED_MAJOR = 28


def _triple(r: NeutronRelease) -> tuple[int, int, int]:
    return (r.major, r.minor, r.patch)


def replicated_tables(release: NeutronRelease) -> frozenset[str] | None:
    """The unbounded Southbound tables every ML2/OVN worker of ``release`` keeps in memory.

    ``None`` before 16.0.0 (ML2/OVN lived in networking-ovn, not read here). ``FDB`` only where the
    Southbound schema has the table (OVN >= 21.03); callers that know the OVN version may drop it.
    A pre-release counts as its final version (``19.1.0.0rc1`` already carries the backport only if
    tagged after it: none of the backports landed in a pre-release).
    """
    major = release.major
    if major < _FIRST_ML2_OVN_MAJOR:
        return None
    tables: set[str] = set()
    dropped = _MAC_BINDING_DROPPED.get(major)
    if dropped is not None and _triple(release) < dropped:
        tables.add("MAC_Binding")
    added = _FDB_ADDED.get(major)
    if major < _FDB_DROPPED_MAJOR and (added is None or _triple(release) >= added):
        tables.add("FDB")
    return frozenset(tables)


def release_without_mac_binding(release: NeutronRelease) -> str:
    """The nearest release that no longer keeps MAC_Binding: the same series' fixed version, else 20.0.0.

    >>> from ostriage.knowledge.releases import parse_neutron_version as v
    >>> release_without_mac_binding(v("18.1.1")), release_without_mac_binding(v("19.0.0"))
    ('18.2.0', '19.1.0')
    """
    fixed = _MAC_BINDING_DROPPED.get(release.major)
    return ".".join(map(str, fixed)) if fixed else "20.0.0"


@dataclass(frozen=True, slots=True)
class AgingOption:
    """A neutron option that ages or limits a Southbound table: where it lives and its default."""

    section: str
    key: str
    default: int | bool
    since: str
    ovn_needed: OvnVersion | None
    note: str = ""


@dataclass(frozen=True, slots=True, order=True)
class OvnVersion:
    """An OVN release ``year.month.patch`` (``23.03.1``)."""

    year: int
    month: int
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.year}.{self.month:02d}.{self.patch}"


OVN_AGING = OvnVersion(22, 9)
OVN_ARP_BROADCAST_OPTION = OvnVersion(23, 6)
OVN_FDB_AGING = OvnVersion(23, 9)
OVN_CIDR_AGING = OvnVersion(24, 3)

_OVN_VERSION = re.compile(r"(?:^|[^\d.])(?P<y>\d{2})\.(?P<m>\d{2})(?:\.(?P<p>\d+))?")


def parse_ovn_version(text: str) -> OvnVersion | None:
    """OVN's version from a package version or name (``23.03.1-1~deb12u2``, ``ovn23.03-central``,
    ``ovn-nbctl 22.12.0``); ``None`` when there is none.

    >>> str(parse_ovn_version("23.03.1-1~deb12u2")), str(parse_ovn_version("ovn22.12-central-22.12.0-1.el9"))
    ('23.03.1', '22.12.0')
    >>> parse_ovn_version("3.1.0-2+deb12u1") is None
    True
    """
    for match in _OVN_VERSION.finditer(text):
        year, month = int(match["y"]), int(match["m"])
        if 20 <= year <= 40 and 1 <= month <= 12:
            patch = match["p"]
            # "ovn22.12-central-22.12.0": the name's version has no patch; the package's has one
            later = parse_ovn_version(text[match.end():]) if patch is None else None
            if later is not None and (later.year, later.month) == (year, month):
                return later
            return OvnVersion(year, month, int(patch or 0))
    return None


def aging_option(release: NeutronRelease) -> AgingOption | None:
    """``[ovn] mac_binding_age_threshold`` as ``release`` has it, or ``None`` before 24.0.0."""
    if release.major < 24:
        return None
    default = 300 if (release.major == 28 and _triple(release) < (28, 0, 1)) or release.major >= 29 else 0
    note = ""
    if release.major == 28 and default == 0:
        note = "28.0.1 set the default back to 0 (bug #2146769: OVN gateway-port ARPs from other chassis)"
    return AgingOption("ovn", "mac_binding_age_threshold", default, "24.0.0", OVN_AGING, note)


def removal_limit_option(release: NeutronRelease) -> AgingOption | None:
    """``[ovn_nb_global] mac_binding_removal_limit``: read from 24.0.0, written to NB_Global from 24.1.0."""
    if release.major < 24:
        return None
    note = "" if _triple(release) >= (24, 1, 0) else "24.0.x never writes it to NB_Global (fixed in 24.1.0)"
    return AgingOption("ovn_nb_global", "mac_binding_removal_limit", 0, "24.0.0", OVN_AGING, note)


def arp_broadcast_option(release: NeutronRelease) -> AgingOption | None:
    """``[ovn] broadcast_arps_to_all_routers`` (25.0.0+, default True = OVN's flooding)."""
    if release.major < 25:
        return None
    return AgingOption("ovn", "broadcast_arps_to_all_routers", True, "25.0.0", OVN_ARP_BROADCAST_OPTION)


def fdb_aging_option(release: NeutronRelease) -> AgingOption | None:
    """``[ovn] fdb_age_threshold`` (24.0.0+; default 300 from 28.0.0)."""
    if release.major < 24:
        return None
    return AgingOption("ovn", "fdb_age_threshold", 300 if release.major >= 28 else 0, "24.0.0", OVN_FDB_AGING)
