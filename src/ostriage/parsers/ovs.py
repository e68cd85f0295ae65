"""Open vSwitch state: bridges and ports (does ``br-ex`` exist?), OVN settings of the chassis.

Sources (sos ``openvswitch`` plugin; the same commands live):

- ``ovs-vsctl show`` (``sos_commands/openvswitch/ovs-vsctl_-t_5_show``): an indented tree printed by
  ``cmd_show`` in ovs ``utilities/ovs-vsctl.c`` from its ``cmd_show_tables``: the Open_vSwitch row
  (uuid, ``Manager``, ``Bridge``, ``ovs_version``), Bridge (``Controller``, ``fail_mode``, ``datapath_type``,
  ``Port``), Port (``tag``, ``trunks``, ``Interface``), Interface (``type``, ``options``, ``error``,
  ``bfd_status``), Controller/Manager (``is_connected``). Four spaces per level; names are quoted by older
  releases (``Bridge "br-ex"``). Real lines from the ussuri fixture::

    b8a20458-9009-41a0-aa49-71bcc0080537
        Manager "ptcp:6640:127.0.0.1"
            is_connected: true
        Bridge br-data
            Controller "tcp:127.0.0.1:6633"
                is_connected: true
            fail_mode: secure
            datapath_type: system
            Port phy-br-data
                Interface phy-br-data
                    type: patch
                    options: {peer=int-br-data}
        ovs_version: "2.13.3"

  An interface whose device is missing carries ``error: "could not open network device br-ex (No such
  device)"``.
- ``ovs-vsctl list-br`` (``ovs-vsctl_-t_5_list-br``): one bridge name per line.
- ``ovs-vsctl list <table>`` (``ovs-vsctl_-t_5_list_Open_vSwitch``, ``..._list_bridge``): records of
  ``column : value`` lines separated by blank lines. Real line::

    external_ids        : {hostname=compute4.mylab.home, rundir="/var/run/openvswitch", system-id="3c98..."}

  ``open_vswitch`` reads the OVN chassis settings from ``external_ids`` (``ovn-remote``, ``ovn-encap-type``,
  ``ovn-encap-ip``, ``ovn-bridge-mappings``, ``hostname``, ``system-id``).

OVSDB values are printed by ``ovsdb_datum_to_string``: strings quoted only when they are not plain words
(C-style escapes inside quotes), sets as ``[a, b]``, maps as ``{k=v, k2="v 2"}``. ``parse_ovsdb_value`` and
``parse_ovsdb_map`` undo that.

>>> from ostriage.evidence import numbered
>>> show = ["8b1a-uuid", '    Bridge "br-ex"', "        Port br-ex", "            Interface br-ex",
...         "                type: internal",
...         '                error: "could not open network device br-ex (No such device)"',
...         '    ovs_version: "2.17.9"']
>>> s = parse_ovs_vsctl_show(numbered(show, "ovs-vsctl_-t_5_show"))
>>> s.ovs_version, s.bridge("br-ex").ports[0].interfaces[0].error
('2.17.9', 'could not open network device br-ex (No such device)')
>>> parse_ovsdb_map('{ovn-bridge-mappings="physnet1:br-ex", ovn-encap-type=geneve}')
{'ovn-bridge-mappings': 'physnet1:br-ex', 'ovn-encap-type': 'geneve'}
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from ostriage.evidence import Line

__all__ = [
    "OpenVSwitch",
    "OvsBridge",
    "OvsBridgeName",
    "OvsInterface",
    "OvsPort",
    "OvsShow",
    "OvsTarget",
    "OvsdbRecord",
    "open_vswitch",
    "parse_list_br",
    "parse_ovs_vsctl_show",
    "parse_ovsdb_list",
    "parse_ovsdb_map",
    "parse_ovsdb_value",
]


def _unquote(text: str) -> str:
    """A possibly quoted OVSDB string (``"tcp:1.2.3.4:6642"``) to its value."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        out: list[str] = []
        chars = iter(text[1:-1])
        for char in chars:
            if char == "\\":
                escaped = next(chars, "")
                out.append({"n": "\n", "t": "\t", "r": "\r"}.get(escaped, escaped))
            else:
                out.append(char)
        return "".join(out)
    return text


def _split_top(text: str) -> list[str]:
    """Split ``a, b="x, y", c`` on the commas that are outside quotes."""
    items: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    tail = "".join(current).strip()
    if tail:
        items.append(tail)
    return items


