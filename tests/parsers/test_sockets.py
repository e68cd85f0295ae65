"""Listening sockets: the real lsof files of the ussuri sosreport (with and without TID columns), and real
ss / netstat / lsof output captured on this project's machine (iproute2, net-tools, lsof 4.95) with a
python http.server on 127.0.0.1:9696, a dual-stack listener on 5672 and a UDP socket on 5353."""

from __future__ import annotations

import lzma
import tarfile
from collections.abc import Iterator
from pathlib import Path

from ostriage.evidence import Line, numbered
from ostriage.parsers.sockets import PORT_NUMBERS, Listener, parse_lsof, parse_netstat, parse_ss

LSOF = "sos_commands/process/lsof_M_-n_-l_-c"


def _lines(root: Path, rel: str) -> Iterator[Line]:
    with open(root / rel, encoding="utf-8", errors="replace") as handle:
        yield from numbered(handle, rel)


def _key(x: Listener) -> tuple[str, str | None, str, int | None, int | None]:
    return (x.proto, x.family, x.address, x.port, x.pid)


def test_real_lsof(ussuri_sos: Path) -> None:
    listeners = list(parse_lsof(_lines(ussuri_sos, LSOF)))
    tcp = {(x.port, x.pid) for x in listeners if x.proto == "tcp"}
    # nova-api-metadata: the parent and its four workers share the socket bound to *:8775.
    assert {pid for port, pid in tcp if port == 8775} == {984, 35743, 35744, 35746, 35747}
    assert (6640, 762) in tcp and (22, 1028) in tcp and (9696, None) not in tcp
    assert not any(x.port == 9696 for x in listeners)  # a compute node: no neutron-server
    ovsdb = next(x for x in listeners if x.port == 6640)
    assert (ovsdb.address, ovsdb.process, ovsdb.family) == ("127.0.0.1", "ovsdb-ser", "ipv4")
    assert ovsdb.port_name is None
    assert ovsdb.line.cite() == f"{LSOF}:794"
    # The OVS agent's native OpenFlow controller; lsof cuts the command name at 9 characters.
    of = next(x for x in listeners if x.port == 6633)
    assert (of.pid, of.process) == (1603, "/usr/bin/")
    rpc = sorted(_key(x) for x in listeners if x.port_name == "sunrpc" and x.pid == 674)
    assert rpc == [("tcp", "ipv4", "*", 111, 674), ("tcp", "ipv6", "*", 111, 674),
                   ("udp", "ipv4", "*", 111, 674), ("udp", "ipv6", "*", 111, 674)]
    dns = {_key(x) for x in listeners if x.pid == 19086}
    assert dns == {("udp", "ipv4", "*", 67, 19086), ("udp", "ipv4", "10.50.99.1", 53, 19086),
                   ("tcp", "ipv4", "10.50.99.1", 53, 19086)}
    # The ESTABLISHED ovsdb connections are not listeners.
    assert len([x for x in listeners if x.port == 6640]) == 1


def test_real_lsof_with_thread_lines(ussuri_sos: Path) -> None:
    # sos also stored "lsof +M -n -l" (TID and TASKCMD columns) as a tar inside lsof_M_-n_-l.xz.
    archive = ussuri_sos / "sos_commands/process/lsof_M_-n_-l.xz"
    with lzma.open(archive) as xz, tarfile.open(fileobj=xz) as tar:
        member = tar.extractfile("lsof_M_-n_-l")
        assert member is not None
        text = member.read().decode("utf-8", errors="replace")
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["COMMAND", "PID", "TID", "TASKCMD"]
    listeners = list(parse_lsof(numbered(lines, "lsof_M_-n_-l")))
    # ceph-osd has many threads repeating its 8 listening descriptors: one record each.
    osd = sorted(x.port for x in listeners if x.pid == 1113152 and x.port is not None)
    assert osd == list(range(6800, 6808))
    without_threads = {_key(x) for x in parse_lsof(_lines(ussuri_sos, LSOF))}
    assert {_key(x) for x in listeners} == without_threads


