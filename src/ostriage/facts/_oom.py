"""Kernel OOM events from every kernel log a host has, merged into one list of distinct kills.

The same kill is usually printed in several places (dmesg, kern.log, syslog, the journal): events
are merged on (victim pid, victim comm, anon-rss), keeping the copy that carries a wall-clock time so
the timeline can place it, and the kill line of that copy as the citation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from ostriage.parsers.journal import UnitEvent, UnitEventKind
from ostriage.parsers.kernel_oom import OomEvent

__all__ = ["align_boot_time", "merge_oom_events", "not_after"]

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


def align_boot_time(boot: datetime, events: Iterable[OomEvent], notices: Iterable[UnitEvent],
                    unit_of: Callable[[OomEvent], str | None] | None = None,
                    also: frozenset[UnitEventKind] = frozenset()) -> datetime:
    """Refine a boot time known only to the minute with systemd's own notices of the same kills.

    dmesg gives kills in seconds since boot; ``uptime`` gives the boot to the minute, enough to put a
    kill before the restart it caused. Each kill of a unit's process is followed within seconds by
    systemd's notice (``A process of this unit has been killed by the OOM killer`` or ``Main process
    exited, code=killed``): the shift that makes most kills precede a notice of their unit is the
    boot time's error. Kept unchanged unless at least two kills agree. ``unit_of`` names the unit a kill
    makes restart (by default the unit its cgroup names; a container's kill, the unit that starts it), ``also``
    the other notices that follow a kill at once (a container's exit is its unit's ``Deactivated successfully``).
    """
    unit_of = unit_of or (lambda e: e.unit)
    kills = [(e.monotonic, u) for e in events if e.monotonic is not None and (u := unit_of(e)) and e.timestamp is None]
    seen: dict[str, list[datetime]] = {}
    for n in notices:
        if n.unit and n.timestamp and (n.kind is UnitEventKind.OOM_KILL or n.kind in also
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


def not_after(boot: datetime, events: Iterable[OomEvent], collected_at: datetime | None) -> datetime:
    """A boot time known only to the minute, moved back just enough (within ``UPTIME_SLACK``) that no kill the
    evidence holds is placed after the evidence was taken (``uptime`` rounds down, so such times run late).

    >>> from dataclasses import replace as r
    >>> from ostriage.parsers.kernel_oom import parse_oom_events
    >>> from ostriage.evidence import numbered
    >>> (e,) = parse_oom_events(numbered(["[  100.5] Memory cgroup out of memory: Killed process 7 (uwsgi) "
    ...                                   "total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB"]))
    >>> not_after(datetime(2026, 1, 1, 0, 0, 0), [e], datetime(2026, 1, 1, 0, 1, 0))
    datetime.datetime(2025, 12, 31, 23, 59, 19, 500000)
    """
    latest = max((e.monotonic for e in events if e.monotonic is not None and e.timestamp is None), default=None)
    if latest is None or collected_at is None:
        return boot
    over = boot + timedelta(seconds=latest) - collected_at
    return boot - over if timedelta(0) < over <= UPTIME_SLACK else boot
