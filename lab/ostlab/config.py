"""The controller's configuration files, as an operator would have them under /etc.

Secrets are lab dummies. Everything listens on 127.0.0.1 because the container shares the host's
network namespace.
"""

from __future__ import annotations

from dataclasses import dataclass

DB_PASSWORD = "ostlab-dummy-db-password"
OVN_NB = "tcp:127.0.0.1:6641"
OVN_SB = "tcp:127.0.0.1:6642"


@dataclass(frozen=True)
class Neutron:
    """The knobs the scenarios turn."""

    mechanism_drivers: str = "ovn"
    vni_ranges: str = "1:65535"
    max_header_size: int = 38
    memory_max: str | None = None       # drop-in MemoryMax=
    oom_score_adjust: int | None = None  # drop-in OOMScoreAdjust=


def neutron_conf() -> str:
    return f"""[DEFAULT]
core_plugin = ml2
service_plugins = ovn-router
auth_strategy = noauth
transport_url = fake:/
rpc_workers = 0
bind_host = 127.0.0.1
bind_port = 9696
api_paste_config = /opt/neutron/etc/neutron/api-paste.ini
log_file = /var/log/neutron/neutron-server.log
state_path = /var/lib/neutron

[agent]
root_helper =

[database]
connection = mysql+pymysql://neutron:{DB_PASSWORD}@127.0.0.1/neutron

[oslo_concurrency]
lock_path = /var/lib/neutron/lock
"""


def ml2_conf(n: Neutron) -> str:
    return f"""[ml2]
type_drivers = flat,geneve
tenant_network_types = geneve
mechanism_drivers = {n.mechanism_drivers}
extension_drivers = port_security

[ml2_type_flat]
flat_networks = phynet2

[ml2_type_geneve]
vni_ranges = {n.vni_ranges}
max_header_size = {n.max_header_size}

[securitygroup]
enable_security_group = true

[ovn]
ovn_nb_connection = {OVN_NB}
ovn_sb_connection = {OVN_SB}
ovn_l3_scheduler = leastloaded
ovn_metadata_enabled = false
"""


def openvswitch_agent_ini() -> str:
    return """[ovs]
bridge_mappings = phynet2:br-ex
integration_bridge = br-int
of_listen_address = 127.0.0.1

[agent]
tunnel_types =

[securitygroup]
firewall_driver = noop
"""


def nova_conf() -> str:
    # noauth2: requests carry "X-Auth-Token: user:project"; nova then reaches neutron with the
    # keystoneauth1 "none" plugin at endpoint_override, the same session/adapter path as with keystone.
    return f"""[DEFAULT]
transport_url = fake://
my_ip = 127.0.0.1
# oslo.log to the file itself: on stderr (uWSGI's logto) it would use its colour handler.
use_stderr = false
log_file = /var/log/nova/nova-api.log
state_path = /var/lib/nova

[api]
auth_strategy = noauth2

[api_database]
connection = mysql+pymysql://nova:{DB_PASSWORD}@127.0.0.1/nova_api

[database]
connection = mysql+pymysql://nova:{DB_PASSWORD}@127.0.0.1/nova

[neutron]
auth_type = none
endpoint_override = http://127.0.0.1:9696

[oslo_concurrency]
lock_path = /var/lib/nova/tmp
"""


# Debian's nova-api init script binds uWSGI to every address unless told otherwise (and starts
# nproc/2 processes): an operator's drop-in pinning it to loopback.
NOVA_API_DROPIN = """[Service]
ExecStart=
ExecStart=/usr/bin/uwsgi_python3 --http-socket 127.0.0.1:8774 --ini /etc/nova/nova-api-uwsgi.ini --processes 2
"""


def override_conf(n: Neutron) -> str | None:
    """What `systemctl edit neutron-server` leaves in override.conf, or None for no drop-in."""
    lines = [f"MemoryMax={n.memory_max}"] if n.memory_max else []
    if n.oom_score_adjust is not None:
        lines.append(f"OOMScoreAdjust={n.oom_score_adjust}")
    return "[Service]\n" + "\n".join(lines) + "\n" if lines else None


# Debian's ovn-ctl defaults to 0.0.0.0 for the NB/SB TCP remotes: pin them to loopback.
OVN_CENTRAL_DEFAULTS = (
    "# Set by the ostriage lab: NB/SB over TCP on loopback only.\n"
    'OVN_CTL_OPTS="--db-nb-addr=127.0.0.1 --db-sb-addr=127.0.0.1 '
    '--db-nb-create-insecure-remote=yes --db-sb-create-insecure-remote=yes"\n'
)

# Debian's mariadb.socket listens on every address (ListenStream=3306) and hands the socket to
# mariadbd, overriding bind-address: narrow it to loopback.
MARIADB_SOCKET_DROPIN = """[Socket]
ListenStream=
ListenStream=@mariadb
ListenStream=/run/mysqld/mysqld.sock
ListenStream=127.0.0.1:3306
"""

# No openvswitch kernel module here, and no CAP_NET_ADMIN for the container (it shares the host's
# network, so it must not create interfaces there): ovs-vswitchd runs with OVS's own dummy
# datapath, which makes bridges, ports and datapath IDs without touching the kernel.
OVS_DEFAULTS = """# Set by the ostriage lab.
OVS_CTL_OPTS=--ovs-vswitchd-options=--enable-dummy=override
"""

MARIADB_LAB_CNF = """# Set by the ostriage lab.
[mysqld]
bind-address = 127.0.0.1
skip-name-resolve
"""
