#!/usr/bin/env python3
"""Measure what a large OVN Southbound MAC_Binding (or FDB) table costs neutron and ovsdb-server (issue 10).

Real programs only: Debian's OVN (ovsdb-server for NB and SB, ovn-northd) on 127.0.0.1:16641/16642,
a private MariaDB (bench/memory_measure.py's, 127.0.0.1:13306) and the real eventlet ``neutron-server``
of each neutron venv given, with ML2/OVN (api_workers = 1, rpc_workers = 1: the API worker and the RPC
worker each keep their own full Southbound IDL, the maintenance worker a smaller one), connected to it.

The rows are real: a logical router and its port are created in the Northbound, ovn-northd makes the
Southbound Datapath_Binding and Port_Binding, and MAC_Binding rows referencing that datapath and port
(distinct IPs in 10.0.0.0/8, a MAC each, ``timestamp`` = now, as ovn-controller writes them) are
inserted with OVSDB ``transact`` requests on the Southbound's unix socket, 20,000 per transaction (what
``ovsdb-client transact`` sends; its argv could not carry that many). For each table size the
Southbound is compacted, its file size and ovsdb-server's RSS read, then each neutron release is
started, left until its memory stops growing, measured per process, and stopped.

Every process runs in its own memory cgroup (v1) nested under ours (``ostlab_bench_ovn``,
``ostlab_bench_db``, ``ostlab_bench_neutron``), killed and removed at the end. Results go to
src/ostriage/knowledge/data/ovn_sb_replica_measurements.json after every point; ``--table`` prints
them as a Markdown table.

Usage (root, under the lab lock, the lab down):
  flock /var/lock/ostlab.lock python3 bench/sb_replica_measure.py \
      --venv 19.0.0=/var/cache/ostriage-bench/venvs/neutron-19.0.0 \
      --venv 24.2.2=/var/cache/ostriage-bench/venvs/neutron-24.2.2 --rows 0,1000,10000,100000,1000000
  python3 bench/sb_replica_measure.py --table
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory_measure import (
    CACHE,
    DB_PASSWORD,
    DB_PORT,
    MariaDB,
    _status_kib,
    cg_api,
    parse_size,
)
from ostlab import ovsdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from ostriage.knowledge.sb_replica_memory import holds_idl  # the model's own notion of a replica holder

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src/ostriage/knowledge/data/ovn_sb_replica_measurements.json"
WORK = CACHE / "bench" / "ovn"
NB_PORT, SB_PORT, API_PORT = 16641, 16642, 19697
ROUTER, LRP = "bench-router", "bench-lrp"


def sh(*argv: str, check: bool = True) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=check).stdout


class Ovn:
    """ovsdb-server (NB, SB) and ovn-northd, standalone databases, in one memory cgroup."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.cg: Path | None = None
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def path(self, name: str) -> str:
        return str(WORK / name)

    def start(self, fresh: bool) -> None:
        WORK.mkdir(parents=True, exist_ok=True)
        for db, schema in (("nb", "ovn-nb"), ("sb", "ovn-sb")):
            if fresh and Path(self.path(f"{db}.db")).exists():
                os.unlink(self.path(f"{db}.db"))
            if not Path(self.path(f"{db}.db")).exists():
                sh("ovsdb-tool", "create", self.path(f"{db}.db"), f"/usr/share/ovn/{schema}.ovsschema")
        cg = cg_api()
        self.cg = cg.create("ostlab_bench_ovn", self.limit)
        for db, port in (("nb", NB_PORT), ("sb", SB_PORT)):
            self.procs[db] = subprocess.Popen(cg.enter_argv(self.cg, [
                "ovsdb-server", self.path(f"{db}.db"), f"--remote=punix:{self.path(db + '.sock')}",
                f"--remote=ptcp:{port}:127.0.0.1", f"--unixctl={self.path(db + '.ctl')}",
                f"--log-file={self.path(db + '.log')}", "-vconsole:off"]),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for db in ("nb", "sb"):
            wait(lambda d=db: Path(self.path(d + ".sock")).exists(), 30, f"ovsdb-server {db}")
        self.procs["northd"] = subprocess.Popen(cg.enter_argv(self.cg, [
            "ovn-northd", f"--ovnnb-db=unix:{self.path('nb.sock')}", f"--ovnsb-db=unix:{self.path('sb.sock')}",
            f"--unixctl={self.path('northd.ctl')}", f"--log-file={self.path('northd.log')}", "-vconsole:off"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def nbctl(self, *args: str) -> str:
        return sh("ovn-nbctl", f"--db=unix:{self.path('nb.sock')}", *args)

    def sbctl(self, *args: str) -> str:
        return sh("ovn-sbctl", f"--db=unix:{self.path('sb.sock')}", *args)

    def datapath(self) -> str:
        """The Southbound datapath of the bench's router (created once, through the Northbound)."""
        if not self.nbctl("--bare", "--columns=name", "find", "Logical_Router", f"name={ROUTER}").strip():
            self.nbctl("lr-add", ROUTER, "--", "lrp-add", ROUTER, LRP, "00:00:5e:00:53:01", "10.0.0.1/8")
        found: list[str] = []

        def ready() -> bool:
            found[:] = self.sbctl("--bare", "--columns=_uuid", "find", "Datapath_Binding",
                                  f"external_ids:name={ROUTER}").split()
            return bool(found) and bool(self.sbctl("--bare", "--columns=_uuid", "find", "Port_Binding",
                                                   f"logical_port={LRP}").strip())
        wait(ready, 60, "ovn-northd to create the router's datapath and port binding")
        return found[0]

    def address(self) -> str:
        return f"unix:{self.path('sb.sock')}"

    def count(self, table: str) -> int:
        return ovsdb.count(self.address(), table)

    def fill(self, table: str, target: int, datapath: str) -> float:
        """Insert rows until ``table`` holds ``target``; returns seconds spent."""
        if table == "MAC_Binding":
            return ovsdb.fill_mac_bindings(self.address(), target, LRP, datapath)
        start = time.monotonic()
        have = self.count(table)
        while have < target:
            n = min(ovsdb.BATCH, target - have)
            ovsdb.transact(self.address(), "OVN_Southbound",
                           [{"op": "insert", "table": table, "row": ovsdb.fdb_row(i)} for i in range(have, have + n)])
            have += n
        return time.monotonic() - start

    def compact(self) -> None:
        sh("ovs-appctl", "-t", self.path("sb.ctl"), "ovsdb-server/compact")

    def sb_pid(self) -> int:
        return self.procs["sb"].pid if self.procs["sb"].poll() is None else 0

    def sb_rss_mib(self) -> float:
        try:
            return _status_kib("VmRSS", str(self.sb_pid())) / 1024
        except (FileNotFoundError, ProcessLookupError, ValueError):
            return 0.0

    def sb_bytes(self) -> int:
        return os.path.getsize(self.path("sb.db"))

    def version(self) -> str:
        return sh("ovn-northd", "--version").splitlines()[0]

    def stop(self) -> None:
        for p in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                p.terminate()
        for p in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(30)
        if self.cg:
            cg_api().kill_all_and_remove(self.cg)


def host_packages() -> None:
    """Debian's OVN and MariaDB on the host (their services are not started: the bench runs its own)."""
    missing = [pkg for cmd, pkg in (("ovsdb-server", "ovn-central"), ("ovn-northd", "ovn-central"),
                                    ("mariadb-install-db", "mariadb-server")) if shutil.which(cmd) is None]
    if missing:
        subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "-y", "-q", "install", "--no-install-recommends",
                        *sorted(set(missing))], check=True)


def wait(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.5)
    raise SystemExit(f"sb_replica_measure: timed out waiting for {what}")


def write_confs(version: str, venv: Path, dbname: str) -> list[str]:
    d = WORK / "conf" / version
    d.mkdir(parents=True, exist_ok=True)
    (d / "neutron.conf").write_text(f"""[DEFAULT]
core_plugin = ml2
service_plugins = ovn-router
auth_strategy = noauth
transport_url = fake:/
api_workers = 1
rpc_workers = 1
rpc_state_report_workers = 0
api_paste_config = {venv}/etc/neutron/api-paste.ini
bind_host = 127.0.0.1
bind_port = {API_PORT}
log_file = {WORK}/logs/neutron-{version}.log
[database]
connection = mysql+pymysql://neutron:{DB_PASSWORD}@127.0.0.1:{DB_PORT}/{dbname}
""")
    (d / "ml2_conf.ini").write_text(f"""[ml2]
type_drivers = geneve,flat
tenant_network_types = geneve
mechanism_drivers = ovn
[ml2_type_geneve]
vni_ranges = 1:65535
max_header_size = 38
[ovn]
ovn_nb_connection = tcp:127.0.0.1:{NB_PORT}
ovn_sb_connection = tcp:127.0.0.1:{SB_PORT}
ovn_metadata_enabled = False
""")
    return [str(d / "neutron.conf"), str(d / "ml2_conf.ini")]


def ensure_schema(db: MariaDB, version: str, venv: Path) -> str:
    dbname = "sbbench_" + version.replace(".", "_")
    db.sql(f"CREATE DATABASE IF NOT EXISTS {dbname}")
    if db.sql(f"SELECT COUNT(*) FROM {dbname}.networks", check=False).returncode != 0:
        confs = write_confs(version, venv, dbname)
        subprocess.run([str(venv / "bin/neutron-db-manage"), "--config-file", confs[0], "--config-file", confs[1],
                        "upgrade", "heads"], check=True, capture_output=True)
    return dbname


def title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()[:120]
    except OSError:
        return ""


def run_neutron(version: str, venv: Path, db: MariaDB, ovn: Ovn, limit: int, timeout: float,
                settle: float) -> dict[str, Any]:
    """Start neutron-server, wait until every process's RSS is stable for ``settle`` s, measure, stop."""
    cg = cg_api()
    dbname = ensure_schema(db, version, venv)
    confs = write_confs(version, venv, dbname)
    (WORK / "logs").mkdir(parents=True, exist_ok=True)
    ncg = cg.create("ostlab_bench_neutron", limit)
    cg.reset_peak(ncg)
    start = time.monotonic()
    out = (WORK / "logs" / f"neutron-{version}.stdout").open("w")
    proc = subprocess.Popen(cg.enter_argv(ncg, [str(venv / "bin/neutron-server"), "--config-file", confs[0],
                                                "--config-file", confs[1]]),
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    history: list[tuple[float, int]] = []
    sb_peak = ovn.sb_rss_mib()
    result: dict[str, Any] = {"timed_out": False}
    try:
        while True:
            time.sleep(1)
            now = time.monotonic() - start
            sb_peak = max(sb_peak, ovn.sb_rss_mib())
            rss = {p: _safe_kib("VmRSS", p) for p in cg.pids(ncg)}
            total = sum(rss.values())
            history.append((now, total))
            if proc.poll() is not None and not cg.pids(ncg):
                result["exited"] = proc.returncode
                break
            window = [t for s, t in history if s >= now - settle]
            workers = [p for p in rss if "worker" in title(p).lower()]
            if now >= settle * 2 and len(workers) >= 2 and window and max(window) - min(window) <= 0.003 * max(window):
                break
            if now > timeout:
                result["timed_out"] = True
                break
        procs = [{"pid": p, "title": title(p), "rss_mib": round(_safe_kib("VmRSS", p) / 1024, 1),
                  "hwm_mib": round(_safe_kib("VmHWM", p) / 1024, 1)} for p in cg.pids(ncg)]
        result.update({
            "settled_seconds": round(time.monotonic() - start, 1),
            "processes": procs,
            "cgroup_usage_mib": round(int((ncg / "memory.usage_in_bytes").read_text()) / (1 << 20), 1),
            "cgroup_peak_mib": round(cg.peak_bytes(ncg) / (1 << 20), 1),
            "oom_kills": cg.oom_kills(ncg),
            "sb_rss_peak_mib": round(sb_peak, 1),
        })
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(20)
        cg.kill_all_and_remove(ncg)
        out.close()
    return result


def _safe_kib(key: str, pid: int) -> int:
    try:
        return _status_kib(key, str(pid))
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return 0


def load() -> dict[str, Any]:
    if OUT.exists():
        data: dict[str, Any] = json.loads(OUT.read_text())
        return data
    return {"description": "neutron-server (eventlet, ML2/OVN, api_workers=1, rpc_workers=1) and the OVN "
                           "Southbound ovsdb-server against N real rows of one Southbound table; measured by "
                           "bench/sb_replica_measure.py", "points": []}


def save(data: dict[str, Any]) -> None:
    OUT.write_text(json.dumps(data, indent=1) + "\n")


def table(data: dict[str, Any]) -> str:
    """Markdown: per table size, ovsdb-server and the DB file, then each release's replica holders."""
    pts = data["points"]
    versions = sorted({p["neutron_version"] for p in pts}, key=lambda v: tuple(map(int, v.split("."))))
    head = ["table", "rows", "SB ovsdb-server RSS", "SB db file (compacted)"] + \
        [f"neutron {v}: API/RPC worker / all neutron" for v in versions]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    keys = sorted({(p["table"], p["rows"]) for p in pts})
    for tbl, rows in keys:
        same = [p for p in pts if (p["table"], p["rows"]) == (tbl, rows)]
        cells = [tbl, f"{rows:,}", f"{max(p['sb_rss_mib'] for p in same):.0f} MiB",
                 f"{same[0]['sb_db_bytes'] / (1 << 20):.1f} MiB"]
        for v in versions:
            p = next((q for q in same if q["neutron_version"] == v), None)
            if p is None:
                cells.append("not measured")
                continue
            idl = [x["rss_mib"] for x in p["processes"] if holds_idl(x["title"])]
            oom = f", OOM ×{p['oom_kills']}" if p.get("oom_kills") else ""
            # no API/RPC worker alive when measured (24.2.2's API worker exits here; see the JSON's processes)
            worker = f"{max(idl):.0f} MiB" if idl else "none"
            cells.append(f"{worker} / {p['cgroup_usage_mib']:.0f} MiB{oom}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv", action="append", default=[], help="VERSION=PATH of a neutron venv")
    ap.add_argument("--rows", default="0,1000,10000,100000,1000000")
    ap.add_argument("--sb-table", default="MAC_Binding", choices=["MAC_Binding", "FDB"])
    ap.add_argument("--neutron-limit", default="8G")
    ap.add_argument("--ovn-limit", default="4G")
    ap.add_argument("--db-limit", default="2G")
    ap.add_argument("--timeout", type=float, default=1200)
    ap.add_argument("--settle", type=float, default=15)
    ap.add_argument("--keep-db", action="store_true", help="reuse the Southbound left by an earlier run")
    ap.add_argument("--table", action="store_true", help="print the measurements as a Markdown table and exit")
    args = ap.parse_args()
    data = load()
    if args.table:
        print(table(data))
        return 0
    if os.geteuid() != 0:
        raise SystemExit("sb_replica_measure: needs root (memory cgroups)")
    venvs = {v.split("=", 1)[0]: Path(v.split("=", 1)[1]) for v in args.venv}
    host_packages()
    ovn = Ovn(parse_size(args.ovn_limit))
    db = MariaDB(None, parse_size(args.db_limit))
    try:
        ovn.start(fresh=not args.keep_db)
        db.start()
        datapath = ovn.datapath()
        for n in (int(x) for x in args.rows.split(",")):
            fill_s = ovn.fill(args.sb_table, n, datapath)
            ovn.compact()
            rows = ovn.count(args.sb_table)
            base = {"table": args.sb_table, "rows": rows, "sb_db_bytes": ovn.sb_bytes(),
                    "sb_rss_mib": round(ovn.sb_rss_mib(), 1), "fill_seconds": round(fill_s, 1),
                    "ovn": ovn.version()}
            print(json.dumps(base), flush=True)
            for version, venv in venvs.items():
                res = run_neutron(version, venv, db, ovn, parse_size(args.neutron_limit), args.timeout, args.settle)
                point = {**base, "neutron_version": version,
                         "python": sh(str(venv / "bin/python"), "-c",
                                      "import platform;print(platform.python_version())").strip(),
                         "host_kernel": platform.release(),
                         "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                         **res}
                shown = ("neutron_version", "rows", "settled_seconds", "cgroup_usage_mib", "oom_kills",
                         "sb_rss_peak_mib")
                print(json.dumps({k: point.get(k) for k in shown}), flush=True)
                data["points"] = [p for p in data["points"]
                                  if (p["table"], p["rows"], p["neutron_version"]) != (args.sb_table, rows, version)]
                data["points"].append(point)
                save(data)
    finally:
        ovn.stop()
        db.stop()
    print(table(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
