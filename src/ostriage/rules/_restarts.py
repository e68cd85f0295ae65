"""Restarts of a unit that nobody asked for, from systemd's job lines alone.

systemd logs ``Starting <description>...`` (and ``Started``) for every start. A start is a *restart
nobody asked for* when it is not the first start of its boot (``-- Reboot --`` separates boots in the
journal) and no ``Stopping <description>...`` came since the previous start: ``systemctl restart``
and ``stop`` always log ``Stopping``, a crash and systemd's own ``Restart=`` never do (they log the
exit, ``Scheduled restart job`` and ``Stopped``). A unit that is a periodic job (it finishes
successfully between starts, ``Succeeded``/``Deactivated successfully``) is not restarting: it is
being run.
"""

from __future__ import annotations

from collections.abc import Iterable

from ostriage.parsers.journal import UnitEvent, UnitEventKind

__all__ = ["unrequested_restarts"]


def unrequested_restarts(events: Iterable[UnitEvent]) -> list[UnitEvent]:
    """The start lines of ``events`` (one unit's, oldest first) that are restarts nobody asked for.

    >>> from ostriage.evidence import Line
    >>> def ev(kind, n, boot=0):
    ...     return UnitEvent(kind, "ovs-vswitchd.service", None, None, None, 1, Line("j", n, ""), boot)
    >>> S, STOP = UnitEventKind.STARTING, UnitEventKind.STOPPING
    >>> [e.line.number for e in unrequested_restarts([ev(S, 1), ev(S, 2), ev(STOP, 3), ev(S, 4), ev(S, 5)])]
    [2, 5]
    >>> unrequested_restarts([ev(S, 1), ev(S, 2, boot=1)])
    []
    """
    events = list(events)
    kind = UnitEventKind.STARTING if any(e.kind is UnitEventKind.STARTING for e in events) else UnitEventKind.STARTED
    starts = [e for e in events if e.kind is kind]
    finished = sum(1 for e in events if e.kind is UnitEventKind.SUCCEEDED)
    if len(starts) > 1 and finished >= len(starts) - 1:
        return []  # a periodic job, run by a timer or a path unit
    out: list[UnitEvent] = []
    previous: UnitEvent | None = None
    stopped = False
    for e in events:
        if e.kind is UnitEventKind.STOPPING:
            stopped = True
        elif e.kind is kind:
            if previous is not None and previous.boot == e.boot and not stopped:
                out.append(e)
            previous, stopped = e, False
    return out
