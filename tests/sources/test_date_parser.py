"""``ostriage.parsers.date``: every clock line sos leaves, and the offsets they imply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ostriage.parsers.date import collection_time, parse_date, parse_sos_log_time, parse_timedatectl


@pytest.mark.parametrize(
    ("line", "wall", "zone"),
    [
        ("Thu Feb 10 16:19:17 UTC 2022", datetime(2022, 2, 10, 16, 19, 17), "UTC"),  # the ussuri report
        ("Mon Sep  8 03:04:05 CEST 2025", datetime(2025, 9, 8, 3, 4, 5), "CEST"),
        ("Fri Nov 21 14:22:56 +04 2025", datetime(2025, 11, 21, 14, 22, 56), "+04"),
        ("  Sat Jan  1 00:00:00 KST 2000  ", datetime(2000, 1, 1), "KST"),
    ],
)
def test_parse_date(line: str, wall: datetime, zone: str) -> None:
    stamp = parse_date(line)
    assert stamp is not None and (stamp.wall, stamp.zone) == (wall, zone)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "date: command not found",
        "Thu Feb 30 16:19:17 UTC 2022",
        "Thu Fob 10 16:19:17 UTC 2022",
        "2022-02-10 16:19:17",
    ],
)
def test_parse_date_rejects(line: str) -> None:
    assert parse_date(line) is None


def test_offset_from_the_utc_pair() -> None:
    local = parse_date("Thu Feb 10 22:04:18 IST 2022")  # India: +05:30, and a second later than --utc
    utc = parse_date("Thu Feb 10 16:34:17 UTC 2022")
    when = collection_time(local, utc)
    assert when is not None and when.utcoffset() == timedelta(hours=5, minutes=30)
    assert when.astimezone(UTC) == datetime(2022, 2, 10, 16, 34, 18, tzinfo=UTC)


def test_numeric_zone() -> None:
    when = collection_time(parse_date("Fri Nov 21 14:22:56 -0330 2025"))
    assert when is not None and when.utcoffset() == -timedelta(hours=3, minutes=30)


def test_unknown_zone_without_utc_is_naive() -> None:
    when = collection_time(parse_date("Thu Feb 10 17:19:17 CET 2022"), None)
    assert when == datetime(2022, 2, 10, 17, 19, 17) and when.tzinfo is None


def test_pair_that_is_not_a_pair_is_ignored() -> None:
    when = collection_time(
        parse_date("Thu Feb 10 17:19:17 CET 2022"), parse_date("Fri Feb 25 17:19:17 UTC 2022")
    )
    assert when is not None and when.tzinfo is None


def test_timedatectl() -> None:
    lines = [
        "               Local time: Thu 2022-02-10 16:19:48 UTC",
        "           Universal time: Thu 2022-02-10 16:19:48 UTC",
        "                 RTC time: Thu 2022-02-10 16:19:47    ",
        "                Time zone: Etc/UTC (UTC, +0000)       ",
    ]
    assert parse_timedatectl(lines) == datetime(2022, 2, 10, 16, 19, 48, tzinfo=UTC)
    assert parse_timedatectl(["garbage"]) is None
    only_utc = parse_timedatectl(["Universal time: Thu 2022-02-10 16:19:48 UTC"])
    assert only_utc == datetime(2022, 2, 10, 16, 19, 48, tzinfo=timezone.utc)  # noqa: UP017


def test_sos_log_time() -> None:
    assert parse_sos_log_time("2022-02-10 16:19:07,403 INFO:  Setting up archive ...") == datetime(
        2022, 2, 10, 16, 19, 7
    )
    assert parse_sos_log_time("INFO: no time") is None


@pytest.mark.parametrize("stamp", ["2١٢٣-06-19 10:23:04", "2022-13-10 16:19:48", "2022-02-30 16:19:48",
                                   "2022-02-10 25:19:48"])
def test_a_clock_line_no_calendar_has_is_no_time(stamp: str) -> None:
    """Found by the fuzz test on a fresh clone (seed 3930102809): Arabic-Indic digits matched ``\\d`` and
    ``datetime.fromisoformat`` raised; so did month 13. A line that is not a time is not read as one, and the
    lines around it still are."""
    utc = "           Universal time: Thu 2022-02-10 16:19:48 UTC"
    assert parse_timedatectl([f"               Local time: Wed {stamp} UTC"]) is None
    assert parse_timedatectl([f"               Local time: Wed {stamp} CET", utc]) == datetime(
        2022, 2, 10, 16, 19, 48, tzinfo=UTC)
    assert parse_sos_log_time(f"{stamp},403 INFO:  Setting up archive ...") is None


def test_only_ascii_digits_are_digits_of_a_date() -> None:
    assert parse_date("Thu Feb 1\u0660 16:19:17 UTC 2022") is None
    assert parse_date("Thu Feb 10 16:19:17 UTC 2022") is not None
