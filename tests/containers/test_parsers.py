"""Container parsers and the cgroup classifier on real outputs: insights-core's docker and podman inspect samples,
hotsos's Sunbeam ps and kubectl pods, the seed recording's kernel OOM lines, systemctl tables of hotsos's
openstack data root (the ussuri fixture)."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ostriage.evidence import Line, numbered
from ostriage.parsers.cgroups import OwnerKind, classify_cgroup
from ostriage.parsers.containers import (
    parse_container_inspect,
    parse_container_ps,
    parse_crictl_ps,
    parse_k8s_pods,
    parse_k8s_quantity,
    parse_lxc_list,
)
from ostriage.parsers.kernel_oom import parse_oom_events
from ostriage.parsers.ps import parse_ps_columns
from ostriage.parsers.systemctl_lists import parse_list_unit_files, parse_list_units

DATA = Path(__file__).resolve().parents[1] / "data"
ROOT = Path(__file__).resolve().parents[2]
INSIGHTS = DATA / "insights-core"
SUNBEAM = DATA / "hotsos" / "sunbeam.tar.xz"
AXO = "sos_commands/process/ps_axo_pid_ppid_user_group_lwp_nlwp_start_time_comm_cgroup"
PODS = "sos_commands/kubernetes/cluster-info/openstack/k8s_kubectl_get_-o_json_--namespace_openstack_pods"


def _file(path: Path, shown: str) -> Iterator[Line]:
    return numbered(path.read_text().splitlines(), shown)


def _sunbeam(rel: str) -> list[Line]:
    with tarfile.open(SUNBEAM) as tar:
        member = tar.extractfile(f"sunbeam/{rel}")
        assert member is not None
        return list(numbered(member.read().decode().splitlines(), rel))


def test_docker_inspect_of_a_container() -> None:
    (c,) = parse_container_inspect(_file(INSIGHTS / "docker_inspect_97d7cd1a5d8f", "d"), "docker")
    assert (c.engine, c.name, c.id, c.state, c.restart_count, c.oom_killed, c.exit_code) == (
        "docker", "hehe2", "97d7cd1a5d8fd7730e83bb61ecbc993742438e966ac5c11910776b5d53f4ae07", "running", 0, False, 0)
    assert (c.restart_policy, c.memory_limit, c.host_network, c.image) == ("no", None, False, "rhel7_imagemagick")
    assert c.started_at == datetime(2016, 6, 23, 5, 37, 56, 925378, tzinfo=UTC)
    assert c.labels["Vendor"] == "Red Hat, Inc."
    # each field cites the engine's own line
    assert c.lines["restart_count"].text.strip() == '"RestartCount": 0,'
    assert c.lines["name"].text.strip() == '"Name": "/hehe2",'
    assert c.lines["memory_limit"].text.strip() == '"Memory": 0,'
    assert c.lines["host_network"].text.strip() == '"NetworkMode": "default",'
    assert c.lines["restart_policy"].text.strip() == '"Name": "no",'


def test_an_image_inspect_is_not_a_container() -> None:
    assert list(parse_container_inspect(_file(INSIGHTS / "docker_inspect_rhel7_imagemagick", "i"), "docker")) == []


def test_podman_inspect() -> None:
    (c,) = parse_container_inspect(_file(INSIGHTS / "podman_inspect_aeaea3ead527", "p"), "podman")
    assert (c.name, c.state, c.image, c.restart_count, c.oom_killed, c.restart_policy) == (
        "eager_bell", "running", "registry.access.redhat.com/rhel:latest", 0, False, None)
    # podman prints local times with their offset
    assert c.started_at is not None and c.started_at.utcoffset() == timedelta(hours=-4)
    assert c.finished_at is None  # 0001-01-01: never


def test_broken_json_gives_nothing() -> None:
    assert list(parse_container_inspect(numbered(["[{", '"Id": "x"'], "x"), "docker")) == []
    assert list(parse_k8s_pods(numbered(["not json"], "x"))) == []


def test_kubectl_pods_of_sunbeam() -> None:
    records = list(parse_k8s_pods(_sunbeam(PODS)))
    assert len(records) == 52 and {r.engine for r in records} == {"containerd"}
    neutron = next(r for r in records if r.pod == "openstack/neutron-0" and r.name == "neutron-server")
    assert (neutron.state, neutron.ready, neutron.restart_count, neutron.host_network) == ("running", True, 3, False)
    assert (neutron.last_reason, neutron.last_exit_code, neutron.oom_killed) == ("Unknown", 255, False)
    assert neutron.pod_uid == "6174adda-ae11-4e96-8616-9e4df87d87a7"
    assert neutron.started_at == datetime(2025, 5, 14, 4, 23, 56, tzinfo=UTC)
    assert neutron.lines["restart_count"].text.strip() == '"restartCount": 3,'
    assert neutron.lines["name"].text.strip().startswith('"containerID": "containerd://3bc9b296a9d3')


def test_sunbeam_cgroups_name_their_pods() -> None:
    processes = list(parse_ps_columns(_sunbeam(AXO)))
    neutron = [p for p in processes if p.comm == "neutron-server:"]
    assert neutron
    for p in neutron:
        assert p.cgroup is not None
        owner = classify_cgroup(p.cgroup.entries[0][1])
        assert (owner.kind, owner.engine, owner.pod_uid) == (
            OwnerKind.CONTAINER, "containerd", "6174adda-ae11-4e96-8616-9e4df87d87a7")
        assert owner.ref is not None and owner.ref.startswith("3bc9b296a9d3")
    # the snap-packaged hypervisor services are the host's own units
    ovs = next(p for p in processes if p.comm == "ovs-vswitchd")
    assert ovs.cgroup is not None and classify_cgroup(ovs.cgroup.entries[0][1]).kind is OwnerKind.HOST


def test_the_seed_kills_name_a_nested_systemd() -> None:
    """The seed recording was taken inside the lab's systemd-nspawn controller: the kernel prints the full path,
    below the controller's own cgroup; which side of it this report is on is decided by the facts layer."""
    dmesg = ROOT / "examples" / "seed-incident" / "sos_commands" / "kernel" / "dmesg"
    event = next(e for e in parse_oom_events(_file(dmesg, "dmesg")) if e.task_memcg)
    assert event.task_memcg is not None
    owner = classify_cgroup(event.task_memcg)
    assert (owner.kind, owner.engine, owner.ref, owner.inner, owner.inner_unit) == (
        OwnerKind.MACHINE, None, "ostlab_controller", "/system.slice/neutron-server.service", "neutron-server.service")