# Real `ss -lntp`, `ss -lntpH` and `ss -peaonmi` output (this project's machine).
SS_LNTP = [
    "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess                           ",
    'LISTEN 0      5          127.0.0.1:9696      0.0.0.0:*    users:(("python3",pid=7832,fd=3))',
    "LISTEN 0      128          0.0.0.0:2024      0.0.0.0:*                                     ",
    'LISTEN 0      128                *:5672            *:*    users:(("python3",pid=7833,fd=3))',
]
SS_LNTPH = [
    'LISTEN 0      5      127.0.0.1:9696 0.0.0.0:* users:(("python3",pid=7832,fd=3))',
    "LISTEN 0      128      0.0.0.0:2024 0.0.0.0:*                                  ",
    'LISTEN 0      128            *:5672       *:* users:(("python3",pid=7833,fd=3))',
]
SS_PEAONMI = [
    "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess",
    "nl    UNCONN 0      0                  0:0                *     sk=0 cb=0 groups=0x00000000\t "
    "skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0)",
    'udp   UNCONN 0      0            0.0.0.0:5353      0.0.0.0:*    users:(("python3",pid=7833,fd=4)) '
    "ino:11344 sk:100e cgroup:/ <->",
    "\t skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0)        ",
    'tcp   LISTEN 0      5          127.0.0.1:9696      0.0.0.0:*    users:(("python3",pid=7832,fd=3)) '
    "ino:11345 sk:1 cgroup:/ <->",
    "\t skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0) bbr cwnd:10",
    "tcp   LISTEN 0      128          0.0.0.0:2024      0.0.0.0:*    ino:1598 sk:2 cgroup:/ <->",
    "\t skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0) bbr cwnd:10                                   ",
    'tcp   LISTEN 0      128                *:5672            *:*    users:(("python3",pid=7833,fd=3)) '
    "ino:11343 sk:3 cgroup:/ v6only:0 <->",
    "\t skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0) bbr cwnd:10",
    'tcp   ESTAB  0      0          127.0.0.1:9696    127.0.0.1:40000 users:(("python3",pid=7832,fd=5))',
    'u_str LISTEN 0      4096   /run/systemd/private 15934  * 0     users:(("systemd",pid=1,fd=20))',
]


def test_ss_lntp_with_and_without_header() -> None:
    expected = [("tcp", "ipv4", "127.0.0.1", 9696, 7832), ("tcp", "ipv4", "0.0.0.0", 2024, None),
                ("tcp", None, "*", 5672, 7833)]
    assert [_key(x) for x in parse_ss(numbered(SS_LNTP, "$ ss -lntp"))] == expected
    assert [_key(x) for x in parse_ss(numbered(SS_LNTPH, "$ ss -lntpH"))] == expected
    first = next(parse_ss(numbered(SS_LNTP, "$ ss -lntp")))
    assert (first.process, first.port_name, first.line.number) == ("python3", None, 2)


def test_ss_peaonmi_all_states_and_continuations() -> None:
    listeners = list(parse_ss(numbered(SS_PEAONMI, "sos_commands/networking/ss_-peaonmi")))
    assert [_key(x) for x in listeners] == [
        ("udp", "ipv4", "0.0.0.0", 5353, 7833), ("tcp", "ipv4", "127.0.0.1", 9696, 7832),
        ("tcp", "ipv4", "0.0.0.0", 2024, None), ("tcp", None, "*", 5672, 7833)]
    assert [x.line.number for x in listeners] == [3, 5, 7, 9]


