"""Memory totals: the real free / free -m of the ussuri sosreport (procps-ng 3.3.16 layout), a real
/proc/meminfo and free -w of this project's machine (kernel 6.x, procps-ng 4.0.2), and the old
procps 3.3.9 layout with its "-/+ buffers/cache" row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ostriage.evidence import Line, numbered
from ostriage.parsers.meminfo import parse_free, parse_meminfo

KIB = 1024
MIB = 1024 * 1024


def _lines(root: Path, rel: str) -> Iterator[Line]:
    with open(root / rel, encoding="utf-8", errors="replace") as handle:
        yield from numbered(handle, rel)


def test_real_free(ussuri_sos: Path) -> None:
    free = parse_free(_lines(ussuri_sos, "sos_commands/memory/free"))
    assert free.mem is not None and free.swap is not None
    assert free.mem.total == 16393164 * KIB
    assert (free.mem.used, free.mem.free, free.mem.shared) == (7474740 * KIB, 185156 * KIB, 44924 * KIB)
    assert (free.mem.buff_cache, free.mem.available) == (8733268 * KIB, 8638440 * KIB)
    assert free.mem.buffers is None and free.mem.cache is None
    assert (free.swap.total, free.swap.used, free.swap.free) == (4194300 * KIB, 67584 * KIB, 4126716 * KIB)
    assert free.swap.available is None and free.buffers_cache is None
    assert free.mem.line.cite() == "sos_commands/memory/free:2"


def test_real_free_m_agrees_with_free(ussuri_sos: Path) -> None:
    kib = parse_free(_lines(ussuri_sos, "sos_commands/memory/free"))
    mib = parse_free(_lines(ussuri_sos, "sos_commands/memory/free_-m"), unit="m")
    assert mib.mem is not None and kib.mem is not None
    assert mib.mem.total == 16008 * MIB
    assert kib.mem.total is not None and abs(mib.mem.total - kib.mem.total) < MIB
    assert mib.swap is not None and mib.swap.total == 4095 * MIB


# Real /proc/meminfo of this project's machine (excerpt, kernel order).
MEMINFO = """MemTotal:       24683656 kB
MemFree:        24309272 kB
MemAvailable:   24382356 kB
Buffers:            1728 kB
Cached:           262492 kB
SwapTotal:             0 kB
SwapFree:              0 kB
CommitLimit:    12341828 kB
Committed_AS:      61396 kB
VmallocTotal:   34359738367 kB
AnonHugePages:         0 kB
HugePages_Total:       0
HugePages_Free:        0
HugePages_Rsvd:        0
HugePages_Surp:        0
Hugepagesize:       2048 kB
Hugetlb:               0 kB
DirectMap1G:    25165824 kB
"""


def test_proc_meminfo() -> None:
    m = parse_meminfo(numbered(MEMINFO, "proc/meminfo"))
    assert m.mem_total == 24683656 * KIB and m.mem_free == 24309272 * KIB
    assert m.mem_available == 24382356 * KIB and m.swap_total == 0 and m.swap_free == 0
    assert (m.commit_limit, m.committed_as) == (12341828 * KIB, 61396 * KIB)
    assert m.hugepages_total == 0 and m.hugepages_free == 0 and m.hugepage_size == 2048 * KIB
    assert m.hugepages_bytes == 0
    assert m.get("VmallocTotal") == 34359738367 * KIB and m.get("Active(anon)") is None
    line = m.line("HugePages_Total")
    assert line is not None and line.number == 12


def test_meminfo_with_reserved_hugepages_and_old_kernel() -> None:
    # A 3.10 kernel has no MemAvailable; 1 GiB pages reserved for DPDK.
    text = ["MemTotal:       65807040 kB", "MemFree:         1033256 kB", "HugePages_Total:      16",
            "HugePages_Free:       12", "Hugepagesize:    1048576 kB", "garbage", "\x00",
            "Key: notanumber kB"]
    m = parse_meminfo(numbered(text, "proc/meminfo"))
    assert m.mem_available is None and m.hugepages_total == 16 and m.hugepages_free == 12
    assert m.hugepages_bytes == 16 * 1024**3
    assert set(m.values) == {"MemTotal", "MemFree", "HugePages_Total", "HugePages_Free", "Hugepagesize"}
    assert parse_meminfo(numbered([], "x")).mem_total is None


def test_old_procps_layout() -> None:
    text = ["             total       used       free     shared    buffers     cached",
            "Mem:       8061316    7851460     209856          0     244332    4556772",
            "-/+ buffers/cache:    3050356    5010960",
            "Swap:      2097148      10256    2086892"]
    free = parse_free(numbered(text, "free"))
    assert free.mem is not None and free.buffers_cache is not None and free.swap is not None
    assert (free.mem.buffers, free.mem.cache, free.mem.available) == (244332 * KIB, 4556772 * KIB, None)
    assert (free.buffers_cache.used, free.buffers_cache.free) == (3050356 * KIB, 5010960 * KIB)
    assert free.buffers_cache.total is None and free.swap.free == 2086892 * KIB


def test_free_wide_and_total_row() -> None:
    # Real "free -w" (procps-ng 4.0.2) plus the "-t" total row.
    text = ["               total        used        free      shared     buffers       cache   available",
            "Mem:        24683656      301064    24306008        8952        1728      309632    24382592",
            "Swap:              0           0           0",
            "Total:      24683656      301064    24306008"]
    free = parse_free(numbered(text, "free -w -t"))
    assert free.mem is not None and free.total is not None
    assert (free.mem.buffers, free.mem.cache, free.mem.buff_cache) == (1728 * KIB, 309632 * KIB, None)
    assert free.total.free == 24306008 * KIB


@pytest.mark.parametrize(("value", "expected"), [
    ("15Gi", 15 * 1024**3), ("7.1Gi", int(7.1 * 1024**3)), ("178Mi", 178 * MIB), ("0B", 0),
    ("7.7G", int(7.7 * 1024**3)), ("843M", 843 * MIB),
])
def test_free_human(value: str, expected: int) -> None:
    text = ["               total        used        free      shared  buff/cache   available",
            f"Mem:            {value}         1Gi         1Gi         0B         1Gi         1Gi"]
    free = parse_free(numbered(text, "free -h"), unit="m")
    assert free.mem is not None and free.mem.total == expected


def test_free_without_header_or_garbage() -> None:
    assert parse_free(numbered(["Mem: 1 2 3", "\x00", "x" * 1_000_000], "free")).mem is None
    free = parse_free(numbered(["      total  used", "Mem:  10  n/a"], "free"), unit="b")
    assert free.mem is not None and (free.mem.total, free.mem.used) == (10, None)
