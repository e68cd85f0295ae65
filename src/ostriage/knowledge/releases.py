"""Neutron releases: which OpenStack series a neutron version belongs to, and how it syncs tunnel IDs.

``parse_neutron_version`` reads any version string neutron shows up with: Debian/Ubuntu packages
(``2:16.4.1-0ubuntu2``, pre-releases ``2:24.0.0~rc1-0ubuntu1``), RPMs (``18.6.0-1.el8``), pip and the log
banner (``16.4.1``, pbr pre-releases ``24.0.0.0b2.dev10``, ``16.4.2.dev35``). The result is ordered
(``a < b``) and compares with a series name or number (``release >= "2025.1"``, ``release >= "epoxy"``): a
series comparison looks at the major version only, so every 26.x, pre-releases included, is ``2025.1``.

How the table was checked (not guessed):

- Major → series name: ``openstack/releases`` ``deliverables/<series>/neutron.yaml``, mirrored at commit
  02df7c9a3c (2026-08-21): every version listed for liberty is 7.x, mitaka 8.x, ... zed 21.x, antelope
  22.x, bobcat 23.x, caracal 24.x, dalmatian 25.x, epoxy 26.x, flamingo 27.x, gazpacho 28.x and hibiscus
  29.x (only 29.0.0.0b1 so far: in development). Kilo and older used date versions (``2015.1.0``):
  not supported, ``parse_neutron_version`` returns ``None`` for them.
- Series number: ``data/series_status.yaml`` ``release-id`` in the same repository: 2023.1 antelope,
  2023.2 bobcat, 2024.1 caracal, 2024.2 dalmatian, 2025.1 epoxy, 2025.2 flamingo, 2026.1 gazpacho,
  2026.2 hibiscus. Older series have no number.
- Tunnel allocation sync (see ``shared/reference/neutron-memory.md``), read in openstack/neutron (mirror at
  2131d26f73) with ``git show <tag>:neutron/plugins/ml2/drivers/type_tunnel.py``: 16.0.0, 20.0.0, 24.0.0
  and 25.0.0 load every allocation row as ORM objects (``query(self.model).all()``) with no early exit;
  26.0.0 first counts the rows matching ``tunnel_col.in_(tunnel_ids)`` and returns when they all match
  (commit dce01d7550, bug #2089940). ``git tag --contains dce01d7550``: first in 26.0.0.0rc1, absent from
  26.0.0.0b1 and 26.0.0.0b2. The merge landed 57 commits after b2, and pbr numbers the builds between b2
  and rc1 ``26.0.0.0b3.devN`` / ``26.0.0.0rc1.devN`` (``SemanticVersion.increment`` bumps the pre-release
  serial, ``.devN`` sorts before its version): ``tunnel_sync`` is ``None`` (unknown) for those.
  No other branch carries its Change-Id I208ba38b (``unmaintained/2024.1`` included): 2024.2 (25.x)
  still loads every row, so the split is "≤ 2024.2 ORM load" / "≥ 2025.1 IN-clause fast exit". The
  method is still called ``sync_allocations`` in 26.0.0; it became ``_sync_allocations`` in 27.0.0
  (commit 39d95a14e2, "Initialize the network segment ranges only in first WSGI worker").

>>> r = parse_neutron_version("2:16.4.1-0ubuntu2")
>>> r.major, r.minor, r.patch, r.series_name, r.series_number, r.tunnel_sync
(16, 4, 1, 'ussuri', None, <TunnelSync.ORM_LOAD: 'orm-load'>)
>>> e = parse_neutron_version("26.0.1")
>>> e.series_name, e >= "2025.1", r >= "2025.1", e.tunnel_sync.value
('epoxy', True, False, 'in-clause-fast-exit')
>>> v = parse_neutron_version
>>> v("24.0.0.0b2.dev10") < v("24.0.0.0b2") < v("24.0.0.0rc1") < v("24.0.0") < v("24.0.1.dev3") < v("24.0.1")
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "SERIES",
    "NeutronRelease",
    "Series",
    "TunnelSync",
    "first_of_series",
    "parse_neutron_version",
    "series_for_major",
]


class TunnelSync(Enum):
    """How ``_TunnelTypeDriverBase.sync_allocations`` reconciles the allocation table at start-up."""

    # Builds set(range(min, max+1)) and loads every allocation row as an ORM object (Liberty .. 2024.2).
    ORM_LOAD = "orm-load"
    # Still builds the set, then counts rows with an IN (<every id>) clause and returns early when the
    # table already matches (2025.1+): cheaper on restarts, not on a first sync of a huge range.
    IN_CLAUSE_FAST_EXIT = "in-clause-fast-exit"


@dataclass(frozen=True, slots=True)
class Series:
    major: int
    name: str
    number: str | None


SERIES: tuple[Series, ...] = (
    Series(7, "liberty", None),
    Series(8, "mitaka", None),
    Series(9, "newton", None),
    Series(10, "ocata", None),
    Series(11, "pike", None),
    Series(12, "queens", None),
    Series(13, "rocky", None),
    Series(14, "stein", None),
    Series(15, "train", None),
    Series(16, "ussuri", None),
    Series(17, "victoria", None),
    Series(18, "wallaby", None),
    Series(19, "xena", None),
    Series(20, "yoga", None),
    Series(21, "zed", None),
    Series(22, "antelope", "2023.1"),
    Series(23, "bobcat", "2023.2"),
    Series(24, "caracal", "2024.1"),
    Series(25, "dalmatian", "2024.2"),
    Series(26, "epoxy", "2025.1"),
    Series(27, "flamingo", "2025.2"),
    Series(28, "gazpacho", "2026.1"),
    Series(29, "hibiscus", "2026.2"),
)
_BY_MAJOR = {s.major: s for s in SERIES}
_BY_KEY = {key: s for s in SERIES for key in (s.name, s.number) if key}

_STAGES = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "rc": 2}


def series_for_major(major: int) -> Series | None:
    return _BY_MAJOR.get(major)


@dataclass(frozen=True, slots=True)
class NeutronRelease:
    """A neutron version: ``24.0.0.0b2.dev10`` is 24.0.0, stage ``b`` number 2, dev 10 (pbr/PEP 440)."""

    major: int
    minor: int
    patch: int
    series_name: str | None
    series_number: str | None
    stage: str | None = None
    stage_number: int = 0
    dev: int | None = None

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.stage:
            text += f".0{self.stage}{self.stage_number}"
        return text + (f".dev{self.dev}" if self.dev is not None else "")

    def _key(self) -> tuple[int, int, int, int, int, int, int]:
        # PEP 440 order, which pbr follows: 1.0.dev1 < 1.0a1 < 1.0b2.dev3 < 1.0b2 < 1.0rc1 < 1.0.
        final_rank = -1 if self.dev is not None else 3
        stage = _STAGES[self.stage] if self.stage else final_rank
        dev = (0, self.dev) if self.dev is not None else (1, 0)
        return (self.major, self.minor, self.patch, stage, self.stage_number, *dev)

    def _cmp(self, other: object) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        if isinstance(other, NeutronRelease):
            return self._key(), other._key()
        if isinstance(other, str) and other in _BY_KEY:
            # A series compares by major version only: every 26.x is "2025.1".
            return (self.major,), (_BY_KEY[other].major,)
        return None

    def __lt__(self, other: object) -> bool:
        pair = self._cmp(other)
        if pair is None:
            return NotImplemented
        return pair[0] < pair[1]

    def __le__(self, other: object) -> bool:
        pair = self._cmp(other)
        if pair is None:
            return NotImplemented
        return pair[0] <= pair[1]

    def __gt__(self, other: object) -> bool:
        pair = self._cmp(other)
        if pair is None:
            return NotImplemented
        return pair[0] > pair[1]

    def __ge__(self, other: object) -> bool:
        pair = self._cmp(other)
        if pair is None:
            return NotImplemented
        return pair[0] >= pair[1]

    def in_series(self, series: str) -> bool:
        """``release.in_series("2024.1")`` / ``in_series("caracal")``."""
        known = _BY_KEY.get(series)
        return known is not None and known.major == self.major

    @property
    def tunnel_sync(self) -> TunnelSync | None:
        """Tunnel allocation sync behaviour; ``None`` between 26.0.0.0b2 and 26.0.0.0rc1 (dev builds)."""
        if self <= _LAST_WITHOUT_FAST_EXIT:
            return TunnelSync.ORM_LOAD
        if self >= _FIRST_WITH_FAST_EXIT:
            return TunnelSync.IN_CLAUSE_FAST_EXIT
        return None


# The fast exit (commit dce01d7550) is in 26.0.0.0rc1 and not in 26.0.0.0b2: see the module docstring.
_LAST_WITHOUT_FAST_EXIT = NeutronRelease(26, 0, 0, "epoxy", "2025.1", "b", 2)
_FIRST_WITH_FAST_EXIT = NeutronRelease(26, 0, 0, "epoxy", "2025.1", "rc", 1)


def first_of_series(series: str) -> NeutronRelease:
    """The first final release of a series, by name or number: ``first_of_series("2025.1")`` is 26.0.0.

    >>> str(first_of_series("caracal")), str(first_of_series("2025.1"))
    ('24.0.0', '26.0.0')
    """
    known = _BY_KEY.get(series)
    if known is None:
        raise KeyError(f"unknown OpenStack series {series!r}")
    return NeutronRelease(known.major, 0, 0, known.name, known.number)


_VERSION = re.compile(
    r"(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?"
    r"(?:(?:\.0)?(?P<stage>a|b|rc)(?P<stage_number>\d+)|~(?P<tstage>alpha|beta|rc|a|b)(?P<tstage_number>\d+))?"
    r"(?:\.dev(?P<dev>\d+))?"
)


def parse_neutron_version(version: str) -> NeutronRelease | None:
    """A neutron version from a package, pip or log banner; ``None`` if it is not one.

    >>> str(parse_neutron_version("18.6.0-1.el8")), str(parse_neutron_version("2:24.0.0~rc1-0ubuntu1"))
    ('18.6.0', '24.0.0.0rc1')
    >>> parse_neutron_version("2015.1.0") is None, parse_neutron_version("garbage") is None
    (True, True)
    """
    text = version.strip()
    text = re.sub(r"^\d+:", "", text)  # Debian epoch
    # Debian revision / RPM release follow the last '-'; upstream neutron versions never contain one.
    text = text.rsplit("-", 1)[0] if "-" in text else text
    match = _VERSION.match(text)
    if match is None:
        return None
    major = int(match["major"])
    if major >= 2000:
        return None
    stage = match["stage"] or match["tstage"]
    stage_number = match["stage_number"] or match["tstage_number"]
    series = series_for_major(major)
    return NeutronRelease(
        major, int(match["minor"]), int(match["patch"] or 0),
        series.name if series else None, series.number if series else None,
        {"alpha": "a", "beta": "b"}.get(stage, stage) if stage else None,
        int(stage_number) if stage_number else 0,
        int(match["dev"]) if match["dev"] is not None else None,
    )
