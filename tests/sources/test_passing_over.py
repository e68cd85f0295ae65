"""Members passed over by their raw name (``_Areas.passed_over``) are exactly members the extraction would
have done nothing with: no file, no link, no note, no mark of a sosreport. Checked against the extraction's
own decision for names built from the catalog's real areas, and on a network node's report, where the
per-namespace outputs are most of the archive."""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ostriage.sources import Limits, SosReport
from ostriage.sources._tarball import SOS_MARKERS, _Areas, _name_refusal, _parts, extract_report
from ostriage.sources.base import Problem
from ostriage.sources.catalog import EXTRACTION_EXCLUDED, extraction_areas

from .builders import MINIMAL, Member, file, symlink, write_tar
from .conftest import MakeTar

AREAS = _Areas(extraction_areas(), EXTRACTION_EXCLUDED)
PREFIX = "sosreport-node-2025"


def untouched(name: str, prefix: str, marked: bool) -> bool:
    """Whether ``_Extractor._member`` does nothing with a member named ``name`` whatever its type (file, link,
    directory): it would note nothing, unpack nothing and mark nothing."""
    parts = _parts(name)
    if _name_refusal(name, parts):
        return False
    if prefix:
        if not parts or parts[0] != prefix:
            return False  # counted as outside the report, and said
        parts = parts[1:]
    if not parts:
        return True
    if parts[0] in SOS_MARKERS and not marked:
        return False
    rel = "/".join(parts)
    return not AREAS.contains(rel) and not AREAS.leads_into(rel)


def _pieces() -> list[str]:
    """Path components as the catalog writes them, glob magic filled in, with the names that trip readers."""
    out = {"", ".", "..", "x", "ssh", "namespaces\n", "é", "e\u0301", "\udcff", " ", "juju", "kern.log.1",
           "kern.logx", "syslog.2.gz", "nova-compute.log",
           "journalctl_--no-pager_--unit_nova", "ovn-nbctl_show", "ovn-x", "ip_netns_exec_qrouter-1_ip_a",
           "ethtool_-k_eth0", "tc_-s_qdisc_show", "puppet-generated", "nova_libvirt", "sys", PREFIX}
    for pattern in (*extraction_areas(), *EXTRACTION_EXCLUDED):
        for part in pattern.split("/"):
            out.add(part.replace("*", "").replace("?", "a").replace("[", "").replace("]", ""))
            out.add(part.replace("*", "q"))
    return sorted(out)


NAMES = st.builds(
    lambda head, middle, tail: "/".join((*head, *middle)) + tail,
    st.sampled_from([(PREFIX,), (PREFIX,), (PREFIX,), ("",), (".", PREFIX), ("other",), ()]),
    st.lists(st.sampled_from(_pieces()) | st.text("ab.-_*/\né", max_size=5), max_size=6),
    st.sampled_from(["", "", "/", "/.", "\n"]),
)


@given(name=NAMES, marked=st.booleans(), prefixed=st.booleans())
@example(name=f"{PREFIX}/etc/./neutron/neutron.conf", marked=True, prefixed=True)
@example(name=f"{PREFIX}/etc//neutron/neutron.conf", marked=True, prefixed=True)
@example(name=f"{PREFIX}/var/lib/docker", marked=True, prefixed=True)
@example(name=f"{PREFIX}/var/lib/docker/", marked=True, prefixed=True)
@example(name=f"{PREFIX}/var/lib/docker/.", marked=True, prefixed=True)
@example(name=f"{PREFIX}/sos_commands/networking/namespacesX", marked=True, prefixed=True)
@example(name=f"{PREFIX}/sos_commands/networking/namespaces\n", marked=True, prefixed=True)
@example(name=f"{PREFIX}/sos_commands/block/lsblk", marked=False, prefixed=True)
@example(name=f"{PREFIX}/var/log/kern.log.1", marked=True, prefixed=True)
@example(name="etc/ssh/../neutron/neutron.conf", marked=True, prefixed=False)
def test_what_is_passed_over_would_have_been_left_alone(name: str, marked: bool, prefixed: bool) -> None:
    prefix = PREFIX if prefixed else ""
    skip = AREAS.passed_over(prefix, marked)
    assert skip is not None
    if skip.match(name.encode("utf-8", "surrogateescape")):
        assert untouched(name, prefix, marked), name


