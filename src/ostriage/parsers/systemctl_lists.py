"""Unit tables: ``systemctl list-units`` (load, active and sub state of each loaded unit) and
``systemctl list-unit-files`` (which unit files are installed, and whether they are enabled).

Sources: sos ``sos_commands/systemd/systemctl_list-units`` (``_--all`` from sos 4.5, ``_--failed`` too) and
``systemctl_list-unit-files``; ``systemctl list-units --all --no-pager`` live. Real lines (hotsos's
``openstack`` data root, Ubuntu 20.04)::

      UNIT                                      LOAD   ACTIVE SUB       DESCRIPTION
      ua-timer.timer                            loaded active waiting   Ubuntu Advantage Timer for running ...
    UNIT FILE                                       STATE           VENDOR PRESET
    xfs_scrub_all.timer                             disabled        enabled

A failed unit is marked with ``●`` (``*`` without UTF-8) in the first column. The legend after the table
and the "N loaded units listed." line are skipped; a line that does not parse is skipped.

>>> from ostriage.evidence import numbered
>>> rows = ["  UNIT  LOAD ACTIVE SUB DESCRIPTION",
...         "● neutron-server.service loaded failed failed OpenStack Neutron Server",
...         "  ovs-vswitchd.service   loaded active running Open vSwitch Forwarding Unit", "",
...         "LOAD   = Reflects whether the unit definition was properly loaded."]
>>> [(u.name, u.active, u.description) for u in parse_list_units(numbered(rows))]
[('neutron-server.service', 'failed', 'OpenStack Neutron Server'), \
('ovs-vswitchd.service', 'active', 'Open vSwitch Forwarding Unit')]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ostriage.evidence import Line

__all__ = ["ListedUnit", "UnitFileState", "parse_list_unit_files", "parse_list_units"]

_UNIT = re.compile(r"^[A-Za-z0-9_.@:\\-]+\."
                   r"(?:service|socket|target|mount|automount|swap|timer|path|slice|scope|device)$")
_LOAD_STATES = frozenset({"loaded", "not-found", "bad-setting", "error", "masked", "stub", "merged"})


@dataclass(frozen=True, slots=True)
class ListedUnit:
    """One row of ``systemctl list-units``."""

    name: str
    load: str
    active: str
    sub: str
    description: str
    line: Line


@dataclass(frozen=True, slots=True)
class UnitFileState:
    """One row of ``systemctl list-unit-files``: ``enabled``, ``disabled``, ``static``, ``masked``, ..."""

    name: str
    state: str
    line: Line


def parse_list_units(lines: Iterable[Line]) -> Iterator[ListedUnit]:
    """Rows of ``systemctl list-units`` (any of its variants)."""
    for line in lines:
        words = line.text.replace("●", " ").replace("*", " ", 1).split(None, 4)
        if len(words) < 4 or not _UNIT.match(words[0]) or words[1] not in _LOAD_STATES:
            continue
        yield ListedUnit(words[0], words[1], words[2], words[3], words[4].strip() if len(words) > 4 else "", line)


def parse_list_unit_files(lines: Iterable[Line]) -> Iterator[UnitFileState]:
    """Rows of ``systemctl list-unit-files``.

    >>> from ostriage.evidence import numbered
    >>> rows = ["UNIT FILE  STATE  VENDOR PRESET", "neutron-server.service  enabled  enabled", "1 unit files listed."]
    >>> [(u.name, u.state) for u in parse_list_unit_files(numbered(rows))]
    [('neutron-server.service', 'enabled')]
    """
    for line in lines:
        words = line.text.split()
        if len(words) >= 2 and _UNIT.match(words[0]):
            yield UnitFileState(words[0], words[1], line)
