"""Kernel OOM kills, per victim service: the loop that takes a service down again and again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise

from ostriage.facts.model import Facts
from ostriage.findings import Citation, Finding, Link, Mark, Ref, Relation, Severity, TimelineEntry
from ostriage.rules._common import KillGroup, human_bytes, kills_by_victim, when
from ostriage.rules._registry import rule

#: two kills of the same service are a pattern, not an accident
LOOP_KILLS = 2
#: an active unit that has run this long (and longer than its loop ever let it) without a kill is out of it
QUIET_MIN = timedelta(seconds=30)
#: citations kept per finding: the first and the last kills, and the biggest one
_MAX_CITED = 3


def _citations(group: KillGroup) -> tuple[Citation, ...]:
    biggest = max(group.events, key=lambda e: e.anon_rss_kb or 0)
    chosen = list(dict.fromkeys([group.first, biggest, group.last]))[:_MAX_CITED]
    out: list[Citation] = []
    for e in chosen:
        note = "first kill" if e is group.first else "last kill" if e is group.last else "largest kill"
        if e.kill_line is not None:
            out.append(Citation(e.kill_line, note))
        constraint = next((ln for ln in e.lines if "oom-kill:constraint" in ln.text), None)
        if constraint is not None and e is group.last:
            out.append(Citation(constraint, "the memory cgroup the kernel was enforcing"))
    return tuple(out)


def _quiet_since(facts: Facts, group: KillGroup) -> datetime | None:
    """When the unit's (or container's) current process started, if the kills are history: it started
    after the last one, is active, and has run for longer than the loop ever let it (three times the usual
    interval between kills, at least ``QUIET_MIN``). ``None`` while the loop may still be going on."""
    state = facts.units.get(group.victim.unit or "")
    props = state.properties if state else None
    container = group.victim.container
    if container is not None:
        start, active = container.started_at, container.state == "running"
    else:
        start = props.exec_main_start_timestamp if props else None
        active = props is not None and props.active_state == "active"
    last = group.last.timestamp
    if start is None or last is None or facts.collected_at is None:
        return None
    if not active or start <= last:
        return None
    times = [e.timestamp for e in group.events if e.timestamp]
    gaps = sorted((b - a for a, b in pairwise(times)), key=lambda d: d.total_seconds())
    usual = gaps[len(gaps) // 2] if gaps else QUIET_MIN
    return start if facts.collected_at - start >= max(QUIET_MIN, 3 * usual) else None


def _kib(kb: int | None) -> str:
    return human_bytes((kb or 0) * 1024)


def _scope(group: KillGroup) -> str:
    memcg = group.memcg_kills
    if len(memcg) == len(group.events):
        limits = {e.memcg_limit_kb for e in memcg if e.memcg_limit_kb}
        limit = f" (limit {human_bytes(max(limits) * 1024)})" if limits else ""
        return f"inside its memory cgroup{limit}"
    if not memcg:
        return "by a whole-machine OOM (no cgroup limit involved)"
    return f"{len(memcg)} times inside its memory cgroup, {len(group.events) - len(memcg)} times by whole-machine OOM"


@rule("OOM001", "service-oom-kill-loop")
def service_oom_kill_loop(facts: Facts) -> Iterator[Finding]:
    """Kernel OOM kills grouped by the service whose process died.

    What it does:
        Groups every kernel OOM-kill record (dmesg, kern.log, syslog, messages, journal; duplicates
        merged) by victim, mapped to its systemd unit through the memory cgroup path, the pid in the
        service's own log, systemd's OOM notice, or the process name; reports count, time window,
        anon-rss at each kill, and whether a memory-cgroup limit or the whole machine ran out.
    Why is this bad:
        A service killed by the OOM killer restarts, grows again and is killed again; each kill drops
        its API and RPC connections. systemd restarts it so fast that `systemctl status` shows it
        active (running) most of the time.
    Evidence:
        The kernel's `Killed process N (comm) total-vm:..., anon-rss:...` lines and the `oom-kill:` line
        naming the cgroup.
    False positives:
        A single kill of a process that is not a service (a user's script) is reported at warning level
        only. Kills before the unit's current start are history (info) once the current process has run
        longer than the loop ever let it. Kills older than the logs' rotation are not seen at all.
    Remedy:
        Find out why the service needs the memory (other findings link here when they explain it); do
        not protect it from the OOM killer.
    Fix safety:
        display-only: this finding describes a consequence; fixes belong to its causes.
    References:
        Linux mm/oom_kill.c, mm/memcontrol.c; systemd.exec(5) OOMScoreAdjust=; systemd.resource-control(5).
    """
    for group in kills_by_victim(facts):
        n = len(group.events)
        service = group.victim.service
        loop = n >= LOOP_KILLS
        severity = Severity.CRITICAL if loop or service is not None else Severity.WARNING
        since = _quiet_since(facts, group)
        if since is not None:
            severity = Severity.INFO
        rss = [e.anon_rss_kb for e in group.events if e.anon_rss_kb is not None]
        rss_text = (f"; anon-rss at kill {human_bytes(min(rss) * 1024)}–{human_bytes(max(rss) * 1024)}"
                    if rss else "")
        if group.first.timestamp is None:
            window = ""
        elif n > 1:
            window = f" between {when(group.first.timestamp)} and {when(group.last.timestamp)}"
        else:
            window = f" at {when(group.first.timestamp)}"
        name = group.victim.subject
        summary = f"{name} was OOM-killed {n} time{'s' if n > 1 else ''}{window}"
        if since is not None:
            summary += f"; its current process has run without a kill since {when(since)}"
        links: list[Link] = []
        if group.victim.unit:
            links.append(Link(Relation.CAUSES, Ref("unit-crash-looping-while-active", group.victim.unit),
                              "each kill makes systemd restart the unit"))
        container = group.victim.container
        if container is not None and container.unit:
            links.append(Link(Relation.CAUSES, Ref("unit-crash-looping-while-active", container.unit),
                              f"{container.unit} restarts the container when it dies"))
        if service is not None and service.api_port is not None:
            links.append(Link(Relation.CAUSES, Ref("api-port-not-listening", service.name),
                              f"the killed {service.name} cannot serve port {service.api_port}"))
        ends = (group.first, group.last)
        timeline = [TimelineEntry(e.timestamp, f"{name} OOM-killed (anon-rss {_kib(e.anon_rss_kb)})", e.kill_line,
                                  Mark.OOM_KILL, name, e.anon_rss_kb * 1024 if e.anon_rss_kb is not None else None,
                                  e.memcg_limit_kb * 1024 if e.memcg_limit_kb else None, headline=e in ends)
                    for e in group.events if e.timestamp and e.kill_line]
        if group.victim.owner is not None:
            links.append(Link(Relation.CAUSES, Ref("container-crash-looping", name),
                              "each kill ends the container's run, and its engine starts it again"))
        yield service_oom_kill_loop.finding(
            subject=name,
            severity=severity,
            summary=summary,
            explanation=(f"The kernel killed {name} {_scope(group)}{rss_text}. "
                         + (f"The kill happened in the cgroup of {name} ({group.victim.how}): it is that "
                            f"{'container' if group.victim.container else 'machine'}'s process, not one of this "
                            "host's units." if group.victim.owner is not None else
                            f"Mapped to the service by {group.victim.how}.")
                         + (" Repeated kills of the same service are a crash loop, not an accident." if loop else "")),
            evidence=_citations(group),
            links=tuple(links),
            timeline=tuple(timeline),
            data={
                "unit": group.victim.unit,
                "service": service.name if service else None,
                "kills": n,
                "memcg_kills": len(group.memcg_kills),
                "first": when(group.first.timestamp),
                "last": when(group.last.timestamp),
                "anon_rss_kb": rss,
                "victim_pids": [e.victim_pid for e in group.events],
                "memcg_limit_kb": max((e.memcg_limit_kb or 0 for e in group.events), default=0) or None,
                "inside": name if group.victim.owner is not None else None,
            },
        )
