"""Service logs (oslo.log files and the journal) reduced to the records that match known signatures.

Logs are streamed once and only matching records are kept, so a 25 MiB log costs one pass and a few
records of memory. The pid column of every record is remembered per service: a kernel OOM record names
only a pid and a 15-character comm, and the logs are what tell whose pid it was.
"""

from __future__ import annotations

from collections.abc import Iterable

from ostriage.facts.model import LogEvent
from ostriage.knowledge.log_signatures import match_signature
from ostriage.knowledge.services import SERVICES, Service
from ostriage.parsers.journal import JournalEntry
from ostriage.parsers.oslo_log import LogRecord, parse_oslo_log
from ostriage.parsers.packages import VersionBanner, parse_version_banner
from ostriage.sources.base import Source

__all__ = ["journal_log_events", "scan_service_logs"]


def _record_events(service: str, record: LogRecord) -> Iterable[LogEvent]:
    hit = match_signature(record.message)
    if hit is not None:
        sig, m = hit
        yield LogEvent(service, sig.id, m.groupdict(default=""), record.timestamp, record.line, record)
    # the cause of an API error is often only in its traceback's last line
    if record.exception is not None and (hit is None or hit[0].id != "keystoneauth.connect-failure"):
        inner = match_signature(record.exception.message)
        if inner is not None:
            sig, m = inner
            yield LogEvent(service, sig.id, m.groupdict(default=""), record.timestamp,
                           record.exception.line, record)


def scan_service_logs(source: Source, services: Iterable[Service] = SERVICES,
                      pids: dict[int, str] | None = None) -> tuple[list[LogEvent], list[VersionBanner]]:
    """Signature matches and neutron's start-up version banners, in one pass over each service log."""
    events: list[LogEvent] = []
    banners: list[VersionBanner] = []
    for service in services:
        for path in service.logs:
            for record in parse_oslo_log(source.read_log(path)):
                if pids is not None:
                    pids.setdefault(record.pid, service.name)
                events.extend(_record_events(service.name, record))
                if service.name.startswith("neutron") and (banner := parse_version_banner(record)):
                    banners.append(banner)
    return events, banners


def journal_log_events(entries: Iterable[JournalEntry], pids: dict[int, str] | None = None) -> list[LogEvent]:
    """Signature matches in journal entries of OpenStack services (``use_journal``, devstack, uWSGI)."""
    by_ident = {c: s.name for s in SERVICES for c in (s.name, *s.comms)}
    events: list[LogEvent] = []
    for entry in entries:
        service = by_ident.get(entry.ident or "")
        if service is None:
            continue
        if pids is not None and entry.pid is not None:
            pids.setdefault(entry.pid, service)
        hit = match_signature(entry.message)
        if hit is not None:
            sig, m = hit
            events.append(LogEvent(service, sig.id, m.groupdict(default=""), entry.timestamp, entry.line))
    return events