@pytest.mark.parametrize(("rel", "marked"), [
    ("sys/fs/cgroup/memory/memory.max", False),
    ("etc/ssh/sshd_config", False),
    ("etc/rc2.d/S01ssh", True),
    ("var/lib/juju/agents/unit-x/charm/hooks/install", True),
    ("var/lib/neutron/dhcp/leases", True),
    ("sos_commands/block/lsblk", True),
    ("sos_commands/networking/ip_netns_exec_qrouter-1_ip_-d_address_show", True),
    ("sos_commands/networking/namespaces/qrouter-1/ip_a", True),
    ("sos_commands/openvswitch/ovs-ofctl_dump-flows_br-int", True),
])
def test_what_no_area_reads_is_passed_over(rel: str, marked: bool) -> None:
    """The point of passing over: these are most members of real reports (a network node's namespaces,
    a juju unit's charm, init scripts)."""
    skip = AREAS.passed_over(PREFIX, marked)
    assert skip is not None and skip.match(f"{PREFIX}/{rel}".encode())


@pytest.mark.parametrize(("rel", "marked"), [
    ("etc/neutron/neutron.conf", True),
    ("etc/neutron", True),
    ("var/lib/docker", True),  # a symlink there leads into an area
    ("var/log/kern.log.2.gz", True),
    ("sos_commands/block/lsblk", False),  # it would mark the report as a sosreport
    ("sos_commands/process/ps_auxwwwm", True),
    ("sos_commands/x/journalctl_--no-pager_--unit_nova-compute", True),
    ("etc/./neutron/neutron.conf", True),
    ("etc/ssh/../neutron/neutron.conf", True),
])
def test_what_an_area_may_read_is_not_passed_over(rel: str, marked: bool) -> None:
    skip = AREAS.passed_over(PREFIX, marked)
    assert skip is not None and not skip.match(f"{PREFIX}/{rel}".encode())


def network_node(namespaces: int) -> list[Member]:
    """A network node's report: per-router outputs of sos's networking plugin and a juju unit's files around
    the few files the diagnosis reads."""
    members = [*MINIMAL, file(f"{PREFIX}/etc/neutron/neutron.conf", "[ml2_type_geneve]\nvni_ranges = 1:100\n"),
               file(f"{PREFIX}/sos_commands/networking/ip_-d_address", "1: lo: <LOOPBACK>\n"),
               symlink(f"{PREFIX}/var/lib/docker", "../../srv/docker"),
               file(f"{PREFIX}/srv/docker/volumes/kolla_logs/_data/neutron/server.log", "x\n")]
    for i in range(namespaces):
        for command in ("ip_-d_address_show", "ip_route_show_table_all", "iptables-save"):
            members.append(file(f"{PREFIX}/sos_commands/networking/ip_netns_exec_qrouter-{i}_{command}", "x" * i))
    members += [file(f"{PREFIX}/var/lib/juju/agents/unit-{i}/state", "s") for i in range(50)]
    return [Member(m.name.replace("sosreport-host-2025", PREFIX), m.data, m.kind, m.link) for m in members]


def tree(root: Path) -> dict[str, bytes | str]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_symlink() else
                                       f"link:{p.readlink()}" if p.is_symlink() else "dir")
            for p in sorted(root.rglob("*"))}


