"""What rules produce: findings with evidence, explanation, remedy, and the causal links they claim.

A rule cannot know the identity of another rule's finding, so links are stated as ``Ref``s (the
other rule's name and the subject it is about, e.g. the unit ``neutron-server.service``); the
diagnosis resolves them against the findings that actually fired and drops the ones that did not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, IntEnum
from typing import Any

from ostriage.evidence import Line

__all__ = [
    "Citation",
    "Finding",
    "FixSafety",
    "IniEdit",
    "Link",
    "Mark",
    "Ref",
    "Relation",
    "Remedy",
    "Severity",
    "TimelineEntry",
    "UnitEdit",
]


class Severity(IntEnum):
    """Ordered so the worst finding decides the status and the exit code."""

    INFO = 0
    WARNING = 1
    CRITICAL = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class Relation(Enum):
    """How one finding bears on another.

    ``CAUSES``: without the source the target would not have happened.
    ``AGGRAVATES``: the source made the target worse or harder to see, but is not why it happened.
    ``RELATED``: context an operator should read beside the target (same subsystem, same fix).
    ``CAUSED_BY``: written by a symptom's rule about its cause; the graph stores it as the cause's
    ``CAUSES`` edge, so either side may state the link.
    """

    CAUSES = "causes"
    CAUSED_BY = "caused-by"
    AGGRAVATES = "aggravates"
    RELATED = "related"


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to another rule's finding about ``subject`` (any subject when ``None``)."""

    rule: str
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class Link:
    relation: Relation
    target: Ref
    why: str = ""


@dataclass(frozen=True, slots=True)
class Citation:
    """An evidence line and what it shows."""

    line: Line
    note: str = ""


class Mark(Enum):
    """What a timeline entry is, so a chart can draw it (``NOTE``: anything else)."""

    NOTE = "note"
    OOM_KILL = "oom-kill"
    RESTART = "restart"
    GAVE_UP = "gave-up"
    EXIT = "exit"
    CONNECT_FAILURE = "connect-failure"
    HTTP_5XX = "http-5xx"
    CONFIG_CHANGE = "config-change"


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """A moment that matters to the story (first kill, last restart, first HTTP 500).

    A rule states every moment of a series (each kill, each restart) for the chart; ``headline`` marks the
    few the text timeline lists (the first and the last). ``subject`` is what it happened to (a unit, a
    service), ``value`` and ``limit`` are bytes (anon-rss at an OOM kill and the memory cgroup's limit).
    """

    time: datetime
    what: str
    line: Line
    mark: Mark = Mark.NOTE
    subject: str | None = None
    value: float | None = None
    limit: float | None = None
    headline: bool = True


class FixSafety(Enum):
    """Chosen where a remedy is built: ``fix --apply`` applies only SAFE edits unless asked."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


@dataclass(frozen=True, slots=True)
class IniEdit:
    """Set (or, with ``value=None``, remove) an option in an OpenStack ini file."""

    path: str
    section: str
    key: str
    value: str | None
    reason: str
    old_value: str | None = None


@dataclass(frozen=True, slots=True)
class UnitEdit:
    """Set (or remove) a setting in a systemd unit's drop-in (``systemctl edit``'s ``override.conf``)."""

    unit: str
    section: str
    key: str
    value: str | None
    reason: str
    drop_in: str | None = None
    old_value: str | None = None


@dataclass(frozen=True, slots=True)
class Remedy:
    """What to do about a finding: the words (``title``, ``steps``) apart from the machine edits."""

    title: str
    steps: tuple[str, ...] = ()
    ini_edits: tuple[IniEdit, ...] = ()
    unit_edits: tuple[UnitEdit, ...] = ()
    restart_units: tuple[str, ...] = ()
    safety: FixSafety = FixSafety.DISPLAY_ONLY


@dataclass(frozen=True, slots=True)
class Finding:
    """One conclusion of one rule about one subject, with the lines that support it."""

    rule: str
    code: str
    subject: str
    severity: Severity
    summary: str
    explanation: str
    evidence: tuple[Citation, ...]
    remedy: Remedy | None = None
    links: tuple[Link, ...] = ()
    timeline: tuple[TimelineEntry, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Unique within a diagnosis: one finding per rule and subject."""
        return f"{self.rule}:{self.subject}"

    def refers_to(self, ref: Ref) -> bool:
        return ref.rule == self.rule and (ref.subject is None or ref.subject == self.subject)
