"""Containers that keep dying, and container memory limits below what the service needs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from ostriage.facts.model import Facts
from ostriage.facts.where import container_label
from ostriage.findings import Citation, Finding, FixSafety, Link, Mark, Ref, Relation, Remedy, Severity, TimelineEntry
from ostriage.knowledge.services import service_for_container
from ostriage.parsers.containers import Container
from ostriage.rules._common import KillGroup, human_bytes, kills_by_victim, when
from ostriage.rules._registry import rule
from ostriage.rules.ml2_ranges import NEUTRON_SERVICES, need_text
from ostriage.rules.systemd_limits import HEADROOM, LOOP_RESTARTS, STABLE, neutron_need

#: exit status of a process killed by SIGKILL (128 + 9): the OOM killer's, or a stop that timed out
SIGKILL_EXIT = 137
#: Kubernetes' words for a container that keeps failing
_CRASH_REASONS = frozenset({"CrashLoopBackOff", "OOMKilled", "Error", "RunContainerError"})


def _kills_of(facts: Facts, c: Container) -> KillGroup | None:
    """The kernel's OOM kills inside this container's cgroup (its current or an earlier run)."""
    return next((g for g in kills_by_victim(facts) if g.victim.container is not None
                 and container_label(g.victim.container) == container_label(c)), None)


def _running_since(facts: Facts, c: Container) -> datetime | None:
    """When the container's current run started, if it has run long enough to call the loop over."""
    if c.state != "running" or c.started_at is None or facts.collected_at is None:
        return None
    return c.started_at if facts.collected_at - c.started_at >= STABLE else None


def _ended(c: Container) -> str:
    """How its last run ended, in the engine's words."""
    code = c.last_exit_code if c.last_exit_code is not None else (c.exit_code if c.state != "running" else None)
    reason = c.last_reason if c.last_exit_code is not None else c.reason
    parts = []
    if code is not None:
        parts.append(f"exit code {code}" + (" (SIGKILL)" if code == SIGKILL_EXIT else ""))
    if reason:
        parts.append(reason)
    if c.oom_killed:
        parts.append("OOMKilled")
    return ", ".join(parts)


