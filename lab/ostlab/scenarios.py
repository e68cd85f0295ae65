"""Named scenarios: a neutron configuration, the units to start, and what must be seen before it counts."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import config, container, controller, deployments, engine, mac_binding, oom, paths
from .shell import LabError, log

# The incident's value. It OOMs fast at 2G with two lazy uWSGI workers: each worker first builds a
# Python set of all 16,777,215 VNIs (~1 GiB) before touching the database, so the 2 GiB cgroup fills
# within seconds of the workers' imports. No smaller range is needed to make the loop quick.
INCIDENT_RANGE = "1:16777215"


def http_status(url: str, timeout: float = 5) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return None


def show(unit: str) -> dict[str, str]:
    out = container.sh(f"systemctl show {unit} -p NRestarts -p ActiveState -p SubState -p ExecMainPID "
                       "-p MemoryMax -p OOMScoreAdjust -p Result", check=False, logname=None).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


SCENARIO_STATE = paths.RUN / "scenario.json"


def started_uptime() -> float:
    """Kernel time (s since boot) at which the last scenario started; 0 if none did."""
    if SCENARIO_STATE.exists():
        return float(json.loads(SCENARIO_STATE.read_text())["started_uptime"])
    return 0.0


def last_scenario() -> str | None:
    """The name of the scenario applied last on the live lab, if any."""
    if SCENARIO_STATE.exists():
        name: str = json.loads(SCENARIO_STATE.read_text())["name"]
        return name
    return None


def log_has(rel: str, text: str) -> bool:
    return controller.exists(rel) and text in controller.read(rel)


@dataclass
class Run:
    """When the scenario started, so checks count only what this scenario caused."""

    marker: str = oom.NEUTRON_MARKER
    started_uptime: float = field(default_factory=oom.uptime)
    started: float = field(default_factory=time.monotonic)

    def oom_kills(self) -> int:
        # The kernel's own records: the unit's memory cgroup is recreated on every start, so its
        # oom_kill counter only covers the current start.
        return oom.kills_since(self.started_uptime, self.marker)


Check = Callable[[Run], bool]


def restarts_at_least(unit: str, n: int) -> Check:
    return lambda run: int(show(unit).get("NRestarts", "0") or 0) >= n


def oom_kills_at_least(n: int) -> Check:
    return lambda run: run.oom_kills() >= n


def api_answers(code: int) -> Check:
    return lambda run: http_status(f"{paths.API_URL}/v2.0/networks") == code


def log_contains(rel: str, text: str) -> Check:
    return lambda run: log_has(rel, text)


def file_count_at_least(path: str, text: str, n: int) -> Check:
    """text seen n times in a file of the controller, read there (it may be on a bind mount)."""
    def check(run: Run) -> bool:
        out = container.sh(f"grep -cF '{text}' {path}", check=False, logname=None).stdout.strip()
        return int(out or 0) >= n
    return check


def journal_count_at_least(unit: str, text: str, n: int) -> Check:
    def check(run: Run) -> bool:
        out = container.sh(f"journalctl -u {unit} --no-pager -o cat", check=False, logname=None).stdout
        return out.count(text) >= n
    return check


def poke_nova() -> None:
    """What Horizon's instance list does: ask nova, which asks neutron."""
    # noauth2's token is "user:project"; security groups are a nova API that asks neutron.
    req = urllib.request.Request("http://127.0.0.1:8774/v2.1/os-security-groups",
                                 headers={"X-Auth-Token": "admin:admin"})
    with contextlib.suppress(OSError):  # the 500 is the point; what matters is in nova-api's log
        urllib.request.urlopen(req, timeout=30).close()


AGENT_LOG = "var/log/neutron/neutron-openvswitch-agent.log"
SERVER_LOG = "var/log/neutron/neutron-server.log"
NOVA_LOG = "var/log/nova/nova-api.log"


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    neutron: config.Neutron
    units: tuple[str, ...]
    checks: tuple[tuple[str, Check], ...]
    timeout: float = 300
    steady_seconds: float = 0   # healthy: keep watching that nothing restarts
    nova_pokes: bool = False
    style: str | None = None    # neutron-server in a podman container, deployed as deployments.STYLES[style]
    #: set-up run before the units start (after the scenario's files are laid); returns what it did
    prepare: Callable[[], dict[str, Any]] | None = None

    def deployment(self) -> deployments.Deployment | None:
        return deployments.STYLES[self.style](self.neutron.vni_ranges) if self.style else None


