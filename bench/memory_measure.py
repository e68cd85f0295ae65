#!/usr/bin/env python3
"""Measure real neutron's start-up memory for the ML2 tunnel allocation sync (issue 4, calibration).

Two ways of starting neutron, both real:
  probe  registers the ML2 options, builds neutron.plugins.ml2.managers.TypeManager() and calls
         initialize(): the real type driver's allocation sync against a real MariaDB, in one process.
  uwsgi  the real neutron API (neutron.wsgi.api:application) under pyuwsgi, 2 workers, lazy-apps,
         so the per-worker repetition of the sync is measured rather than assumed.

Every neutron run and the MariaDB server each sit in their own memory cgroup (v1) with a hard limit,
nested under our own cgroup, so an OOM is the kernel's memcg OOM killer acting inside the lab only;
such a run is recorded as OOM with the limit and the kernel's kill count.

Results are written after every point (so an interrupted run keeps what it measured) to
src/ostriage/knowledge/data/neutron_memory_measurements.json.

Usage (root):
  python3 bench/memory_measure.py --venv 29.0.0=/var/cache/ostriage-lab/venvs/neutron-29.0.0 \
      --venv 24.2.2=/var/cache/ostriage-lab/venvs/neutron-24.2.2 --exps 10,12,14,16,18,20,22
  python3 bench/memory_measure.py ... --exps 24 --neutron-limit 8G --db-limit 6G
The probe itself runs as: VENV/bin/python bench/memory_measure.py --probe CONF...
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src/ostriage/knowledge/data/neutron_memory_measurements.json"
CACHE = Path(os.environ.get("OSTRIAGE_LAB_CACHE", "/var/cache/ostriage-lab"))
WORK = CACHE / "bench"
DB_PORT = 13306      # the lab container shares the host's network and owns 3306
API_PORT = 19696     # ... and 9696
DB_PASSWORD = "bench-dummy-password"
SAMPLE_S = 0.2

# ----------------------------------------------------------------------------------------------
# probe mode: runs under the neutron venv's python, prints one JSON object on stdout.


def _status_kib(key: str, pid: str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def probe(config_files: list[str]) -> int:
    import logging

    from neutron.common import config as common_config
    from neutron.conf.plugins.ml2 import config as ml2_config
    from neutron.plugins.ml2 import managers
    from oslo_config import cfg

    # Count what oslo.db / neutron-lib say about retries: a dropped connection ("MySQL server has
    # gone away" past max_allowed_packet) makes retry_db_errors rerun the whole sync.
    class Counter(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.DEBUG)
            self.retries = 0
            self.db_errors = 0
            self.samples: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            msg = record.getMessage()
            seen = False
            if "retry" in msg.lower() or "retries" in msg.lower():
                self.retries += 1
                seen = True
                if len(self.samples) < 3:
                    self.samples.append(msg[:300])
            if record.levelno >= logging.ERROR or "DBConnectionError" in msg or "gone away" in msg:
                self.db_errors += 1
                seen = True
            if seen:  # streamed, so the parent still has the counts if the kernel kills us
                print(json.dumps({"event": "retry", "retries": self.retries, "db_errors": self.db_errors,
                                  "retry_samples": self.samples}), flush=True)

    counter = Counter()
    for name in ("oslo_db", "neutron_lib.db", "neutron.db", "neutron.plugins.ml2"):
        lg = logging.getLogger(name)
        lg.setLevel(logging.DEBUG)
        lg.addHandler(counter)

    common_config.register_common_config_options()
    ml2_config.register_ml2_plugin_opts()
    cfg.CONF([arg for f in config_files for arg in ("--config-file", f)], project="neutron")
    baseline = _status_kib("VmRSS")
    print(json.dumps({"event": "baseline", "baseline_rss_kib": baseline}), flush=True)
    start = time.monotonic()
    manager = managers.TypeManager()
    manager.initialize()
    elapsed = time.monotonic() - start
    print(json.dumps({"event": "done", "baseline_rss_kib": baseline, "init_seconds": round(elapsed, 2),
                      "vmhwm_kib": _status_kib("VmHWM"), "retries": counter.retries,
                      "db_errors": counter.db_errors, "retry_samples": counter.samples}), flush=True)
    return 0


# ----------------------------------------------------------------------------------------------
# orchestrator mode (host python, root)

sys.path.insert(0, str(REPO / "lab"))


def cg_api() -> Any:
    from ostlab import cgroup  # the lab's helpers: cgroups named ostlab_*, nested under ours
    return cgroup


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


@dataclass
class Point:
    neutron_version: str
    python_version: str
    mode: str                      # probe | uwsgi
    type_driver: str
    exp: int
    range: str
    vni_count: int
    start: str                     # first (empty allocation table) | restart (table populated)
    db_server: str
    max_allowed_packet: int
    neutron_cgroup_limit_bytes: int
    db_cgroup_limit_bytes: int
    oom: bool = False
    oom_kills: int = 0
    timed_out: bool = False
    exit_code: int | None = None
    baseline_rss_mib: float | None = None
    peak_rss_mib: float | None = None           # VmHWM of the neutron process (probe) / max worker (uwsgi)
    cgroup_peak_mib: float | None = None        # memory.max_usage_in_bytes of the neutron cgroup
    processes: list[dict[str, Any]] = field(default_factory=list)  # uwsgi: each process's VmHWM
    init_seconds: float | None = None
    wall_seconds: float | None = None
    db_rss_before_mib: float | None = None
    db_rss_peak_mib: float | None = None
    db_rss_increase_mib: float | None = None
    db_cgroup_peak_mib: float | None = None
    retries: int | None = None
    db_errors: int | None = None
    retry_samples: list[str] = field(default_factory=list)
    rows_after: int | None = None
    api_status: int | None = None
    note: str = ""
    measured_at: str = ""


class MariaDB:
    """A private mariadbd on 127.0.0.1:13306 inside its own memory cgroup."""

    def __init__(self, packet: str | None, limit: int) -> None:
        self.packet = packet
        self.limit = limit
        self.dir = WORK / "mariadb"
        self.proc: subprocess.Popen[bytes] | None = None
        self.cg: Path | None = None

    def _cnf(self) -> Path:
        cnf = self.dir / "my.cnf"
        lines = ["[mysqld]", f"datadir={self.dir}/data", f"socket={self.dir}/mysqld.sock",
                 f"pid-file={self.dir}/mysqld.pid", f"port={DB_PORT}", "bind-address=127.0.0.1",
                 f"log-error={self.dir}/error.log", "user=root", "skip-name-resolve"]
        if self.packet:
            lines.append(f"max_allowed_packet={self.packet}")
        cnf.write_text("\n".join(lines) + "\n")
        return cnf

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        cnf = self._cnf()
        if not (self.dir / "data/mysql").is_dir():
            subprocess.run(["mariadb-install-db", f"--defaults-file={cnf}", "--user=root",
                            "--auth-root-authentication-method=normal"], check=True,
                           capture_output=True)
        cg = cg_api()
        self.cg = cg.create("ostlab_bench_db", self.limit)
        self.proc = subprocess.Popen(cg.enter_argv(self.cg, ["mariadbd", f"--defaults-file={cnf}"]),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.sql("SELECT 1", check=False).returncode == 0:
                break
            time.sleep(0.5)
        else:
            raise SystemExit(f"mariadbd did not come up: see {self.dir}/error.log")
        self.sql(f"CREATE USER IF NOT EXISTS 'neutron'@'127.0.0.1' IDENTIFIED BY '{DB_PASSWORD}'; "
                 "GRANT ALL ON *.* TO 'neutron'@'127.0.0.1';")

    def sql(self, q: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["mariadb", f"--socket={self.dir}/mysqld.sock", "-uroot", "-N", "-B", "-e", q],
                              capture_output=True, text=True, check=check)

    def pid(self) -> int:
        return int((self.dir / "mysqld.pid").read_text().strip())

    def rss_mib(self) -> float:
        try:
            return _status_kib("VmRSS", str(self.pid())) / 1024
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return 0.0

    def version(self) -> str:
        return self.sql("SELECT VERSION()").stdout.strip()

    def packet_bytes(self) -> int:
        return int(self.sql("SELECT @@max_allowed_packet").stdout.strip())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.cg:
            cg_api().kill_all_and_remove(self.cg)


def write_confs(tag: str, version: str, venv: Path, type_driver: str, count: int, dbname: str) -> list[str]:
    d = WORK / "conf" / tag
    d.mkdir(parents=True, exist_ok=True)
    neutron_conf = d / "neutron.conf"
    neutron_conf.write_text(f"""[DEFAULT]
