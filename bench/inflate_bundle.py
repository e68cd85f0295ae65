"""Build the inflated seed-incident bundle: the real example with gigabytes of realistic log filler.

A controller with debug logging keeps gigabytes of logs, and the incident's own lines sit at their end.
This copies ``examples/seed-incident`` and grows ``var/log/neutron/neutron-server.log`` (default 1 GiB) and
``var/log/nova/nova-api.log`` (default 512 MiB) with lines in the services' real formats, written *before*
each file's own lines, with timestamps that end just before the incident starts:

* neutron-server: API access lines (``neutron.wsgi``, oslo.service's ``wsgi_log_format``), DEBUG lines with
  oslo.log's debug suffix (``funcName pathname:lineno``), nova notifier lines (``neutron.notifiers.nova``
  "Sending events" / "Nova event matching ... response"), agent-health lines (``neutron.db.agents_db``
  "Agent healthcheck: found N active agents");
* nova-api: request log lines (``nova.api.openstack.requestlog``), DEBUG lines (``nova.api.openstack.wsgi``
  "Calling method", ``oslo_concurrency.lockutils``), keystonemiddleware's token cache lines.

The output is deterministic: the same ``--seed`` and sizes give byte-identical files (a stamp file records
them, so a second run with the same arguments reuses the bundle).

    .venv/bin/python bench/inflate_bundle.py /tmp/inflated [--neutron-size 1G] [--nova-size 512M] [--seed 9]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_BUNDLE = ROOT / "examples" / "seed-incident"
NEUTRON_LOG = "var/log/neutron/neutron-server.log"
NOVA_LOG = "var/log/nova/nova-api.log"
#: the two grown logs
GROWN = (NEUTRON_LOG, NOVA_LOG)
#: the five literals issue 9 timed grep -F with (one per kind of evidence line)
GREP_LITERALS = ("ConnectFailure", "Agent terminated", "ID ranges", "Killed process", "restart counter")
_STAMP = ".inflated.json"
_UNITS = {"K": 2**10, "M": 2**20, "G": 2**30}
# filler spans the days before the incident; API workers' pids chosen apart from every pid of the bundle
_SPAN = timedelta(days=3)
_NEUTRON_PIDS = (1201, 1202, 1203, 1204, 1205, 1206, 1207, 1208)
_NOVA_PIDS = (1301, 1302, 1303, 1304)
_PROJECTS = ("admin", "9f2c4e3b7a1d4c0e8b5f6a7d2c1e0f93", "5b2a8d1e4c6f4a3b9e0d7c2f1a8b6e54")


def parse_size(text: str) -> int:
    """``1G``, ``512M``, ``4096`` → bytes.

    >>> parse_size("1G"), parse_size("512M"), parse_size("10")
    (1073741824, 536870912, 10)
    """
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text and text[-1] in _UNITS:
        return int(float(text[:-1]) * _UNITS[text[-1]])
    return int(text)


class Filler:
    """Realistic oslo.log lines of one service, from a seeded generator."""

    def __init__(self, rng: random.Random, pids: tuple[int, ...]) -> None:
        self.rng = rng
        self.pids = pids
        self.requests = [self._uuid() for _ in range(4096)]
        self.ports = [self._uuid() for _ in range(512)]
        self.servers = [self._uuid() for _ in range(256)]

    def _uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"

    def context(self) -> str:
        project = self.rng.choice(_PROJECTS)
        return f"[req-{self.rng.choice(self.requests)} {project[:32]} {project[:32]} - default default]"

    def neutron(self) -> str:
        r = self.rng.random()
        rng = self.rng
        if r < 0.45:
            path = rng.choice((
                f"/v2.0/ports?device_id={rng.choice(self.servers)}",
                f"/v2.0/ports/{rng.choice(self.ports)}",
                "/v2.0/networks?shared=False", "/v2.0/security-groups?tenant_id=admin",
                f"/v2.0/floatingips?port_id={rng.choice(self.ports)}", "/v2.0/extensions",
            ))
            method = "GET" if rng.random() < 0.85 else "PUT"
            return (f"INFO neutron.wsgi {self.context()} 10.20.0.{rng.randrange(2, 250)},10.20.0.5 "
                    f"\"{method} {path} HTTP/1.1\" status: 200  len: {rng.randrange(200, 9000)} "
                    f"time: {rng.random() * 0.4:.7f}")
        if r < 0.80:
            return rng.choice((
                f"DEBUG neutron.pecan_wsgi.hooks.policy_enforcement {self.context()} Attributes excluded by "
                "policy engine: ['binding:profile', 'binding:vif_details', 'binding:vif_type', "
                "'binding:host_id'] _exclude_attributes_by_policy "
                "/usr/lib/python3/dist-packages/neutron/pecan_wsgi/hooks/policy_enforcement.py:256",
                f"DEBUG neutron.db.provisioning_blocks {self.context()} Provisioning complete for port "
                f"{rng.choice(self.ports)} triggered by entity L2. provisioning_complete "
                "/usr/lib/python3/dist-packages/neutron/db/provisioning_blocks.py:139",
                f"DEBUG oslo_concurrency.lockutils [-] Lock \"event-dispatch\" acquired by "
                "\"neutron.plugins.ml2.ovo_rpc._ObjectChangeHandler.dispatch_events\" :: waited "
                f"{rng.random() / 100:.3f}s inner /usr/lib/python3/dist-packages/oslo_concurrency/lockutils.py:404",
                f"DEBUG neutron.api.rpc.handlers.resources_rpc {self.context()} Pushing event updated for "
                f"resources: {{'Port': ['ID={rng.choice(self.ports)},revision_number={rng.randrange(1, 90)}']}} "
                "push /usr/lib/python3/dist-packages/neutron/api/rpc/handlers/resources_rpc.py:243",
            ))
        if r < 0.90:
            server = rng.choice(self.servers)
            if rng.random() < 0.5:
                return (f"DEBUG neutron.notifiers.nova [-] Sending events: [{{'server_uuid': '{server}', "
                        f"'name': 'network-vif-plugged', 'status': 'completed', 'tag': '{rng.choice(self.ports)}'}}] "
                        "send_events /usr/lib/python3/dist-packages/neutron/notifiers/nova.py:278")
            return (f"INFO neutron.notifiers.nova [-] Nova event matching ['req-{rng.choice(self.requests)}'] "
                    f"response: {{'server_uuid': '{server}', 'name': 'network-vif-plugged', 'status': "
                    f"'completed', 'tag': '{rng.choice(self.ports)}', 'code': 200}}")
        return ("DEBUG neutron.db.agents_db [-] Agent healthcheck: found "
                f"{rng.randrange(3, 7)} active agents agent_health_check "
                "/usr/lib/python3/dist-packages/neutron/db/agents_db.py:326")

    def nova(self) -> str:
        r = self.rng.random()
        rng = self.rng
        if r < 0.50:
            path, length = rng.choice((
                ("/v2.1/servers/detail", 4512), (f"/v2.1/servers/{rng.choice(self.servers)}", 1893),
                ("/v2.1/flavors/detail", 2210), (f"/v2.1/servers/{rng.choice(self.servers)}/os-interface", 611),
                ("/v2.1/os-hypervisors/detail", 3105), ("/v2.1/limits", 402),
            ))
            return (f"INFO nova.api.openstack.requestlog {self.context()} 10.20.0.{rng.randrange(2, 250)} "
                    f"\"GET {path}\" status: 200 len: {length + rng.randrange(0, 400)} microversion: 2.79 "
                    f"time: {rng.random() * 0.6:.6f}")
        if r < 0.85:
            return rng.choice((
                f"DEBUG nova.api.openstack.wsgi {self.context()} Calling method '<bound method "
                "ServersController.detail of <nova.api.openstack.compute.servers.ServersController object at "
                f"0x7f{rng.getrandbits(40):010x}>>' _process_stack "
                "/usr/lib/python3/dist-packages/nova/api/openstack/wsgi.py:513",
                f"DEBUG oslo_concurrency.lockutils {self.context()} Acquiring lock \"{rng.choice(self.servers)}\" "
                "by \"nova.compute.api.API.get.<locals>.get_instance\" inner "
                "/usr/lib/python3/dist-packages/oslo_concurrency/lockutils.py:392",
                f"DEBUG nova.compute.api {self.context()} [instance: {rng.choice(self.servers)}] Fetching "
                "instance by UUID get /usr/lib/python3/dist-packages/nova/compute/api.py:2951",
            ))
        return (f"DEBUG keystonemiddleware.auth_token [-] Cached token for {self.rng.choice(_PROJECTS)} found "
                "_cache_get /usr/lib/python3/dist-packages/keystonemiddleware/auth_token/_cache.py:207")


def _first_time(path: Path) -> datetime:
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                return datetime.fromisoformat(line[:23])
            except ValueError:
                continue
    raise SystemExit(f"{path}: no oslo.log timestamp")


def grow(path: Path, size: int, make: Callable[[], str], pids: tuple[int, ...], rng: random.Random) -> None:
    """Rewrite ``path`` as ``size`` bytes: filler lines from ``make()`` then the file's own lines."""
    own = path.read_bytes()
    budget = max(0, size - len(own))
    end = _first_time(path) - timedelta(seconds=1)
    sample = [make() for _ in range(2000)]
    average = 31 + sum(len(s) for s in sample) / len(sample)  # 23-char time, pid, spaces, newline
    lines = max(1, int(budget / average))
    step = _SPAN / lines
    at = end - _SPAN
    tmp = path.with_suffix(path.suffix + ".tmp")
    written = 0
    with tmp.open("w", encoding="utf-8", newline="\n") as out:
        batch: list[str] = []
        while written < budget:
            text = f"{at:%Y-%m-%d %H:%M:%S}.{at.microsecond // 1000:03d} {rng.choice(pids)} {make()}\n"
            written += len(text)
            batch.append(text)
            at += step
            if len(batch) >= 4096:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))
    with tmp.open("ab") as out:
        out.write(own)
    tmp.replace(path)



