"""Prometheus, Alertmanager and node_exporter (Debian's own packages) watching the lab controller.

What an operator runs, on 127.0.0.1 with non-default ports so nothing collides with a real installation:

* on the host, in the memory cgroup ``ostlab_monitoring``: Debian's ``prometheus`` (scraping every 5 s,
  evaluating the shipped ``deploy/prometheus/ostriage-rules.yml``) and ``prometheus-alertmanager`` (the
  shipped ``deploy/alertmanager/alertmanager.yml`` and its template, receivers pointed at ``Webhook``, a
  receiver in this process that records every notification);
* inside the controller, under its systemd: Debian's ``prometheus-node-exporter`` (systemd collector with
  restart counters, textfile collector), and ostriage's shipped units ``ostriage-watch.service`` and
  ``ostriage-textfile.service``/``.timer``, installed as an operator would (``/usr/local/bin/ostriage``).

The packages are not installed on the host: ``apt-get download`` + ``dpkg-deb -x`` into the lab cache, so no
daemon starts, no user is created and nothing is left when the lab is gone; node_exporter's binary is copied
into the live overlay only. ``Stack.stop`` kills only the processes it started and removes its cgroup.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cgroup, container, ostriage_install, paths
from .shell import LabError, log, run, wait_for

PACKAGES = ("prometheus", "prometheus-alertmanager", "prometheus-node-exporter")
DIR = paths.CACHE / "monitoring"
ROOT = DIR / "root"
RUN = DIR / "run"
CGROUP = "ostlab_monitoring"
LIMIT = 1 << 30
HOST = "127.0.0.1"
PORTS = {"prometheus": 19090, "alertmanager": 19093, "node_exporter": 19100, "watch": 19891, "webhook": 19001}
INSTANCE = paths.MACHINE  # the controller's host name: watch labels its alerts with it, scrapes are relabelled to it
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
NODE_EXPORTER = "/usr/local/sbin/prometheus-node-exporter"
DEPLOY = paths.REPO / "deploy"


def fetch() -> Path:
    """Debian's three packages, unpacked under the lab cache (once; the stamp names the package list)."""
    stamp = DIR / (".done-" + hashlib.sha1(" ".join(PACKAGES).encode()).hexdigest()[:10])
    if stamp.exists():
        return ROOT
    log("apt-get download " + " ".join(PACKAGES) + " (unpacked into the lab cache, not installed)")
    debs = DIR / "debs"
    shutil.rmtree(DIR, ignore_errors=True)
    debs.mkdir(parents=True)

    def download() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["apt-get", "download", "-q", *PACKAGES], cwd=debs, capture_output=True, text=True)

    if download().returncode != 0:
        run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "update", "-q"], logname="monitoring-apt")
        again = download()
        if again.returncode != 0:
            raise LabError(f"apt-get download {' '.join(PACKAGES)} failed: {again.stderr.strip()[-300:]}")
    for deb in sorted(debs.glob("*.deb")):
        run(["dpkg-deb", "-x", str(deb), str(ROOT)])
    stamp.touch()
    return ROOT


def version(program: str) -> str:
    out = subprocess.run([str(ROOT / "usr/bin" / program), "--version"], capture_output=True, text=True)
    return (out.stdout or out.stderr).splitlines()[0].strip()


