"""neutron-server in a podman container, laid out the way Kolla-Ansible and TripleO deploy it.

Both wrap the container in a systemd unit and leave podman's own restart policy off ("handled by
systemd" in kolla-ansible's podman worker and in tripleo-ansible's container manager): Kolla's
`kolla-<name>-container.service` runs `podman start -a <name>` with `Restart=always` (Kolla maps
`unless-stopped` to `always`), TripleO's `tripleo_<name>.service` runs `podman start <name>`
(Type=forking, conmon's pidfile) with `Restart=always`. Both start Kolla's `kolla_start`, which
copies the configuration from a read-only bind mount into /etc/neutron (COPY_ALWAYS) and execs the
command of its config.json. The operator's `--memory 2g` (Kolla: `neutron_server_dimensions:
{mem_limit: 2g}`) is the container's memory cgroup limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from . import config, container, engine, kolla_image, paths

MEMORY = "2g"


@dataclass(frozen=True)
class Deployment:
    style: str                          # "kolla" | "tripleo"
    container: str                      # the engine's container name
    unit: str                           # the systemd unit wrapping it
    files: tuple[tuple[str, str], ...]  # (path under the controller's /, text)
    create: str                         # `podman create` arguments, image last
    dirs: tuple[str, ...] = ()          # host directories bind-mounted into the container
    log: str = ""                       # neutron's own log, as the host sees it
    uwsgi_log: str = ""                 # uWSGI's log, as the host sees it ("" when in the journal)


def _neutron_conf(log_file: str, state_path: str, header: str) -> str:
    # Only what differs from the defaults, as the deployment tools template it; no keystone and
    # no RabbitMQ in the lab (auth_strategy = noauth, the fake transport).
    return f"""{header}[DEFAULT]
debug = False
log_file = {log_file}
use_stderr = false
bind_host = 127.0.0.1
bind_port = 9696
api_paste_config = /etc/neutron/api-paste.ini
api_workers = 2
rpc_workers = 0
rpc_state_report_workers = 0
state_path = {state_path}
core_plugin = ml2
service_plugins = ovn-router
transport_url = fake:/
auth_strategy = noauth

[database]
connection = mysql+pymysql://neutron:{config.DB_PASSWORD}@127.0.0.1:3306/neutron
max_retries = -1

[oslo_concurrency]
lock_path = /var/lib/neutron/tmp
"""


def _ml2_conf(vni_ranges: str, header: str) -> str:
    return f"""{header}[ml2]
type_drivers = flat,vlan,vxlan,geneve
tenant_network_types = geneve
mechanism_drivers = ovn
extension_drivers = port_security

[ml2_type_vlan]
network_vlan_ranges =

[ml2_type_flat]
flat_networks = physnet1

[ml2_type_vxlan]
vni_ranges = 1:1000

[ml2_type_geneve]
vni_ranges = {vni_ranges}
max_header_size = 38

[ovn]
ovn_nb_connection = {config.OVN_NB}
ovn_sb_connection = {config.OVN_SB}
ovn_metadata_enabled = true
enable_distributed_floating_ip = False
ovn_emit_need_to_frag = true
"""


# kolla-ansible's service-uwsgi-config template, rendered for neutron-server on this host. Left
# out: `plugins-dir`/`plugins = python3` (the image's uWSGI is pyuwsgi's wheel, the python
# plugin built in) and nothing else.
KOLLA_UWSGI = """[uwsgi]
add-header = Connection: close
buffer-size = 65535
die-on-term = true
enable-threads = true
exit-on-reload = false
hook-master-start = unix_signal:15 gracefully_kill_them_all
http = 127.0.0.1:9696
http-auto-chunked = true
http-chunked-input = true
http-raw-body = true
lazy-apps = true
logto2 = /var/log/kolla/neutron/neutron-server-uwsgi.log
logfile-chmod = 644
master = true
module = neutron.wsgi.api:application
processes = 2
socket-timeout = 30
thunder-lock = true
uid = neutron
worker-reload-mercy = 80
static-map = /static=/var/lib/kolla/venv/lib/python3/site-packages/static
env = OS_NEUTRON_CONFIG_FILES=neutron.conf;plugins/ml2/ml2_conf.ini
"""


def _kolla_config_json() -> str:
    src = "/var/lib/kolla/config_files"
    files = [("neutron.conf", "/etc/neutron/neutron.conf"),
             ("neutron-server-uwsgi.ini", "/etc/neutron/neutron-server-uwsgi.ini"),
             ("ml2_conf.ini", "/etc/neutron/plugins/ml2/ml2_conf.ini")]
    return json.dumps({
        "command": "uwsgi /etc/neutron/neutron-server-uwsgi.ini",
        "config_files": [{"source": f"{src}/{name}", "dest": dest, "owner": "neutron", "perm": "0600"}
                         for name, dest in files],
        "directories": [{"path": "/var/log/kolla", "owner": "neutron:kolla", "perm": "2775"},
                        {"path": "/var/log/kolla/neutron", "owner": "neutron:kolla", "perm": "2775"}],
        "permissions": [{"path": "/var/log/kolla/neutron/*.log", "owner": "neutron:kolla", "perm": "0664"}],
    }, indent=4) + "\n"


# kolla-ansible's kolla_systemd_worker template with its defaults: client_timeout 120, 10 retries
# (RestartSec = 120 // 10 - 1), graceful_timeout 60, restart_policy unless-stopped -> always.
KOLLA_UNIT = """# kolla-neutron_server-container.service
# autogenerated by Kolla-Ansible