def test_ss_shared_socket_bracketed_ipv6_scopes_and_old_users_format() -> None:
    lines = [
        'LISTEN 0 4096 0.0.0.0:9696 0.0.0.0:* users:(("neutron-server",pid=3345,fd=7),'
        '("neutron-server",pid=3361,fd=7),("neutron-server",pid=3345,fd=9))',
        'LISTEN 0 128 [::]:22 [::]:* users:(("sshd",pid=2952,fd=4),("systemd",pid=1,fd=130))',
        'LISTEN 0 4096 127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=8515,fd=15))',
        'LISTEN 0 128 [fe80::f816:3eff:fe12:3456]%eth0:8080 [::]:* users:(("python3",pid=77,fd=3))',
        'LISTEN 0 128 :::6641 :::* users:(("ovsdb-server",1450,22))',
        'UNCONN 0 0 192.0.2.40%eth0:68 0.0.0.0:* users:(("systemd-network",pid=529,fd=18))',
        "ESTAB 0 0 10.0.0.5:22 10.0.0.9:51000",
    ]
    listeners = list(parse_ss(numbered(lines, "$ ss -tulpn")))
    assert [_key(x) for x in listeners] == [
        ("tcp", "ipv4", "0.0.0.0", 9696, 3345), ("tcp", "ipv4", "0.0.0.0", 9696, 3361),
        ("tcp", "ipv6", "::", 22, 2952), ("tcp", "ipv6", "::", 22, 1),
        ("tcp", "ipv4", "127.0.0.53", 53, 8515), ("tcp", "ipv6", "fe80::f816:3eff:fe12:3456", 8080, 77),
        ("tcp", "ipv6", "::", 6641, 1450), ("udp", "ipv4", "192.0.2.40", 68, 529)]
    assert listeners[6].process == "ovsdb-server"


# Real `netstat -tlnp` and `netstat -W -neopa` output (net-tools 2.10, this project's machine).
NETSTAT_TLNP = [
    "Active Internet connections (only servers)",
    "Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name    ",
    "tcp        0      0 127.0.0.1:9696          0.0.0.0:*               LISTEN      7832/python3        ",
    "tcp        0      0 0.0.0.0:2024            0.0.0.0:*               LISTEN      -                   ",
    "tcp6       0      0 :::5672                 :::*                    LISTEN      7833/python3        ",
]
NETSTAT_NEOPA = [
    "Active Internet connections (servers and established)",
    "Proto Recv-Q Send-Q Local Address           Foreign Address         State       User       Inode      "
    "PID/Program name     Timer",
    "tcp        0      0 127.0.0.1:9696          0.0.0.0:*               LISTEN      0          11345      "
    "7832/python3         off (0.00/0/0)",
    "tcp        0      0 0.0.0.0:2024            0.0.0.0:*               LISTEN      0          1598       "
    "-                    off (0.00/0/0)",
    "tcp6       0      0 :::5672                 :::*                    LISTEN      0          11343      "
    "7833/python3         off (0.00/0/0)",
    "udp        0      0 0.0.0.0:5353            0.0.0.0:*                           0          11344      "
    "7833/python3         off (0.00/0/0)",
    "Active UNIX domain sockets (servers and established)",
    "Proto RefCnt Flags       Type       State         I-Node   PID/Program name     Path",
    "unix  3      [ ]         STREAM     CONNECTED     1594     -                    ",
]


def test_netstat_tlnp() -> None:
    assert [_key(x) for x in parse_netstat(numbered(NETSTAT_TLNP, "$ netstat -tlnp"))] == [
        ("tcp", "ipv4", "127.0.0.1", 9696, 7832), ("tcp", "ipv4", "0.0.0.0", 2024, None),
        ("tcp", "ipv6", "::", 5672, 7833)]


def test_netstat_wide_extended_with_timers_and_udp() -> None:
    listeners = list(parse_netstat(numbered(NETSTAT_NEOPA, "sos_commands/networking/netstat_-W_-neopa")))
    assert [_key(x) for x in listeners] == [
        ("tcp", "ipv4", "127.0.0.1", 9696, 7832), ("tcp", "ipv4", "0.0.0.0", 2024, None),
        ("tcp", "ipv6", "::", 5672, 7833), ("udp", "ipv4", "0.0.0.0", 5353, 7833)]
    assert [x.process for x in listeners] == ["python3", None, "python3", "python3"]