AGENT_CHECK = ("agent logged 'Bridge br-ex for physical network phynet2 does not exist. Agent terminated!'",
               log_contains(AGENT_LOG, "Bridge br-ex for physical network phynet2 does not exist. Agent terminated!"))
NOVA_CHECK = ("nova-api logged 'Unexpected exception in API method' with ConnectFailure and 'Unexpected API Error'",
              lambda run: log_has(NOVA_LOG, "ConnectFailure: Unable to establish connection to "
                                  "http://127.0.0.1:9696/v2.0/") and log_has(NOVA_LOG, "Unexpected API Error"))

def _in_container(style: str, summary: str, loop: tuple[str, Check], timeout: float = 300) -> Scenario:
    """The seed incident (ML2/OVN, the incident's range) with neutron-server in a podman container."""
    return Scenario(f"{style}-seed", "the incident in " + summary, config.Neutron(vni_ranges=INCIDENT_RANGE), (),
                    (("kernel OOM-killed in the container's cgroup >= 4 times", oom_kills_at_least(4)), loop),
                    timeout=timeout, style=style)


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario(
        "seed", "the incident: vni_ranges 1:16777215, MemoryMax=2G + OOMScoreAdjust=-1000, ML2 says openvswitch "
        "while [ovn] is set, the OVS agent's br-ex missing, nova-api 500s",
        config.Neutron(mechanism_drivers="openvswitch", vni_ranges=INCIDENT_RANGE, memory_max="2G",
                       oom_score_adjust=-1000),
        ("neutron-server.service", "neutron-openvswitch-agent.service", "nova-api.service"),
        (("neutron-server NRestarts >= 4", restarts_at_least("neutron-server.service", 4)),
         ("kernel OOM-killed in neutron-server's cgroup >= 4 times", oom_kills_at_least(4)),
         AGENT_CHECK, NOVA_CHECK),
        nova_pokes=True),
    Scenario(
        "limit-too-low", "sane vni_ranges 1:65535 (OVN), but MemoryMax=256M: two uWSGI workers need ~400 MiB",
        config.Neutron(memory_max="256M"),
        ("neutron-server.service",),
        (("neutron-server NRestarts >= 4", restarts_at_least("neutron-server.service", 4)),
         ("kernel OOM-killed in neutron-server's cgroup >= 4 times", oom_kills_at_least(4)))),
    Scenario(
        "healthy", "the operator's fixed configuration (ML2/OVN, vni_ranges 1:65535, no memory drop-in)",
        config.Neutron(),
        ("neutron-server.service",),
        (("GET /v2.0/networks answers 200", api_answers(200)),),
        steady_seconds=30),
    Scenario(
        "header-too-small", "ML2/OVN with geneve max_header_size = 30: neutron's own CRITICAL exit, restart loop",
        config.Neutron(max_header_size=30),
        ("neutron-server.service",),
        (("neutron logged 'Geneve max_header_size set too low for OVN'",
          log_contains(SERVER_LOG, "max_header_size set too low for OVN")),
         # The worker exits with status 1, not uWSGI's "failed app" code 22, so the master respawns it
         # instead of exiting: the loop is uWSGI's, and systemd's NRestarts stays 0 (real behaviour).
         ("uWSGI respawned dying workers >= 4 times", journal_count_at_least(
             "neutron-server", "DAMN ! worker", 4)))),
    Scenario(
        "agent-bridge-missing", "neutron-openvswitch-agent with bridge_mappings phynet2:br-ex and no br-ex",
        config.Neutron(),
        ("neutron-server.service", "neutron-openvswitch-agent.service"),
        # In neutron 29 the agent's main loop runs in an os-ken green thread: sys.exit(1) there ends that
        # thread, and the process lingers (systemd sees it active), so no restart is waited for.
        (AGENT_CHECK,)),
    Scenario(
        "mac-binding", f"neutron {mac_binding.RELEASE} (keeps OVN MAC_Binding in every worker), sane vni_ranges "
        f"1:65535, {mac_binding.ROWS:,} real MAC_Binding rows, MemoryMax={mac_binding.MEMORY_MAX}",
        config.Neutron(memory_max=mac_binding.MEMORY_MAX),
        ("neutron-server.service",),
        (("neutron-server NRestarts >= 3", restarts_at_least("neutron-server.service", 3)),
         ("kernel OOM-killed in neutron-server's cgroup >= 3 times", oom_kills_at_least(3))),
        timeout=1200, prepare=mac_binding.prepare),
    Scenario(
        "nova-cascade", "neutron-server stopped, nova-api asked for the instance list: ConnectFailure, HTTP 500",
        config.Neutron(),
        ("nova-api.service",),
        (NOVA_CHECK,), timeout=120, nova_pokes=True),
    _in_container(
        "kolla", "Kolla's neutron_server container (podman, kolla-neutron_server-container.service, uWSGI master "
        "+ 2 lazy workers, --memory 2g): vni_ranges 1:16777215; the kernel kills workers, the master respawns "
        "them, the container keeps running",
        ("uWSGI's log: killed workers respawned >= 4 times",
         file_count_at_least(deployments.kolla(INCIDENT_RANGE).uwsgi_log, "DAMN ! worker", 4))),
    _in_container(
        "tripleo", "TripleO's neutron_api container (podman, tripleo_neutron_api.service, one uWSGI process, "
        "--memory 2g): vni_ranges 1:16777215; each kill ends the container (exit 137) and systemd starts it again",
        ("tripleo_neutron_api.service NRestarts >= 3", restarts_at_least("tripleo_neutron_api.service", 3)),
        timeout=480),
)}


