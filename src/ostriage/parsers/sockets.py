"""Listening sockets (is anything on 9696?) from ``ss``, ``netstat`` or ``lsof``.

Sources, each with its own parser (all return ``Listener`` records):

- ``parse_ss``: sos ``sos_commands/networking/ss_-peaonmi`` (present only when the ``*_diag`` kernel modules
  were loaded: absent from the ussuri fixture), and live ``ss -lntp`` / ``ss -lntpH`` / ``ss -tulpn``.
  Real lines (iproute2 on this project's machine)::

    Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess
    tcp   LISTEN 0      5          127.0.0.1:9696      0.0.0.0:*    users:(("python3",pid=7832,fd=3)) \
ino:11345 sk:1 cgroup:/ <->
    \t skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0) bbr cwnd:10
    udp   UNCONN 0      0            0.0.0.0:5353      0.0.0.0:*    users:(("python3",pid=7833,fd=4)) ...

  Lines starting with white space carry ``-m``/``-i`` details and are skipped. Without a ``Netid`` column
  (``ss -lntp``) ``LISTEN`` means TCP and ``UNCONN`` UDP. Old iproute2 printed ``users:(("sshd",1028,3))``.
- ``parse_netstat``: sos ``sos_commands/networking/netstat_-W_-neopa`` (root symlink ``netstat``; absent
  when net-tools is not installed, as in the fixture) and live ``netstat -tlnp``::

    Proto Recv-Q Send-Q Local Address           Foreign Address         State       User       Inode      \
PID/Program name     Timer
    tcp        0      0 127.0.0.1:9696          0.0.0.0:*               LISTEN      0          11345      \
7832/python3         off (0.00/0/0)
    tcp6       0      0 :::5672                 :::*                    LISTEN      0          11343      \
7833/python3         off (0.00/0/0)

- ``parse_lsof``: sos ``sos_commands/process/lsof_M_-n_-l_-c`` (``lsof +M -n -l -c ''``; newer sos point the
  root ``lsof`` symlink at it, sos 4.2 at ``sos_commands/filesys/lsof_-b_M_-n_-l_-P``, missing from the
  fixture), ``lsof +M -n -l`` (adds ``TID TASKCMD``: one line per thread, skipped here as duplicates of the
  process's descriptor). Without ``-P`` ports are service names from ``/etc/services`` and ``+M`` appends
  the portmapper registration. Real lines from the ussuri fixture::

    COMMAND       PID     USER   FD      TYPE             DEVICE  SIZE/OFF       NODE NAME
    rpcbind       674      116    4u     IPv4              15980       0t0        TCP *:sunrpc[portmapper] \
(LISTEN)
    ovsdb-ser     762        0   18u     IPv4              24119       0t0        TCP 127.0.0.1:6640 (LISTEN)
    nova-api-     984    64060    4u     IPv4              37471       0t0        TCP *:8775 (LISTEN)

  Names are mapped back to numbers with ``PORT_NUMBERS`` (a small table from netbase's ``/etc/services``);
  an unknown name keeps ``port=None`` and ``port_name`` set.

Kept: TCP sockets in ``LISTEN`` and bound, unconnected UDP sockets (``UNCONN``; blank state in netstat, no
``->`` in lsof), because DHCP/DNS (dnsmasq) and similar services listen on UDP; ``proto`` tells them apart.
Address brackets and ``%iface`` scopes are removed (``[::]`` → ``::``, ``127.0.0.53%lo`` → ``127.0.0.53``);
``*`` stays ``*`` (any address). One record per (socket, process): a socket shared by several processes
(forked workers) yields one record per pid, duplicate descriptors in one process are folded.

>>> from ostriage.evidence import numbered
>>> ss = ['State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess',
...       'LISTEN 0      4096         0.0.0.0:9696      0.0.0.0:*    '
...       'users:(("neutron-server",pid=3345,fd=7),("neutron-server",pid=3361,fd=7))']
>>> [(x.port, x.pid) for x in parse_ss(numbered(ss, "$ ss -lntp"))]
[(9696, 3345), (9696, 3361)]
>>> (x,) = parse_lsof(numbered(["sshd 1028 0 3u IPv4 31807 0t0 TCP *:ssh (LISTEN)"], "lsof"))
>>> x.address, x.port, x.port_name, x.process, x.family
('*', 22, 'ssh', 'sshd', 'ipv4')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from ostriage.evidence import Line

__all__ = ["PORT_NUMBERS", "Listener", "parse_lsof", "parse_netstat", "parse_ss"]

Proto = Literal["tcp", "udp"]
Family = Literal["ipv4", "ipv6"]

# Service names lsof/ss/netstat print without -P/-n, from Debian netbase /etc/services (same numbers in
# IANA's registry); only names an OpenStack host is likely to show.
PORT_NUMBERS: dict[str, int] = {
    "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "bootps": 67, "bootpc": 68, "http": 80,
    "www": 80, "kerberos": 88, "sunrpc": 111, "portmapper": 111, "ntp": 123, "snmp": 161, "ldap": 389,
    "https": 443, "isakmp": 500, "syslog": 514, "ldaps": 636, "rsync": 873, "nfs": 2049, "iscsi-target": 3260,
    "mysql": 3306, "epmd": 4369, "mdns": 5353, "postgresql": 5432, "postgres": 5432, "amqps": 5671,
    "amqp": 5672, "x11": 6000, "redis": 6379, "http-alt": 8080, "webcache": 8080, "zabbix-agent": 10050,
    "zabbix-trapper": 10051,
}


@dataclass(frozen=True, slots=True)
class Listener:
    """A socket accepting connections (TCP ``LISTEN``) or datagrams (bound UDP)."""

    proto: Proto
    address: str
    port: int | None
    port_name: str | None
    pid: int | None
    process: str | None
    line: Line
    family: Family | None = None


def _endpoint(text: str) -> tuple[str, str] | None:
    address, sep, port = text.rpartition(":")
    if not sep or not address:
        return None
    if address.startswith("["):
        address = address[1:].split("]", 1)[0]
    return address.split("%", 1)[0], port


def _port(text: str) -> tuple[int | None, str | None]:
    text = re.sub(r"\[[^\]]*\]$", "", text)
    if text.isdecimal():
        return int(text), None
    if text in ("", "*"):
        return None, None
    return PORT_NUMBERS.get(text), text


def _family(address: str, hint: Family | None) -> Family | None:
    if ":" in address:
        return "ipv6"
    if "." in address:
        return "ipv4"
    return hint


class _Seen:
    """Folds repeated (socket, process) pairs: duplicate descriptors, shared sockets listed twice."""

    def __init__(self) -> None:
        self._keys: set[tuple[str, str | None, str, str, int | None]] = set()

    def new(self, proto: str, family: str | None, address: str, port: str, pid: int | None) -> bool:
        # The family is part of the key: "*:22" is printed for both the IPv4 and the IPv6 socket.
        key = (proto, family, address, port, pid)
        if key in self._keys:
            return False
        self._keys.add(key)
        return True


def _listeners(proto: Proto, local: str, owners: list[tuple[int | None, str | None]], line: Line,
               hint: Family | None, seen: _Seen) -> Iterator[Listener]:
    endpoint = _endpoint(local)
    if endpoint is None:
        return
    address, port_text = endpoint
    port, name = _port(port_text)
    family = _family(address, hint)
    for pid, process in owners or [(None, None)]:
        if seen.new(proto, family, address, port_text, pid):
            yield Listener(proto, address, port, name, pid, process, line, family)


_SS_USER = re.compile(r'\("((?:[^"\\]|\\.)*)",(?:pid=)?(\d+),(?:fd=)?\d+\)')
_SS_KEEP = {("tcp", "LISTEN"), ("udp", "UNCONN")}


def parse_ss(lines: Iterable[Line]) -> Iterator[Listener]:
    """``ss`` output with or without the ``Netid`` column, header or ``-H``."""
    seen = _Seen()
    for line in lines:
        text = line.text
        if not text or text[0] in " \t":
            continue
        fields = text.split()  # may be empty: a line of "\r" or a form feed is blank without being ""
        if not fields:
            continue
        if fields[0] in ("tcp", "udp"):
            netid, rest = fields[0], fields[1:]
        elif fields[0] in ("LISTEN", "UNCONN"):
            netid, rest = ("tcp" if fields[0] == "LISTEN" else "udp"), fields
        else:
            continue
        if len(rest) < 5 or (netid, rest[0]) not in _SS_KEEP:
            continue
        owners: list[tuple[int | None, str | None]] = [
            (int(pid), name) for name, pid in _SS_USER.findall(text)
        ]
        yield from _listeners("tcp" if netid == "tcp" else "udp", rest[3], owners, line, None, seen)


_NETSTAT_TIMER = re.compile(r"\s+(?:off|on|keepalive|timewait|probe|unkn-\d+)\s+\([^)]*\)\s*$")
_NETSTAT_PROGRAM = re.compile(r"(?:^|\s)(\d+)/(.*)$")


def parse_netstat(lines: Iterable[Line]) -> Iterator[Listener]:
    """``netstat -tlnp``, ``netstat -W -neopa`` and other ``-p``/``-e``/``-o`` combinations."""
    seen = _Seen()
    for line in lines:
        parts = line.text.split(None, 5)
        if len(parts) < 5 or parts[0] not in ("tcp", "tcp6", "udp", "udp6"):
            continue
        if not (parts[1].isdecimal() and parts[2].isdecimal()):
            continue
        proto: Proto = "tcp" if parts[0].startswith("tcp") else "udp"
        rest = parts[5] if len(parts) > 5 else ""
        state, _, after = rest.partition(" ")
        if proto == "tcp":
            if state != "LISTEN":
                continue
            rest = after
        elif state.isalpha() and state.isupper():
            # A UDP socket with a state (ESTABLISHED) is connected, not listening.
            continue
        rest = _NETSTAT_TIMER.sub("", rest)
        match = _NETSTAT_PROGRAM.search(rest)
        owners: list[tuple[int | None, str | None]] = (
            [(int(match[1]), match[2].strip() or None)] if match else []
        )
        hint: Family = "ipv6" if parts[0].endswith("6") else "ipv4"
        yield from _listeners(proto, parts[3], owners, line, hint, seen)


def parse_lsof(lines: Iterable[Line]) -> Iterator[Listener]:
    """``lsof`` with the default columns, with or without ``TID TASKCMD``, ``-P``, ``+M``."""
    seen = _Seen()
    for line in lines:
        fields = line.text.split()
        kind = next((i for i, f in enumerate(fields[:8]) if f in ("IPv4", "IPv6")), None)
        # COMMAND PID USER FD TYPE: TYPE is the 5th column on a process line, the 7th on a thread line
        # (TID and TASKCMD filled in), which repeats its process's descriptor.
        if kind != 4 or not fields[1].isdecimal():
            continue
        # DEVICE and SIZE/OFF sit between TYPE and NODE; look for NODE rather than trust their presence.
        candidates = range(kind + 1, min(len(fields) - 1, kind + 5))
        node_at = next((i for i in candidates if fields[i] in ("TCP", "UDP")), None)
        if node_at is None:
            continue
        node = fields[node_at]
        name = line.text.split(None, node_at + 1)[-1]
        if node == "TCP":
            if not name.endswith("(LISTEN)"):
                continue
            proto: Proto = "tcp"
        else:
            proto = "udp"
        local = name.split()[0]
        if "->" in local:
            continue
        hint: Family = "ipv6" if fields[kind] == "IPv6" else "ipv4"
        yield from _listeners(proto, local, [(int(fields[1]), fields[0])], line, hint, seen)