@rule("CTR001", "container-crash-looping")
def container_crash_looping(facts: Facts) -> Iterator[Finding]:
    """A container its engine keeps restarting (docker, podman, a Kubernetes pod's container).

    What it does:
        Reads each container's restart count (`RestartCount` of `docker`/`podman inspect`, `restartCount` of
        `kubectl get pods`, the CRI attempt), its state (`restarting`, `CrashLoopBackOff`), how its last run
        ended (exit code, `OOMKilled`, Kubernetes' last state), its restart policy, and the kernel's OOM kills
        inside its cgroup. A container running for more than an hour since its last restart is reported as
        stable since then (information only).
    Why is this bad:
        An engine with `--restart always`/`unless-stopped` (Kolla, TripleO) or Kubernetes restarts a dying
        service within seconds: `docker ps` shows it "Up 5 seconds", Kubernetes "Running", while it never
        finishes starting. Exit code 137 is SIGKILL: the kernel's OOM killer (or a stop that timed out).
    Evidence:
        The restart count and state lines of the engine's record, its last exit, the kernel's kill lines in
        the container's cgroup.
    False positives:
        Restart counts also grow when the host reboots (Kubernetes' last state `Unknown`, exit 255) or when
        a deployment tool restarts containers; a container that has run for an hour since is only reported as
        information. Podman on cgroup v1 never sets `OOMKilled`: the kernel's kills and exit 137 are the
        evidence there.
    Remedy:
        Find why it dies (other findings link here when they explain it): the service's own log, the kernel's
        OOM kills.
    Fix safety:
        display-only.
    References:
        docker-run(1) --restart; podman-run(1) --restart; Kubernetes container restart policy and
        CrashLoopBackOff; Linux mm/oom_kill.c.
    """
    for c in facts.containers:
        service = service_for_container(c.name)
        restarts = c.restart_count or 0
        backoff = c.reason == "CrashLoopBackOff" or c.state == "restarting"
        kills = _kills_of(facts, c)
        killed = bool(c.oom_killed) or (c.last_reason == "OOMKilled")
        if restarts < LOOP_RESTARTS and not backoff and not (killed and restarts):
            continue
        since = None if backoff or (kills and c.started_at and kills.last.timestamp
                                    and kills.last.timestamp >= c.started_at) else _running_since(facts, c)
        if since is not None and service is None:
            continue  # a past loop of a container that is not an OpenStack service: not worth a line
        label = container_label(c)
        evidence: list[Citation] = []
        for key, note in (("restart_count", f"restarted {restarts} times"), ("state", "what the engine shows now"),
                          ("last_reason", f"its last run ended: {_ended(c)}"), ("oom_killed", ""),
                          ("restart_policy", f"restart policy {c.restart_policy}" if c.restart_policy else "")):
            line = c.lines.get(key)
            if line is not None and all(line != e.line for e in evidence):
                evidence.append(Citation(line, note))
        if kills is not None and kills.last.kill_line is not None:
            evidence.append(Citation(kills.last.kill_line,
                                     f"the kernel killed it {len(kills.events)} time(s) in its cgroup"))
        if not evidence:
            evidence.append(Citation(c.line, f"restarted {restarts} times"))
        ended = _ended(c)
        policy = f" (restart policy {c.restart_policy})" if c.restart_policy else ""
        if since is not None:
            yield container_crash_looping.finding(
                subject=label, severity=Severity.INFO,
                summary=f"{label} was restarted {restarts} times; running and stable since {when(since)}",
                explanation=(f"The engine restarted {label}{policy} {restarts} times"
                             + (f" (last run ended: {ended})" if ended else "")
                             + f", but its current run started at {when(since)} and was still running when the "
                             "evidence was taken: the loop ended."),
                evidence=tuple(evidence), data=_data(c, service, settled=True),
            )
            continue
        links = [Link(Relation.CAUSED_BY, Ref("service-oom-kill-loop", label), "each kill ends the container's run")]
        if c.unit is not None:
            links.append(Link(Relation.RELATED, Ref("unit-crash-looping-while-active", c.unit),
                              f"{c.unit} starts this container"))
        timeline = []
        if c.finished_at is not None and c.lines.get("state") is not None:
            timeline.append(TimelineEntry(c.finished_at, f"{label} ended ({ended or c.state})", c.lines["state"],
                                          Mark.EXIT, label))
        yield container_crash_looping.finding(
            subject=label,
            severity=Severity.CRITICAL if service is not None else Severity.WARNING,
            summary=(f"{label} " + (f"is {c.reason or c.state} after {restarts} restarts" if backoff else
                                    f"was restarted {restarts} times")
                     + (f" (last run ended: {ended})" if ended else "")),
            explanation=(f"The engine restarted {label}{policy} {restarts} times"
                         + (f"; its last run ended with {ended}" if ended else "")
                         + (". Exit code 137 is SIGKILL: with the kernel's OOM kills in its cgroup, the OOM killer."
                            if SIGKILL_EXIT in (c.exit_code, c.last_exit_code) else ".")
                         + (" It is between runs now." if backoff else
                            " It shows as running because each restart succeeds for a while.")),
            evidence=tuple(evidence), links=tuple(links), timeline=tuple(timeline),
            data=_data(c, service, settled=False),
        )


def _data(c: Container, service: object, settled: bool) -> dict[str, object]:
    return {"container": c.name, "engine": c.engine, "pod": c.pod,
            "service": getattr(service, "name", None), "restart_count": c.restart_count,
            "state": c.state, "restart_policy": c.restart_policy, "oom_killed": c.oom_killed,
            "exit_code": c.last_exit_code if c.last_exit_code is not None else c.exit_code, "stable": settled}


def _limit_steps(c: Container, new_value: str) -> tuple[str, ...]:
    """Where each deployment keeps a container's memory limit."""
    if c.orchestrator == "kolla":
        name = c.name
        return (f"set {name}_dimensions: {{mem_limit: {new_value}}} in /etc/kolla/globals.yml",
                f"kolla-ansible reconfigure (the {name} container is recreated with the new limit)")
    if c.orchestrator == "kubernetes" or c.pod:
        return (f"raise resources.limits.memory of container {c.name} in the workload that owns pod {c.pod} "
                f"to {new_value}", "the pod is recreated by its controller")
    if c.orchestrator == "tripleo":
        return (f"raise the memory limit of {c.name} in its container definition (tripleo_container_manage / "
                f"paunch) to {new_value}", "redeploy, or recreate the container")
    return (f"recreate {c.name} with --memory={new_value} ({c.engine} run), or "
            f"`{c.engine} update --memory {new_value} {c.name}`",)


