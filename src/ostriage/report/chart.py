"""The HTML report's timeline chart, laid out from the document's ``events``: plain coordinates for an
inline SVG the template writes (no charting library, no script: see the README for why).

One time axis for every service. A service the kernel OOM-killed gets a memory row: each kill is a bar
as tall as the victim's anon-rss, against its memory cgroup's limit (a dashed line); restarts, exits and
failures are marks on their service's row; configuration changes have a row of their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Chart", "layout"]

#: the SVG's user units (it scales to the page's width)
WIDTH = 1232
#: the row labels' column: as wide as the longest label needs (bold 12.5 px: ~7.6 units a character)
LABELS = (150, 300)
CHAR = 7.6
RIGHT = 16
TOP = 8
MEMORY_ROW = 112
EVENT_ROW = 30
AXIS = 34
#: marks nearer than this (user units) overlap: a run of them gets its count written above it
CLUSTER = 7.0
#: at most this many tick labels on the time axis
MAX_TICKS = 9
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800,
          604800)
KINDS = {
    "oom-kill": "OOM kill (bar: anon-rss when killed)",
    "restart": "restart by systemd",
    "gave-up": "systemd gave up (start limit)",
    "exit": "process exited",
    "connect-failure": "connection refused / failed",
    "http-5xx": "HTTP 5xx answered",
    "config-change": "configuration file changed",
    "note": "other",
}
CONFIG_ROW = "configuration files"


@dataclass
class Mark:
    kind: str
    index: int
    x: float
    y: float
    title: str
    #: an OOM kill's bar, from the row's zero line up to ``y``
    bar_from: float | None = None


@dataclass
class Run:
    """Marks of one kind closer than ``CLUSTER`` to each other: labelled with their count."""

    x: float
    y: float
    count: int


@dataclass
class Row:
    label: str
    top: float
    height: float
    zero: float
    limit_y: float | None = None
    limit_label: str = ""
    limit_bytes: float | None = None
    scale_bytes: float | None = None
    marks: list[Mark] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)


@dataclass
class Chart:
    width: int
    height: float
    x0: float
    x1: float
    t0: float
    t1: float
    axis_y: float
    rows: list[Row]
    ticks: list[tuple[float, str]]
    start: str
    kinds: list[tuple[str, str]]


def _label(subject: str) -> str:
    """A row's label: the unit without ``.service`` (the marks' titles keep the full name)."""
    return subject.removesuffix(".service")


def _gib(n: float) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.0f} MiB"


def _step(span: float) -> float:
    return next((s for s in _STEPS if span / s <= MAX_TICKS), _STEPS[-1] * math.ceil(span / _STEPS[-1] / MAX_TICKS))


def _clock(seconds_of_day: float, step: float) -> str:
    s = round(seconds_of_day) % 86400
    hh, mm, ss = s // 3600, s // 60 % 60, s % 60
    return f"{hh:02d}:{mm:02d}" if step >= 60 and ss == 0 else f"{hh:02d}:{mm:02d}:{ss:02d}"


def _seconds_of_day(time: str) -> float:
    """``2026-11-25 05:53:08`` → seconds since that day's midnight (host time, as the document says it)."""
    hh, mm, ss = (int(x) for x in time[11:19].split(":"))
    return hh * 3600 + mm * 60 + ss


def _runs(marks: list[Mark]) -> list[Run]:
    runs: list[Run] = []
    for kind in dict.fromkeys(m.kind for m in marks if m.kind != "oom-kill"):
        xs = sorted((m.x, m.y) for m in marks if m.kind == kind)
        group = xs[:1]
        for point in [*xs[1:], None]:
            if point is not None and point[0] - group[-1][0] < CLUSTER:
                group.append(point)
                continue
            if len(group) > 1:
                runs.append(Run((group[0][0] + group[-1][0]) / 2, min(y for _, y in group) - 8, len(group)))
            group = [point] if point is not None else []
    return runs


def layout(events: list[dict[str, Any]]) -> Chart | None:
    """The chart of ``events`` (the document's), ``None`` when nothing is timed."""
    if not events:
        return None
    offsets = [float(e["offset_seconds"]) for e in events]
    span = max(offsets) - min(offsets)
    pad = max(span * 0.03, 1.0)
    t0, t1 = min(offsets) - pad, max(offsets) + pad
    x1 = float(WIDTH - RIGHT)

    def x_of(offset: float) -> float:
        return x0 + (offset - t0) / (t1 - t0) * (x1 - x0)

    memory = {e["subject"] for e in events if e["kind"] == "oom-kill" and e["bytes"] is not None}
    order: list[str] = []
    for e in sorted(events, key=lambda e: (e["subject"] not in memory, e["offset_seconds"])):
        label = CONFIG_ROW if e["kind"] == "config-change" else e["subject"] or "other"
        if label not in order and label != CONFIG_ROW:
            order.append(label)
    if any(e["kind"] == "config-change" for e in events):
        order.append(CONFIG_ROW)

    x0 = min(max(LABELS[0], CHAR * max(len(_label(r)) for r in order) + 16), LABELS[1])
    rows: dict[str, Row] = {}
    top = float(TOP)
    for label in order:
        if label in memory:
            kills = [e for e in events if e["subject"] == label and e["kind"] == "oom-kill" and e["bytes"] is not None]
            limit = max((e["limit_bytes"] or 0 for e in kills), default=0) or None
            scale = max([e["bytes"] for e in kills] + [limit or 0]) * 1.18
            zero = top + MEMORY_ROW - 10
            row = Row(_label(label), top, MEMORY_ROW, zero, limit_bytes=limit, scale_bytes=scale)
            if limit:
                row.limit_y = zero - limit / scale * (MEMORY_ROW - 22)
                row.limit_label = f"limit {_gib(limit)}"
            top += MEMORY_ROW
        else:
            row = Row(_label(label), top, EVENT_ROW, top + EVENT_ROW / 2)
            top += EVENT_ROW
        rows[label] = row

    for i, e in enumerate(events):
        label = CONFIG_ROW if e["kind"] == "config-change" else e["subject"] or "other"
        row = rows[label]
        x = x_of(e["offset_seconds"])
        title = f"{e['time']}  {e['what']}  [{e['evidence']['path']}" + (
            f":{e['evidence']['line']}]" if e["evidence"]["line"] else "]")
        if e["kind"] == "oom-kill" and row.scale_bytes and e["bytes"] is not None:
            y = row.zero - e["bytes"] / row.scale_bytes * (MEMORY_ROW - 22)
            row.marks.append(Mark(e["kind"], i, x, y, title, bar_from=row.zero))
        elif row.scale_bytes:
            # a restart or exit of a service that also has a memory row: on its zero line
            row.marks.append(Mark(e["kind"], i, x, row.zero + 5, title))
        else:
            row.marks.append(Mark(e["kind"], i, x, row.zero, title))

    for row in rows.values():
        row.runs = _runs(row.marks)
    step = _step(t1 - t0)
    start_of_day = _seconds_of_day(events[0]["time"]) - events[0]["offset_seconds"]
    first_tick = math.ceil((start_of_day + t0) / step) * step
    ticks = []
    tick = first_tick
    while tick <= start_of_day + t1:
        ticks.append((x_of(tick - start_of_day), _clock(tick, step)))
        tick += step
    kinds = [(k, KINDS[k]) for k in KINDS if any(e["kind"] == k for e in events)]
    return Chart(WIDTH, top + AXIS, x0, x1, t0, t1, top + 4, list(rows.values()), ticks, events[0]["time"][:10],
                 kinds)
