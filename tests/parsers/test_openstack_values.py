"""Typed option values: real values from the ussuri fixture, and every malformed form neutron rejects,
with the messages neutron/neutron-lib/oslo.config produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from ostriage.errors import ParseError
from ostriage.evidence import Line, numbered
from ostriage.parsers.ini import IniFile, IniValue, merge, parse_ini
from ostriage.parsers.openstack_values import (
    FlatNetworks,
    IdRange,
    OptionValueError,
    VlanRange,
    distinct_ids,
    parse_bool,
    parse_flat_networks,
    parse_int,
    parse_list,
    parse_mappings,
    parse_network_vlan_ranges,
    parse_tunnel_ranges,
)

# Message prefixes of neutron_lib.exceptions.NetworkTunnelRangeError / NetworkVlanRangeError.
TUNNEL = "Invalid network tunnel range: "
VLAN = "Invalid network VLAN range: "


def _agent_config(root: Path) -> IniFile:
    files = []
    for rel in ("etc/neutron/neutron.conf", "etc/neutron/plugins/ml2/openvswitch_agent.ini"):
        with open(root / rel, encoding="utf-8") as handle:
            files.append(parse_ini(numbered(handle, rel)))
    return merge(files)


def test_real_agent_values(ussuri_sos: Path) -> None:
    conf = _agent_config(ussuri_sos)
    mappings = conf.get("ovs", "bridge_mappings")
    assert mappings is not None
    assert parse_mappings(mappings) == {"physnet1": "br-data"}
    assert parse_list(conf.get("agent", "tunnel_types") or "") == ["vxlan", "gre"]
    assert parse_bool(conf.get("securitygroup", "enable_security_group") or "") is True
    assert parse_bool(conf.get("agent", "l2_population") or "") is True
    assert parse_int(conf.get("agent", "polling_interval") or "") == 2
    assert parse_int(conf.get("DEFAULT", "bind_port") or "", minimum=1, maximum=65535) == 9696


def _value(text: str, number: int = 12) -> IniValue:
    return IniValue(text, Line("etc/neutron/plugins/ml2/ml2_conf.ini", number, f"vni_ranges = {text}"),
                    "ml2_type_geneve", "vni_ranges")


def test_incident_vni_range_and_its_size() -> None:
    ranges = parse_tunnel_ranges(_value("1:16777215"), "geneve")
    assert ranges == (IdRange(1, 16777215),)
    assert ranges[0].size == 16_777_215 == distinct_ids(ranges)
    assert ranges[0] == (1, 16777215)  # a (min, max) pair, as neutron keeps it
    fixed = parse_tunnel_ranges(_value("1:65535"), "geneve")
    assert distinct_ids(ranges) // distinct_ids(fixed) == 256


def test_several_ranges_spaces_and_trailing_comma() -> None:
    ranges = parse_tunnel_ranges(" 1 : 100 , 20000:30000,", "vxlan")
    assert ranges == (IdRange(1, 100), IdRange(20000, 30000))
    assert parse_tunnel_ranges("", "geneve") == ()
    assert distinct_ids([IdRange(1, 100), IdRange(1, 100), IdRange(101, 200), IdRange(150, 160)]) == 200
    assert distinct_ids([]) == 0


def test_gre_ids_are_32_bit_vnis_24_bit() -> None:
    assert parse_tunnel_ranges("1:4294967295", "gre") == (IdRange(1, 2**32 - 1),)
    with pytest.raises(OptionValueError, match="4294967295 is not a valid geneve identifier"):
        parse_tunnel_ranges("1:4294967295", "geneve")
    assert parse_tunnel_ranges("16777215:16777215", "vxlan") == (IdRange(16777215, 16777215),)


@pytest.mark.parametrize(("text", "message"), [
    ("1-100", TUNNEL + "'1-100' - not enough values to unpack (expected 2, got 1)."),
    ("1:2:3", TUNNEL + "'1:2:3' - too many values to unpack (expected 2)."),
    ("a:b", TUNNEL + "'a:b' - invalid literal for int() with base 10: 'a'."),
    ("1:", TUNNEL + "'1:' - invalid literal for int() with base 10: ''."),
    ("100:1", TUNNEL + "'100:1' - End of tunnel range is less than start of tunnel range."),
    ("0:10", TUNNEL + "'0:10' - 0 is not a valid geneve identifier."),
    ("1:16777216", TUNNEL + "'1:16777216' - 16777216 is not a valid geneve identifier."),
    ("1:100,,200:300", TUNNEL + "'' - not enough values to unpack (expected 2, got 1)."),
])
def test_malformed_tunnel_ranges(text: str, message: str) -> None:
    with pytest.raises(OptionValueError) as info:
        parse_tunnel_ranges(_value(text, 23), "geneve")
    error = info.value
    assert isinstance(error, ParseError)
    assert (error.path, error.line, error.message, error.text) == (
        "etc/neutron/plugins/ml2/ml2_conf.ini", 23, message, text)
    assert str(error).startswith("etc/neutron/plugins/ml2/ml2_conf.ini:23: Invalid network tunnel range")


def test_network_vlan_ranges() -> None:
    assert parse_network_vlan_ranges("physnet1:1000:2999,physnet2") == (
        VlanRange("physnet1", IdRange(1000, 2999)), VlanRange("physnet2", None))
    assert parse_network_vlan_ranges("physnet1:1:4094, physnet1:10:20") == (
        VlanRange("physnet1", IdRange(1, 4094)), VlanRange("physnet1", IdRange(10, 20)))
    assert parse_network_vlan_ranges("") == ()


@pytest.mark.parametrize(("text", "message"), [
    ("physnet1:1000", VLAN + "'physnet1:1000' - 'Need exactly two values for VLAN range'."),
    ("physnet1:1:2:3", VLAN + "'physnet1:1:2:3' - 'Need exactly two values for VLAN range'."),
    (":1:2", "Empty physical network name."),
    ("physnet1:x:20", VLAN + "'physnet1:x:20' - 'x is not a valid VLAN tag'."),
    ("physnet1:0:20", VLAN + "'0:20' - '0 is not a valid VLAN tag'."),
    ("physnet1:1:4095", VLAN + "'1:4095' - '4095 is not a valid VLAN tag'."),
    ("physnet1:20:10", VLAN + "'20:10' - 'End of VLAN range is less than start of VLAN range'."),
])
def test_malformed_vlan_ranges(text: str, message: str) -> None:
    with pytest.raises(OptionValueError) as info:
        parse_network_vlan_ranges(text)
    assert info.value.message == message


def test_bridge_mappings() -> None:
    assert parse_mappings("phynet2:br-ex,physnet3:br-y") == {"phynet2": "br-ex", "physnet3": "br-y"}
    assert parse_mappings(" physnet1 : br-ex , ") == {"physnet1": "br-ex"}
    assert parse_mappings("") == {}
    assert parse_mappings("a:br-ex,b:br-ex", unique_values=False) == {"a": "br-ex", "b": "br-ex"}


@pytest.mark.parametrize(("text", "message"), [
    ("physnet1", "Invalid mapping: 'physnet1'"),
    ("physnet1:br-ex:x", "Invalid mapping: 'physnet1:br-ex:x'"),
    (":br-ex", "Missing key in mapping: ':br-ex'"),
    ("physnet1:", "Missing value in mapping: 'physnet1:'"),
    ("physnet1:br-ex,physnet1:br-y", "Key physnet1 in mapping: 'physnet1:br-y' not unique"),
    ("physnet1:br-ex,physnet2:br-ex", "Value br-ex in mapping: 'physnet2:br-ex' not unique"),
])
def test_malformed_mappings(text: str, message: str) -> None:
    with pytest.raises(OptionValueError) as info:
        parse_mappings(text)
    assert info.value.message == message


def test_flat_networks() -> None:
    assert parse_flat_networks("phynet2") == FlatNetworks(False, ("phynet2",))
    assert parse_flat_networks("phynet2").allows("phynet2") and not parse_flat_networks("phynet2").allows("x")
    assert parse_flat_networks("physnet1,*").any and parse_flat_networks("*").allows("anything")
    assert parse_flat_networks("").disabled and not parse_flat_networks("*").disabled


@pytest.mark.parametrize(("text", "expected"), [
    ("true", True), ("True", True), ("1", True), ("on", True), ("YES", True),
    ("false", False), ("0", False), ("Off", False), ("no", False),
])
def test_booleans_oslo_accepts(text: str, expected: bool) -> None:
    assert parse_bool(text) is expected


@pytest.mark.parametrize("text", ["enabled", "", "2", "y"])
def test_booleans_oslo_rejects(text: str) -> None:
    with pytest.raises(OptionValueError, match="Unexpected boolean value"):
        parse_bool(text)


def test_integers() -> None:
    assert parse_int("4") == 4 and parse_int(" -1 ") == -1 and parse_int("") is None
    with pytest.raises(OptionValueError, match="invalid literal for int"):
        parse_int("four")
    with pytest.raises(OptionValueError, match="Should be less than or equal to 65535"):
        parse_int("70000", maximum=65535)
