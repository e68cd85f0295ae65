"""Scenario ``mac-binding``: neutron 19.0.0 (xena), a release that keeps every OVN Southbound MAC_Binding
row in each worker, OOM-killed at its MemoryMax with a sane ``vni_ranges`` because of a large, real
MAC_Binding table.

What is real: neutron 19.0.0's own eventlet ``neutron-server`` (PyPI, Python 3.8: xena supports 3.6 and
3.8, and the image's Python is 3.11), its database schema, a network, subnet and router created through
its API, OVN's own Datapath_Binding/Port_Binding for that router, and MAC_Binding rows for the router's
port inserted through the Southbound's OVSDB ``transact`` (as ovn-controller writes them when the router
resolves IPs). What is compressed: the weeks in which a production router learns that many bindings
happen here in a minute of inserts.

The lab image keeps neutron 29.0.0 (uWSGI) for the other scenarios; this one adds, in the run's overlay
only, the host's pyenv Python 3.8 and a neutron 19.0.0 venv built on the host (``VENV``, pinned by
``files/constraints-neutron-19.0.0.txt``), and Debian bookworm-backports' sos 4.10 (sos 4.0 in
bookworm does not list OVN tables on Debian: it looks for the schema in /usr/share/openvswitch).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from pathlib import Path
from typing import Any

from . import cgroup, config, container, ovsdb, paths
from .shell import LabError, log, run, wait_for

RELEASE = "19.0.0"
PYTHON = Path(os.environ.get("OSTRIAGE_LAB_PY38", "/root/.pyenv/versions/3.8.18"))
VENV = Path(os.environ.get("OSTRIAGE_LAB_NEUTRON19_VENV", str(paths.CACHE / "venvs" / f"neutron-{RELEASE}")))
CONSTRAINTS = paths.FILES / f"constraints-neutron-{RELEASE}.txt"
ROWS = int(os.environ.get("OSTRIAGE_LAB_MAC_BINDINGS", "150000"))
MEMORY_MAX = os.environ.get("OSTRIAGE_LAB_MAC_BINDING_MEMORY_MAX", "1G")
API_WORKERS = 2
SB = "tcp:127.0.0.1:6642"
SOS_DIR = "/opt/sos-backports"
#: the sos command collect uses for this scenario (bookworm-backports' sos, unpacked beside sos 4.0)
SOS_COMMAND = (f"env PYTHONPATH={SOS_DIR}/usr/lib/python3/dist-packages python3 {SOS_DIR}/usr/bin/sos report")
EXEC_DROPIN = "etc/systemd/system/neutron-server.service.d/ostlab-neutron-19.conf"


def build_venv() -> None:
    """neutron 19.0.0 in a Python 3.8 venv on the host (cached); only PyPI is reached."""
    if (VENV / "bin/neutron-server").exists():
        return
    if not (PYTHON / "bin/python3.8").exists():
        raise LabError(f"no Python 3.8 at {PYTHON} (set OSTRIAGE_LAB_PY38): neutron {RELEASE} does not run on 3.11")
    log(f"neutron {RELEASE} venv at {VENV} (Python 3.8, pip; several minutes)")
    cg = cgroup.create("ostlab_build", 3 << 30)
    try:
        run(cgroup.enter_argv(cg, ["sh", "-euc", f"""
            rm -rf {VENV}; {PYTHON}/bin/python3.8 -m venv {VENV}
            {VENV}/bin/pip install -q 'pip<24.1'
            {VENV}/bin/pip install -q -c {CONSTRAINTS} neutron=={RELEASE} PyMySQL
        """]), logname="venv-19", timeout=3600)
    finally:
        cgroup.kill_all_and_remove(cg)


def _copy_in(src: Path) -> None:
    """Copy a host directory into the run's overlay at the same path (the venv's scripts name it)."""
    dest = paths.RUN_ROOT / str(src).lstrip("/")
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dest, symlinks=True)


def install_sos() -> None:
    if container.sh(f"test -x {SOS_DIR}/usr/bin/sos", check=False, logname=None).returncode == 0:
        return
    log("sos from bookworm-backports into /opt/sos-backports (apt-get download + dpkg -x)")
    container.sh(f"""set -e
        echo 'deb {os.environ.get("OSTRIAGE_LAB_MIRROR", "http://deb.debian.org/debian")} bookworm-backports main' \
            > /etc/apt/sources.list.d/ostlab-backports.list
        apt-get -q update >/dev/null
        apt-get -y -q install --no-install-recommends python3-magic python3-packaging python3-pexpect python3-yaml >/dev/null
        cd /var/tmp && rm -f sos_*.deb && apt-get -q download sos/bookworm-backports >/dev/null
        mkdir -p {SOS_DIR} && dpkg -x /var/tmp/sos_*.deb {SOS_DIR}
        {SOS_COMMAND} --help >/dev/null""", timeout=600, logname="sos-backports")


def neutron_conf() -> str:
    text = config.neutron_conf()
    text = text.replace("api_paste_config = /opt/neutron/etc/neutron/api-paste.ini",
                        f"api_paste_config = {VENV}/etc/neutron/api-paste.ini\napi_workers = {API_WORKERS}")
    return text.replace("@127.0.0.1/neutron\n", "@127.0.0.1/neutron19\n")


def _api(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    req = urllib.request.Request(f"{paths.API_URL}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        result: dict[str, Any] = json.loads(resp.read() or b"{}")
        return result


def _router_port() -> tuple[str, str]:
    """A neutron router with one interface, made through the API: (its OVN port name, its SB datapath)."""
    project = {"project_id": "ostlab", "tenant_id": "ostlab"}
    routers = _api("GET", "/v2.0/routers")["routers"]
    if not routers:
        net = _api("POST", "/v2.0/networks", {"network": {"name": "ostlab-private", **project}})["network"]
        subnet = _api("POST", "/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4,
                                                           "cidr": "10.0.0.0/8", **project}})["subnet"]
        router = _api("POST", "/v2.0/routers", {"router": {"name": "ostlab-router", **project}})["router"]
        _api("PUT", f"/v2.0/routers/{router['id']}/add_router_interface", {"subnet_id": subnet["id"]})
        routers = [router]
    router_id = routers[0]["id"]
    port = _api("GET", f"/v2.0/ports?device_id={router_id}")["ports"][0]
    found: dict[str, str] = {}

    def ready() -> bool:
        out = container.sh(f"ovn-sbctl --db={SB} --bare --columns=_uuid find Datapath_Binding "
                           f"external_ids:name=neutron-{router_id}", check=False, logname=None).stdout.split()
        if out:
            found["dp"] = out[0]
        return bool(out)
    wait_for("the router's Southbound datapath", ready, 60, 1)
    return f"lrp-{port['id']}", found["dp"]


def prepare() -> dict[str, Any]:
    """Before the scenario's start: neutron 19.0.0 in place, its router, and the MAC_Binding rows."""
    build_venv()
    _copy_in(PYTHON)
    _copy_in(VENV)
    install_sos()
    root = paths.RUN_ROOT
    (root / "etc/neutron/neutron.conf").write_text(neutron_conf())
    dropin = root / EXEC_DROPIN
    dropin.parent.mkdir(parents=True, exist_ok=True)
    dropin.write_text(f"""# ostriage lab: this scenario runs neutron {RELEASE}'s eventlet server instead of 29.0.0's uWSGI API.
[Unit]
Description=OpenStack Neutron Server ({RELEASE}, eventlet)
[Service]
ExecStart=
ExecStart=/usr/local/sbin/neutron-server-memcg {VENV}/bin/neutron-server --config-file /etc/neutron/neutron.conf --config-file /etc/neutron/plugins/ml2/ml2_conf.ini
""")
    container.sh(f"""mariadb -e "CREATE DATABASE IF NOT EXISTS neutron19; GRANT ALL ON neutron19.* TO 'neutron'@'127.0.0.1';" && \
        {VENV}/bin/neutron-db-manage --config-file /etc/neutron/neutron.conf \
        --config-file /etc/neutron/plugins/ml2/ml2_conf.ini upgrade heads""", timeout=900, logname="db-manage-19")
    # Set the table up with neutron unconstrained (the operator's memory limit comes after).
    limit = root / "etc/systemd/system/neutron-server.service.d/override.conf"
    held = limit.read_text() if limit.exists() else None
    if held is not None:
        limit.unlink()
    container.sh("systemctl daemon-reload && systemctl start neutron-server.service")
    try:
        wait_for("neutron 19.0.0's API", lambda: _status() == 200, 300, 2)
        logical_port, datapath = _router_port()
        started = time.monotonic()
        ovsdb.fill_mac_bindings(SB, ROWS, logical_port, datapath)
        log(f"{ROWS:,} MAC_Binding rows on {logical_port} in {time.monotonic() - started:.0f}s")
    finally:
        container.sh("systemctl stop neutron-server.service", check=False)
        if held is not None:
            limit.write_text(held)
    container.sh("systemctl reset-failed; journalctl --rotate >/dev/null 2>&1; journalctl --vacuum-time=1s "
                 ">/dev/null 2>&1; : > /var/log/neutron/neutron-server.log; true")
    return {"rows": ovsdb.count(SB, "MAC_Binding"), "logical_port": logical_port}


def _status() -> int | None:
    from .scenarios import http_status
    return http_status(f"{paths.API_URL}/v2.0/networks")
