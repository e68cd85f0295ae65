"""The services of an OpenStack controller that the incident class involves, as data.

Names differ by distribution and deployment: Ubuntu/Debian packages (``neutron-server.service``,
``/var/log/neutron/neutron-server.log``), RDO/RHEL (``neutron-server.service``, ``/var/log/neutron/server.log``),
TripleO containers (``/var/log/containers/neutron/server.log``), Kolla (``/var/log/kolla/neutron/...``),
and the uWSGI API of newer neutron (``neutron-api.service``). One table keeps them together.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SERVICES", "Service", "service_by_name", "service_for_comm", "service_for_log", "service_for_unit"]


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    units: tuple[str, ...]
    logs: tuple[str, ...] = ()
    comms: tuple[str, ...] = ()
    api_port: int | None = None
    default_configs: tuple[str, ...] = ()
    role: str = ""


SERVICES: tuple[Service, ...] = (
    Service(
        "neutron-server",
        units=("neutron-server.service", "neutron-api.service", "devstack@q-svc.service",
               "devstack@neutron-api.service"),
        logs=("/var/log/neutron/neutron-server.log", "/var/log/neutron/server.log",
              "/var/log/neutron/neutron-api.log", "/var/log/containers/neutron/server.log",
              "/var/log/kolla/neutron/neutron-server.log"),
        comms=("neutron-server", "neutron-api"),
        api_port=9696,
        # Ubuntu's unit passes these two; RDO links plugin.ini to ml2_conf.ini
        default_configs=("/etc/neutron/neutron.conf", "/etc/neutron/plugins/ml2/ml2_conf.ini",
                         "/etc/neutron/plugin.ini"),
        role="networking API (ML2)",
    ),
    Service(
        "neutron-rpc-server",
        units=("neutron-rpc-server.service", "devstack@neutron-rpc-server.service"),
        logs=("/var/log/neutron/neutron-rpc-server.log",),
        comms=("neutron-rpc-ser",),
        default_configs=("/etc/neutron/neutron.conf", "/etc/neutron/plugins/ml2/ml2_conf.ini"),
        role="networking RPC server",
    ),
    Service(
        "neutron-openvswitch-agent",
        units=("neutron-openvswitch-agent.service", "devstack@q-agt.service"),
        logs=("/var/log/neutron/neutron-openvswitch-agent.log", "/var/log/neutron/openvswitch-agent.log",
              "/var/log/containers/neutron/openvswitch-agent.log",
              "/var/log/kolla/neutron/neutron-openvswitch-agent.log"),
        comms=("neutron-openvsw",),
        default_configs=("/etc/neutron/neutron.conf", "/etc/neutron/plugins/ml2/openvswitch_agent.ini"),
        role="Open vSwitch L2 agent",
    ),
    Service(
        "nova-api",
        units=("nova-api.service", "openstack-nova-api.service", "devstack@n-api.service"),
        logs=("/var/log/nova/nova-api.log", "/var/log/nova/nova-api-os-compute.log",
              "/var/log/containers/nova/nova-api.log", "/var/log/kolla/nova/nova-api.log",
              "/var/log/apache2/nova-api-os-compute_error.log", "/var/log/httpd/nova_api_wsgi_error.log"),
        comms=("nova-api",),
        api_port=8774,
        default_configs=("/etc/nova/nova.conf",),
        role="compute API",
    ),
    Service("mysql", units=("mariadb.service", "mysql.service", "mysqld.service"),
            comms=("mysqld", "mariadbd"), role="database"),
    Service("rabbitmq", units=("rabbitmq-server.service",), comms=("beam.smp",), role="message queue"),
    Service("ovn-central", units=("ovn-central.service", "ovn-northd.service", "ovn-ovsdb-server-nb.service",
                                  "ovn-ovsdb-server-sb.service"),
            comms=("ovn-northd", "ovsdb-server"), role="OVN databases"),
    Service("ovn-controller", units=("ovn-controller.service", "ovn-host.service"), comms=("ovn-controller",),
            role="OVN chassis controller"),
    Service("openvswitch", units=("openvswitch-switch.service", "ovs-vswitchd.service", "ovsdb-server.service",
                                  "openvswitch.service"),
            comms=("ovs-vswitchd",), role="Open vSwitch"),
)


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