core_plugin = ml2
service_plugins =
auth_strategy = noauth
transport_url = fake:/
rpc_workers = 0
api_paste_config = {venv}/etc/neutron/api-paste.ini
bind_host = 127.0.0.1
bind_port = {API_PORT}
[database]
connection = mysql+pymysql://neutron:{DB_PASSWORD}@127.0.0.1:{DB_PORT}/{dbname}
""")
    key = "vni_ranges"
    extra = "max_header_size = 38\n" if type_driver == "geneve" else ""
    ml2 = d / "ml2_conf.ini"
    ml2.write_text(f"""[ml2]
type_drivers = {type_driver}
tenant_network_types = {type_driver}
mechanism_drivers =
[ml2_type_{type_driver}]
{key} = 1:{count}
{extra}""")
    return [str(neutron_conf), str(ml2)]


class Sampler(threading.Thread):
    """Polls VmHWM of every process in the neutron cgroup, and mariadbd's VmRSS."""

    def __init__(self, cg: Path, db: MariaDB) -> None:
        super().__init__(daemon=True)
        self.cg, self.db = cg, db
        self.hwm: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self.db_peak = 0.0
        self.stop_evt = threading.Event()

    def run(self) -> None:
        while not self.stop_evt.is_set():
            for pid in cg_api().pids(self.cg):
                try:
                    self.hwm[pid] = max(self.hwm.get(pid, 0), _status_kib("VmHWM", str(pid)))
                    if pid not in self.names:
                        self.names[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:80].decode()
                except (FileNotFoundError, ProcessLookupError, ValueError):
                    pass
            self.db_peak = max(self.db_peak, self.db.rss_mib())
            self.stop_evt.wait(SAMPLE_S)


