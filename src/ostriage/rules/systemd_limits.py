"""systemd unit settings that shape an OOM incident: memory limits, OOM protection, restart loops."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta

from ostriage.errors import ParseError
from ostriage.evidence import Line
from ostriage.facts.budget import unit_memory_limit
from ostriage.facts.deployment import model_inputs, sane_estimate
from ostriage.facts.model import Facts, UnitState
from ostriage.findings import (
    Citation,
    Finding,
    FixSafety,
    Link,
    Mark,
    Ref,
    Relation,
    Remedy,
    Severity,
    TimelineEntry,
    UnitEdit,
)
from ostriage.knowledge import neutron_options as opts
from ostriage.knowledge.memory_figure import Figure, figure
from ostriage.knowledge.neutron_memory import GIB, estimate
from ostriage.knowledge.services import service_for_unit
from ostriage.parsers.journal import UnitEvent, UnitEventKind
from ostriage.parsers.openstack_values import IdRange
from ostriage.rules._common import hog_of, human_bytes, kills_by_victim, when
from ostriage.rules._registry import rule
from ostriage.rules._restarts import unrequested_restarts
from ostriage.rules.ml2_ranges import LARGE_SYNC_BYTES, NEUTRON_SERVICES, need_text

#: OOMScoreAdjust at or below this makes a process (nearly) never chosen by the OOM killer
PROTECTED_SCORE = -900
#: restarts that make a pattern; systemd's default StartLimitBurst is 5 in 10 s, loops slower than
#: that never hit it and go on for ever
LOOP_RESTARTS = 3
#: journal restarts older than this before collection describe another incident
RECENT = timedelta(hours=24)
#: an active unit not restarted for this long, with no OOM since, has come out of its loop
STABLE = timedelta(hours=1)
#: headroom above the predicted need when sizing a new limit
HEADROOM = 1.25


def neutron_need(facts: Facts) -> tuple[Figure, bool] | None:
    """neutron-server's predicted need (the memory model's leading figure) and whether its ranges alone
    explain it."""
    config = facts.configs.get("neutron-server")
    if config is None:
        return None
    try:
        all_ids = opts.tunnel_id_ranges(config.ini) or (IdRange(1, 1),)
    except ParseError:
        return None
    inputs = model_inputs(facts, all_ids)
    est = estimate(inputs)
    large = est.per_process.low - est.baseline >= LARGE_SYNC_BYTES
    # an unbounded Southbound table in every worker explains the memory as well as a range does
    replica = est.sb_replica.per_process[0] if est.sb_replica else 0.0
    return figure(inputs), large or replica >= LARGE_SYNC_BYTES


def _round_up_gib(n: float) -> str:
    return f"{max(1, math.ceil(n / GIB))}G"


@rule("SYS001", "unit-memory-limit-below-need")
def unit_memory_limit_below_need(facts: Facts) -> Iterator[Finding]:
    """A systemd unit's memory limit (`MemoryMax=`/`MemoryLimit=`) below what its service needs.

    What it does:
        Reads each unit's effective memory limit (unit file and drop-ins in systemd's order, else
        `systemctl show`), and compares it with the kernel's memory-cgroup OOM kills inside that unit
        and, for neutron, with the memory model's prediction.
    Why is this bad:
        Inside its cgroup the kernel kills the service as soon as it reaches the limit, whatever the
        machine has free: a limit below the start-up peak is a crash loop by configuration.
    Evidence:
        The drop-in line that sets the limit, and the kernel's `oom-kill:constraint=CONSTRAINT_MEMCG`
        kill lines naming the unit's cgroup.
    False positives:
        A limit that kills a service because of a real leak or a bad config is not the cause: when the
        neutron ranges explain the memory, the limit is reported as aggravating, not as the root cause.
    Remedy:
        Raise the limit above the predicted need with headroom (or remove it), in the drop-in that sets
        it; `systemctl daemon-reload`; restart the unit.
    Fix safety:
        safe: only the limit value changes; a backup of the drop-in is kept.
    References:
        systemd.resource-control(5) MemoryMax=; Linux mm/memcontrol.c.
    """
    groups = {g.victim.unit: g for g in kills_by_victim(facts) if g.victim.unit and g.memcg_kills}
    for unit in facts.units.values():
        found = unit_memory_limit(facts, unit)
        if found is None:
            continue
        limit, line, key = found
        group = groups.get(unit.name)
        service = service_for_unit(unit.name)
        need = neutron_need(facts) if service and service.name in NEUTRON_SERVICES else None
        predicted_over = need is not None and need[0].fits(limit) is False
        if group is None and not predicted_over:
            continue
        if need is not None and need[0].fits(limit / HEADROOM) is True:
            continue  # the present configuration fits: the kills came from something else, or from the past
        explained_elsewhere = need is not None and need[1]
        after_fix = sane_estimate(facts).service_peak.high if explained_elsewhere else (
            need[0].service if need else None)
        evidence: list[Citation] = [Citation(line, f"{key}={human_bytes(limit)}")] if line else []
        if group is not None:
            kill = group.memcg_kills[-1]
            if kill.kill_line:
                evidence.append(Citation(kill.kill_line, f"killed at the limit, {len(group.memcg_kills)} time(s)"))
        relation = Relation.AGGRAVATES if explained_elsewhere else Relation.CAUSES
        summary = (f"{unit.name}: {key}={human_bytes(limit)} "
                   + (f"is below neutron's predicted need of {need_text(need[0])}"
                      if need else f"was hit {len(group.memcg_kills) if group else 0} time(s)"))
        edit_needed = after_fix is None or after_fix * HEADROOM > limit
        new_value = _round_up_gib(after_fix * HEADROOM) if after_fix else "infinity"
        remedy = Remedy(
            title=(f"raise {key} of {unit.name} to {new_value}" if edit_needed else
                   f"keep {key}={human_bytes(limit)}: it is above the need once the root cause is fixed"),
            steps=((f"set {key}={new_value} in {line.path if line else 'a drop-in'} (systemctl edit {unit.name})",
                    "systemctl daemon-reload", f"systemctl restart {unit.name}") if edit_needed else ()),
            unit_edits=((UnitEdit(unit.name, "Service", key, new_value,
                                  f"predicted need {human_bytes(after_fix)}" if after_fix else "need unknown",
                                  drop_in=_drop_in_of(line), old_value=human_bytes(limit)),) if edit_needed else ()),
            restart_units=(unit.name,) if edit_needed else (),
            safety=FixSafety.SAFE if edit_needed else FixSafety.DISPLAY_ONLY,
        )
        yield unit_memory_limit_below_need.finding(
            subject=unit.name,
            severity=Severity.CRITICAL if group is not None else Severity.WARNING,
            summary=summary,
            explanation=(
                f"The kernel enforces {key}={human_bytes(limit)} on {unit.name}'s memory cgroup and kills the "
                f"service when it gets there"
                + (f"; it did so {len(group.memcg_kills)} time(s), last at {when(group.last.timestamp)}"
                   if group else "")
                + ". "
                + ("The memory itself is explained by neutron's configuration (its segment ranges, or a Southbound "
                   "table it keeps in every worker): raising the limit alone would only move the kill to the "
                   "whole machine." if explained_elsewhere else
                   "Nothing else found explains the memory: the limit is simply too low for this service.")),
            evidence=tuple(evidence),
            remedy=remedy,
            links=(Link(relation, Ref("service-oom-kill-loop", unit.name), "kills happen at this limit"),),
            data={"unit": unit.name, "setting": key, "limit_bytes": limit,
                  "predicted_need_bytes": [need[0].span.low, need[0].span.high] if need else None,
                  "need_after_fix_bytes": after_fix},
        )


def _drop_in_of(line: Line | None) -> str | None:
    if line is not None and ".d/" in line.path and line.path.endswith(".conf"):
        return "/" + line.path.lstrip("/")
    return None


def _protection(unit: UnitState) -> tuple[int, Line | None] | None:
    setting = unit.setting("OOMScoreAdjust")
    if setting is not None and setting.value.lstrip("-").isdecimal():
        return int(setting.value), setting.line
    if unit.properties is not None and unit.properties.oom_score_adjust is not None:
        return unit.properties.oom_score_adjust, unit.properties.line_for("OOMScoreAdjust")
    return None


@rule("SYS002", "oom-protection-on-memory-hog")
def oom_protection_on_memory_hog(facts: Facts) -> Iterator[Finding]:
    """OOM protection (`OOMScoreAdjust=-1000`, `oom_adj -17`, `oom_score_adj`) on the process eating the memory.

    What it does:
        Finds units whose processes are shielded from the OOM killer (`OOMScoreAdjust=` ≤ -900 in the
        unit or drop-in, or tasks shown at `oom_score_adj -1000` in the kernel's OOM task tables) while
        they are the memory hog: killed before, or the largest process in a kill's task table.
    Why is this bad:
        The kernel never picks a -1000 process. Machine-wide, it kills the next largest process instead,
        typically the database (mysqld/mariadbd) or the message queue (beam.smp): the whole control plane
        goes down instead of one service. Inside a memory cgroup with no other killable task it cannot
        free anything (on kernels before 5.16 the failed charge even falls through to a machine-wide OOM).
        Set by hand (`echo -17 > /proc/PID/oom_adj`) it is also lost at every restart.
    Evidence:
        The `OOMScoreAdjust=` line, the task-table rows at -1000, and the kills of other services while
        this one was the largest process.
    False positives:
        Protection of small critical daemons (sshd, systemd-journald, ovs-vswitchd) is normal and is not
        reported: only units that are OOM victims or the hog in a kill are.
    Remedy:
        Remove `OOMScoreAdjust=` from the drop-in (and never write oom_adj by hand); fix why the service
        needs the memory.
    Fix safety:
        safe: removing protection only restores the kernel's default choice.
    References:
        proc(5) oom_score_adj/oom_adj; systemd.exec(5) OOMScoreAdjust=; Linux mm/oom_kill.c oom_badness.
    """
    groups = kills_by_victim(facts)
    for unit in facts.units.values():
        service = service_for_unit(unit.name)
        protection = _protection(unit)
        running = {p.pid for p in facts.processes}
        # a protected task matters while it still runs (set by hand, or its unit not restarted since)
        rows = [(t, e) for e in facts.oom_events for t in e.tasks
                if t.oom_score_adj <= PROTECTED_SCORE and service is not None
                and (not running or t.pid in running)
                and (facts.log_pids.get(t.pid) == service.name or t.name in [c[:15] for c in service.comms])]
        if (protection is None or protection[0] > PROTECTED_SCORE) and not rows:
            continue
        own = next((g for g in groups if g.victim.unit == unit.name), None)
        moved = [g for g in groups if g.victim.unit != unit.name and service is not None
                 and any(hog_of(facts, e) == service.name for e in g.events)]
        stuck = [e for e in facts.oom_events if e.no_killable_line is not None and facts.host_unit(e) == unit.name]
        if own is None and not moved and not rows and not stuck:
            continue
        # the kernel prints each victim's oom_score_adj: a protection that never reached the processes
        # (systemd could not apply it, or the service resets it) protects nothing
        ineffective = (own is not None and not rows and not stuck and not moved
                       and all(e.victim_oom_score_adj is not None and e.victim_oom_score_adj > PROTECTED_SCORE
                               for e in own.events))
        evidence: list[Citation] = []
        if protection is not None and protection[1] is not None and protection[0] <= PROTECTED_SCORE:
            evidence.append(Citation(protection[1], "configured" if ineffective else "never chosen by the OOM killer"))
        if ineffective and own is not None and own.last.kill_line is not None:
            evidence.append(Citation(own.last.kill_line,
                                     f"killed at oom_score_adj {own.last.victim_oom_score_adj}: not in effect"))
        if rows:
            task = rows[-1][0]
            evidence.append(Citation(task.line, f"{task.name} at oom_score_adj {task.oom_score_adj}"))
        for g in moved:
            if g.last.kill_line:
                evidence.append(Citation(g.last.kill_line, f"{g.victim.subject} killed instead"))
        if stuck and stuck[-1].no_killable_line is not None:
            evidence.append(Citation(stuck[-1].no_killable_line,
                                     f"{len(stuck)} OOM(s) in its cgroup with nothing the kernel may kill, "
                                     f"last {when(stuck[-1].timestamp)}"))
        links = [Link(Relation.RELATED if ineffective else Relation.AGGRAVATES, Ref("service-oom-kill-loop", unit.name),
                      "configured, but not what the kernel saw" if ineffective else "protection hides the hog")]
        links += [Link(Relation.AGGRAVATES, Ref("service-oom-kill-loop", g.victim.subject),
                       f"the kernel killed {g.victim.subject} because {unit.name} could not be killed") for g in moved]
        drop_in = _drop_in_of(protection[1]) if protection else None
        where = protection[1].path if protection and protection[1] else "the drop-in"
        yield oom_protection_on_memory_hog.finding(
            subject=unit.name,
            severity=Severity.CRITICAL if moved or stuck else Severity.WARNING,
            summary=(f"{unit.name} has OOMScoreAdjust={protection[0] if protection else ''} configured, but it did "
                     "not protect the killed processes" if ineffective else
                     f"{unit.name} is protected from the OOM killer while it is the memory hog"
                     + (f"; the kernel killed {', '.join(g.victim.subject for g in moved)} instead" if moved else "")
                     + ("; it is now stuck at its memory limit, neither killed nor restarted" if stuck else "")),
            explanation=(
                (f"OOMScoreAdjust={protection[0] if protection else ''} is configured, but the kernel killed "
                 f"{unit.name}'s processes at oom_score_adj {own.last.victim_oom_score_adj if own else '?'}: the "
                 "setting never reached them (systemd could not apply it, e.g. in a container without "
                 "CAP_SYS_RESOURCE, or the service resets it). Where it does work it is harmful: the kernel then "
                 "kills the database or the message queue instead, or the service hangs at its memory limit. "
                 "Remove it." if ineffective else "")
                or f"{unit.name} runs at oom_score_adj "
                f"{protection[0] if protection else rows[-1][0].oom_score_adj}, so the kernel never picks it. "
                "On a whole-machine OOM it kills the next largest process instead (the database or the message "
                "queue), taking the rest of the control plane down; inside a memory cgroup it cannot free memory "
                "at all. Protection set by hand (oom_adj -17) is also lost at the next restart. It hides the "
                "problem, it does not fix it."),
            evidence=tuple(evidence),
            remedy=Remedy(
                title=f"remove OOMScoreAdjust from {unit.name}",
                steps=(f"delete OOMScoreAdjust= from {where}",
                       "systemctl daemon-reload", f"systemctl restart {unit.name}"),
                # only a setting seen in a unit file can be edited; systemctl show alone may be stale
                unit_edits=(UnitEdit(unit.name, "Service", "OOMScoreAdjust", None, "protection moves the kill",
                                     drop_in=drop_in, old_value=str(protection[0]) if protection else None),)
                if protection and protection[0] <= PROTECTED_SCORE and unit.setting("OOMScoreAdjust") else (),
                restart_units=(unit.name,),
                safety=FixSafety.SAFE,
            ),
            links=tuple(links),
            data={"unit": unit.name, "oom_score_adjust": protection[0] if protection else None,
                  "killed_instead": [g.victim.subject for g in moved], "unkillable_ooms": len(stuck)},
        )


def _ended_after(events: list[UnitEvent], since: datetime | None) -> bool:
    """Did the unit die or fail after ``since`` (its last restart)?"""
    dead = (UnitEventKind.MAIN_EXITED, UnitEventKind.FAILED, UnitEventKind.OOM_KILL, UnitEventKind.START_LIMIT_HIT,
            UnitEventKind.FAILED_TO_START)
    return any(e.kind in dead and e.timestamp is not None and since is not None and e.timestamp > since
               for e in events)


def _hours(d: timedelta) -> str:
    return f"{d.total_seconds() / 3600:.1f} h"


def _span(a: datetime, b: datetime) -> str:
    """``9 minutes``, ``3.5 hours``."""
    seconds = (b - a).total_seconds()
    return f"{seconds / 60:.0f} minutes" if seconds < 5400 else f"{seconds / 3600:.1f} hours"


def _recent(facts: Facts, unit: UnitState) -> list[UnitEvent]:
    end = facts.collected_at or max((e.timestamp for e in unit.events if e.timestamp), default=None)
    if end is None:
        return list(unit.events)
    return [e for e in unit.events if e.timestamp is None or end - e.timestamp <= RECENT]


@rule("SYS003", "unit-crash-looping-while-active")
def unit_crash_looping_while_active(facts: Facts) -> Iterator[Finding]:
    """A unit that systemd keeps restarting, so that it looks active (running) most of the time.

    What it does:
        Reads `NRestarts`, `ActiveState`/`SubState` from `systemctl show` (else `systemctl list-units`) and
        systemd's own journal lines (`Main process exited`, `Failed with result`, `Scheduled restart job,
        restart counter is at N`, `Start request repeated too quickly`, and bare `Starting <description>...`
        lines with no `Stopping` between them: restarts nobody asked for) of the last 24 hours before
        collection, from the whole journal and from the per-unit journals sos collects. A service's unit
        that systemd lists as failed is reported too. A loop whose last restart is more than an hour old,
        the unit running since, is reported as stable since then (information only).
    Why is this bad:
        With `Restart=` set, a service that dies is back within seconds: `systemctl status` says
        active (running) while it never finishes starting. Only the restart counter and the journal
        tell the truth.
    Evidence:
        `NRestarts=`, `ActiveState=`, and the last restart and exit lines of the journal.
    False positives:
        Restarts older than 24 hours are not counted; a few restarts during a deployment are below the
        threshold of 3.
    Remedy:
        Find why it dies (other findings link here when they explain it): the exit status and the
        service's own log.
    Fix safety:
        display-only.
    References:
        systemd.service(5) Restart=, StartLimitBurst=; systemctl(1) show.
    """
    for unit in facts.units.values():
        props = unit.properties
        recent = _recent(facts, unit)
        counters = [e for e in recent if e.kind is UnitEventKind.RESTART_SCHEDULED]
        exits = [e for e in recent if e.kind is UnitEventKind.MAIN_EXITED
                 and (e.code in ("killed", "dumped") or e.status not in (None, 0))]
        gave_up = [e for e in recent if e.kind is UnitEventKind.START_LIMIT_HIT]
        # journals that keep only systemd's job lines ("Starting X...") still show a loop
        started = unrequested_restarts(recent) if not counters else []
        if started:  # the loop began with the start before its first restart
            starts = [e for e in recent if e.kind is started[0].kind]
            started = starts[max(starts.index(started[0]) - 1, 0):starts.index(started[0])] + started
        n_restarts = props.n_restarts if props else None
        counter = max((e.counter or 0 for e in counters), default=0)
        state = unit.active_state
        # systemd's NRestarts is the present (a manual restart resets it): the loop is over only when the
        # unit is active (or nothing says otherwise), nothing restarted it for a while and the kernel has not
        # fought it since
        last_restart = max((e.timestamp for e in counters + started if e.timestamp), default=None)
        troubled = any(facts.host_unit(e) == unit.name and e.timestamp and last_restart and e.timestamp >= last_restart
                       for e in facts.oom_events)
        end = facts.collected_at
        quiet = last_restart is not None and end is not None and end - last_restart >= STABLE
        settled = not troubled and (
            (n_restarts is not None and n_restarts < LOOP_RESTARTS and state == "active"
             and (last_restart is None or end is None or end - last_restart >= STABLE))
            or (quiet and (state == "active" or (state is None and not gave_up))
                and not _ended_after(recent, last_restart)))
        restarts = max(n_restarts or 0, counter, len(counters), len(started) - 1)
        service = service_for_unit(unit.name)
        # a service's unit that systemd lists as failed is down, whatever the journal kept of how it got there
        failed = state == "failed" and service is not None
        if restarts < LOOP_RESTARTS and not gave_up and not failed:
            continue
        evidence: list[Citation] = [Citation(e.line) for e in (counters[-1:] + started[:1] + started[-1:]
                                                                + exits[-1:] + gave_up[-1:])]
        if failed and props is None and unit.listed is not None:
            evidence.append(Citation(unit.listed.line, "what systemctl list-units shows"))
        if props is not None:
            state_line, restarts_line = props.line_for("ActiveState"), props.line_for("NRestarts")
            if state_line is not None:
                evidence.append(Citation(state_line, "what systemctl status shows"))
            if restarts_line is not None:
                reset = n_restarts is not None and n_restarts < counter
                evidence.append(Citation(restarts_line, f"reset by a manual (re)start; the journal counted {counter}"
                                         if reset else ""))
        looks_fine = state in ("active", "activating", "reloading")
        statuses = sorted({f"{e.code}, status={e.status}/{e.status_name}" if e.status_name else f"{e.code}"
                           for e in exits if e.code})
        if settled:
            shown = counter or max(len(started) - 1, 0) or restarts
            yield unit_crash_looping_while_active.finding(
                subject=unit.name,
                severity=Severity.INFO,
                summary=(f"{unit.name} was restarted {shown} times"
                         + (" until systemd gave up" if gave_up else "")
                         + f" (last {when(last_restart)}); "
                         + ("active and stable since" if state == "active" else "no restart since")),
                explanation=(f"The journal shows {unit.name} dying and being restarted"
                             + (f" ({'; '.join(statuses)})" if statuses else "")
                             + (f", but systemd now reports it active with NRestarts={n_restarts}: the loop ended."
                                if state == "active" else
                                f", but nothing restarted it in the {_hours(end - last_restart)} before the evidence "
                                "was taken: the loop ended." if end and last_restart else ": the loop ended.")),
                evidence=tuple(evidence),
                data={"unit": unit.name, "active_state": state, "n_restarts": n_restarts,
                      "journal_restart_counter": counter or None, "exits": len(exits), "start_limit_hit": False},
            )
            continue
        if failed and restarts < LOOP_RESTARTS and not gave_up:
            summary = f"{unit.name} has failed: it is not running" + (
                f" (last exit {statuses[-1]})" if statuses else "")
        elif started and not counters:
            first = started[0].timestamp
            span = f" in {_span(first, last_restart)}" if first and last_restart else ""
            summary = (f"{unit.name} was started {len(started)} times{span}, without anyone asking for a restart"
                       + (f" (last {when(last_restart)})" if last_restart else ""))
        elif looks_fine:
            summary = (f"{unit.name} looks {state} but has been restarted {restarts} times"
                       + (f" (last {when(counters[-1].timestamp)})" if counters else ""))
        else:
            summary = f"{unit.name} crash-looped ({restarts} restarts)" + (
                " until systemd gave up (start limit hit)" if gave_up else "")
        ends = counters[:1] + counters[-1:]
        timeline = [TimelineEntry(e.timestamp, f"{unit.name} restart {e.counter}", e.line, Mark.RESTART, unit.name,
                                  headline=e in ends)
                    for e in counters if e.timestamp and e.counter]
        loop = [(1, started[0]), (len(started), started[-1])] if started else []
        timeline += [TimelineEntry(e.timestamp, f"{unit.name} started ({i} of {len(started)})", e.line, Mark.RESTART,
                                   unit.name) for i, e in loop if e.timestamp]
        timeline += [TimelineEntry(e.timestamp, f"{unit.name}: systemd gave up (start limit)", e.line, Mark.GAVE_UP,
                                   unit.name) for e in gave_up[-1:] if e.timestamp]
        yield unit_crash_looping_while_active.finding(
            subject=unit.name,
            severity=Severity.CRITICAL if service is not None else Severity.WARNING,
            summary=summary,
            timeline=tuple(timeline),
            explanation=(
                f"systemd restarted {unit.name} {restarts} times"
                + (f"; its main process ended with {'; '.join(statuses)}" if statuses else "")
                + (" (systemd's 'Starting' lines with no stop asked for in between: the service died each time)"
                   if started and not counters else "")
                + (". `systemctl status` shows it active (running) because each restart succeeds for a while: "
                   "the unit is not healthy, it is dying and coming back." if looks_fine else
                   ". It is not running now." if state is not None else
                   ". Whether it runs now is not known (no systemctl show or list-units).")),
            evidence=tuple(evidence),
            data={"unit": unit.name, "active_state": state, "n_restarts": n_restarts,
                  "journal_restart_counter": counter or None, "exits": len(exits), "start_limit_hit": bool(gave_up)},
        )