[Unit]
Description=podman neutron_server
After=network-online.target
Wants=network-online.target
PartOf=kolla.target
StartLimitInterval=120
StartLimitBurst=10

[Service]
ExecStart=/usr/bin/podman start -a neutron_server
ExecStop=/usr/bin/podman stop neutron_server -t 60
Restart=always
RestartSec=11
SuccessExitStatus=143

[Install]
WantedBy=multi-user.target
"""

KOLLA_LOGS = "/var/lib/containers/storage/volumes/kolla_logs/_data"


def kolla(vni_ranges: str) -> Deployment:
    header = "# {}\n"
    etc = "etc/kolla/neutron-server"
    return Deployment(
        style="kolla", container="neutron_server", unit="kolla-neutron_server-container.service",
        files=((f"{etc}/config.json", _kolla_config_json()),
               (f"{etc}/neutron.conf", _neutron_conf("/var/log/kolla/neutron/neutron-server.log",
                                                     "/var/lib/neutron/kolla", header.format("neutron.conf"))),
               (f"{etc}/ml2_conf.ini", _ml2_conf(vni_ranges, header.format("ml2_conf.ini"))),
               (f"{etc}/neutron-server-uwsgi.ini", KOLLA_UWSGI),
               ("etc/systemd/system/kolla-neutron_server-container.service", KOLLA_UNIT)),
        # What kolla_container (podman worker) asks podman for: host network, the config dir
        # read-only at /var/lib/kolla/config_files, the kolla_logs volume, /dev/shm, the
        # injected KOLLA_SERVICE_NAME, AUDIT_WRITE for unprivileged containers, and the operator's
        # mem_limit (the podman worker drops the default dimensions' RLIMIT_NOFILE/NPROC).
        create=("--name neutron_server --network host --memory " + MEMORY + " --cap-add AUDIT_WRITE "
                "--env KOLLA_CONFIG_STRATEGY=COPY_ALWAYS --env KOLLA_SERVICE_NAME=neutron-server "
                "--mount type=bind,source=/etc/kolla/neutron-server/,destination=/var/lib/kolla/config_files/,ro "
                "--volume kolla_logs:/var/log/kolla/ --volume /dev/shm:/dev/shm "
                f"{kolla_image.NAME}"),
        log=f"{KOLLA_LOGS}/neutron/neutron-server.log",
        uwsgi_log=f"{KOLLA_LOGS}/neutron/neutron-server-uwsgi.log",
    )


PUPPET = "var/lib/config-data/puppet-generated/neutron"

# TripleO's neutron_api ran neutron's eventlet server: one parent that loads the plugin and syncs the
# segment allocations before forking, so an OOM kill at start-up ends the container (exit 137) and
# systemd restarts it. neutron 29 has no eventlet server any more; the same process model under
# uWSGI is one process without a master, the application loaded before serving.
TRIPLEO_UWSGI = """[uwsgi]
http-socket = 127.0.0.1:9696
module = neutron.wsgi.api:application
master = false
processes = 1
threads = 1
need-app = true
enable-threads = true
die-on-term = true
buffer-size = 65535
add-header = Connection: close
env = OS_NEUTRON_CONFIG_FILES=neutron.conf;plugins/ml2/ml2_conf.ini
"""

TRIPLEO_CONFIG_JSON = json.dumps({
    "command": "/var/lib/kolla/venv/bin/uwsgi --ini /etc/neutron/neutron-api-uwsgi.ini",
    "config_files": [{"source": "/var/lib/kolla/config_files/src/*", "dest": "/", "merge": True,
                      "preserve_properties": True}],
    "permissions": [{"path": "/var/log/neutron", "owner": "neutron:neutron", "recurse": True}],
}, indent=4) + "\n"

# tripleo-ansible's tripleo_container_manage systemd-service template for neutron_api.
TRIPLEO_UNIT = """[Unit]
Description=neutron_api container
After=tripleo-container-shutdown.service
[Service]
Restart=always
ExecStart=/usr/bin/podman start neutron_api
ExecReload=/usr/bin/podman kill --signal HUP neutron_api
ExecStop=/usr/bin/podman stop -t 42 neutron_api
ExecStopPost=/usr/bin/podman stop -t 42 neutron_api
SuccessExitStatus=137 142 143
TimeoutStopSec=84
KillMode=control-group
Type=forking
PIDFile=/run/neutron_api.pid
[Install]
WantedBy=multi-user.target
"""


def tripleo(vni_ranges: str) -> Deployment:
    return Deployment(
        style="tripleo", container="neutron_api", unit="tripleo_neutron_api.service",
        files=((f"{PUPPET}/etc/neutron/neutron.conf", _neutron_conf("/var/log/neutron/server.log",
                                                                    "/var/lib/neutron", "")),
               (f"{PUPPET}/etc/neutron/plugins/ml2/ml2_conf.ini", _ml2_conf(vni_ranges, "")),
               (f"{PUPPET}/etc/neutron/neutron-api-uwsgi.ini", TRIPLEO_UWSGI),
               ("var/lib/kolla/config_files/neutron_api.json", TRIPLEO_CONFIG_JSON),
               ("etc/systemd/system/tripleo_neutron_api.service", TRIPLEO_UNIT)),
        # tripleo-ansible's container manager: labels, conmon pidfile, k8s-file log under
        # /var/log/containers/stdouts, host network, the kolla config json and the puppet-generated
        # tree read-only, neutron's logs in /var/log/containers/neutron; restart off (systemd's).
        create=("--name neutron_api --conmon-pidfile /run/neutron_api.pid --network host --memory " + MEMORY + " "
                "--label config_id=tripleo_step4 --label container_name=neutron_api "
                "--label managed_by=tripleo_ansible "
                "--log-driver k8s-file --log-opt path=/var/log/containers/stdouts/neutron_api.log "
                "--env KOLLA_CONFIG_STRATEGY=COPY_ALWAYS "
                "--volume /etc/hosts:/etc/hosts:ro --volume /etc/localtime:/etc/localtime:ro "
                "--volume /var/lib/kolla/config_files/neutron_api.json:/var/lib/kolla/config_files/config.json:ro "
                f"--volume /{PUPPET}:/var/lib/kolla/config_files/src:ro "
                "--volume /var/log/containers/neutron:/var/log/neutron:z "
                f"{kolla_image.NAME}"),
        dirs=("var/log/containers/neutron", "var/log/containers/stdouts"),
        log="/var/log/containers/neutron/server.log",
    )


STYLES = {"kolla": kolla, "tripleo": tripleo}


def _write(rel: str, text: str) -> None:
    path = paths.RUN_ROOT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def stop(d: Deployment) -> None:
    """Stop the unit and remove the container (and, for Kolla, empty the log volume)."""
    container.sh(f"systemctl stop {d.unit}; systemctl reset-failed {d.unit}", check=False)
    engine.remove(d.container)
    for log in (d.log, d.uwsgi_log):
        if log:
            container.sh(f"[ -f {log} ] && : > {log}; true", check=False)


def deploy(d: Deployment) -> None:
    """Lay the deployment's files, create the container and start its unit."""
    engine.ensure_image()
    stop(d)
    for rel, text in d.files:
        _write(rel, text)
    for rel in d.dirs:
        (paths.RUN_ROOT / rel).mkdir(parents=True, exist_ok=True)
    if d.style == "kolla":
        # kolla-ansible's logs role: the kolla_logs volume, and /var/log/kolla linked to its data.
        container.sh("podman volume exists kolla_logs || podman volume create kolla_logs; "
                     f"ln -sfn {KOLLA_LOGS} /var/log/kolla", logname="podman")
    engine.podman(f"create {d.create}")
    container.sh(f"systemctl daemon-reload && systemctl start {d.unit}")


def remove_all() -> None:
    """Every lab container gone (used before `down` powers the controller off)."""
    for d in (kolla("1:1000"), tripleo("1:1000")):
        container.sh(f"systemctl stop {d.unit}", check=False)
        engine.remove(d.container)