def table_rows(db: MariaDB, dbname: str, type_driver: str) -> int | None:
    r = db.sql(f"SELECT COUNT(*) FROM {dbname}.ml2_{type_driver}_allocations", check=False)
    return int(r.stdout.strip()) if r.returncode == 0 and r.stdout.strip() else None


def run_point(pt: Point, venv: Path, db: MariaDB, dbname: str, timeout: float) -> Point:
    cg = cg_api()
    if pt.start == "first":
        db.sql(f"DELETE FROM {dbname}.ml2_{pt.type_driver}_allocations")
    confs = write_confs(f"{pt.neutron_version}-{pt.type_driver}", pt.neutron_version, venv,
                        pt.type_driver, pt.vni_count, dbname)
    ncg = cg.create("ostlab_bench_neutron", pt.neutron_cgroup_limit_bytes)
    cg.reset_peak(ncg)
    if db.cg:
        cg.reset_peak(db.cg)
    pt.db_rss_before_mib = round(db.rss_mib(), 1)
    sampler = Sampler(ncg, db)
    sampler.db_peak = pt.db_rss_before_mib
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    start = time.monotonic()
    logf = WORK / "logs" / f"{pt.neutron_version}-{pt.mode}-{pt.type_driver}-2e{pt.exp}-{pt.start}.log"
    logf.parent.mkdir(parents=True, exist_ok=True)
    if pt.mode == "probe":
        argv = [str(venv / "bin/python"), str(Path(__file__).resolve()), "--probe", *confs]
    else:
        env["OS_NEUTRON_CONFIG_DIR"] = str(Path(confs[0]).parent)
        env["OS_NEUTRON_CONFIG_FILES"] = ";".join(Path(c).name for c in confs)
        ini = Path(confs[0]).parent / "uwsgi.ini"
        ini.write_text(f"""[uwsgi]
http-socket = 127.0.0.1:{API_PORT}
master = true
processes = 2
threads = 1
lazy-apps = true
enable-threads = true
die-on-term = true
need-app = true
module = neutron.wsgi.api:application
""")
        argv = [str(venv / "bin/uwsgi"), "--ini", str(ini)]
    with logf.open("w") as out:
        proc = subprocess.Popen(cg.enter_argv(ncg, argv), stdout=subprocess.PIPE if pt.mode == "probe" else out,
                                stderr=out, env=env, text=True)
    sampler.start()
    result: dict[str, Any] = {}
    try:
        if pt.mode == "probe":
            stdout = proc.stdout
            assert stdout is not None

            def read_events() -> None:
                for line in stdout:
                    if line.startswith("{"):
                        result.update(json.loads(line))

            reader = threading.Thread(target=read_events, daemon=True)
            reader.start()
            proc.wait(timeout)
            reader.join(5)
        else:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and proc.poll() is None:
                ready = len(re.findall(r"WSGI app 0 \(mountpoint=''\) ready in", logf.read_text(errors="replace")))
                if ready >= 2 or cg.oom_kills(ncg) > 0:
                    break
                time.sleep(SAMPLE_S)
            else:
                if proc.poll() is None:
                    raise subprocess.TimeoutExpired(argv, timeout)
            pt.init_seconds = round(time.monotonic() - start, 2)
            if cg.oom_kills(ncg) == 0 and proc.poll() is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{API_PORT}/v2.0/networks", timeout=30) as r:
                        pt.api_status = r.status
                except Exception as exc:
                    pt.api_status = getattr(exc, "code", None)
                    pt.note += f"GET /v2.0/networks: {exc}; "
            time.sleep(1)  # one more sample after ready
    except subprocess.TimeoutExpired:
        pt.timed_out = True
    finally:
        pt.wall_seconds = round(time.monotonic() - start, 2)
        sampler.stop_evt.set()
        sampler.join()
        if proc.poll() is None and pt.mode == "uwsgi":
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(30)  # whatever is left is SIGKILLed with its cgroup just below
        pt.oom_kills = cg.oom_kills(ncg)
        pt.cgroup_peak_mib = round(cg.peak_bytes(ncg) / 2**20, 1)
        cg.kill_all_and_remove(ncg)
        proc.wait()
        pt.exit_code = proc.returncode
    pt.oom = pt.oom_kills > 0
    if result:
        pt.baseline_rss_mib = round(result.get("baseline_rss_kib", 0) / 1024, 1) or None
        pt.init_seconds = result.get("init_seconds", pt.init_seconds)
        pt.retries = result.get("retries")
        pt.db_errors = result.get("db_errors")
        pt.retry_samples = result.get("retry_samples", [])
    if pt.mode == "probe":
        pt.peak_rss_mib = round(max(sampler.hwm.values(), default=0) / 1024, 1)
        if "vmhwm_kib" in result:
            pt.peak_rss_mib = round(max(result["vmhwm_kib"], max(sampler.hwm.values(), default=0)) / 1024, 1)
    else:
        pt.processes = [{"pid": pid, "cmd": sampler.names.get(pid, ""), "vmhwm_mib": round(kib / 1024, 1)}
                        for pid, kib in sorted(sampler.hwm.items())]
        workers = [p["vmhwm_mib"] for p in pt.processes]
        pt.peak_rss_mib = max(workers, default=None)
        text = logf.read_text(errors="replace")
        pt.retries = len(re.findall(r"(?i)retry", text))
        pt.db_errors = len(re.findall(r"gone away|DBConnectionError", text))
        if pt.oom:
            pt.note += f"uWSGI log: {len(re.findall('DAMN ! worker', text))} worker deaths; "
    pt.db_rss_peak_mib = round(sampler.db_peak, 1)
    pt.db_rss_increase_mib = round(sampler.db_peak - (pt.db_rss_before_mib or 0), 1)
    if db.cg:
        pt.db_cgroup_peak_mib = round(cg.peak_bytes(db.cg) / 2**20, 1)
    pt.rows_after = table_rows(db, dbname, pt.type_driver)
    pt.measured_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return pt


