"""Typed option values, parsed the way oslo.config and neutron parse them, errors carrying the line.

Source: values of ``IniValue`` (``ostriage.parsers.ini``) from neutron's files, for example real lines of
the ussuri fixture's ``etc/neutron/plugins/ml2/openvswitch_agent.ini``::

    bridge_mappings = physnet1:br-data
    tunnel_types = vxlan,gre
    enable_security_group = True

and the incident's ``ml2_conf.ini``: ``vni_ranges = 1:16777215``, ``flat_networks = phynet2``.

Semantics, each from the code that consumes the option:

- ``BoolOpt``, ``IntOpt``, ``ListOpt``: ``oslo_config.types.Boolean``/``Integer``/``List`` are called
  directly, so accepted spellings (``true/1/on/yes`` case-insensitive, ``int()`` syntax, trailing comma
  dropped) are oslo.config's own.
- ``vni_ranges`` (geneve, vxlan), ``tunnel_id_ranges`` (gre): neutron
  ``plugins/ml2/drivers/type_tunnel.py`` ``_parse_tunnel_ranges`` (``entry.split(':')`` into exactly two
  ints) then neutron-lib ``plugins/utils.py`` ``verify_tunnel_range``: each ID within
  ``constants.MIN/MAX_{GENEVE,VXLAN}_VNI`` = 1..2**24-1 or ``MIN/MAX_GRE_ID`` = 1..2**32-1, and
  start <= end. The size is never checked: ``1:16777215`` is valid (and is the incident).
- ``network_vlan_ranges``: neutron-lib ``parse_network_vlan_range`` (``physnet`` alone, or
  ``physnet:min:max`` with VLAN tags 1..4094). A bare physnet means provider networks only before
  neutron-lib 2.10.0 (Wallaby) and the whole 1..4094 range for tenant networks from 2.10.0 on
  (commit 02e070fe, "Populate full VLAN range"): ``VlanRange.ids`` is ``None`` for it, the caller
  decides by release.
- ``bridge_mappings`` (and ``ovn-bridge-mappings``): neutron-lib ``utils/helpers.py`` ``parse_mappings``
  (``key:value``, both non-empty, keys unique and values unique).
- ``flat_networks``: neutron ``type_flat.py`` ``_parse_networks``: ``*`` anywhere allows every physnet,
  an empty list disables flat networks.

Malformed values raise ``OptionValueError`` (a ``ParseError``: path, line, message, text) with the
message neutron or oslo.config would log, pointing at the option's line when the value came with one.

>>> from ostriage.evidence import Line
>>> text = "vni_ranges = 1:16777215,20000:30000"
>>> v = IniValue(text.split(" = ")[1], Line("ml2_conf.ini", 23, text), "ml2_type_geneve", "vni_ranges")
>>> parse_tunnel_ranges(v, "geneve")
(IdRange(first=1, last=16777215), IdRange(first=20000, last=30000))
>>> distinct_ids(parse_tunnel_ranges(v, "geneve"))
16777215
>>> bad = IniValue("1-100", Line("ml2_conf.ini", 30, "vni_ranges = 1-100"), "ml2_type_vxlan", "vni_ranges")
>>> try:
...     parse_tunnel_ranges(bad, "vxlan")
... except OptionValueError as e:
...     print(e.path, e.line, e.message)
ml2_conf.ini 30 Invalid network tunnel range: '1-100' - not enough values to unpack (expected 2, got 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from oslo_config import types

from ostriage.errors import ParseError
from ostriage.parsers.ini import IniValue

__all__ = [
    "TUNNEL_ID_LIMITS",
    "VLAN_TAG_LIMITS",
    "FlatNetworks",
    "IdRange",
    "OptionValueError",
    "VlanRange",
    "distinct_ids",
    "parse_bool",
    "parse_flat_networks",
    "parse_int",
    "parse_list",
    "parse_mappings",
    "parse_network_vlan_ranges",
    "parse_tunnel_ranges",
]

TunnelType = Literal["geneve", "vxlan", "gre"]

# neutron_lib/constants.py: MIN/MAX_GENEVE_VNI, MIN/MAX_VXLAN_VNI, MIN/MAX_GRE_ID.
TUNNEL_ID_LIMITS: dict[TunnelType, tuple[int, int]] = {
    "geneve": (1, 2**24 - 1),
    "vxlan": (1, 2**24 - 1),
    "gre": (1, 2**32 - 1),
}
# neutron_lib/constants.py: MIN_VLAN_TAG, MAX_VLAN_TAG.
VLAN_TAG_LIMITS = (1, 4094)

Value = IniValue | str


class OptionValueError(ParseError):
    """A value the service would reject at start-up, with the line that set it."""


def _raise(value: Value, message: str) -> OptionValueError:
    if isinstance(value, IniValue):
        return OptionValueError(value.line.path, value.line.number, message, value.value)
    return OptionValueError("<value>", 0, message, value)


def _text(value: Value) -> str:
    return value.value if isinstance(value, IniValue) else value


class IdRange(NamedTuple):
    """An inclusive range of segmentation IDs, as neutron keeps it: ``(min, max)``."""

    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True, slots=True)
class VlanRange:
    """One ``network_vlan_ranges`` entry: a physnet with its VLAN range, or ``None`` when none was given."""

    physnet: str
    ids: IdRange | None


@dataclass(frozen=True, slots=True)
class FlatNetworks:
    """``[ml2_type_flat] flat_networks``: ``any`` when ``*`` is listed, else exactly ``names``."""

    any: bool
    names: tuple[str, ...]

    @property
    def disabled(self) -> bool:
        return not self.any and not self.names

    def allows(self, physnet: str) -> bool:
        return self.any or physnet in self.names


def parse_bool(value: Value) -> bool:
    """``BoolOpt``.

    >>> parse_bool("Yes"), parse_bool("0")
    (True, False)
    """
    try:
        return types.Boolean()(_text(value))
    except ValueError as exc:
        raise _raise(value, str(exc)) from None


def parse_int(value: Value, minimum: int | None = None, maximum: int | None = None) -> int | None:
    """``IntOpt`` (``None`` for an empty value, as oslo.config).

    >>> parse_int(" 8 "), parse_int("")
    (8, None)
    >>> try:
    ...     parse_int("0", minimum=1)
    ... except OptionValueError as e:
    ...     print(e)
    <value>: Should be greater than or equal to 1: '0'
    """
    try:
        number = types.Integer(min=minimum, max=maximum)(_text(value))
    except ValueError as exc:
        raise _raise(value, str(exc)) from None
    return None if number is None else int(number)


def parse_list(value: Value) -> list[str]:
    """``ListOpt`` of strings.

    >>> parse_list("vxlan, gre,"), parse_list("")
    (['vxlan', 'gre'], [])
    """
    try:
        return [str(item) for item in types.List()(_text(value))]
    except ValueError as exc:
        raise _raise(value, str(exc)) from None


def parse_tunnel_ranges(value: Value, tunnel_type: TunnelType) -> tuple[IdRange, ...]:
    """``[ml2_type_geneve|vxlan] vni_ranges`` / ``[ml2_type_gre] tunnel_id_ranges``.

    >>> parse_tunnel_ranges("1:65535", "geneve")
    (IdRange(first=1, last=65535),)
    >>> for bad in ("100:1", "0:16777216"):
    ...     try:
    ...         parse_tunnel_ranges(bad, "vxlan")
    ...     except OptionValueError as e:
    ...         print(e.message)
    Invalid network tunnel range: '100:1' - End of tunnel range is less than start of tunnel range.
    Invalid network tunnel range: '0:16777216' - 0 is not a valid vxlan identifier.
    """
    low, high = TUNNEL_ID_LIMITS[tunnel_type]
    ranges: list[IdRange] = []
    for raw in parse_list(value):
        entry = raw.strip()
        try:
            first, last = entry.split(":")
            pair = IdRange(int(first.strip()), int(last.strip()))
        except ValueError as exc:
            raise _raise(value, f"Invalid network tunnel range: '{entry}' - {exc}.") from None
        for ident in pair:
            if not low <= ident <= high:
                raise _raise(value, f"Invalid network tunnel range: '{pair.first}:{pair.last}' - "
                                    f"{ident} is not a valid {tunnel_type} identifier.")
        if pair.last < pair.first:
            raise _raise(value, f"Invalid network tunnel range: '{pair.first}:{pair.last}' - "
                                "End of tunnel range is less than start of tunnel range.")
        ranges.append(pair)
    return tuple(ranges)


def distinct_ids(ranges: Iterable[IdRange]) -> int:
    """How many IDs the ranges cover together (neutron builds the ``set`` union of them).

    >>> distinct_ids([IdRange(1, 100), IdRange(50, 150), IdRange(200, 200)])
    151
    """
    total = 0
    end = None
    for first, last in sorted(ranges):
        if end is not None and first <= end:
            if last > end:
                total += last - end
                end = last
            continue
        total += last - first + 1
        end = last
    return total


def _vlan_error(value: Value, entry: str, error: str) -> OptionValueError:
    # neutron_lib.exceptions.NetworkVlanRangeError.message
    return _raise(value, f"Invalid network VLAN range: '{entry}' - '{error}'.")


def parse_network_vlan_ranges(value: Value) -> tuple[VlanRange, ...]:
    """``[ml2_type_vlan] network_vlan_ranges``.

    >>> parse_network_vlan_ranges("physnet1:1000:2999,physnet2")  # doctest: +NORMALIZE_WHITESPACE
    (VlanRange(physnet='physnet1', ids=IdRange(first=1000, last=2999)),
     VlanRange(physnet='physnet2', ids=None))
    >>> try:
    ...     parse_network_vlan_ranges("physnet1:1000")
    ... except OptionValueError as e:
    ...     print(e.message)
    Invalid network VLAN range: 'physnet1:1000' - 'Need exactly two values for VLAN range'.
    """
    low, high = VLAN_TAG_LIMITS
    result: list[VlanRange] = []
    for raw in parse_list(value):
        entry = raw.strip()
        if ":" not in entry:
            result.append(VlanRange(entry, None))
            continue
        if entry.count(":") != 2:
            raise _vlan_error(value, entry, "Need exactly two values for VLAN range")
        physnet, first, last = entry.split(":")
        if not physnet:
            raise _raise(value, "Empty physical network name.")
        tags: list[int] = []
        for tag in (first, last):
            try:
                tags.append(int(tag))
            except ValueError:
                raise _vlan_error(value, entry, f"{tag} is not a valid VLAN tag") from None
        pair = IdRange(tags[0], tags[1])
        for tag_value in pair:
            if not low <= tag_value <= high:
                raise _vlan_error(value, f"{pair.first}:{pair.last}", f"{tag_value} is not a valid VLAN tag")
        if pair.last < pair.first:
            raise _vlan_error(value, f"{pair.first}:{pair.last}",
                              "End of VLAN range is less than start of VLAN range")
        result.append(VlanRange(physnet, pair))
    return tuple(result)


def parse_mappings(value: Value, *, unique_values: bool = True) -> dict[str, str]:
    """``bridge_mappings``-style ``key:value`` lists (keys unique; values unique unless told otherwise).

    >>> parse_mappings("phynet2:br-ex,physnet3:br-y")
    {'phynet2': 'br-ex', 'physnet3': 'br-y'}
    >>> try:
    ...     parse_mappings("physnet1:br-ex,physnet2:br-ex")
    ... except OptionValueError as e:
    ...     print(e.message)
    Value br-ex in mapping: 'physnet2:br-ex' not unique
    """
    mappings: dict[str, str] = {}
    for raw in parse_list(value):
        mapping = raw.strip()
        if not mapping:
            continue
        parts = mapping.split(":")
        if len(parts) != 2:
            raise _raise(value, f"Invalid mapping: '{mapping}'")
        key, target = parts[0].strip(), parts[1].strip()
        if not key:
            raise _raise(value, f"Missing key in mapping: '{mapping}'")
        if not target:
            raise _raise(value, f"Missing value in mapping: '{mapping}'")
        if key in mappings:
            raise _raise(value, f"Key {key} in mapping: '{mapping}' not unique")
        if unique_values and target in mappings.values():
            raise _raise(value, f"Value {target} in mapping: '{mapping}' not unique")
        mappings[key] = target
    return mappings


def parse_flat_networks(value: Value) -> FlatNetworks:
    """``[ml2_type_flat] flat_networks`` (neutron's default is ``*``).

    >>> parse_flat_networks("phynet2"), parse_flat_networks("*").allows("x"), parse_flat_networks("").disabled
    (FlatNetworks(any=False, names=('phynet2',)), True, True)
    """
    names = parse_list(value)
    if "*" in names:
        return FlatNetworks(True, ())
    return FlatNetworks(False, tuple(names))