def build(dest: Path, neutron_size: int, nova_size: int, seed: int) -> Path:
    """The inflated bundle at ``dest`` (reused when it was built with the same arguments)."""
    wanted = {"neutron_size": neutron_size, "nova_size": nova_size, "seed": seed, "version": 1}
    stamp = dest / _STAMP
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(SEED_BUNDLE, dest, symlinks=True)
    rng = random.Random(seed)
    grow(dest / NEUTRON_LOG, neutron_size, Filler(rng, _NEUTRON_PIDS).neutron, _NEUTRON_PIDS, rng)
    grow(dest / NOVA_LOG, nova_size, Filler(rng, _NOVA_PIDS).nova, _NOVA_PIDS, rng)
    stamp.write_text(json.dumps(wanted))
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="where to write the bundle (replaced)")
    parser.add_argument("--neutron-size", default="1G", help="size of neutron-server.log (default 1G)")
    parser.add_argument("--nova-size", default="512M", help="size of nova-api.log (default 512M)")
    parser.add_argument("--seed", type=int, default=9, help="random seed (default 9)")
    args = parser.parse_args()
    out = build(args.dest, parse_size(args.neutron_size), parse_size(args.nova_size), args.seed)
    for rel in (NEUTRON_LOG, NOVA_LOG):
        print(f"{out / rel}: {(out / rel).stat().st_size / 2**20:.0f} MiB", file=sys.stderr)


if __name__ == "__main__":
    main()