def header(db_version: str) -> dict[str, Any]:
    mem = Path("/proc/meminfo").read_text().split("\n")[0]
    return {
        "description": "Real neutron start-up memory for the ML2 tunnel allocation sync, measured by "
                       "bench/memory_measure.py. One record per point.",
        "machine": {"os": "Debian 12 (bookworm)", "kernel": platform.release(), "cpus": os.cpu_count(),
                    "memory": mem.split(":")[1].strip(), "cgroup": "v1 memory controller"},
        "database": db_version,
        "method": {
            "probe": "VENV/bin/python bench/memory_measure.py --probe: register neutron's common and ML2 "
                     "options, build neutron.plugins.ml2.managers.TypeManager() (type_drivers = the one "
                     "measured) and call initialize(), which runs the real driver's allocation sync "
                     "against MariaDB (pymysql over TCP 127.0.0.1). One process.",
            "uwsgi": "the real neutron API (neutron.wsgi.api:application) under pyuwsgi: master, "
                     "processes = 2, lazy-apps = true, core_plugin = ml2 with no mechanism drivers and no "
                     "service plugins; ready = both workers logged 'WSGI app 0 ... ready'; then "
                     "GET /v2.0/networks. processes[] lists each process's VmHWM.",
            "first_vs_restart": "first: the allocation table is emptied (DELETE) before the run; "
                                "restart: the run right after, with the table populated by it.",
            "peak_rss_mib": "max of VmHWM read from /proc/PID/status (sampled every 0.2 s by the parent, "
                            "and by the probe itself at the end); cgroup_peak_mib is the neutron memory "
                            "cgroup's memory.max_usage_in_bytes (includes page cache charged to it).",
            "db": "db_rss_*: mariadbd VmRSS sampled every 0.2 s (before, peak, increase). One mariadbd serves "
                  "a whole series (one packet size, sizes ascending, both releases in turn), so the increase is "
                  "over what earlier points already made it allocate: a lower bound once the server is warm "
                  "(0.0 means it did not grow). db_cgroup_peak_mib: its cgroup's memory.max_usage_in_bytes "
                  "(includes InnoDB file cache).",
            "limits": "each run in its own memory cgroup (v1) nested under the bench's own with "
                      "memory.limit_in_bytes = neutron_cgroup_limit_bytes; oom = the cgroup's "
                      "memory.oom_control oom_kill counter went up (the kernel's memcg OOM killer).",
            "retries": "probe: log records from oslo_db / neutron_lib.db mentioning retry (DEBUG level), "
                       "e.g. 'Performing DB retry for function ...'; uwsgi: 'retry' in the uWSGI log.",
        },
        "versions_pins": {
            "24.2.2": "installed with -c upper-constraints.txt of openstack/requirements tag 2024.1-eom "
                      "(SQLAlchemy 1.4.51, oslo.db 15.0.0, neutron-lib 3.11.1, PyMySQL 1.1.0)",
            "29.0.0": "pip install neutron==29.0.0 pymysql (newest on PyPI at measurement time), "
                      "pyuwsgi binary wheel",
        },
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }


def save(records: list[dict[str, Any]], hdr: dict[str, Any]) -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text(json.dumps({"header": hdr, "records": records}, indent=1) + "\n")
    tmp.replace(OUT)


def ensure_schema(db: MariaDB, version: str, venv: Path, dbname: str) -> None:
    db.sql(f"CREATE DATABASE IF NOT EXISTS {dbname}")
    if table_rows(db, dbname, "geneve") is not None:
        return
    confs = write_confs(f"{version}-geneve", version, venv, "geneve", 1024, dbname)
    subprocess.run([str(venv / "bin/neutron-db-manage"), "--config-file", confs[0], "--config-file", confs[1],
                    "upgrade", "heads"], check=True, capture_output=True)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        return probe(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv", action="append", required=True, help="VERSION=PATH of a neutron venv")
    ap.add_argument("--exps", default="10,12,14,16,18,20,22", help="range sizes as powers of two")
    ap.add_argument("--packets", default="default,1G", help="MariaDB max_allowed_packet values")
    ap.add_argument("--types", default="geneve", help="type drivers (vxlan is cheap to add at a few sizes)")
    ap.add_argument("--modes", default="probe", help="probe and/or uwsgi")
    ap.add_argument("--starts", default="first,restart")
    ap.add_argument("--neutron-limit", default="7G")
    ap.add_argument("--db-limit", default="3G")
    ap.add_argument("--timeout", type=float, default=1200)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("memory_measure: needs root (memory cgroups)")
    venvs = dict(v.split("=", 1) for v in args.venv)
    existing: list[dict[str, Any]] = json.loads(OUT.read_text())["records"] if OUT.exists() else []
    done = {(r["neutron_version"], r["mode"], r["type_driver"], r["exp"], r["start"], r["max_allowed_packet"])
            for r in existing}
    records = existing
    for packet in args.packets.split(","):
        db = MariaDB(None if packet == "default" else packet, parse_size(args.db_limit))
        db.start()
        try:
            pbytes, dbver = db.packet_bytes(), db.version()
            hdr = header(f"MariaDB {dbver}")
            for version, vpath in venvs.items():
                venv = Path(vpath)
                dbname = "neutron_" + version.replace(".", "_")
                ensure_schema(db, version, venv, dbname)
                pyver = subprocess.run(
                    [str(venv / "bin/python"), "-c", "import platform; print(platform.python_version())"],
                    capture_output=True, text=True, check=True).stdout.strip()
                for mode in args.modes.split(","):
                    for tdrv in args.types.split(","):
                        for exp in (int(e) for e in args.exps.split(",")):
                            count = 2**exp if exp < 24 else 2**24 - 1  # VNIs are 24-bit: 1..16777215
                            for start in args.starts.split(","):
                                key = (version, mode, tdrv, exp, start, pbytes)
                                if key in done:
                                    continue
                                pt = Point(version, pyver, mode, tdrv, exp, f"1:{count}", count, start,
                                           f"MariaDB {dbver}", pbytes, parse_size(args.neutron_limit),
                                           parse_size(args.db_limit))
                                print(f"[bench] {version} {mode} {tdrv} 2^{exp} {start} packet={pbytes}",
                                      file=sys.stderr, flush=True)
                                run_point(pt, venv, db, dbname, args.timeout)
                                print(f"[bench]   peak {pt.peak_rss_mib} MiB cgroup {pt.cgroup_peak_mib} MiB "
                                      f"db +{pt.db_rss_increase_mib} MiB init {pt.init_seconds}s oom={pt.oom} "
                                      f"retries={pt.retries}", file=sys.stderr, flush=True)
                                records.append(asdict(pt))
                                done.add(key)
                                save(records, hdr)
        finally:
            db.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