def parse_ovsdb_map(text: str) -> dict[str, str]:
    """An OVSDB map column (``{k=v, ...}``); ``{}`` and non-maps give ``{}``.

    >>> parse_ovsdb_map('{df_default="true", local_ip="10.0.0.128", in_key=flow}')
    {'df_default': 'true', 'local_ip': '10.0.0.128', 'in_key': 'flow'}
    """
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return {}
    result: dict[str, str] = {}
    for item in _split_top(text[1:-1]):
        key, sep, value = item.partition("=")
        if sep:
            result[_unquote(key)] = _unquote(value)
    return result


def parse_ovsdb_value(text: str) -> str | list[str] | dict[str, str]:
    """Any OVSDB column value: a map, a set (``[a, b]``), or a scalar (unquoted).

    >>> parse_ovsdb_value("[netdev, system]"), parse_ovsdb_value('"2.13.3"'), parse_ovsdb_value("[]")
    (['netdev', 'system'], '2.13.3', [])
    """
    text = text.strip()
    if text.startswith("{") and text.endswith("}"):
        return parse_ovsdb_map(text)
    if text.startswith("[") and text.endswith("]"):
        return [_unquote(item) for item in _split_top(text[1:-1])]
    return _unquote(text)


@dataclass(frozen=True, slots=True)
class OvsTarget:
    """A ``Manager`` or ``Controller`` target and whether ovs-vswitchd is connected to it."""

    target: str
    is_connected: bool | None
    line: Line


@dataclass(frozen=True, slots=True)
class OvsInterface:
    name: str
    type: str | None
    options: Mapping[str, str]
    error: str | None
    line: Line
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OvsPort:
    name: str
    tag: int | None
    interfaces: tuple[OvsInterface, ...]
    line: Line
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OvsBridge:
    name: str
    controllers: tuple[OvsTarget, ...]
    fail_mode: str | None
    datapath_type: str | None
    ports: tuple[OvsPort, ...]
    line: Line
    attributes: Mapping[str, str] = field(default_factory=dict)

    def port(self, name: str) -> OvsPort | None:
        return next((p for p in self.ports if p.name == name), None)


@dataclass(frozen=True, slots=True)
class OvsShow:
    """The whole ``ovs-vsctl show`` tree."""

    uuid: str | None
    managers: tuple[OvsTarget, ...]
    bridges: tuple[OvsBridge, ...]
    ovs_version: str | None
    version_line: Line | None

    def bridge(self, name: str) -> OvsBridge | None:
        return next((b for b in self.bridges if b.name == name), None)

    def interfaces_with_errors(self) -> Iterator[tuple[OvsBridge, OvsPort, OvsInterface]]:
        for bridge in self.bridges:
            for port in bridge.ports:
                for interface in port.interfaces:
                    if interface.error is not None:
                        yield bridge, port, interface


class _Node:
    __slots__ = ("attrs", "children", "kind", "line", "name")

    def __init__(self, kind: str, name: str, line: Line) -> None:
        self.kind = kind
        self.name = name
        self.line = line
        self.attrs: dict[str, str] = {}
        self.children: list[_Node] = []

    def kids(self, kind: str) -> list[_Node]:
        return [c for c in self.children if c.kind == kind]


_KINDS = ("Manager", "Bridge", "Controller", "Port", "Interface")


def _target(node: _Node) -> OvsTarget:
    connected = node.attrs.get("is_connected")
    return OvsTarget(node.name, None if connected is None else connected == "true", node.line)


def _interface(node: _Node) -> OvsInterface:
    return OvsInterface(node.name, node.attrs.get("type"), parse_ovsdb_map(node.attrs.get("options", "")),
                        node.attrs.get("error"), node.line, node.attrs)


def _port(node: _Node) -> OvsPort:
    tag = node.attrs.get("tag", "")
    return OvsPort(node.name, int(tag) if tag.isdecimal() else None,
                   tuple(_interface(i) for i in node.kids("Interface")), node.line, node.attrs)


def _bridge(node: _Node) -> OvsBridge:
    return OvsBridge(
        node.name, tuple(_target(c) for c in node.kids("Controller")), node.attrs.get("fail_mode"),
        node.attrs.get("datapath_type"), tuple(_port(p) for p in node.kids("Port")), node.line, node.attrs,
    )


