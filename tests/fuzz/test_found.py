"""What the fuzz targets found, kept as plain examples: each crashed a parser (or the facts built on it)
before it was fixed."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from ostriage.evidence import Line, numbered
from ostriage.facts._oom import merge_oom_events
from ostriage.parsers.journal import parse_journal_json
from ostriage.parsers.kernel_oom import parse_oom_events
from ostriage.parsers.meminfo import parse_free
from ostriage.parsers.ps import parse_ps_aux
from ostriage.parsers.sockets import parse_lsof, parse_ss
from ostriage.parsers.timestamps import PrefixParser
from ostriage.parsers.unit_files import parse_size, parse_timespan
from ostriage.parsers.uptime import parse_proc_uptime, parse_uptime

KILL = ("Memory cgroup out of memory: Killed process 29283 (uwsgi) total-vm:2147412kB, anon-rss:2092148kB, "
        "file-rss:21652kB, shmem-rss:0kB, UID:0 pgtables:4236kB oom_score_adj:0")


def test_a_blank_line_that_is_not_empty_in_ss() -> None:
    """``"\\r"`` (a CRLF line's leftover) or a form feed: blank to ``split()``, not empty to ``not text``."""
    assert list(parse_ss(numbered(["\r", "\x0c", "LISTEN 0 5 127.0.0.1:9696 0.0.0.0:*"], "ss"))) != []


@pytest.mark.parametrize("digit", ["²", "①"])
def test_digits_int_refuses(digit: str) -> None:
    """``str.isdigit`` says yes to superscripts and circled digits, ``int`` says no: numbers are decimals."""
    assert list(parse_lsof(numbered([f"sshd 10{digit} 0 3u IPv4 31807 0t0 TCP *:ssh (LISTEN)"], "lsof"))) == []
    head = "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND"
    processes = list(parse_ps_aux(numbered([head, f"root 1{digit} 0.0 0.0 1 1 ? S 05:50 0:00 x"], "ps")))
    assert all(p.pid is None or isinstance(p.pid, int) for p in processes)


def test_a_syslog_year_of_one() -> None:
    """A hostile ``date`` says year 1: the year-less syslog lines after it must not roll back before it."""
    parser = PrefixParser(1)
    first = parser.parse("Jan  1 00:00:05 h kernel: a").timestamp
    later = parser.parse("Dec 31 23:59:59 h kernel: b").timestamp
    assert first == datetime(1, 1, 1, 0, 0, 5) and later is not None


def test_a_kill_on_february_29_after_the_collection() -> None:
    """A year-less kill dated after the report was taken belongs to the year before, which has no Feb 29."""
    (event,) = parse_oom_events(numbered([f"Feb 29 12:00:00 h kernel: {KILL}"], "kern.log"), year=2024)
    (merged,) = merge_oom_events([[event]], collected_at=datetime(2024, 1, 10))
    assert merged.timestamp == datetime(2023, 2, 28, 12, 0)


def test_a_time_since_boot_beyond_the_calendar() -> None:
    """``[99999999999999.0]`` with a syslog time: no boot time can be derived from it, and nothing fails."""
    lines = numbered([f"Jun 12 13:50:58 h kernel: [99999999999999.000000] {KILL}"], "kern.log")
    (event,) = parse_oom_events(lines, year=2024)
    boot_only = parse_oom_events(numbered([f"[99999999999999.000000] {KILL}"], "dmesg"))
    merged = merge_oom_events([[event], boot_only], collected_at=datetime(2024, 6, 13))
    assert [e.timestamp for e in merged if e.timestamp] == [datetime(2024, 6, 12, 13, 50, 58)]


def test_a_journal_monotonic_time_too_long_for_a_float() -> None:
    row = {"__REALTIME_TIMESTAMP": "1644484284000000", "__MONOTONIC_TIMESTAMP": "9" * 400, "MESSAGE": "x"}
    (entry,) = parse_journal_json([Line("journal", 1, json.dumps(row))])
    assert entry.monotonic is None and entry.message == "x"


@pytest.mark.parametrize("text", ["9" * 400 + "G", "1" + "0" * 320])
def test_sizes_and_spans_beyond_range_are_not_systemd_values(text: str) -> None:
    with pytest.raises(ValueError, match="not a systemd size"):
        parse_size(text)
    with pytest.raises(ValueError, match="not a systemd time span"):
        parse_timespan(text.rstrip("G") + "d")


def test_free_human_sizes_beyond_range() -> None:
    out = parse_free(numbered(["       total used free", "Mem: " + "9" * 400 + "Gi 1Gi 1Gi"], "free -h"))
    assert out.mem is not None and out.mem.total is None and out.mem.used == 1 << 30


@pytest.mark.parametrize("text", ["INF 1.0", "nan 1.0", "1e300 1.0", "-5 1.0"])
def test_an_uptime_that_is_not_one(text: str) -> None:
    """Found by the fuzz target at 2,000 examples (helper trust's run): ``inf`` overflowed timedelta."""
    assert parse_proc_uptime(numbered([text], "proc/uptime")) is None


def test_an_uptime_of_more_days_than_the_calendar() -> None:
    assert parse_uptime(numbered([" 10:00:00 up 99999999999 days,  3:02,  1 user"], "uptime")) is None
