"""When does a crash loop start and end? Kills and restarts per workload in a sliding window.

A loop starts when one workload (unit or service) has ``kills`` OOM kills, or ``restarts`` restarts, within
``window`` seconds, or when systemd gives up on it (start limit hit). It ends when nothing has happened to it
for ``window`` seconds. systemd's own OOM notice that follows a kernel kill of the same unit within
``DUPLICATE_SECONDS`` is the same kill seen twice and is not counted again.

Memory is constant: per workload only the times of the last ``kills`` kills and ``restarts`` restarts are kept,
and at most ``max_targets`` workloads (the least recently seen quiet one is forgotten first). Times are the
caller's monotonic clock.

>>> d = LoopDetector(LoopPolicy(window=600, kills=2, restarts=2))
>>> neutron = Target("neutron-server", "neutron-server.service")
>>> d.observe(WatchEvent(EventKind.RESTART, neutron, "journal", ""), now=10.0)
False
>>> d.observe(WatchEvent(EventKind.RESTART, neutron, "journal", ""), now=22.0)
True
>>> [t.unit for t in d.active()], d.deadline()
(['neutron-server.service'], 622.0)
>>> [t.unit for t in d.expire(now=700.0)], d.active()
(['neutron-server.service'], [])
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

from ostriage.monitor.events import EventKind, WatchEvent
from ostriage.monitor.labels import Target

__all__ = ["DUPLICATE_SECONDS", "LoopDetector", "LoopPolicy", "LoopState"]

DUPLICATE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class LoopPolicy:
    window: float = 600.0
    kills: int = 2
    restarts: int = 2
    max_targets: int = 64

    def __post_init__(self) -> None:
        if self.window <= 0 or self.kills < 1 or self.restarts < 1 or self.max_targets < 1:
            raise ValueError("window must be positive; kills, restarts and max_targets at least 1")


@dataclass(slots=True)
class LoopState:
    """One workload's recent history."""

    kills: deque[float]
    restarts: deque[float]
    last: float = 0.0
    last_kernel_kill: float | None = None
    looping: bool = False
    started: float | None = None
    #: what made it a loop, for the log and the alert ("3 OOM kills in 600 s")
    reason: str = ""
    events: dict[str, int] = field(default_factory=dict)


class LoopDetector:
    def __init__(self, policy: LoopPolicy) -> None:
        self.policy = policy
        self._targets: OrderedDict[Target, LoopState] = OrderedDict()
        #: events of new workloads ignored because every tracked one was looping
        self.dropped = 0

    def state(self, target: Target) -> LoopState | None:
        return self._targets.get(target)

    def observe(self, event: WatchEvent, now: float) -> bool:
        """Count one event; ``True`` when it starts a loop of its workload."""
        if event.kind is EventKind.UNIT_CHANGE or not (event.target.unit or event.target.service):
            return False
        state = self._track(event.target)
        if state is None:
            return False
        state.last = now
        if event.kind is EventKind.OOM_KILL:
            if event.source == "journal" and state.last_kernel_kill is not None \
                    and now - state.last_kernel_kill <= DUPLICATE_SECONDS:
                return False  # systemd's notice of the kill the kernel already reported
            if event.source != "journal":
                state.last_kernel_kill = now
            state.kills.append(now)
        elif event.kind is EventKind.RESTART:
            state.restarts.append(now)
        state.events[event.kind.value] = state.events.get(event.kind.value, 0) + 1
        if state.looping:
            return False
        reason = self._reason(event, state, now)
        if not reason:
            return False
        state.looping, state.started, state.reason = True, now, reason
        return True

    def _reason(self, event: WatchEvent, state: LoopState, now: float) -> str:
        p = self.policy
        window = f"{p.window:g} s"
        if event.kind is EventKind.START_LIMIT:
            return "systemd gave up restarting it (start limit hit)"
        if len(state.kills) >= p.kills and now - state.kills[0] <= p.window:
            return f"{len(state.kills)} OOM kills within {window}"
        if len(state.restarts) >= p.restarts and now - state.restarts[0] <= p.window:
            return f"{len(state.restarts)} restarts within {window}"
        return ""

    def _track(self, target: Target) -> LoopState | None:
        state = self._targets.get(target)
        if state is not None:
            self._targets.move_to_end(target)
            return state
        if len(self._targets) >= self.policy.max_targets:
            quiet = next((t for t, s in self._targets.items() if not s.looping), None)
            if quiet is None:
                self.dropped += 1
                return None  # every tracked workload is looping: a new one waits for a slot
            del self._targets[quiet]
        state = LoopState(deque(maxlen=self.policy.kills), deque(maxlen=self.policy.restarts))
        self._targets[target] = state
        return state

    def active(self) -> list[Target]:
        return [t for t, s in self._targets.items() if s.looping]

    def deadline(self) -> float | None:
        """When the earliest active loop ends if nothing more happens to it."""
        ends = [s.last + self.policy.window for s in self._targets.values() if s.looping]
        return min(ends) if ends else None

    def expire(self, now: float) -> list[Target]:
        """Loops that have been quiet for a whole window: they are over."""
        ended = [t for t, s in self._targets.items() if s.looping and now - s.last >= self.policy.window]
        for target in ended:
            state = self._targets[target]
            state.looping, state.started, state.reason = False, None, ""
            state.kills.clear()
            state.restarts.clear()
        return ended
