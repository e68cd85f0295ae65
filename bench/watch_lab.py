"""ostriage watch in the real lab: detection latency (first OOM kill -> alert in Alertmanager) and idle cost.

Run as root, under the lab lock (it brings the lab up and down itself):

    flock -w 2400 /var/lock/ostlab.lock .venv/bin/python bench/watch_lab.py [--idle 600] [--runs 3]

1. The lab comes up, ostriage is installed in the controller, and the monitoring stack of the lab tests
   starts (lab/ostlab/monitoring.py: Debian's Prometheus scraping every 5 s, Alertmanager, node_exporter,
   ostriage's shipped ostriage-watch.service under the controller's systemd). Scenario `healthy`.
2. Idle: for ``--idle`` seconds nothing happens to the services; every 5 s the CPU time and RSS of watch's
   main process (host pid) and of its journalctl are read from /proc. Prometheus keeps scraping /metrics.
3. ``--runs`` times: watch is restarted (no loop in memory), then scenario `seed`. A thread reads the
   host's /dev/kmsg and notes the moment of the first OOM kill in neutron-server's memory cgroup; another
   polls Alertmanager's API every 0.2 s until OstriageCrashLoop shows `vni_ranges` in its root_cause.
   Latency = alert visible - first kill. watch's own log gives the breakdown (loop seen, diagnosis, push).
4. Teardown of the stack and the lab.

It prints numbers and asserts nothing (targets from issue 11: latency <= 30 s, idle <= 1 % of one CPU and
<= 80 MiB RSS).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lab"))

from ostlab import container, monitoring, ostriage_install, scenarios  # noqa: E402
from ostlab.shell import log, wait_for  # noqa: E402

from ostriage.monitor.events import KernelKills  # noqa: E402
from ostriage.parsers.kmsg import parse_kmsg_record  # noqa: E402

NEUTRON_CGROUP = "/ostlab_controller/system.slice/neutron-server.service"


@dataclass
class Idle:
    seconds: float
    cpu: float
    journalctl_cpu: float
    children_cpu: float
    rss: list[int] = field(default_factory=list)
    journalctl_rss: list[int] = field(default_factory=list)


def measure_idle(stack: monitoring.Stack, seconds: float) -> Idle:
    pid = stack.watch_pid()
    journal = next(iter(monitoring.children(pid)), None)
    rss0, cpu0, kids0 = monitoring.rss_and_cpu(pid)
    j0 = monitoring.rss_and_cpu(journal)[1] if journal else 0.0
    idle = Idle(seconds, 0.0, 0.0, 0.0, [rss0], [])
    start = time.monotonic()
    while (left := seconds - (time.monotonic() - start)) > 0:
        time.sleep(min(5.0, left))
        rss, _, _ = monitoring.rss_and_cpu(pid)
        idle.rss.append(rss)
        if journal:
            idle.journalctl_rss.append(monitoring.rss_and_cpu(journal)[0])
    _, cpu1, kids1 = monitoring.rss_and_cpu(pid)
    idle.seconds = time.monotonic() - start
    idle.cpu, idle.children_cpu = cpu1 - cpu0, kids1 - kids0
    idle.journalctl_cpu = (monitoring.rss_and_cpu(journal)[1] - j0) if journal else 0.0
    return idle


class FirstKill(threading.Thread):
    """The first kernel OOM kill in neutron-server's memory cgroup, as the host's /dev/kmsg delivers it."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.at: float | None = None
        self.kernel_seconds: float | None = None
        self.fd = os.open("/dev/kmsg", os.O_RDONLY)
        os.lseek(self.fd, 0, os.SEEK_END)

    def run(self) -> None:
        kills = KernelKills()
        ours = False  # the last oom-kill summary named neutron-server's cgroup
        while self.at is None:
            try:
                data = os.read(self.fd, 16384)
            except BrokenPipeError:
                continue
            record = parse_kmsg_record(data)
            if record is None:
                continue
            if record.message.startswith("oom-kill:"):
                ours = NEUTRON_CGROUP in record.message
            if kills.feed(record.message) is not None and ours:
                self.at, self.kernel_seconds = time.monotonic(), record.seconds
        os.close(self.fd)


def watch_metrics() -> str:
    try:
        url = f"http://{monitoring.HOST}:{monitoring.PORTS['watch']}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        return ""


