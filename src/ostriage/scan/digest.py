"""Log events aggregated as they stream, so memory does not grow with the number of matching lines.

A *kind* of event is one signature in one service's log with the same captured values (``geneve`` ranges
``[(1, 16777215)]``; a connection failure to one URL). For each kind the digest keeps the exact count and
a bounded set of samples — the first ``HEAD`` and the last ``TAIL`` events — which include the first and
the last event, so what rules cite and the time window they state are exact. At most ``MAX_KINDS`` kinds
are kept per signature and service; events of further kinds are counted (``unkinded``) and reported as
left out. Digests of consecutive files merge in file order, with the same result as one digest over all.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ostriage.facts.model import LogEvent

__all__ = ["HEAD", "MAX_KINDS", "TAIL", "EventDigest", "Kind", "kind_of"]

HEAD = 8
TAIL = 8
MAX_KINDS = 256

Kind = tuple[str, str, tuple[tuple[str, str], ...]]


def kind_of(event: LogEvent) -> Kind:
    """(service, signature, captured values) of an event."""
    return (event.service, event.signature, tuple(sorted(event.groups.items())))


@dataclass(slots=True)
class _Samples:
    count: int = 0
    head: list[tuple[int, LogEvent]] = field(default_factory=list)
    tail: deque[tuple[int, LogEvent]] = field(default_factory=lambda: deque(maxlen=TAIL))

    def add(self, seq: int, event: LogEvent) -> None:
        self.count += 1
        if len(self.head) < HEAD:
            self.head.append((seq, event))
        else:
            self.tail.append((seq, event))

    @property
    def skipped(self) -> int:
        return self.count - len(self.head) - len(self.tail)


@dataclass(slots=True)
class EventDigest:
    """Counts and samples per kind; samples come back in the order they were added."""

    kinds: dict[Kind, _Samples] = field(default_factory=dict)
    #: events not kept because their signature and service already had ``MAX_KINDS`` kinds
    unkinded: dict[tuple[str, str], int] = field(default_factory=dict)
    _per_signature: dict[tuple[str, str], int] = field(default_factory=dict)
    _seq: int = 0

    def add(self, event: LogEvent) -> None:
        kind = kind_of(event)
        samples = self.kinds.get(kind)
        if samples is None:
            signature = kind[:2]
            if self._per_signature.get(signature, 0) >= MAX_KINDS:
                self.unkinded[signature] = self.unkinded.get(signature, 0) + 1
                return
            self._per_signature[signature] = self._per_signature.get(signature, 0) + 1
            samples = self.kinds[kind] = _Samples()
        self._seq += 1
        samples.add(self._seq, event)

    def merge(self, later: EventDigest) -> None:
        """Add the events of ``later`` (read after this digest's): counts add, samples stay exact."""
        for _, event in sorted((s for kind in later.kinds.values() for s in (*kind.head, *kind.tail)),
                               key=lambda s: s[0]):
            self.add(event)
        for kind, theirs in later.kinds.items():
            mine = self.kinds.get(kind)
            if mine is not None:
                mine.count += theirs.skipped
            elif theirs.skipped:
                self.unkinded[kind[:2]] = self.unkinded.get(kind[:2], 0) + theirs.skipped
        for signature, n in later.unkinded.items():
            self.unkinded[signature] = self.unkinded.get(signature, 0) + n

    def events(self) -> list[LogEvent]:
        """The samples of every kind, in the order they were added."""
        return [e for _, e in sorted((s for kind in self.kinds.values() for s in (*kind.head, *kind.tail)),
                                     key=lambda s: s[0])]

    def counts(self) -> dict[Kind, int]:
        return {kind: samples.count for kind, samples in self.kinds.items()}

    @property
    def left_out(self) -> int:
        """Events counted but not kept as samples."""
        return sum(s.skipped for s in self.kinds.values()) + sum(self.unkinded.values())
