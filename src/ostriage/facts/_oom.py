"""Kernel OOM events from every kernel log a host has, merged into one list of distinct kills.

The same kill is usually printed in several places (dmesg, kern.log, syslog, the journal): events
are merged on (victim pid, victim comm, anon-rss), keeping the copy that carries a wall-clock time so
the timeline can place it, and the kill line of that copy as the citation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from ostriage.parsers.journal import UnitEvent, UnitEventKind
from ostriage.parsers.kernel_oom import OomEvent

__all__ = ["align_boot_time", "merge_oom_events"]

#: how far a boot time computed from ``uptime`` (to the minute) may be off
UPTIME_SLACK = timedelta(seconds=90)
#: systemd notices a kill of its unit's process within this long (cgroup v2 OOM notice, main exit)
NOTICE_LAG = timedelta(seconds=3)
_STEP = timedelta(milliseconds=500)

_Key = tuple[int | None, str | None, int | None, float | None]


def _key(e: OomEvent) -> _Key:
    # a victim pid is reused only after wrap-around, and never with the same comm and anon-rss; a block
    # cut before its kill line has no victim, so its time since boot tells it apart
    anchor = e.monotonic if e.victim_pid is None else None
    return (e.victim_pid, e.victim_comm, e.anon_rss_kb, anchor)


def _score(e: OomEvent) -> tuple[int, int, int]:
    """Prefer a copy with a wall-clock time, then one with a kill line, then the more complete block."""
    return (e.timestamp is not None, e.kill_line is not None, len(e.lines))


def _fix_year(e: OomEvent, collected_at: datetime | None) -> OomEvent:
    """Syslog prefixes carry no year: a time after the collection must belong to the year before."""
    if e.timestamp and collected_at and e.timestamp - collected_at > timedelta(days=1) and e.timestamp.year > 1:
        stamp = e.timestamp
        # Feb 29 has no day in the year before: the last day of that February is the closest time there is
        day = 28 if (stamp.month, stamp.day) == (2, 29) else stamp.day
        return replace(e, timestamp=stamp.replace(year=stamp.year - 1, day=day))
    return e


def _shifted(when: datetime, seconds: float) -> datetime | None:
    """``when`` plus ``seconds`` (since boot, read from a log): ``None`` when a corrupt time since boot puts
    it outside the calendar."""
    try:
        return when + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        return None


def merge_oom_events(streams: Iterable[Iterable[OomEvent]], collected_at: datetime | None,
                     boot: datetime | None = None) -> list[OomEvent]:
    """Distinct kills, oldest first; ``boot`` (collection time minus uptime) places dmesg-only ones."""
    best: dict[_Key, OomEvent] = {}
    boots: list[datetime] = []
    for stream in streams:
        for event in stream:
            event = _fix_year(event, collected_at)
            if event.timestamp and event.monotonic is not None:
                started = _shifted(event.timestamp, -event.monotonic)
                if started is not None:
                    boots.append(started)
            k = _key(event)
            if k not in best or _score(event) > _score(best[k]):
                best[k] = event
    # dmesg gives only seconds since boot (of the current boot, hence the latest boot time seen); a
    # syslog copy of a kernel line that has both fixes that boot time, so dmesg-only events can still
    # be placed on the timeline
    boot = max(boots) if boots else boot
    merged = []
    for event in best.values():
        if event.timestamp is None and event.monotonic is not None and boot is not None:
            event = replace(event, timestamp=_shifted(boot, event.monotonic))
        merged.append(event)
    merged.sort(key=lambda e: (e.timestamp or datetime.min, e.monotonic or 0.0))
    return merged


def align_boot_time(boot: datetime, events: Iterable[OomEvent], notices: Iterable[UnitEvent]) -> datetime:
    """Refine a boot time known only to the minute with systemd's own notices of the same kills.

    dmesg gives kills in seconds since boot; ``uptime`` gives the boot to the minute, enough to put a
    kill before the restart it caused. Each kill of a unit's process is followed within seconds by
    systemd's notice (``A process of this unit has been killed by the OOM killer`` or ``Main process
    exited, code=killed``): the shift that makes most kills precede a notice of their unit is the
    boot time's error. Kept unchanged unless at least two kills agree.
    """
    kills = [(e.monotonic, e.unit) for e in events if e.monotonic is not None and e.unit and e.timestamp is None]
    seen: dict[str, list[datetime]] = {}
    for n in notices:
        if n.unit and n.timestamp and (n.kind is UnitEventKind.OOM_KILL
                                       or (n.kind is UnitEventKind.MAIN_EXITED and n.code in ("killed", "dumped"))):
            seen.setdefault(n.unit, []).append(n.timestamp)
    if len(kills) < 2 or not seen:
        return boot

    def matches(candidate: datetime) -> int:
        hits = 0
        for monotonic, unit in kills:
            at = _shifted(candidate, monotonic)
            hits += at is not None and any(timedelta(0) <= t - at <= NOTICE_LAG for t in seen.get(unit, ()))
        return hits

    steps = int(UPTIME_SLACK / _STEP)
    best = max((boot + k * _STEP for k in range(-steps, steps + 1)),
               key=lambda c: (matches(c), -abs((c - boot).total_seconds())))
    return best if matches(best) >= 2 else boot