class Webhook:
    """An Alertmanager webhook receiver: keeps every notification (the receivers' JSON) with its arrival time."""

    def __init__(self, port: int) -> None:
        received: list[tuple[float, str, dict[str, Any]]] = []
        self.received = received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with contextlib.suppress(ValueError):
                    received.append((time.monotonic(), self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer((HOST, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _json_get(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


@dataclass
class Stack:
    """The monitoring stack around a live lab; ``start`` then ``stop`` (also on failure)."""

    ostriage: str = ostriage_install.EXE
    watch_args: tuple[str, ...] = ()
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    webhook: Webhook | None = None

    @property
    def cgroup(self) -> Path:
        return cgroup.MEMORY_ROOT / cgroup.own_path().lstrip("/") / CGROUP

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> None:
        fetch()
        shutil.rmtree(RUN, ignore_errors=True)
        RUN.mkdir(parents=True)
        self.webhook = Webhook(PORTS["webhook"])
        self._alertmanager()
        self._prometheus()
        self._inside()
        wait_for("Prometheus to scrape node_exporter and ostriage watch", self._targets_up, 120, 1)
        wait_for("Alertmanager to answer", self._alertmanager_up, 60, 1)
        log("monitoring up: " + ", ".join(f"{k} {HOST}:{v}" for k, v in PORTS.items()))

    def stop(self) -> None:
        self._keep_evidence()
        with contextlib.suppress(LabError):
            container.sh("systemctl stop ostriage-watch.service ostriage-textfile.timer ostriage-textfile.service "
                         "ostlab-node-exporter.service", check=False, logname="monitoring")
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
        self.procs.clear()
        cgroup.kill_all_and_remove(self.cgroup)
        if self.webhook is not None:
            self.webhook.stop()
            self.webhook = None
        if RUN.is_dir():  # kept for a look after a failure, beside the lab's other logs
            paths.LOGS.mkdir(parents=True, exist_ok=True)
            for kept in [*RUN.glob("*.log"), *RUN.glob("*.json")]:
                shutil.copy(kept, paths.LOGS / f"monitoring-{kept.name}")
        shutil.rmtree(RUN, ignore_errors=True)

    def _keep_evidence(self) -> None:
        """watch's log and last diagnosis, for a look after a failure (beside the lab's other logs)."""
        if not RUN.is_dir():
            return
        with contextlib.suppress(LabError, OSError):
            out = container.sh("journalctl -u ostriage-watch.service -o short-precise --no-pager", check=False,
                               logname=None).stdout
            (RUN / "watch.log").write_text(out)
            url = f"http://{HOST}:{PORTS['watch']}/diagnosis"
            with urllib.request.urlopen(url, timeout=10) as response:
                (RUN / "diagnosis.json").write_bytes(response.read())
        with contextlib.suppress(OSError):
            (RUN / "alerts.json").write_text(json.dumps(self.alerts(), indent=1))

    def _spawn(self, name: str, argv: list[str]) -> None:
        cg = cgroup.create(CGROUP, LIMIT)
        logfile = (RUN / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(cgroup.enter_argv(cg, argv), stdin=subprocess.DEVNULL, stdout=logfile,
                                            stderr=subprocess.STDOUT, start_new_session=True, cwd=RUN)

    def _alertmanager(self) -> None:
        config = (DEPLOY / "alertmanager" / "alertmanager.yml").read_text()
        hook = f"http://{HOST}:{PORTS['webhook']}/"
        (RUN / "alertmanager.yml").write_text(config.replace("http://127.0.0.1:5001/", hook))
        shutil.copy(DEPLOY / "alertmanager" / "ostriage.tmpl", RUN / "ostriage.tmpl")
        # Debian's build reads its default template from /usr/share/prometheus/alertmanager: in a private mount
        # namespace, the unpacked package's /usr/share is laid over the host's (the host's stays untouched)
        share = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                 'mount -t overlay ostlab-alertmanager -o lowerdir="$1":/usr/share /usr/share && shift && exec "$@"',
                 "ostlab-alertmanager", str(ROOT / "usr/share")]
        self._spawn("alertmanager", [
            *share, str(ROOT / "usr/bin/prometheus-alertmanager"), f"--config.file={RUN / 'alertmanager.yml'}",
            f"--storage.path={RUN / 'alertmanager-data'}", f"--web.listen-address={HOST}:{PORTS['alertmanager']}",
            "--cluster.listen-address=",  # no HA gossip (it would listen on every address)
        ])

    def _prometheus(self) -> None:
        instance = [{"target_label": "instance", "replacement": INSTANCE}]
        config = {
            "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
            "rule_files": [str(DEPLOY / "prometheus" / "ostriage-rules.yml")],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"{HOST}:{PORTS['alertmanager']}"]}]}]},
            "scrape_configs": [
                {"job_name": "node", "static_configs": [{"targets": [f"{HOST}:{PORTS['node_exporter']}"]}],
                 "relabel_configs": instance},
                {"job_name": "ostriage-watch", "static_configs": [{"targets": [f"{HOST}:{PORTS['watch']}"]}],
                 "relabel_configs": instance},
            ],
        }
        (RUN / "prometheus.yml").write_text(json.dumps(config, indent=1))  # YAML is a superset of JSON
        self._spawn("prometheus", [
            str(ROOT / "usr/bin/prometheus"), f"--config.file={RUN / 'prometheus.yml'}",
            f"--storage.tsdb.path={RUN / 'prometheus-data'}", f"--web.listen-address={HOST}:{PORTS['prometheus']}",
            "--storage.tsdb.retention.time=1d",
        ])

    def _inside(self) -> None:
        """node_exporter and ostriage's own units in the controller, as an operator installs them."""
        rootfs = paths.RUN_ROOT
        target = rootfs / NODE_EXPORTER.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "usr/bin/prometheus-node-exporter", target)
        for unit in ("ostriage-watch.service", "ostriage-textfile.service", "ostriage-textfile.timer"):
            shutil.copy(DEPLOY / "systemd" / unit, rootfs / "etc/systemd/system" / unit)
        dropin = rootfs / "etc/systemd/system/ostriage-watch.service.d/ostlab.conf"
        dropin.parent.mkdir(parents=True, exist_ok=True)
        args = " ".join((f"--listen {HOST}:{PORTS['watch']}", f"--alertmanager http://{HOST}:{PORTS['alertmanager']}",
                         *self.watch_args))
        dropin.write_text(f'[Service]\nEnvironment="OSTRIAGE_WATCH_ARGS={args}"\n')
        node_exporter = " ".join((
            NODE_EXPORTER, f"--web.listen-address={HOST}:{PORTS['node_exporter']}", "--collector.systemd",
            "--collector.systemd.enable-restarts-metrics", f"--collector.textfile.directory={TEXTFILE_DIR}"))
        container.sh(
            f"mkdir -p {TEXTFILE_DIR} && ln -sf {self.ostriage} /usr/local/bin/ostriage && systemctl daemon-reload && "
            f"systemd-run --unit=ostlab-node-exporter {node_exporter} && "
            "systemctl start ostriage-textfile.timer ostriage-watch.service", logname="monitoring")

    # -- what the stack sees ------------------------------------------------------------------------
    def _targets_up(self) -> bool:
        try:
            targets = _json_get(f"http://{HOST}:{PORTS['prometheus']}/api/v1/targets")["data"]["activeTargets"]
        except OSError:
            return False
        return len(targets) == 2 and all(t["health"] == "up" for t in targets)

    def _alertmanager_up(self) -> bool:
        try:
            return _json_get(f"http://{HOST}:{PORTS['alertmanager']}/api/v2/status")["cluster"]["status"] == "disabled"
        except OSError:
            return False

    def alerts(self, alertname: str | None = None) -> list[dict[str, Any]]:
        """Alertmanager's alerts (active, silenced and inhibited ones too), from its v2 API."""
        query = f"?filter={urllib.parse.quote(f'alertname={json.dumps(alertname)}')}" if alertname else ""
        alerts: list[dict[str, Any]] = _json_get(f"http://{HOST}:{PORTS['alertmanager']}/api/v2/alerts{query}")
        return alerts

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"http://{HOST}:{PORTS['prometheus']}/api/v1/query?query={urllib.parse.quote(expr)}"
        result: list[dict[str, Any]] = _json_get(url)["data"]["result"]
        return result

    def watch_pid(self) -> int:
        """The host pid of ostriage watch's main process (systemd inside knows only the container's pid)."""
        inner = int(container.sh("systemctl show -p MainPID --value ostriage-watch.service",
                                 logname=None).stdout.strip() or 0)
        for pid in cgroup.all_pids(container.controller_cgroup()):
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                nspid = next(line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:"))
                if inner and nspid and int(nspid[-1]) == inner:
                    return pid
        raise LabError(f"ostriage watch is not running in the controller (MainPID {inner})")

    def listeners_on_loopback(self) -> list[str]:
        """Every TCP listener of this stack's host processes is on 127.0.0.1."""
        mine = {str(p) for p in cgroup.all_pids(self.cgroup)}
        out = subprocess.run(["ss", "-H", "-lntp"], capture_output=True, text=True, check=True).stdout
        seen = []
        for line in out.splitlines():
            pids = set(re.findall(r"pid=(\d+)", line))
            if pids & mine:
                local = line.split()[3]
                if not local.startswith("127."):
                    raise LabError(f"monitoring process listening beyond loopback: {line}")
                seen.append(local)
        return seen


def rss_and_cpu(pid: int) -> tuple[int, float, float]:
    """(VmRSS bytes, utime+stime seconds, cutime+cstime seconds) of a host pid."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