def parse_ovs_vsctl_show(lines: Iterable[Line]) -> OvsShow:
    """``ovs-vsctl show``. Lines that fit nowhere (a timeout message, garbage) are skipped."""
    uuid: str | None = None
    root = _Node("", "", Line("", 0, ""))
    stack: list[tuple[int, _Node]] = [(-1, root)]
    version: tuple[str, Line] | None = None
    for line in lines:
        text = line.text.rstrip()
        stripped = text.lstrip(" ")
        if not stripped:
            continue
        indent = len(text) - len(stripped)
        if indent == 0:
            if uuid is None and len(stripped) == 36 and stripped.count("-") == 4:
                uuid = stripped
            continue
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        kind, _, rest = stripped.partition(" ")
        if kind in _KINDS and rest:
            node = _Node(kind, _unquote(rest), line)
            parent.children.append(node)
            stack.append((indent, node))
            continue
        key, sep, value = stripped.partition(": ")
        if not sep:
            key, sep, value = stripped.partition(":")
        if not sep:
            continue
        if key == "ovs_version" and parent is root:
            version = (_unquote(value), line)
        else:
            parent.attrs[key] = value.strip() if value.strip().startswith(("{", "[")) else _unquote(value)
    return OvsShow(
        uuid, tuple(_target(m) for m in root.kids("Manager")), tuple(_bridge(b) for b in root.kids("Bridge")),
        version[0] if version else None, version[1] if version else None,
    )


@dataclass(frozen=True, slots=True)
class OvsBridgeName:
    """One line of ``ovs-vsctl list-br``."""

    name: str
    line: Line


def parse_list_br(lines: Iterable[Line]) -> Iterator[OvsBridgeName]:
    """``ovs-vsctl list-br``.

    >>> from ostriage.evidence import numbered
    >>> [b.name for b in parse_list_br(numbered("br-data\\nbr-ex\\nbr-int\\nbr-tun\\n", "list-br"))]
    ['br-data', 'br-ex', 'br-int', 'br-tun']
    """
    for line in lines:
        name = line.text.strip()
        # Bridge names are interface names: no spaces; anything else is an error message.
        if name and " " not in name and "\x00" not in name:
            yield OvsBridgeName(name, line)


@dataclass(frozen=True, slots=True)
class OvsdbRecord:
    """One record of ``ovs-vsctl list <table>``: raw column text and the line of each column."""

    columns: Mapping[str, str]
    lines: Mapping[str, Line]

    def value(self, column: str) -> str | list[str] | dict[str, str] | None:
        raw = self.columns.get(column)
        return None if raw is None else parse_ovsdb_value(raw)

    def map(self, column: str) -> dict[str, str]:
        return parse_ovsdb_map(self.columns.get(column, ""))


def parse_ovsdb_list(lines: Iterable[Line]) -> Iterator[OvsdbRecord]:
    """``ovs-vsctl list <table>`` (also ``ovn-nbctl``/``ovn-sbctl list``): blank lines separate records."""
    columns: dict[str, str] = {}
    where: dict[str, Line] = {}
    for line in lines:
        column, sep, value = line.text.partition(":")
        column = column.strip()
        if not line.text.strip():
            if columns:
                yield OvsdbRecord(columns, where)
                columns, where = {}, {}
            continue
        if not sep or not column or " " in column:
            continue
        columns[column] = value.strip()
        where[column] = line
    if columns:
        yield OvsdbRecord(columns, where)


@dataclass(frozen=True, slots=True)
class OpenVSwitch:
    """The ``Open_vSwitch`` table's row: version and the OVN chassis settings in ``external_ids``."""

    record: OvsdbRecord
    external_ids: Mapping[str, str]
    ovs_version: str | None
    hostname: str | None
    system_id: str | None
    ovn_remote: str | None
    ovn_encap_type: str | None
    ovn_encap_ip: str | None
    ovn_bridge_mappings: str | None

    @property
    def external_ids_line(self) -> Line | None:
        return self.record.lines.get("external_ids")


def open_vswitch(lines: Iterable[Line]) -> OpenVSwitch | None:
    """``ovs-vsctl list Open_vSwitch`` (one row), or ``None`` when the output has no record."""
    record = next(parse_ovsdb_list(lines), None)
    if record is None:
        return None
    ids = record.map("external_ids")
    version = record.value("ovs_version")
    return OpenVSwitch(record, ids, version if isinstance(version, str) else None, ids.get("hostname"),
                       ids.get("system-id"), ids.get("ovn-remote"), ids.get("ovn-encap-type"),
                       ids.get("ovn-encap-ip"), ids.get("ovn-bridge-mappings"))
