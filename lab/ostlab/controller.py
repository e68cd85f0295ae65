"""Lay the controller's files into the live root and prepare its databases."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from . import config, container, engine, paths
from .shell import LabError, log, wait_for

UNITS = ("neutron-server.service", "neutron-openvswitch-agent.service", "nova-api.service")
OWN_UNITS = ("neutron-server.service", "neutron-openvswitch-agent.service")  # nova-api's is Debian's
DROPIN = "etc/systemd/system/neutron-server.service.d/override.conf"


def _write(rel: str, text: str, mode: int = 0o644) -> None:
    path = paths.RUN_ROOT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def lay_files() -> None:
    """Static files: units (where a package would put them), the wrapper, uWSGI ini, defaults."""
    for unit in OWN_UNITS:
        _write(f"lib/systemd/system/{unit}", (paths.FILES / unit).read_text())
    _write("etc/systemd/system/nova-api.service.d/ostlab-loopback.conf", config.NOVA_API_DROPIN)
    _write("etc/nova/nova.conf", config.nova_conf(), 0o644)
    _write("usr/local/sbin/neutron-server-memcg", (paths.FILES / "neutron-server-memcg").read_text(), 0o755)
    _write("etc/neutron/neutron-api-uwsgi.ini", (paths.FILES / "neutron-api-uwsgi.ini").read_text())
    _write("etc/neutron/neutron.conf", config.neutron_conf(), 0o640)
    _write("etc/neutron/plugins/ml2/openvswitch_agent.ini", config.openvswitch_agent_ini(), 0o640)
    _write("etc/default/ovn-central", config.OVN_CENTRAL_DEFAULTS)
    _write("etc/default/openvswitch-switch", config.OVS_DEFAULTS)
    _write("etc/mysql/mariadb.conf.d/99-ostlab.cnf", config.MARIADB_LAB_CNF)
    _write("etc/systemd/system/mariadb.socket.d/ostlab-loopback.conf", config.MARIADB_SOCKET_DROPIN)
    engine.lay_files()
    for d in ("var/log/neutron", "var/log/nova", "var/lib/neutron/lock"):
        (paths.RUN_ROOT / d).mkdir(parents=True, exist_ok=True)
    # a scenario's own drop-ins (mac-binding's other neutron release) never outlive it
    shutil.rmtree(paths.RUN_ROOT / Path(DROPIN).parent, ignore_errors=True)
    write_neutron(config.Neutron())


def write_neutron(n: config.Neutron) -> None:
    _write("etc/neutron/plugins/ml2/ml2_conf.ini", config.ml2_conf(n), 0o640)
    dropin = config.override_conf(n)
    path = paths.RUN_ROOT / DROPIN
    if dropin:
        _write(DROPIN, dropin)
    elif path.exists():
        shutil.rmtree(path.parent)


# The controller's own (packaged-style) neutron and Debian's nova-api: a Kolla or TripleO host has
# neither. neutron's files come back with the next `lay_files`; nova's packages do not (NOVA_PURGED).
PACKAGED_NEUTRON = ("etc/neutron", "var/log/neutron", "lib/systemd/system/neutron-server.service",
                    "lib/systemd/system/neutron-openvswitch-agent.service", "usr/local/sbin/neutron-server-memcg",
                    "etc/systemd/system/neutron-server.service.d", "etc/systemd/system/nova-api.service.d",
                    "etc/nova", "var/log/nova")
NOVA_PACKAGES = "nova-api nova-common python3-nova"
NOVA_PURGED = paths.RUN / "nova-purged"


def remove_packaged_openstack() -> None:
    """Before a containerised scenario: the only OpenStack service on the host is then the container's,
    as on a Kolla or TripleO controller (MariaDB, OVN and Open vSwitch stay packaged)."""
    if not NOVA_PURGED.exists():  # first: nova-common's postrm wants its /etc/nova to remove
        container.sh(f"DEBIAN_FRONTEND=noninteractive dpkg --purge {NOVA_PACKAGES}", timeout=300,
                     logname="nova-purge")
        NOVA_PURGED.touch()
    for rel in PACKAGED_NEUTRON:
        path = paths.RUN_ROOT / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def setup_services() -> float:
    """After boot: MariaDB user and schema, OVN up. Idempotent. Returns seconds spent."""
    start = time.monotonic()

    def active(unit: str) -> bool:
        return container.sh(f"systemctl is-active {unit}", check=False, logname=None).stdout.strip() == "active"

    for unit in ("mariadb", "ovn-central", "openvswitch-switch"):
        container.sh(f"systemctl start {unit}", check=False)
    wait_for("mariadb to be active", lambda: active("mariadb"), 120)
    container.sh(
        "mariadb -e \"CREATE DATABASE IF NOT EXISTS neutron; "
        f"CREATE USER IF NOT EXISTS 'neutron'@'127.0.0.1' IDENTIFIED BY '{config.DB_PASSWORD}'; "
        "GRANT ALL ON neutron.* TO 'neutron'@'127.0.0.1';\"")
    setup_nova()
    log("neutron-db-manage upgrade heads")
    container.sh("/opt/neutron/bin/neutron-db-manage --config-file /etc/neutron/neutron.conf "
                 "--config-file /etc/neutron/plugins/ml2/ml2_conf.ini upgrade heads", timeout=600,
                 logname="db-manage")
    wait_for("ovn-central (NB on 127.0.0.1:6641)", lambda: container.sh(
        "ovn-nbctl --db=tcp:127.0.0.1:6641 --timeout=5 show", check=False, logname=None).returncode == 0, 120, 2)
    # The OVS agent's default ovsdb_connection; with the manager already set it needs no privsep
    # helper (which would want CAP_NET_ADMIN, not granted: the container shares the host's network).
    container.sh("ovs-vsctl --timeout=10 set-manager ptcp:6640:127.0.0.1")
    if not active("openvswitch-switch"):
        raise LabError("openvswitch-switch did not start: " + container.sh(
            "journalctl -u ovs-vswitchd -u ovsdb-server -n 5 --no-pager", check=False).stdout[-300:])
    return time.monotonic() - start


def setup_nova() -> None:
    """nova's three databases and cell mappings, as the install guide has them. Once per lab."""
    if exists("var/lib/nova/.ostlab-db-ready"):
        return
    log("nova-manage: api_db sync, cell0/cell1, db sync")
    pw = config.DB_PASSWORD
    container.sh(
        "mariadb -e \"CREATE DATABASE IF NOT EXISTS nova_api; CREATE DATABASE IF NOT EXISTS nova; "
        f"CREATE DATABASE IF NOT EXISTS nova_cell0; CREATE USER IF NOT EXISTS 'nova'@'127.0.0.1' IDENTIFIED BY '{pw}'; "
        "GRANT ALL ON nova_api.* TO 'nova'@'127.0.0.1'; GRANT ALL ON nova.* TO 'nova'@'127.0.0.1'; "
        "GRANT ALL ON nova_cell0.* TO 'nova'@'127.0.0.1';\"")
    manage = "su -s /bin/sh nova -c"
    container.sh(f"{manage} 'nova-manage api_db sync' && "
                 f"{manage} 'nova-manage cell_v2 map_cell0 --database_connection "
                 f"mysql+pymysql://nova:{pw}@127.0.0.1/nova_cell0' && "
                 f"{{ {manage} 'nova-manage cell_v2 create_cell --name cell1' || true; }} && "
                 f"{manage} 'nova-manage db sync' && touch /var/lib/nova/.ostlab-db-ready",
                 timeout=900, logname="nova-manage")


def reset_logs() -> None:
    """Start a scenario from empty logs and journal so a bundle holds one story."""
    container.sh("systemctl stop " + " ".join(UNITS) + "; systemctl reset-failed; "
                 "for f in /var/log/neutron/*.log /var/log/nova/*.log; do [ -f \"$f\" ] && : > \"$f\"; done; "
                 "journalctl --rotate >/dev/null 2>&1; journalctl --vacuum-time=1s >/dev/null 2>&1; true")


def exists(rel: str) -> bool:
    return (paths.RUN_ROOT / rel).exists()


def read(rel: str) -> str:
    return Path(paths.RUN_ROOT / rel).read_text(errors="replace")