def alert_visible(stack: monitoring.Stack, since: float) -> bool:
    """OstriageCrashLoop with vni_ranges as its root cause, pushed after ``since`` (Unix time): an earlier run's
    alert may still be active (until its endsAt), under the same labels."""
    for a in stack.alerts("OstriageCrashLoop"):
        updated = datetime.fromisoformat(a["updatedAt"].replace("Z", "+00:00")).timestamp()
        if updated >= since and "vni_ranges" in a["annotations"].get("root_cause", ""):
            return True
    return False


def watch_log() -> list[str]:
    out = container.sh("journalctl -u ostriage-watch.service -o short-precise --no-pager", check=False, logname=None)
    keep = ("crash loop of", "diagnosis (", "alert OstriageCrashLoop", "restart:", "abandoned")
    return [line for line in out.stdout.splitlines() if any(k in line for k in keep)]


def one_seed(stack: monitoring.Stack) -> dict[str, object]:
    container.sh("systemctl restart ostriage-watch.service", logname="monitoring")
    wait_for("the restarted watch's first diagnosis", lambda: "ostriage_diagnosis_timestamp_seconds" in
             watch_metrics(), 120, 1)
    time.sleep(10)  # the run begins from an idle watch
    since = time.time()
    kill = FirstKill()
    kill.start()
    seen: dict[str, object] = {}
    runner = threading.Thread(target=lambda: seen.update(scenarios.apply("seed")), daemon=True)
    runner.start()
    wait_for("the first OOM kill of neutron-server", lambda: kill.at is not None, 300, 0.05)
    wait_for("OstriageCrashLoop with vni_ranges in Alertmanager", lambda: alert_visible(stack, since), 300, 0.2)
    visible = time.monotonic()
    runner.join()
    assert kill.at is not None
    return {"latency_s": round(visible - kill.at, 2), "first_kill_kernel_s": kill.kernel_seconds,
            "oom_kills_in_seed": seen.get("oom_kills"), "watch_log": watch_log()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=600.0, help="seconds of idle measurement (default 600)")
    parser.add_argument("--runs", type=int, default=3, help="seed runs for the latency (default 3)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/watch_lab.py needs root (the lab)", file=sys.stderr)
        return 2
    from ostlab.__main__ import cmd_up

    cmd_up()
    stack = monitoring.Stack(ostriage=ostriage_install.install())
    results: dict[str, object] = {}
    try:
        stack.start()
        results["versions"] = {p: monitoring.version(p) for p in
                               ("prometheus", "prometheus-alertmanager", "prometheus-node-exporter")}
        scenarios.apply("healthy")
        wait_for("watch's diagnosis of the healthy lab", lambda: bool(
            stack.query('ostriage_watch_diagnoses_total{reason="unit-change"}')), 180, 2)
        time.sleep(5)
        log(f"idle measurement: {args.idle:.0f} s")
        idle = measure_idle(stack, args.idle)
        runs = []
        for i in range(args.runs):
            log(f"seed run {i + 1}/{args.runs}")
            runs.append(one_seed(stack))
            scenarios.apply("healthy")
        results["idle"] = idle.__dict__
        results["runs"] = runs
    finally:
        stack.stop()
        container.shutdown()
    mib = 1 << 20
    print(json.dumps(results, indent=1, default=str))
    latencies = [float(r["latency_s"]) for r in runs]  # type: ignore[arg-type]
    print("\nostriage watch in the lab (Debian's Prometheus, Alertmanager, node_exporter; watch under its unit)")
    print(f"  detection latency, first OOM kill -> OstriageCrashLoop with vni_ranges in Alertmanager's API, "
          f"{len(latencies)} runs: median {statistics.median(latencies):.1f} s, min {min(latencies):.1f} s, "
          f"max {max(latencies):.1f} s (target <= 30 s)")
    print(f"  idle {idle.seconds:.0f} s, scraped every 5 s: watch {idle.cpu:.2f} s CPU = "
          f"{100 * idle.cpu / idle.seconds:.3f} % of one CPU, journalctl {idle.journalctl_cpu:.2f} s "
          f"({100 * idle.journalctl_cpu / idle.seconds:.3f} %), diagnosis children {idle.children_cpu:.2f} s "
          f"(target <= 1 %)")
    print(f"  RSS: watch max {max(idle.rss) / mib:.1f} MiB (mean {statistics.mean(idle.rss) / mib:.1f}), "
          f"journalctl max {max(idle.journalctl_rss or [0]) / mib:.1f} MiB (target <= 80 MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
