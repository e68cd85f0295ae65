"""Log messages that matter to the incident class, as data: the exact strings the services print.

Each pattern was taken from the format string in the service's source (cited per entry) and is
matched against the *message* part of an oslo.log record (after timestamp, pid, level, logger and
request context), so it holds whatever the log prefix looks like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SIGNATURES", "Signature", "match_signature"]


@dataclass(frozen=True, slots=True)
class Signature:
    id: str
    pattern: re.Pattern[str]
    origin: str
    #: a literal every match contains: a substring test rejects most lines before any regex runs
    needle: str


def _sig(id_: str, regex: str, origin: str, needle: str) -> Signature:
    return Signature(id_, re.compile(regex), origin, needle)


SIGNATURES: tuple[Signature, ...] = (
    # neutron/plugins/ml2/drivers/type_tunnel.py _parse_tunnel_ranges: LOG.info("%(type)s ID ranges: %(range)s")
    _sig("neutron.tunnel-ranges", r"^(?P<type>\w+) ID ranges: (?P<ranges>\[.*\])\s*$",
         "neutron type_tunnel.py", " ID ranges: "),
    # neutron_lib/exceptions.py NetworkTunnelRangeError, raised by type_tunnel.py _parse_tunnel_ranges at start:
    # "Invalid network tunnel range: '%(tunnel_range)s' - %(error)s." (the traceback's last line)
    _sig("neutron.tunnel-range-invalid", r"Invalid network tunnel range: '(?P<range>[^']*)' - (?P<error>.*?)\.?\s*$",
         "neutron-lib exceptions.py", "Invalid network tunnel range: "),
    # neutron/plugins/ml2/drivers/type_vlan.py _parse_network_vlan_ranges
    _sig("neutron.vlan-ranges", r"^Network VLAN ranges: (?P<ranges>\{.*\})\s*$",
         "neutron type_vlan.py", "Network VLAN ranges: "),
    # neutron/plugins/ml2/managers.py TypeManager.initialize: LOG.info("Initializing driver for type '%s'")
    _sig("neutron.type-driver-init", r"^Initializing driver for type '(?P<type>\w+)'",
         "neutron ml2 managers.py", "Initializing driver for type"),
    # neutron/plugins/ml2/plugin.py Ml2Plugin.__init__
    _sig("neutron.ml2-init-complete", r"^Modular L2 Plugin initialization complete",
         "neutron ml2 plugin.py", "Modular L2 Plugin initialization complete"),
    # neutron/service.py (eventlet server, <= 2025.1)
    _sig("neutron.api-listening", r"^Neutron service started, listening on (?P<host>\S+):(?P<port>\d+)",
         "neutron service.py", "Neutron service started"),
    # neutron/plugins/ml2/drivers/ovn/mech_driver/mech_driver.py OVNMechanismDriver.initialize (19.0.0+)
    _sig("neutron.ovn-geneve-header-too-small",
         r"^Geneve max_header_size set too low for OVN \((?P<value>\d+) vs (?P<minimum>\d+)\)",
         "neutron ovn mech_driver.py", "max_header_size set too low"),
    # neutron/services/ovn_l3/exceptions.py MechanismDriverNotFound (the ovn-router plugin without ovn in ML2)
    _sig("neutron.ovn-l3-no-mech-driver",
         r"None of the supported mechanism drivers found: (?P<drivers>.*?)\. Check your configuration",
         "neutron ovn_l3 exceptions.py", "None of the supported mechanism drivers found"),
    # oslo_service/service.py ProcessLauncher
    _sig("oslo.child-killed", r"^Child (?P<pid>\d+) killed by signal (?P<signal>\d+)",
         "oslo.service service.py", "Child "),
    _sig("oslo.child-exited", r"^Child (?P<pid>\d+) exited with status (?P<status>\d+)",
         "oslo.service service.py", "Child "),
    # neutron/plugins/ml2/drivers/openvswitch/agent/ovs_neutron_agent.py setup_physical_bridges
    _sig("ovs-agent.bridge-mapping", r"^Mapping physical network (?P<physnet>\S+) to bridge (?P<bridge>\S+)\s*$",
         "neutron ovs_neutron_agent.py", "Mapping physical network "),
    _sig("ovs-agent.bridge-missing",
         r"^Bridge (?P<bridge>\S+) for physical network (?P<physnet>\S+) does not exist\. Agent terminated!",
         "neutron ovs_neutron_agent.py", "does not exist. Agent terminated!"),
    # nova/api/openstack/wsgi.py expected_errors / ResourceExceptionHandler
    _sig("nova-api.unexpected-exception", r"^Unexpected exception in API method",
         "nova api/openstack/wsgi.py", "Unexpected exception in API method"),
    # nova/api/openstack/__init__.py FaultWrapper._error: "%(url)s returned with HTTP %(status)d"
    _sig("nova-api.http-error", r"^(?P<url>\S+) returned with HTTP (?P<status>\d{3})",
         "nova api/openstack/__init__.py", " returned with HTTP "),
    # keystoneauth1/session.py: ConnectFailure("Unable to establish connection to %s: %s")
    _sig("keystoneauth.connect-failure",
         r"Unable to establish connection to (?P<url>[a-z]+://[^\s:/]+(?::(?P<port>\d+))?\S*?):?(?:\s|$)",
         "keystoneauth1 session.py", "Unable to establish connection to "),
    # eventlet/wsgi.py access log, as neutron (neutron/wsgi.py, wsgi_log_format) and other eventlet APIs write it:
    # '%(client_ip)s "%(request_line)s" status: %(status_code)s  len: %(body_length)s time: %(wall_seconds).7f'
    _sig("api.request-served",
         r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" status: (?P<status>\d{3})\b',
         "eventlet wsgi.py", '" status: '),
    # keystoneauth1/session.py retry warning
    _sig("keystoneauth.retrying",
         r"^Failure: (?P<error>.*)\. Retrying in (?P<delay>[\d.]+)s\. (?P<left>\d+) retries left",
         "keystoneauth1 session.py", "Retrying in "),
)


def match_signature(message: str) -> tuple[Signature, re.Match[str]] | None:
    """The first signature whose pattern is found in ``message``.

    >>> sig, m = match_signature("geneve ID ranges: [(1, 16777215)]")
    >>> sig.id, m["type"], m["ranges"]
    ('neutron.tunnel-ranges', 'geneve', '[(1, 16777215)]')
    >>> match_signature("Bridge br-ex for physical network phynet2 does not exist. Agent terminated!")[1]["bridge"]
    'br-ex'
    >>> m = match_signature("Unable to establish connection to http://controller-1:9696/v2.0/ports: boom")[1]
    >>> m["url"], m["port"]
    ('http://controller-1:9696/v2.0/ports', '9696')
    """
    for sig in SIGNATURES:
        if sig.needle in message:
            m = sig.pattern.search(message)
            if m:
                return sig, m
    return None
