"""Neutron's networks as OVN sees them: one Northbound logical switch per network.

Source: ``ovn-nbctl show`` (sos ``sos_commands/ovn_central/ovn-nbctl_--no-leader-only_show``, older
``ovn-nbctl_show``). ML2/OVN names each switch after its network::

    switch 5f3c2c5e-7f1a-4d0e-9a3b-0c1d2e3f4a5b (neutron-2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901) (aka private)
        port 6c7d8e9f-0a1b-4c2d-8e3f-4a5b6c7d8e9f
            addresses: ["fa:16:3e:12:34:56 10.0.0.5"]
    router 9d8c7b6a-... (neutron-...) (aka router1)

>>> from ostriage.evidence import numbered
>>> show = ["switch 5f3c2c5e-7f1a-4d0e-9a3b-0c1d2e3f4a5b (neutron-2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901) (aka x)",
...         "    port 6c7d8e9f-0a1b-4c2d-8e3f-4a5b6c7d8e9f",
...         "switch 0d5e9b7a-1c2f-4e3d-8a9b-7c6d5e4f3a2b (neutron-8d7c6b5a-4e3f-4a2b-9c1d-0e9f8a7b6c5d)",
...         "switch 11111111-2222-4333-8444-555555555555 (ext-not-neutron)"]
>>> [line.number for line in neutron_switches(numbered(show))]
[1, 3]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ostriage.evidence import Line

__all__ = ["neutron_switches"]

_SWITCH = re.compile(r"^switch \S+ \(neutron-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\)")


def neutron_switches(lines: Iterable[Line]) -> Iterator[Line]:
    """The ``switch`` lines of the logical switches neutron made (one per network)."""
    for line in lines:
        if _SWITCH.match(line.text):
            yield line
