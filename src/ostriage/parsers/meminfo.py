"""How much memory the host has and uses, in bytes: ``/proc/meminfo`` and ``free``.

Sources:

- ``/proc/meminfo`` (sos ``proc/meminfo``; not collected in the ussuri fixture): ``Key:   value kB`` lines
  printed by the kernel's ``fs/proc/meminfo.c``; the ``HugePages_*`` counts have no unit. Real lines (this
  project's machine, kernel 6.x)::

    MemTotal:       24683656 kB
    MemAvailable:   24382356 kB
    HugePages_Total:       0
    Hugepagesize:       2048 kB

  ``kB`` there means KiB (the kernel prints ``pages << (PAGE_SHIFT - 10)``): values are multiplied by 1024.
- ``free`` / ``free -m`` (sos ``sos_commands/memory/free`` (root symlink ``free``), ``free_-m``). procps-ng
  3.3.10 and later (Ubuntu 20.04 in the fixture)::

                  total        used        free      shared  buff/cache   available
    Mem:       16393164     7474740      185156       44924     8733268     8638440
    Swap:       4194300       67584     4126716

  procps 3.3.9 and older (RHEL 6, Ubuntu 14.04)::

                 total       used       free     shared    buffers     cached
    Mem:       8061316    7851460     209856          0     244332    4556772
    -/+ buffers/cache:    3050356    5010960
    Swap:      2097148      10256    2086892

  ``free -w`` splits ``buff/cache`` into ``buffers`` and ``cache``; ``-h`` prints ``15Gi``/``7.1G``. Columns
  are taken from the header, so every layout reads the same. The unit is not in the output: pass the one the
  command was run with (``free`` → KiB, ``free -m`` → MiB). ``free -m`` values are rounded to the MiB.

>>> from ostriage.evidence import numbered
>>> m = parse_meminfo(numbered(["MemTotal:       16393164 kB", "HugePages_Total:      16"], "proc/meminfo"))
>>> m.mem_total, m.hugepages_total, m.line("MemTotal").cite()
(16786599936, 16, 'proc/meminfo:1')
>>> free = ["              total        used        free      shared  buff/cache   available",
...         "Mem:          16008        7301         178          43        8528        8433",
...         "Swap:          4095          66        4029"]
>>> f = parse_free(numbered(free, "free_-m"), unit="m")
>>> f.mem.total, f.mem.available, f.swap.used
(16785604608, 8842641408, 69206016)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from ostriage.evidence import Line

__all__ = ["FreeOutput", "FreeRow", "MemInfo", "parse_free", "parse_meminfo"]

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


@dataclass(frozen=True, slots=True)
class MemInfo:
    """``/proc/meminfo``: sizes in bytes, ``HugePages_*`` as counts, each with its line."""

    values: Mapping[str, int]
    lines: Mapping[str, Line]

    def get(self, key: str) -> int | None:
        return self.values.get(key)

    def line(self, key: str) -> Line | None:
        return self.lines.get(key)

    @property
    def mem_total(self) -> int | None:
        return self.values.get("MemTotal")

    @property
    def mem_free(self) -> int | None:
        return self.values.get("MemFree")

    @property
    def mem_available(self) -> int | None:
        """Absent before Linux 3.14."""
        return self.values.get("MemAvailable")

    @property
    def swap_total(self) -> int | None:
        return self.values.get("SwapTotal")

    @property
    def swap_free(self) -> int | None:
        return self.values.get("SwapFree")

    @property
    def commit_limit(self) -> int | None:
        return self.values.get("CommitLimit")

    @property
    def committed_as(self) -> int | None:
        return self.values.get("Committed_AS")

    @property
    def hugepages_total(self) -> int | None:
        return self.values.get("HugePages_Total")

    @property
    def hugepages_free(self) -> int | None:
        return self.values.get("HugePages_Free")

    @property
    def hugepage_size(self) -> int | None:
        return self.values.get("Hugepagesize")

    @property
    def hugepages_bytes(self) -> int | None:
        """Memory reserved for huge pages (not available to neutron), when both numbers are known."""
        if self.hugepages_total is None or self.hugepage_size is None:
            return None
        return self.hugepages_total * self.hugepage_size


_MEMINFO = re.compile(r"([A-Za-z0-9_()]+):\s+(\d+)(?:\s+(kB))?\s*$")


def parse_meminfo(lines: Iterable[Line]) -> MemInfo:
    """``/proc/meminfo``; unknown lines are skipped, so a missing key reads as ``None``."""
    values: dict[str, int] = {}
    where: dict[str, Line] = {}
    for line in lines:
        match = _MEMINFO.match(line.text)
        if match is None:
            continue
        key = match[1]
        values[key] = int(match[2]) * (1024 if match[3] else 1)
        where[key] = line
    return MemInfo(values, where)


@dataclass(frozen=True, slots=True)
class FreeRow:
    """One row of ``free`` in bytes; columns the layout does not print are ``None``."""

    line: Line
    total: int | None = None
    used: int | None = None
    free: int | None = None
    shared: int | None = None
    buffers: int | None = None
    cache: int | None = None
    buff_cache: int | None = None
    available: int | None = None


@dataclass(frozen=True, slots=True)
class FreeOutput:
    """``free``: ``Mem:``, ``Swap:``, and the old ``-/+ buffers/cache:`` and ``-t`` ``Total:`` rows."""

    mem: FreeRow | None
    swap: FreeRow | None
    buffers_cache: FreeRow | None = None
    total: FreeRow | None = None


_COLUMNS = {"total": "total", "used": "used", "free": "free", "shared": "shared", "buffers": "buffers",
            "cache": "cache", "cached": "cache", "buff/cache": "buff_cache", "available": "available"}
_HUMAN = re.compile(r"(\d+(?:[.,]\d+)?)([BKMGTP]?)i?$")

FreeUnit = Literal["b", "k", "m", "g", "t"]


def _bytes(text: str, unit: FreeUnit) -> int | None:
    if text.isdecimal():
        return int(text) * _UNITS[unit]
    match = _HUMAN.match(text)
    if match is None:
        return None
    value = float(match[1].replace(",", ".")) * _UNITS[match[2].lower()]
    return int(value) if math.isfinite(value) else None


def _row(line: Line, names: list[str], values: list[str], unit: FreeUnit) -> FreeRow:
    got = {name: _bytes(value, unit) for name, value in zip(names, values, strict=False)}
    return FreeRow(line, total=got.get("total"), used=got.get("used"), free=got.get("free"),
                   shared=got.get("shared"), buffers=got.get("buffers"), cache=got.get("cache"),
                   buff_cache=got.get("buff_cache"), available=got.get("available"))


def parse_free(lines: Iterable[Line], unit: FreeUnit = "k") -> FreeOutput:
    """``free`` in any procps layout; ``unit`` is the one the command printed (``free -m`` → ``"m"``).

    Human-readable values (``-h``: ``15Gi``, ``7.1G``, ``0B``) carry their own unit and ignore ``unit``.
    """
    names: list[str] = []
    rows: dict[str, FreeRow] = {}
    for line in lines:
        fields = line.text.split()
        if not fields:
            continue
        if fields[0] == "total":
            names = [_COLUMNS.get(f, f) for f in fields]
            continue
        if not names:
            continue
        if fields[0] in ("Mem:", "Swap:", "Total:"):
            rows[fields[0]] = _row(line, names, fields[1:], unit)
        elif fields[:2] == ["-/+", "buffers/cache:"]:
            rows["-/+"] = _row(line, ["used", "free"], fields[2:], unit)
    return FreeOutput(rows.get("Mem:"), rows.get("Swap:"), rows.get("-/+"), rows.get("Total:"))