@rule("CTR002", "container-memory-limit-below-need")
def container_memory_limit_below_need(facts: Facts) -> Iterator[Finding]:
    """A container's memory limit (`--memory`, compose `mem_limit`, Kolla `<service>_dimensions`, a pod's
    `resources.limits.memory`) below what its service needs.

    What it does:
        Reads each container's memory limit from its engine (`HostConfig.Memory`, the pod spec), or, without
        the engine's record, from the kernel's own `memory: usage …, limit …` line of a kill in its cgroup, and
        compares it with those memory-cgroup OOM kills and, for neutron, with the memory model's prediction,
        as for a systemd unit's `MemoryMax=`.
    Why is this bad:
        The kernel kills the container's processes when they reach the limit, whatever the host has free:
        a limit below the start-up peak is a crash loop by configuration.
    Evidence:
        The engine's limit line and the kernel's kill lines naming the container's cgroup.
    False positives:
        When neutron's ranges explain the memory, or the service's configuration is not in the evidence, the
        limit is reported as aggravating, not as the cause.
    Remedy:
        Raise the limit above the predicted need with headroom, where the deployment keeps it.
    Fix safety:
        display-only: the container must be recreated by its deployment tool.
    References:
        docker-run(1) --memory; podman-run(1) --memory; Kolla-Ansible `<service>_dimensions`; Kubernetes
        resource limits; Linux mm/memcontrol.c.
    """
    for c in facts.containers:
        service = service_for_container(c.name)
        if service is None and not c.memory_limit:
            continue  # only the kernel knows it (a container gone by now): its kills say all there is
        kills = _kills_of(facts, c)
        memcg = [e for e in kills.events if e.memcg_oom] if kills else []
        # without the engine's record, the kernel's own "memory: usage ..., limit ..." line of a kill states it
        printed = [e for e in memcg if e.memcg_limit_kb and not (e.memory and e.memory.unlimited)]
        limit = c.memory_limit or (max(e.memcg_limit_kb or 0 for e in printed) * 1024 if printed else None)
        if not limit:
            continue
        limit_line = c.lines.get("memory_limit") if c.memory_limit else next(
            (ln for e in printed for ln in e.lines if "memory: usage" in ln.text), None)
        need = neutron_need(facts) if service is not None and service.name in NEUTRON_SERVICES else None
        if not memcg and not (need is not None and need[0].fits(limit) is False):
            continue
        if need is not None and need[0].fits(limit / HEADROOM) is True:
            continue  # the present configuration fits: the kills came from something else, or from the past
        label = container_label(c)
        explained = need is not None and need[1]
        # what would explain the memory is not in the evidence: the limit is where the kills happen, not
        # shown to be why
        unseen = service is not None and bool(service.default_configs) and service.name not in facts.configs
        evidence: list[Citation] = []
        if limit_line is not None:
            evidence.append(Citation(limit_line, f"memory limit {human_bytes(limit)}"))
        if memcg and memcg[-1].kill_line is not None:
            evidence.append(Citation(memcg[-1].kill_line, f"killed at the limit, {len(memcg)} time(s)"))
        if not evidence:
            evidence.append(Citation(c.line, f"memory limit {human_bytes(limit)}"))
        target = need[0].service * HEADROOM if need else limit * 2
        new_value = f"{max(1, -(-int(target) // (1 << 30)))}g"
        yield container_memory_limit_below_need.finding(
            subject=label,
            severity=Severity.CRITICAL if memcg else Severity.WARNING,
            summary=(f"{label}: memory limit {human_bytes(limit)} "
                     + (f"is below neutron's predicted need of {need_text(need[0])}" if need
                        else f"was hit {len(memcg)} time(s)")),
            explanation=(f"The kernel enforces {human_bytes(limit)} on {label}'s memory cgroup and kills its processes "
                         "when they get there"
                         + (f"; it did so {len(memcg)} time(s), last at {when(memcg[-1].timestamp)}" if memcg else "")
                         + ". "
                         + ("The memory itself is explained by neutron's segment ranges: raising the limit alone would "
                            "only move the kill to the whole machine." if explained else
                            f"Why {service.name} needs more cannot be told: its configuration is not in this evidence"
                            + _unseen_where(facts, service.name) + "." if unseen and service is not None else
                            "Nothing else found explains the memory: the limit is simply too low for this service.")),
            evidence=tuple(evidence),
            remedy=Remedy(title=f"raise the memory limit of {label} to {new_value}" if need else
                          f"raise the memory limit of {label}", steps=_limit_steps(c, new_value),
                          safety=FixSafety.DISPLAY_ONLY),
            links=(Link(Relation.AGGRAVATES if explained or unseen else Relation.CAUSES,
                        Ref("service-oom-kill-loop", label), "kills happen at this limit"),),
            data={"container": c.name, "engine": c.engine, "limit_bytes": limit,
                  "predicted_need_bytes": [need[0].span.low, need[0].span.high] if need else None,
                  "memcg_kills": len(memcg)},
        )



def _unseen_where(facts: Facts, service: str) -> str:
    """Where the service's configuration would have been, as the facts' missing-evidence note says."""
    note = next((m for m in facts.missing if m.startswith(f"configuration of {service}: in ")), None)
    return f" (it runs in {note.removeprefix(f'configuration of {service}: in ')})" if note else ""