def test_netstat_program_names_with_spaces_and_connected_udp() -> None:
    lines = [
        "tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN      0          "
        "31807      "
        "1028/sshd: /usr/sbi  off (0.00/0/0)",
        "tcp        0      0 10.0.0.5:22             10.0.0.9:51000          ESTABLISHED 0          "
        "99         "
        "1028/sshd: /usr/sbi  keepalive (7195.00/0/0)",
        "udp        0      0 10.0.0.5:41000          10.0.0.10:53            ESTABLISHED 101        "
        "100        "
        "761/systemd-resolve  off (0.00/0/0)",
        "udp6       0      0 :::546                  :::*                                0          "
        "200        "
        "600/dhclient         off (0.00/0/0)",
    ]
    listeners = list(parse_netstat(numbered(lines, "netstat")))
    assert [(x.proto, x.port, x.pid, x.process) for x in listeners] == [
        ("tcp", 22, 1028, "sshd: /usr/sbi"), ("udp", 546, 600, "dhclient")]


# Real lsof output (lsof 4.95, this project's machine): with -P, without -P (service names).
def test_lsof_variants() -> None:
    named = [
        "COMMAND    PID     USER   FD      TYPE DEVICE SIZE/OFF    NODE NAME",
        "python3   7832        0    3u     IPv4  11345      0t0     TCP 127.0.0.1:9696 (LISTEN)",
        "python3   7833        0    3u     IPv6  11343      0t0     TCP *:amqp (LISTEN)",
        "python3   7833        0    4u     IPv4  11344      0t0     UDP *:mdns ",
    ]
    numeric = [
        "COMMAND    PID  TID TASKCMD       USER   FD      TYPE DEVICE SIZE/OFF    NODE NAME",
        "python3   7832                       0    3u     IPv4  11345      0t0     TCP 127.0.0.1:9696 "
        "(LISTEN)",
        "python3   7833                       0    3u     IPv6  11343      0t0     TCP *:5672 (LISTEN)",
        "python3   7833                       0    4u     IPv4  11344      0t0     UDP *:5353 ",
        "python3   7833 7840 worker           0    3u     IPv6  11343      0t0     TCP *:5672 (LISTEN)",
        "neutron-s 3345                     997    9u     IPv6 778899      0t0     TCP [::1]:9696 (LISTEN)",
        "neutron-s 3345                     997   10u     IPv4 778900      0t0     TCP "
        "10.0.0.5:9696->10.0.0.7:40 (ESTABLISHED)",
        "neutron-s 3345                     997   11u     IPv4 778901      0t0     TCP *:http-alt (LISTEN)",
        "neutron-s 3345                     997   12u     IPv4 778902      0t0     TCP *:openstack-x "
        "(LISTEN)",
    ]
    a = [(x.proto, x.port, x.port_name, x.family) for x in parse_lsof(numbered(named, "lsof"))]
    assert a == [("tcp", 9696, None, "ipv4"), ("tcp", 5672, "amqp", "ipv6"), ("udp", 5353, "mdns", "ipv4")]
    b = [(x.address, x.port, x.port_name, x.pid) for x in parse_lsof(numbered(numeric, "lsof -P"))]
    assert b == [("127.0.0.1", 9696, None, 7832), ("*", 5672, None, 7833), ("*", 5353, None, 7833),
                 ("::1", 9696, None, 3345), ("*", 8080, "http-alt", 3345), ("*", None, "openstack-x", 3345)]


def test_port_table_is_etc_services() -> None:
    assert PORT_NUMBERS["ssh"] == 22 and PORT_NUMBERS["amqp"] == 5672 and PORT_NUMBERS["mysql"] == 3306
    assert PORT_NUMBERS["sunrpc"] == 111 and PORT_NUMBERS["domain"] == 53 and PORT_NUMBERS["bootps"] == 67


def test_garbage_never_crashes() -> None:
    junk = ["\x00\xff\x00", "x" * 1_000_000, "tcp", "tcp LISTEN", "LISTEN 0 0 nocolon *",
            "tcp 0 0 a b LISTEN", "sshd 1028 0 3u IPv4 31807 0t0 TCP", "a b c d IPv4 e f TCP x"]
    for parser in (parse_ss, parse_netstat, parse_lsof):
        assert list(parser(numbered(junk, "junk"))) == []
