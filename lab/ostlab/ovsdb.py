"""OVSDB JSON-RPC ``transact`` (RFC 7047) on a unix or TCP socket: what ``ovsdb-client transact`` sends.

Used to insert many rows at once (ovsdb-client takes the transaction as one argv string, which the
kernel caps at 128 KiB: a few hundred rows).
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

#: rows per transaction: big enough to fill a million rows quickly, small enough for one reply
BATCH = 20_000


def transact(address: str, database: str, ops: list[dict[str, Any]], timeout: float = 600) -> list[Any]:
    """Run one transaction; ``address`` is ``unix:/path`` or ``tcp:127.0.0.1:port``. Raises on any error."""
    request = json.dumps({"method": "transact", "params": [database, *ops], "id": 1}).encode()
    kind, _, where = address.partition(":")
    if kind == "unix":
        sock = socket.socket(socket.AF_UNIX)
        target: Any = where
    elif kind == "tcp":
        host, _, port = where.rpartition(":")
        sock = socket.socket(socket.AF_INET)
        target = (host, int(port))
    else:
        raise ValueError(f"unsupported OVSDB address {address!r}")
    with sock:
        sock.settimeout(timeout)
        sock.connect(target)
        sock.sendall(request)
        chunks: list[bytes] = []
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError(f"{address} closed the connection")
            chunks.append(chunk)
            # a reply ends with its closing brace: only then try to decode (a million rows come in
            # thousands of chunks; decoding after each would be quadratic)
            if not chunk.rstrip().endswith(b"}"):
                continue
            try:
                reply, _ = json.JSONDecoder().raw_decode(b"".join(chunks).decode().lstrip())
            except json.JSONDecodeError:
                continue
            if reply.get("id") != 1:  # an echo or a notification, not our reply
                chunks = []
                continue
            if reply.get("error"):
                raise RuntimeError(f"transact failed: {reply['error']}")
            results: list[Any] = reply["result"]
            bad = [r for r in results if isinstance(r, dict) and "error" in r]
            if bad:
                raise RuntimeError(f"transact failed: {bad[0]}")
            return results


def count(address: str, table: str) -> int:
    found = transact(address, "OVN_Southbound", [{"op": "select", "table": table, "where": [], "columns": ["_uuid"]}])
    return len(found[0]["rows"])


def mac_binding_row(i: int, logical_port: str, datapath: str, now_ms: int) -> dict[str, Any]:
    """Row ``i`` as ovn-controller writes one when a router resolves an IP: a distinct IP of 10.0.0.0/8
    (IPv6 past 2^24), a MAC, the router port and datapath, the time it was learned."""
    ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}" if i < 1 << 24 else f"fd00::{i:x}"
    mac = f"fa:16:3e:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}"
    return {"logical_port": logical_port, "ip": ip, "mac": mac, "datapath": ["uuid", datapath], "timestamp": now_ms}


def fdb_row(i: int) -> dict[str, Any]:
    """A MAC learned on a port with unknown addresses (datapath and port by tunnel key)."""
    mac = f"fa:16:3e:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}"
    return {"mac": mac, "dp_key": 1, "port_key": 1 + i % 4096}


def fill_mac_bindings(address: str, target: int, logical_port: str, datapath: str) -> float:
    """Insert MAC_Binding rows until the table holds ``target``; returns the seconds it took."""
    start = time.monotonic()
    have = count(address, "MAC_Binding")
    now_ms = int(time.time() * 1000)
    while have < target:
        n = min(BATCH, target - have)
        transact(address, "OVN_Southbound", [{"op": "insert", "table": "MAC_Binding",
                                             "row": mac_binding_row(i, logical_port, datapath, now_ms)}
                                            for i in range(have, have + n)])
        have += n
    return time.monotonic() - start
