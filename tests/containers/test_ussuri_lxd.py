"""hotsos's openstack data root (the ussuri compute node of ../shared/fixtures): Juju put MySQL and RabbitMQ in LXD
containers on it. Seen from the host, their processes carry the containers' cgroups (`/lxc.payload.<name>/...`):
they run in those machines, not in units of this host; Open vSwitch's ovsdb-server is not OVN's."""

from __future__ import annotations

from pathlib import Path

from ostriage.facts import collect
from ostriage.facts.where import Where
from ostriage.sources import open_target


def test_services_in_juju_lxd_containers(ussuri_sos: Path) -> None:
    with open_target(str(ussuri_sos)) as source:
        facts = collect(source)
    mysql, rabbit = facts.placements["mysql"], facts.placements["rabbitmq"]
    assert (mysql.where, mysql.engine, mysql.machine, mysql.unit) == (
        Where.MACHINE, "lxc", "juju-04f1e3-1-lxd-3", "mysql.service")
    assert (rabbit.where, rabbit.machine, rabbit.unit) == (
        Where.MACHINE, "juju-04f1e3-1-lxd-5", "rabbitmq-server.service")
    assert "(beam.smp) in cgroup /lxc.payload.juju-04f1e3-1-lxd-5/system.slice/rabbitmq-server.service" in rabbit.how
    assert facts.placements["neutron-openvswitch-agent"].where is Where.UNIT
    assert facts.placements["openvswitch"].unit == "ovs-vswitchd.service"
    assert facts.placements["ovn-central"].where is Where.NOT_HERE
    assert facts.placements["neutron-server"].where is Where.NOT_HERE
