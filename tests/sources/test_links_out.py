"""A symlink of a sosreport directory that leads out of it is never followed, and the report says so: the
file it stands for is not silently "missing". A link to a file the report does not hold, or a file absent
below a link that works, is plain absence."""

from __future__ import annotations

import os
from pathlib import Path

from ostriage.sources import SosReport

from .conftest import MakeReport

CONF = "etc/neutron/neutron.conf"


def messages(report: SosReport) -> list[str]:
    return [str(p) for p in report.problems]


def test_a_link_climbing_out_is_refused_and_named(make_report: MakeReport, tmp_path: Path) -> None:
    outside = tmp_path / "outside.conf"
    outside.write_text("[database]\nconnection = mysql://the:host@s/own\n")
    root = make_report({"etc/neutron/plugins/ml2/ml2_conf.ini": "[ml2]\n"})
    target = os.path.relpath(outside, root / "etc/neutron")
    assert target.startswith("../../../")
    os.symlink(target, root / CONF)
    report = SosReport(root)
    assert report.read_lines("/" + CONF) is None
    assert messages(report) == [f"{CONF}: symlink to {target!r} leads outside the collected files; not followed"]


def test_a_directory_link_climbing_out_is_named_where_it_is(make_report: MakeReport, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/neutron.conf").write_text("[DEFAULT]\n")
    root = make_report({"etc/hostname": "h\n"})
    os.symlink("../../elsewhere", root / "etc/neutron")
    report = SosReport(root)
    assert report.read_lines("/" + CONF) is None
    assert messages(report) == ["etc/neutron: symlink to '../../elsewhere' leads outside the collected files; "
                                "not followed"]


def test_a_link_to_what_sos_did_not_collect_is_absence(make_report: MakeReport) -> None:
    """An absolute target is the report's own file (chroot semantics): not collected is absence, as sos's
    top-level links are when a command was not run (test_catalog: the dangling ``lsof``)."""
    root = make_report({"etc/hostname": "h\n"})
    (root / "etc/neutron").mkdir()
    os.symlink("/var/lib/config-data/puppet-generated/neutron/etc/neutron/neutron.conf", root / CONF)
    report = SosReport(root)
    assert report.read_lines("/" + CONF) is None
    assert messages(report) == []


def test_an_absent_file_below_a_working_link_is_just_absent(make_report: MakeReport) -> None:
    root = make_report({"usr/lib/systemd/system/neutron-server.service": "[Service]\n"})
    os.symlink("usr/lib", root / "lib")
    report = SosReport(root)
    assert report.read_lines("/lib/systemd/system/nova-api.service") is None
    lines = report.read_lines("/lib/systemd/system/neutron-server.service")
    assert lines is not None and [x.text for x in lines] == ["[Service]"]
    assert messages(report) == []


def test_the_diagnosis_lists_it_under_could_not_read(seed_copy: Path, ostriage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ml2 = seed_copy / "etc/neutron/plugins/ml2/ml2_conf.ini"
    moved = tmp_path / "ml2_conf.ini"
    moved.write_text(ml2.read_text())
    ml2.unlink()
    target = os.path.relpath(moved, ml2.parent)
    os.symlink(target, ml2)
    run = ostriage("diagnose", seed_copy)
    assert (f"etc/neutron/plugins/ml2/ml2_conf.ini: symlink to {target!r} leads outside the collected files; "
            "not followed") in " ".join(run.out.split())
    assert "NEU001" not in run.out  # the range was not read from outside the report
