"""OVS parsers: the real ovs-vsctl files of the ussuri sosreport, plus older quoting, interface errors,
an OVN chassis and a failed ovs-vsctl."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ostriage.evidence import Line, numbered
from ostriage.parsers.ovs import (
    open_vswitch,
    parse_list_br,
    parse_ovs_vsctl_show,
    parse_ovsdb_list,
    parse_ovsdb_map,
    parse_ovsdb_value,
)

OVS = "sos_commands/openvswitch"


def _lines(root: Path, rel: str) -> Iterator[Line]:
    with open(root / rel, encoding="utf-8", errors="replace") as handle:
        yield from numbered(handle, rel)


def test_real_ovs_vsctl_show(ussuri_sos: Path) -> None:
    show = parse_ovs_vsctl_show(_lines(ussuri_sos, f"{OVS}/ovs-vsctl_-t_5_show"))
    assert show.uuid == "b8a20458-9009-41a0-aa49-71bcc0080537"
    assert show.ovs_version == "2.13.3" and show.version_line is not None
    assert show.version_line.cite() == f"{OVS}/ovs-vsctl_-t_5_show:82"
    assert [(m.target, m.is_connected) for m in show.managers] == [("ptcp:6640:127.0.0.1", True)]
    assert [b.name for b in show.bridges] == ["br-data", "br-tun", "br-ex", "br-int"]
    br_ex = show.bridge("br-ex")
    assert br_ex is not None and br_ex.controllers == () and br_ex.fail_mode is None
    assert br_ex.datapath_type == "system" and [p.name for p in br_ex.ports] == ["br-ex"]
    assert br_ex.ports[0].interfaces[0].type == "internal"
    data = show.bridge("br-data")
    assert data is not None and data.fail_mode == "secure" and data.line.number == 4
    assert [(c.target, c.is_connected) for c in data.controllers] == [("tcp:127.0.0.1:6633", True)]
    patch = data.port("phy-br-data")
    assert patch is not None and patch.interfaces[0].options == {"peer": "int-br-data"}
    tun = show.bridge("br-tun")
    assert tun is not None
    vxlan = tun.port("vxlan-0a000085")
    assert vxlan is not None
    assert vxlan.interfaces[0].type == "vxlan"
    assert vxlan.interfaces[0].options["remote_ip"] == "10.0.0.133"
    assert vxlan.interfaces[0].options["local_ip"] == "10.0.0.128"
    integration = show.bridge("br-int")
    assert integration is not None
    assert {p.name: p.tag for p in integration.ports}["qg-14f81a43-69"] == 2
    assert {p.name: p.tag for p in integration.ports}["patch-tun"] is None
    assert list(show.interfaces_with_errors()) == []
    assert show.bridge("br-missing") is None


def test_real_list_br(ussuri_sos: Path) -> None:
    names = list(parse_list_br(_lines(ussuri_sos, f"{OVS}/ovs-vsctl_-t_5_list-br")))
    assert [n.name for n in names] == ["br-data", "br-ex", "br-int", "br-tun"]
    assert names[1].line.cite() == f"{OVS}/ovs-vsctl_-t_5_list-br:2"


def test_real_list_open_vswitch(ussuri_sos: Path) -> None:
    ovs = open_vswitch(_lines(ussuri_sos, f"{OVS}/ovs-vsctl_-t_5_list_Open_vSwitch"))
    assert ovs is not None
    assert ovs.hostname == "compute4.mylab.home"
    assert ovs.system_id == "3c98ecc6-adbc-4647-853b-d4c2b38e49ac"
    assert ovs.ovs_version == "2.13.3"
    assert ovs.ovn_remote is None and ovs.ovn_bridge_mappings is None  # ML2/OVS: not an OVN chassis
    assert ovs.external_ids["rundir"] == "/var/run/openvswitch"
    assert ovs.external_ids_line is not None and ovs.external_ids_line.number == 9
    assert ovs.record.value("iface_types") == ["erspan", "geneve", "gre", "internal", "ip6erspan", "ip6gre",
                                               "lisp", "patch", "stt", "system", "tap", "vxlan"]
    assert ovs.record.value("datapaths") == {} and ovs.record.value("cur_cfg") == "129"
    assert ovs.record.value("nonexistent") is None


def test_real_list_interface_records(ussuri_sos: Path) -> None:
    records = list(parse_ovsdb_list(_lines(ussuri_sos, f"{OVS}/ovs-vsctl_-t_5_list_interface")))
    names = {r.value("name") for r in records}
    assert len(records) == 17 and "vxlan-0a000085" in names and "br-ex" in names


def test_old_quoted_show_with_interface_error_and_ovn_bridge() -> None:
    lines = [
        "0c9f3f5e-1111-4222-8333-444455556666",
        '    Manager "ptcp:6640:127.0.0.1"',
        '    Bridge "br-int"',
        '        Controller "tcp:127.0.0.1:6633"',
        "        fail_mode: secure",
        '        Port "tap0e778df8-ca"',
        "            tag: 4095",
        '            Interface "tap0e778df8-ca"',
        '                error: "could not open network device tap0e778df8-ca (No such device)"',
        '        Port "ovn-c0ffee-0"',
        '            Interface "ovn-c0ffee-0"',
        "                type: geneve",
        '                options: {csum="true", key=flow, remote_ip="10.0.0.12"}',
        '                bfd_status: {diagnostic="No Diagnostic", flap_count="1", forwarding="true", '
        "remote_diagnostic=\"No Diagnostic\", remote_state=up, state=up}",
        '    ovs_version: "2.5.9"',
    ]
    show = parse_ovs_vsctl_show(numbered(lines, "ovs-vsctl show"))
    assert [(m.target, m.is_connected) for m in show.managers] == [("ptcp:6640:127.0.0.1", None)]
    (bridge,) = show.bridges
    assert bridge.name == "br-int" and bridge.controllers[0].is_connected is None
    errors = list(show.interfaces_with_errors())
    assert [(b.name, p.name, i.error, i.line.number) for b, p, i in errors] == [
        ("br-int", "tap0e778df8-ca", "could not open network device tap0e778df8-ca (No such device)", 8)]
    assert errors[0][1].tag == 4095  # the OVS agent's dead VLAN
    geneve = bridge.ports[1].interfaces[0]
    assert geneve.type == "geneve"
    assert geneve.options == {"csum": "true", "key": "flow", "remote_ip": "10.0.0.12"}
    assert parse_ovsdb_map(geneve.attributes["bfd_status"])["diagnostic"] == "No Diagnostic"
    assert show.ovs_version == "2.5.9"


def test_ovn_chassis_external_ids() -> None:
    lines = [
        "_uuid               : 6a2b6b0c-0000-4000-8000-000000000001",
        "bridges             : [1c2f3a4b-0000-4000-8000-000000000002]",
        'external_ids        : {hostname=controller-1, ovn-bridge-mappings="physnet1:br-ex,phynet2:br-ex", '
        'ovn-encap-ip="10.0.0.10", ovn-encap-type=geneve, ovn-remote="tcp:10.0.0.10:6642", '
        'rundir="/var/run/openvswitch", system-id="c0ffee00-0000-4000-8000-00000000c0de"}',
        'ovs_version         : "3.3.0"',
    ]
    ovs = open_vswitch(numbered(lines, "list_Open_vSwitch"))
    assert ovs is not None
    assert ovs.ovn_remote == "tcp:10.0.0.10:6642"
    assert (ovs.ovn_encap_type, ovs.ovn_encap_ip) == ("geneve", "10.0.0.10")
    assert ovs.ovn_bridge_mappings == "physnet1:br-ex,phynet2:br-ex"
    assert ovs.hostname == "controller-1" and ovs.ovs_version == "3.3.0"


def test_failed_commands_and_garbage() -> None:
    failed = ["ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed "
              "(No such file or directory)"]
    show = parse_ovs_vsctl_show(numbered(failed, "show"))
    assert show.uuid is None and show.bridges == () and show.ovs_version is None
    assert list(parse_list_br(numbered(failed, "list-br"))) == []
    assert open_vswitch(numbered([], "list")) is None
    junk = ["\x00\x00", "    " + "x" * 1_000_000, "        : nothing", "  Bridge", "      Port orphan"]
    assert parse_ovs_vsctl_show(numbered(junk, "show")).bridges == ()


def test_ovsdb_values() -> None:
    assert parse_ovsdb_map('{a="x, y", b="q\\"uote", c=plain}') == {"a": "x, y", "b": 'q"uote', "c": "plain"}
    assert parse_ovsdb_map("[not, a, map]") == {} and parse_ovsdb_map("{}") == {}
    assert parse_ovsdb_value("[]") == [] and parse_ovsdb_value("true") == "true"
    assert parse_ovsdb_value('"tcp:127.0.0.1:6633"') == "tcp:127.0.0.1:6633"
