"""neutron's options that the incident class turns on, with their defaults, read typed from a config.

Defaults are neutron's own (``neutron/conf/...``, neutron-lib constants), checked against neutron
29.0.0 and 24.2.2; an option the files do not set reports its default and ``line=None``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ostriage.errors import ParseError
from ostriage.evidence import Line
from ostriage.parsers.ini import IniFile
from ostriage.parsers.openstack_values import (
    IdRange,
    TunnelType,
    distinct_ids,
    parse_int,
    parse_list,
    parse_tunnel_ranges,
)

__all__ = [
    "OVN_MIN_GENEVE_HEADER",
    "TUNNEL_OPTIONS",
    "Opt",
    "Ranges",
    "api_workers",
    "bind_port",
    "max_header_size",
    "mechanism_drivers",
    "or_default",
    "ovn_connections",
    "service_plugins",
    "tunnel_id_ranges",
    "tunnel_ranges",
    "type_drivers",
]

T = TypeVar("T")

#: neutron/conf/plugins/ml2/config.py: ml2.type_drivers default
DEFAULT_TYPE_DRIVERS = ("local", "flat", "vlan", "gre", "vxlan", "geneve")
#: neutron_lib.constants.GENEVE_ENCAP_MIN_OVERHEAD: ml2_type_geneve.max_header_size default
DEFAULT_GENEVE_HEADER = 30
#: neutron ovn mech_driver.py OVN_MIN_GENEVE_MAX_HEADER_SIZE (neutron exits below it, 19.0.0+)
OVN_MIN_GENEVE_HEADER = 38
#: neutron/conf/common.py bind_port default
DEFAULT_BIND_PORT = 9696
#: (section, option) holding each tunnel type's ranges
TUNNEL_OPTIONS: dict[TunnelType, tuple[str, str]] = {
    "geneve": ("ml2_type_geneve", "vni_ranges"),
    "vxlan": ("ml2_type_vxlan", "vni_ranges"),
    "gre": ("ml2_type_gre", "tunnel_id_ranges"),
}
#: the service plugin alias and class path of network segment ranges
SEGMENT_RANGE_PLUGINS = ("network_segment_range",
                         "neutron.services.network_segment_range.plugin.NetworkSegmentRangePlugin")


@dataclass(frozen=True, slots=True)
class Opt(Generic[T]):
    """An option's effective value and the line that set it (``None`` when it is the default)."""

    value: T
    line: Line | None


@dataclass(frozen=True, slots=True)
class Ranges:
    tunnel_type: TunnelType
    ranges: tuple[IdRange, ...]
    line: Line | None

    @property
    def ids(self) -> int:
        return distinct_ids(self.ranges)


def _raw(ini: IniFile, section: str, key: str) -> tuple[str | None, Line | None]:
    v = ini.get(section, key)
    return (v.value, v.line) if v is not None else (None, None)


def type_drivers(ini: IniFile) -> Opt[tuple[str, ...]]:
    raw, line = _raw(ini, "ml2", "type_drivers")
    return Opt(tuple(parse_list(raw)) if raw is not None else DEFAULT_TYPE_DRIVERS, line)


def mechanism_drivers(ini: IniFile) -> Opt[tuple[str, ...]]:
    raw, line = _raw(ini, "ml2", "mechanism_drivers")
    return Opt(tuple(parse_list(raw)) if raw is not None else (), line)


def service_plugins(ini: IniFile) -> Opt[tuple[str, ...]]:
    raw, line = _raw(ini, "DEFAULT", "service_plugins")
    return Opt(tuple(parse_list(raw)) if raw is not None else (), line)


def tunnel_ranges(ini: IniFile) -> list[Ranges]:
    """Ranges of every *enabled* tunnel type that has any (neutron ignores the others).

    Raises ``ParseError`` (with file and line) for a value neutron itself would refuse.
    """
    enabled = type_drivers(ini).value
    found: list[Ranges] = []
    for tunnel_type, (section, key) in TUNNEL_OPTIONS.items():
        value = ini.get(section, key)
        if tunnel_type in enabled and value is not None and value.value.strip():
            found.append(Ranges(tunnel_type, parse_tunnel_ranges(value, tunnel_type), value.line))
    return found


def tunnel_id_ranges(ini: IniFile) -> tuple[IdRange, ...]:
    """Every ID range of every enabled tunnel type, together (raises ``ParseError`` like ``tunnel_ranges``)."""
    return tuple(r for ranges in tunnel_ranges(ini) for r in ranges.ranges)


def max_header_size(ini: IniFile) -> Opt[int]:
    v = ini.get("ml2_type_geneve", "max_header_size")
    parsed = parse_int(v, minimum=0) if v is not None else None
    return Opt(parsed if parsed is not None else DEFAULT_GENEVE_HEADER, v.line if v is not None else None)


def bind_port(ini: IniFile) -> Opt[int]:
    v = ini.get("DEFAULT", "bind_port")
    parsed = parse_int(v, 1, 65535) if v is not None else None
    return Opt(parsed if parsed is not None else DEFAULT_BIND_PORT, v.line if v is not None else None)


def api_workers(ini: IniFile) -> Opt[int | None]:
    v = ini.get("DEFAULT", "api_workers")
    return Opt(parse_int(v, minimum=0) if v is not None else None, v.line if v is not None else None)


def or_default(read: Callable[[IniFile], Opt[T]], ini: IniFile, default: T) -> Opt[T]:
    """``read(ini)``, or ``default`` when neutron would refuse the value (lint's LNT008 names it): a rule or
    the memory model goes on as if the line were not there instead of failing.

    >>> from ostriage.evidence import numbered
    >>> from ostriage.parsers.ini import parse_ini
    >>> ini = parse_ini(numbered(["[DEFAULT]", "bind_port = 99999"]))
    >>> or_default(bind_port, ini, DEFAULT_BIND_PORT)
    Opt(value=9696, line=None)
    """
    try:
        return read(ini)
    except ParseError:
        return Opt(default, None)


def ovn_connections(ini: IniFile) -> list[Line]:
    """The ``[ovn] ovn_nb_connection`` / ``ovn_sb_connection`` lines that are set."""
    return [v.line for key in ("ovn_nb_connection", "ovn_sb_connection") if (v := ini.get("ovn", key))]


#: the OVN L3 service plugin: it refuses to load without the ovn (or ovn-sync) mechanism driver
OVN_ROUTER_PLUGINS = ("ovn-router", "neutron.services.ovn_l3.plugin.OVNL3RouterPlugin")


def ovn_router_plugin(ini: IniFile) -> bool:
    return any(p in OVN_ROUTER_PLUGINS for p in service_plugins(ini).value)


def segment_range_plugin(ini: IniFile) -> bool:
    return any(p in SEGMENT_RANGE_PLUGINS for p in service_plugins(ini).value)
