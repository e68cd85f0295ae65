"""The OVN database parsers on real ovn-sbctl/ovn-nbctl/ovs-appctl/ls output (tests/data/ovn/README.md)."""

from __future__ import annotations

from pathlib import Path

from ostriage.evidence import Line
from ostriage.parsers.ovn_db import count_records, list_options, parse_cluster_status, parse_ls_sizes

DATA = Path(__file__).resolve().parents[1] / "data" / "ovn"


def lines(name: str, text: str | None = None) -> list[Line]:
    body = text if text is not None else (DATA / name).read_text()
    return [Line(name, n, t) for n, t in enumerate(body.splitlines(), 1)]


def test_counts_every_record_of_a_full_listing() -> None:
    full = count_records(lines("ovn-sbctl_--no-leader-only_list_MAC_Binding"))
    uuids = count_records(lines("ovn-sbctl_--no-leader-only_--columns__uuid_list_MAC_Binding"))
    fdb = count_records(lines("ovn-sbctl_--no-leader-only_list_FDB"))
    assert (full.rows, uuids.rows, fdb.rows) == (3, 3, 1)
    assert not full.truncated and not uuids.truncated
    assert full.last is not None and full.last.text.startswith("_uuid") and full.last.number == 15


def test_a_tailed_listing_is_a_lower_bound() -> None:
    text = (DATA / "ovn-sbctl_--no-leader-only_list_MAC_Binding").read_text()
    cut = text[text.index("ip ") + 10:]  # sos keeps the last bytes: the first record is cut
    counted = count_records(lines("tail", cut))
    assert counted.truncated
    assert counted.rows == 2


def test_an_empty_listing_has_no_rows() -> None:
    counted = count_records(lines("empty", ""))
    assert (counted.rows, counted.truncated, counted.last) == (0, False, None)


def test_router_options_and_nb_global() -> None:
    listing = lines("ovn-nbctl_--no-leader-only_list_Logical_Router")
    routers = {name: options for name, options, _ in list_options(listing)}
    assert routers == {"neutron-4f0c8a51-8d0e-4f38-9b7d-2f6e3b1c2d10": {},
                       "neutron-9a1b2c3d-0000-4000-8000-00000000aaaa": {"mac_binding_age_threshold": "300"}}
    (name, options, line), = list_options(lines("ovn-nbctl_--no-leader-only_list_NB_Global"))
    assert name == "" and options["mac_binding_removal_limit"] == "5000" and line.text.startswith("options")


def test_ls_sizes_of_both_sos_listings() -> None:
    lan = list(parse_ls_sizes(lines("ls_-lan")))
    alz = list(parse_ls_sizes(lines("ls_-alZ")))
    assert [(f.path, f.bytes) for f in lan] == [(f.path, f.bytes) for f in alz]
    assert lan[0].bytes == int((DATA / "ls_-lan").read_text().split()[4])


def test_cluster_status_of_a_real_raft_server() -> None:
    status = parse_cluster_status(lines("cluster-status.txt"))
    assert status is not None
    assert (status.name, status.role, status.term, status.servers) == ("OVN_Southbound", "leader", 1, 1)
    assert status.log_entries == 10 - 2 and status.not_committed == 0 and status.disconnections == 0
    line = status.line("Role")
    assert line is not None and line.number == 7


def test_a_standalone_server_has_no_cluster_status() -> None:
    out = '"cluster/status" is not a valid command (use "list-commands" to see a list of valid commands)'
    assert parse_cluster_status(lines("standalone", out)) is None