def test_a_network_node_unpacks_the_same_whether_members_are_passed_over_or_not(
        make_tar: MakeTar, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = make_tar(*network_node(200))
    with SosReport(archive) as report:
        passed = tree(report.root), [str(p) for p in report.problems]
    monkeypatch.setattr(_Areas, "passed_over", lambda self, prefix, marked: None)
    with SosReport(archive) as report:
        built = tree(report.root), [str(p) for p in report.problems]
    assert passed == built
    assert "etc/neutron/neutron.conf" in passed[0] and "var/lib/docker" in passed[0]
    assert not any("ip_netns_exec" in name or "juju" in name for name in passed[0])
    with tarfile.open(archive) as tar:
        assert len(tar.getmembers()) > 600


def _extracted(archive: Path, passing_over: bool) -> tuple[object, ...]:
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as dest:
        if not passing_over:
            patch.setattr(_Areas, "passed_over", lambda self, prefix, marked: None)
        problems: list[Problem] = []
        result = extract_report(archive, Path(dest), extraction_areas(), EXTRACTION_EXCLUDED,
                                Limits(max_members=12), problems)
        return (result.files, result.bytes, result.members, result.is_sosreport, result.damaged,
                result.cut_short, sorted(result.extracted), [str(p) for p in problems], tree(Path(dest)))


KINDS = st.sampled_from([tarfile.REGTYPE, tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE])


# what sos writes, in its order: files to unpack and a link among members passed over (random names are rarely in
# an area, so these say that the files kept are the same, their content included)
A_REPORT = [(f"{PREFIX}/{name}", kind) for name, kind in (
    ("etc/neutron/neutron.conf", tarfile.REGTYPE), ("etc/neutron/plugin.ini", tarfile.SYMTYPE),
    ("etc/neutron/x.ini", tarfile.LNKTYPE), ("etc/ssh/sshd_config", tarfile.REGTYPE),
    ("sos_commands/process/ps_auxwwwm", tarfile.REGTYPE), ("sys/x", tarfile.REGTYPE),
    ("var/lib/juju/x", tarfile.REGTYPE), ("var/log/kern.log", tarfile.REGTYPE), ("version.txt", tarfile.REGTYPE))]


@given(first=st.sampled_from([f"{PREFIX}/", f"{PREFIX}/etc/neutron/neutron.conf", "etc/hostname", "version.txt"]),
       members=st.lists(st.tuples(NAMES, KINDS), max_size=10),
       fmt=st.sampled_from([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]))
@example(first=f"{PREFIX}/", members=A_REPORT, fmt=tarfile.GNU_FORMAT)
@example(first=f"{PREFIX}/", members=A_REPORT, fmt=tarfile.PAX_FORMAT)
def test_an_archive_unpacks_the_same_whether_members_are_passed_over_or_not(
        first: str, members: list[tuple[str, bytes]], fmt: int) -> None:
    """Whole archives, read by the reader and the extraction together: what the headers say (long names, pax
    paths), the member cap, links to members passed over."""
    members = [(first, tarfile.DIRTYPE if first.endswith("/") else tarfile.REGTYPE), *members]
    links = {tarfile.SYMTYPE: "neutron.conf", tarfile.LNKTYPE: first}
    built = [Member(name, b"x\n" if kind == tarfile.REGTYPE else b"", kind, links.get(kind, ""))
             for name, kind in members]
    with tempfile.TemporaryDirectory() as work:
        archive = write_tar(Path(work) / "report.tar", built, "", fmt)
        assert _extracted(archive, True) == _extracted(archive, False)


def test_an_empty_long_name_is_no_name(tmp_path: Path) -> None:
    """A GNU long-name header with nothing in it leaves the member its own name, for the reader's test as for the
    extraction (found by review: the reader tested the empty name, and passed ``version.txt`` over)."""
    def header(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"") -> bytes:
        info = tarfile.TarInfo(name)
        info.type, info.size = kind, len(data)
        return info.tobuf(tarfile.USTAR_FORMAT) + data + bytes(-len(data) % 512)

    archive = tmp_path / "flat.tar"
    archive.write_bytes(b"".join((
        header("etc/hostname", data=b"node\n"),
        header("././@LongLink", tarfile.GNUTYPE_LONGNAME), header("etc/neutron/neutron.conf", data=b"[DEFAULT]\n"),
        header("././@LongLink", tarfile.GNUTYPE_LONGNAME), header("version.txt", data=b"sosreport: 4\n"),
    )) + bytes(1024))
    passed, built = _extracted(archive, True), _extracted(archive, False)
    assert passed == built
    assert "etc/neutron/neutron.conf" in passed[6] and passed[3] is True


@pytest.mark.parametrize("area", ["var/log/a?b", "var/log/a[!x]b", "var/log/a[é]b"])
def test_a_glob_beyond_star_keeps_its_tree_from_being_passed_over(area: str) -> None:
    """``?`` and ``[...]`` match one character in ``contains`` (a str) and would match one byte in a bytes
    pattern: ``aéb`` is in the area, and must not be passed over."""
    areas = _Areas(["etc/neutron", area], [])
    skip = areas.passed_over(PREFIX, marked=True)
    assert areas.contains("var/log/aéb")
    assert skip is not None and not skip.match(f"{PREFIX}/var/log/aéb".encode())
    assert skip.match(f"{PREFIX}/sys/x".encode())  # what no area starts with is still passed over
