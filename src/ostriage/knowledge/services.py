"""The services of an OpenStack controller that the incident class involves, as data.

Names differ by distribution and deployment: Ubuntu/Debian packages (``neutron-server.service``,
``/var/log/neutron/neutron-server.log``), RDO/RHEL (``neutron-server.service``, ``/var/log/neutron/server.log``),
TripleO containers (``/var/log/containers/neutron/server.log``), Kolla (``/var/log/kolla/neutron/...``),
and the uWSGI API of newer neutron (``neutron-api.service``). One table keeps them together.

Containerised deployments name the same services after their containers: Kolla-Ansible
(``kolla-ansible/ansible/roles/<service>/defaults/main.yml``: ``neutron_server``, ``nova_api``, ``mariadb``; since
2023.2 each started by a ``kolla-<name>-container.service`` unit), TripleO (``tripleo-heat-templates``
``deployment/*``: ``neutron_api``, ``nova_api``, ``mysql``/``galera-bundle-podman-N``, each wrapped by a
``tripleo_<name>.service`` unit), Canonical OpenStack (Sunbeam: pod ``neutron-0``, container ``neutron-server``)
and OpenStack-Helm (container ``neutron-server``, ``nova-osapi``); OpenStack-Ansible runs packaged units inside
LXC containers named ``<host>_neutron_server_container-<id>``. ``containers`` lists those names; the wrapping
units are among ``units``, so a wrapper's restarts are the service's.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SERVICES", "UNIT_DESCRIPTIONS", "Service", "service_by_name", "service_for_comm", "service_for_container",
           "service_for_log", "service_for_unit"]


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    units: tuple[str, ...]
    logs: tuple[str, ...] = ()
    comms: tuple[str, ...] = ()
    api_port: int | None = None
    default_configs: tuple[str, ...] = ()
    role: str = ""
    #: container names (Kolla, TripleO, Kubernetes pod containers) and OpenStack-Ansible LXC name parts
    containers: tuple[str, ...] = ()


def _wrapped(*names: str) -> tuple[str, ...]:
    """The systemd units Kolla (2023.2+) and TripleO start containers with."""
    return tuple(u for n in names for u in (f"kolla-{n}-container.service", f"tripleo_{n}.service"))


SERVICES: tuple[Service, ...] = (
    Service(
        "neutron-server",
        units=("neutron-server.service", "neutron-api.service", "devstack@q-svc.service",
               "devstack@neutron-api.service", *_wrapped("neutron_server", "neutron_api")),
        logs=("/var/log/neutron/neutron-server.log", "/var/log/neutron/server.log",
              "/var/log/neutron/neutron-api.log", "/var/log/containers/neutron/server.log",
              "/var/log/kolla/neutron/neutron-server.log"),
        comms=("neutron-server", "neutron-api"),
        api_port=9696,
        # Ubuntu's unit passes these two; RDO links plugin.ini to ml2_conf.ini
        default_configs=("/etc/neutron/neutron.conf", "/etc/neutron/plugins/ml2/ml2_conf.ini",
                         "/etc/neutron/plugin.ini"),
        role="networking API (ML2)",
        containers=("neutron_server", "neutron_api", "neutron-server", "neutron_server_container"),
    ),
    Service(
        "neutron-rpc-server",
        units=("neutron-rpc-server.service", "devstack@neutron-rpc-server.service",
               *_wrapped("neutron_rpc_server")),
        logs=("/var/log/neutron/neutron-rpc-server.log",),
        comms=("neutron-rpc-ser",),
        default_configs=("/etc/neutron/neutron.conf", "/etc/neutron/plugins/ml2/ml2_conf.ini"),
        role="networking RPC server",
        containers=("neutron_rpc_server", "neutron-rpc-server"),
    ),
    Service(
        "neutron-openvswitch-agent",
        units=("neutron-openvswitch-agent.service", "devstack@q-agt.service",
               *_wrapped("neutron_openvswitch_agent", "neutron_ovs_agent")),
        logs=("/var/log/neutron/neutron-openvswitch-agent.log", "/var/log/neutron/openvswitch-agent.log",
              "/var/log/containers/neutron/openvswitch-agent.log",
              "/var/log/kolla/neutron/neutron-openvswitch-agent.log"),
        comms=("neutron-openvsw",),
        default_configs=("/etc/neutron/neutron.conf", "/etc/neutron/plugins/ml2/openvswitch_agent.ini"),
        role="Open vSwitch L2 agent",
        containers=("neutron_openvswitch_agent", "neutron_ovs_agent", "neutron-ovs-agent"),
    ),
    Service(
        "nova-api",
        units=("nova-api.service", "openstack-nova-api.service", "devstack@n-api.service", *_wrapped("nova_api")),
        logs=("/var/log/nova/nova-api.log", "/var/log/nova/nova-api-os-compute.log",
              "/var/log/containers/nova/nova-api.log", "/var/log/kolla/nova/nova-api.log",
              "/var/log/apache2/nova-api-os-compute_error.log", "/var/log/httpd/nova_api_wsgi_error.log"),
        comms=("nova-api",),
        api_port=8774,
        default_configs=("/etc/nova/nova.conf",),
        role="compute API",
        containers=("nova_api", "nova-api", "nova-osapi", "nova_api_container"),
    ),
    Service("mysql", units=("mariadb.service", "mysql.service", "mysqld.service", *_wrapped("mariadb", "mysql")),
            comms=("mysqld", "mariadbd"), role="database",
            containers=("mariadb", "mysql", "galera-bundle-podman-0", "galera_container")),
    Service("rabbitmq", units=("rabbitmq-server.service", *_wrapped("rabbitmq")), comms=("beam.smp",),
            role="message queue", containers=("rabbitmq", "rabbitmq-bundle-podman-0", "rabbit_mq_container")),
    Service("ovn-central", units=("ovn-central.service", "ovn-northd.service", "ovn-ovsdb-server-nb.service",
                                  "ovn-ovsdb-server-sb.service",
                                  *_wrapped("ovn_northd", "ovn_nb_db", "ovn_sb_db", "ovn_dbs")),
            comms=("ovn-northd", "ovsdb-server"), role="OVN databases",
            containers=("ovn_northd", "ovn_nb_db", "ovn_sb_db", "ovn_dbs", "ovn-dbs-bundle-podman-0", "ovn-northd",
                        "ovn-nb-db-server", "ovn-sb-db-server")),
    Service("ovn-controller", units=("ovn-controller.service", "ovn-host.service", *_wrapped("ovn_controller")),
            comms=("ovn-controller",), role="OVN chassis controller", containers=("ovn_controller",)),
    Service("openvswitch", units=("openvswitch-switch.service", "ovs-vswitchd.service", "ovsdb-server.service",
                                  "openvswitch.service", *_wrapped("openvswitch_vswitchd", "openvswitch_db")),
            comms=("ovs-vswitchd",), role="Open vSwitch", containers=("openvswitch_vswitchd", "openvswitch_db")),
)


#: unit descriptions as distributions ship them, for journal lines that name a unit only by its description
#: (``Starting Open vSwitch Forwarding Unit...`` before systemd 250) when neither ``systemctl show`` nor the
#: unit files are at hand. Checked against Ubuntu 20.04's units (hotsos's ``openstack`` data root, the ussuri
#: sosreport) and openvswitch's ``rhel/usr_lib_systemd_system_*.service``.
UNIT_DESCRIPTIONS = {
    "Open vSwitch Forwarding Unit": "ovs-vswitchd.service",
    "Open vSwitch Database Unit": "ovsdb-server.service",
    "Openstack Neutron Open vSwitch Plugin Agent": "neutron-openvswitch-agent.service",
    "OpenStack Neutron Server": "neutron-server.service",
    "OpenStack Compute API": "nova-api.service",
}


def service_by_name(name: str) -> Service:
    return next(s for s in SERVICES if s.name == name)


def service_for_unit(unit: str) -> Service | None:
    """
    >>> service_for_unit("neutron-server.service").name
    'neutron-server'
    """
    return next((s for s in SERVICES if unit in s.units), None)


def service_for_comm(comm: str) -> Service | None:
    """Map a kernel ``comm`` (at most 15 characters) to a service; ``python3`` maps to nothing.

    >>> service_for_comm("mariadbd").name, service_for_comm("python3")
    ('mysql', None)
    """
    return next((s for s in SERVICES if any(comm == c[:15] for c in s.comms)), None)


def service_for_log(path: str) -> Service | None:
    """
    >>> service_for_log("/var/log/neutron/server.log").name
    'neutron-server'
    """
    return next((s for s in SERVICES if path in s.logs), None)


def service_for_container(name: str) -> Service | None:
    """The service a container runs, by its name (Kolla, TripleO, a pod's container; an OpenStack-Ansible
    LXC container's name holds ``_<component>_container-``).

    >>> service_for_container("neutron_api").name, service_for_container("infra1_nova_api_container-3f2a1b0c").name
    ('neutron-server', 'nova-api')
    >>> service_for_container("horizon") is None
    True
    """
    for s in SERVICES:
        if name in s.containers:
            return s
    for s in SERVICES:
        if any(c.endswith("_container") and f"_{c}-" in name for c in s.containers):
            return s
    return None
