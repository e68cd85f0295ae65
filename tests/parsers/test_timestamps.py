"""Line prefixes: every style the kernel/syslog/journal parsers meet, on real and faithful lines."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ostriage.evidence import numbered
from ostriage.parsers.timestamps import PrefixParser, PrefixStyle, parse_prefix, parse_systemd_timestamp


def test_dmesg_monotonic_from_evidence_formats() -> None:
    text = "[ 3502.298345] Memory cgroup out of memory: Killed process 22426 (python) total-vm:8583716kB"
    p = parse_prefix(text)
    assert p.style is PrefixStyle.MONOTONIC
    assert p.monotonic == pytest.approx(3502.298345)
    assert p.timestamp is None and p.host is None and p.ident is None
    assert p.message == text.removeprefix("[ 3502.298345] ")


@pytest.mark.parametrize(
    "text",
    ["[ 3502.298345] oom_reaper: reaped process 22426 (python), now anon-rss:0kB",
     "[ 4301.999258] audit: type=1400 audit(1644450589.972:424): apparmor=\"DENIED\""],
)
def test_subsystem_after_monotonic_is_not_an_identifier(text: str) -> None:
    p = parse_prefix(text)
    assert p.ident is None
    assert p.message == text.split("] ", 1)[1]


def test_dmesg_ctime() -> None:
    p = parse_prefix("[Fri Nov 21 14:22:56 2025] python invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL)")
    assert p.style is PrefixStyle.CTIME
    assert p.timestamp == datetime(2025, 11, 21, 14, 22, 56)
    assert p.message.startswith("python invoked oom-killer")


def test_dmesg_ctime_space_padded_day() -> None:
    assert parse_prefix("[Sat Nov  1 04:02:56 2025] x").timestamp == datetime(2025, 11, 1, 4, 2, 56)


def test_kern_log_carries_wall_clock_and_monotonic() -> None:
    p = parse_prefix(
        "Feb  4 09:34:10 compute4 kernel: [    0.000000] Linux version 5.4.0-97-generic", year=2022
    )
    assert p.style is PrefixStyle.SYSLOG
    assert p.timestamp == datetime(2022, 2, 4, 9, 34, 10)
    assert p.monotonic == 0.0
    assert (p.host, p.ident, p.pid) == ("compute4", "kernel", None)
    assert p.message == "Linux version 5.4.0-97-generic"


def test_journal_short_with_pid() -> None:
    p = parse_prefix(
        "Feb 04 10:08:21 compute4 systemd[1]: neutron-l3-agent.service: Failed with result 'exit-code'.",
        year=2022,
    )
    assert p.timestamp == datetime(2022, 2, 4, 10, 8, 21)
    assert (p.host, p.ident, p.pid) == ("compute4", "systemd", 1)
    assert p.message == "neutron-l3-agent.service: Failed with result 'exit-code'."


def test_journal_short_precise() -> None:
    p = parse_prefix("Feb 04 10:08:21.123456 compute4 systemd[1]: Reloading.", year=2022)
    assert p.timestamp == datetime(2022, 2, 4, 10, 8, 21, 123456)
    assert p.message == "Reloading."


def test_year_less_without_year_has_no_timestamp() -> None:
    p = parse_prefix("Feb 04 10:08:21 compute4 systemd[1]: Reloading.")
    assert p.timestamp is None and p.ident == "systemd"


def test_journal_short_iso() -> None:
    p = parse_prefix("2025-11-21T14:22:56+0000 ctl kernel: python invoked oom-killer: gfp_mask=0xcc0")
    assert p.style is PrefixStyle.ISO
    assert p.timestamp == datetime(2025, 11, 21, 14, 22, 56)
    assert p.utc_offset == timedelta(0)
    assert (p.host, p.ident) == ("ctl", "kernel")


def test_short_iso_precise_keeps_local_time_and_notes_offset() -> None:
    p = parse_prefix("2025-11-21T23:22:56.654321+09:00 ctl neutron-server[4321]: started")
    assert p.timestamp == datetime(2025, 11, 21, 23, 22, 56, 654321)
    assert p.utc_offset == timedelta(hours=9)
    assert (p.ident, p.pid, p.message) == ("neutron-server", 4321, "started")


def test_rfc3339_negative_offset() -> None:
    p = parse_prefix("2025-11-21T09:22:56.5-05:00 ctl kernel: x")
    assert p.timestamp == datetime(2025, 11, 21, 9, 22, 56, 500000)
    assert p.utc_offset == timedelta(hours=-5)


def test_dmesg_iso_has_no_host() -> None:
    p = parse_prefix("2025-11-21T14:22:56,298345+00:00 python invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL)")
    assert p.host is None and p.ident is None
    assert p.message.startswith("python invoked oom-killer")
    assert p.timestamp == datetime(2025, 11, 21, 14, 22, 56, 298345)


def test_short_full() -> None:
    p = parse_prefix("Fri 2022-02-04 09:34:04 UTC ubuntu kernel: Linux version 5.4.0-97-generic")
    assert p.style is PrefixStyle.FULL
    assert p.timestamp == datetime(2022, 2, 4, 9, 34, 4)
    assert (p.host, p.ident) == ("ubuntu", "kernel")


def test_short_monotonic_with_host() -> None:
    p = parse_prefix("[ 3502.297970] ctl kernel: python invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL)")
    assert (p.monotonic, p.host, p.ident) == (3502.29797, "ctl", "kernel")
    assert p.message.startswith("python invoked")


def test_ubuntu_var_log_dmesg_has_ident_without_host() -> None:
    p = parse_prefix("[    2.589609] systemd[1]: Inserted module 'autofs4'")
    assert (p.host, p.ident, p.pid, p.message) == (None, "systemd", 1, "Inserted module 'autofs4'")
    p = parse_prefix("[    0.000000] kernel: Linux version 5.4.0-97-generic")
    assert (p.ident, p.message) == ("kernel", "Linux version 5.4.0-97-generic")


def test_journal_without_hostname() -> None:
    p = parse_prefix("Dec 14 17:13:12 kernel: memory: usage 51200kB, limit 51200kB, failcnt 37", year=2024)
    assert (p.host, p.ident) == (None, "kernel")
    assert p.message == "memory: usage 51200kB, limit 51200kB, failcnt 37"


def test_rsyslog_identifier_without_pid() -> None:
    p = parse_prefix("Mar 14 16:55:03 localhost systemd: tidb-4000.service: main process exited", year=2023)
    assert (p.host, p.ident, p.pid) == ("localhost", "systemd", None)
    assert p.message == "tidb-4000.service: main process exited"


def test_syslog_priority_prefix_of_dmesg_raw() -> None:
    p = parse_prefix("<4>[ 3502.297970] python invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL)")
    assert p.monotonic == pytest.approx(3502.29797)
    assert p.message.startswith("python invoked")


def test_bare_line() -> None:
    p = parse_prefix("python invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0")
    assert p.style is PrefixStyle.BARE
    assert p.message.startswith("python invoked")


def test_tasks_row_is_not_a_monotonic_stamp() -> None:
    row = "[  22426]     0 22426  2145929  2098697  2092847     5850         0 17039360        0  0 python"
    assert parse_prefix(row).style is PrefixStyle.BARE


def test_year_rolls_over_at_new_year() -> None:
    parser = PrefixParser(2024)
    stamps = [
        parser.parse(text).timestamp
        for text in (
            "Dec 31 23:59:58 h kernel: a",
            "Jan  1 00:00:01 h kernel: b",
            "Dec 31 23:59:59 h kernel: late write",  # would be a year back: not a rollover
            "Feb  3 00:00:00 h kernel: c",
        )
    ]
    assert stamps == [
        datetime(2024, 12, 31, 23, 59, 58),
        datetime(2025, 1, 1, 0, 0, 1),
        datetime(2025, 12, 31, 23, 59, 59),
        datetime(2026, 2, 3),
    ]


def test_small_backward_step_is_not_a_new_year() -> None:
    parser = PrefixParser(2024)
    parser.parse("Mar  1 00:00:01 h kernel: a")
    assert parser.parse("Feb 29 23:59:59 h kernel: b").timestamp == datetime(2024, 2, 29, 23, 59, 59)
    assert parser.year == 2024


def test_anchor_sets_year_and_clock() -> None:
    parser = PrefixParser()
    parser.anchor(datetime(2021, 12, 30, 8, 0))
    assert parser.parse("Jan 02 10:00:00 h systemd[1]: x").timestamp == datetime(2022, 1, 2, 10, 0)


def test_impossible_date_gives_no_timestamp() -> None:
    p = parse_prefix("Feb 29 00:00:00 h kernel: x", year=2023)
    assert p.timestamp is None and p.ident == "kernel" and p.message == "x"


@pytest.mark.parametrize(
    "text",
    ["", "\x00\x00\x00", "\ufffd\ufffd[ 12.3", "[" * 1_000_000, "Feb 04 " + "x" * 1_000_000, "9" * 1_000_000],
)
def test_garbage_never_raises(text: str) -> None:
    p = parse_prefix(text, year=2022)
    assert isinstance(p.message, str)


def test_systemd_timestamps() -> None:
    assert parse_systemd_timestamp("Thu 2022-02-10 09:11:24 UTC") == datetime(2022, 2, 10, 9, 11, 24)
    assert parse_systemd_timestamp("2022-02-10 09:11:24.5") == datetime(2022, 2, 10, 9, 11, 24, 500000)
    assert parse_systemd_timestamp("") is None
    assert parse_systemd_timestamp("[not set]") is None


def test_real_kern_log(ussuri_sos: Path) -> None:
    path = ussuri_sos / "var/log/kern.log"
    parser = PrefixParser(2022)
    prefixes = [parser.parse(line.text) for line in numbered(path.read_text(errors="replace").splitlines())]
    assert len(prefixes) == 2831  # the last line has no newline
    assert all(p.ident == "kernel" and p.host == "compute4" for p in prefixes)
    assert prefixes[0].timestamp == datetime(2022, 2, 4, 9, 34, 10)
    assert prefixes[0].monotonic == 0.0
    assert sum(p.monotonic is not None for p in prefixes) == 2831
    assert all(p.timestamp is not None and p.timestamp.year == 2022 for p in prefixes)


def test_real_ubuntu_dmesg_file(ussuri_sos: Path) -> None:
    text = (ussuri_sos / "var/log/dmesg").read_text(errors="replace")
    idents = [parse_prefix(line).ident for line in text.splitlines()]
    assert idents.count("kernel") == 664
    assert idents.count("systemd") == 74
    assert idents.count(None) == 1  # "[   10.061767] unknown: Started bpfilter": no pid, not "kernel"