def apply(name: str) -> dict[str, Any]:
    """Run a scenario on the live lab; return what was seen (for the operator and the tests)."""
    if name not in SCENARIOS:
        raise LabError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    sc = SCENARIOS[name]
    log(f"scenario {name}: {sc.summary}")
    deployments.remove_all()
    controller.reset_logs()
    controller.lay_files()
    controller.write_neutron(sc.neutron)
    dep = sc.deployment()
    if dep:
        controller.remove_packaged_openstack()
    elif "nova-api.service" in sc.units and controller.NOVA_PURGED.exists():
        raise LabError(f"scenario {name} needs nova-api, which a containerised scenario removed from this lab: "
                       "run `ostlab down` and `ostlab up` first")
    container.sh("systemctl daemon-reload")
    prepared = sc.prepare() if sc.prepare else {}
    if sc.prepare:
        container.sh("systemctl daemon-reload")
    unit = dep.unit if dep else "neutron-server.service"
    run = Run(marker=oom.CONTAINER_MARKER if dep else oom.NEUTRON_MARKER)
    SCENARIO_STATE.write_text(json.dumps({"name": name, "started_uptime": run.started_uptime}))
    if dep:
        deployments.deploy(dep)
    if sc.units:
        container.sh("systemctl start " + " ".join(sc.units))
    pending = list(sc.checks)
    deadline = time.monotonic() + sc.timeout
    while pending:
        if time.monotonic() > deadline:
            raise LabError(f"scenario {name}: not seen within {sc.timeout:.0f}s: " + "; ".join(d for d, _ in pending))
        if sc.nova_pokes and int(time.monotonic() - run.started) % 10 < 2:
            poke_nova()  # every ~10 s, like a dashboard refreshing
        if (dep or unit in sc.units) and show(unit).get("ActiveState") == "failed":
            tail = container.sh(f"journalctl -u {unit} -n 4 --no-pager -o cat", check=False).stdout
            raise LabError(f"scenario {name}: {unit} failed for good: {' | '.join(tail.splitlines())}")
        for item in list(pending):
            if item[1](run):
                log(f"  seen after {time.monotonic() - run.started:.0f}s: {item[0]}")
                pending.remove(item)
        time.sleep(2)
    before = show("neutron-server.service").get("NRestarts")
    if sc.steady_seconds:
        time.sleep(sc.steady_seconds)
        after = show("neutron-server.service").get("NRestarts")
        if after != before or run.oom_kills() or api_answers(200)(run) is False:
            raise LabError(f"scenario {name}: not steady (NRestarts {before} -> {after}, oom kills {run.oom_kills()})")
        log(f"  steady for {sc.steady_seconds:.0f}s (NRestarts {after}, no OOM kill)")
    result = {"scenario": name, "seconds": round(time.monotonic() - run.started, 1),
              "oom_kills": run.oom_kills(), "neutron_server": show(unit),
              "api_status": http_status(f"{paths.API_URL}/v2.0/networks"), **prepared}
    if dep:
        result["container"] = {"name": dep.container, **engine.state(dep.container)}
    log(f"scenario {name} reached in {result['seconds']}s: {result}")
    return result