@pytest.mark.parametrize(("path", "kind", "engine", "ref"), [
    ("/system.slice/docker-" + "a1" * 32 + ".scope", OwnerKind.CONTAINER, "docker", "a1" * 32),
    ("/docker/" + "b2" * 32, OwnerKind.CONTAINER, "docker", "b2" * 32),
    ("/machine.slice/libpod-" + "c3" * 32 + ".scope/container", OwnerKind.CONTAINER, "podman", "c3" * 32),
    ("/libpod_parent/libpod-" + "d4" * 32, OwnerKind.CONTAINER, "podman", "d4" * 32),
    ("/kubepods/besteffort/pod6174adda-ae11-4e96-8616-9e4df87d87a7/" + "e5" * 32, OwnerKind.CONTAINER, None, "e5" * 32),
    ("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6174adda_ae11_4e96_8616_9e4df87d87a7.slice/"
     "crio-" + "f6" * 32 + ".scope", OwnerKind.CONTAINER, "cri-o", "f6" * 32),
    ("/lxc/infra1_neutron_server_container-3f2a", OwnerKind.MACHINE, "lxc", "infra1_neutron_server_container-3f2a"),
    ("/lxc.payload/c1/system.slice/mariadb.service", OwnerKind.MACHINE, "lxc", "c1"),
    ("/machine.slice/systemd-nspawn@ctl.service/payload/system.slice/neutron-server.service", OwnerKind.MACHINE,
     "systemd-nspawn", "ctl"),
    ("/machine.slice/machine-ctl\\x2d1.scope/system.slice/neutron-server.service", OwnerKind.MACHINE, "machined",
     "ctl-1"),
    ("/system.slice/neutron-server.service", OwnerKind.HOST, None, None),
    ("/user.slice/user-1000.slice/user@1000.service/app.slice/x.service", OwnerKind.HOST, None, None),
])
def test_cgroup_layouts(path: str, kind: OwnerKind, engine: str | None, ref: str | None) -> None:
    owner = classify_cgroup(path)
    assert (owner.kind, owner.engine, owner.ref) == (kind, engine, ref)


def test_tables() -> None:
    ps = ["CONTAINER ID  IMAGE                                   COMMAND      CREATED         STATUS"
          "                     PORTS       NAMES",
          "6d1a9b4e0f3c  quay.io/tripleo/neutron-server:17.1     kolla_start  35 minutes ago  "
          "Exited (137) 2 minutes ago             neutron_api",
          "9f0e1d2c3b4a  quay.io/tripleo/nova-api:17.1           kolla_start  35 minutes ago  Up 35 minutes (healthy)"
          "                nova_api"]
    api, nova = parse_container_ps(numbered(ps), "podman")
    assert (api.name, api.state, api.exit_code, nova.state, nova.health) == (
        "neutron_api", "exited", 137, "running", "healthy")
    crictl = ["CONTAINER           IMAGE               CREATED             STATE               NAME"
              "                ATTEMPT             POD ID              POD",
              "3bc9b296a9d3b       5d5b1a8f2c8e1       10 hours ago        Running             neutron-server"
              "      3                   6174addaae114       neutron-0"]
    (c,) = parse_crictl_ps(numbered(crictl))
    assert (c.name, c.state, c.restart_count, c.pod) == ("neutron-server", "running", 3, "neutron-0")
    lxc = ["+------+---------+------+------+-----------+-----------+",
           "| NAME |  STATE  | IPV4 | IPV6 |   TYPE    | SNAPSHOTS |",
           "+------+---------+------+------+-----------+-----------+",
           "| c1   | RUNNING |      |      | CONTAINER | 0         |"]
    (c,) = parse_lxc_list(numbered(lxc))
    assert (c.engine, c.name, c.state) == ("lxc", "c1", "running")
    assert parse_k8s_quantity("1536Mi") == 1536 * 2**20


def test_systemctl_tables_of_the_ussuri_report(ussuri_sos: Path) -> None:
    units = {u.name: u for u in parse_list_units(_file(ussuri_sos / "sos_commands/systemd/systemctl_list-units", "l"))}
    assert len(units) == 300  # "300 loaded units listed."
    vswitchd = units["ovs-vswitchd.service"]
    assert (vswitchd.load, vswitchd.active) == ("loaded", "active")
    assert vswitchd.description == "Open vSwitch Forwarding Unit"
    files = list(parse_list_unit_files(_file(ussuri_sos / "sos_commands/systemd/systemctl_list-unit-files", "f")))
    assert len(files) == 415  # "415 unit files listed."


def test_aware_times_become_host_time() -> None:
    from ostriage.facts.where import _local
    t = datetime(2022, 10, 21, 23, 47, 24, tzinfo=timezone(timedelta(hours=-4)))
    assert _local(t, timedelta(hours=2)) == datetime(2022, 10, 22, 5, 47, 24)
    assert _local(t, None) == datetime(2022, 10, 22, 3, 47, 24)
