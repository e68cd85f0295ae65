"""Service logs (oslo.log files and the journal) reduced to the records that match known signatures.

Log files go through the scan engine (``ostriage.scan``): one pass over their raw bytes, only the records
around a signature parsed. A source that has no files for a log (none today; a future source of command
output only) is read line by line, with the same result. Logs also tell whose pid a kernel OOM record
names (oslo.log prints the pid on every line): the pids asked for are looked up in them.
"""

from __future__ import annotations

from collections.abc import Iterable

from ostriage.facts.model import LogEvent
from ostriage.knowledge.log_signatures import match_signature
from ostriage.knowledge.services import SERVICES, Service
from ostriage.parsers.journal import JournalEntry
from ostriage.parsers.oslo_log import parse_oslo_log
from ostriage.parsers.packages import parse_version_banner
from ostriage.scan.oslo import record_events
from ostriage.scan.run import ServiceLogs, service_logs
from ostriage.sources.base import Source

__all__ = ["journal_log_event", "scan_service_logs"]


def scan_service_logs(source: Source, services: Iterable[Service] = SERVICES,
                      pids: Iterable[int] = ()) -> ServiceLogs:
    """Signature matches, neutron's start-up version banners, which of ``pids`` each log has, and which
    services log at all: one pass over each service log."""
    found = service_logs(source, services, pids)
    wanted = set(pids)
    for service, path in found.unscanned:
        for record in parse_oslo_log(source.read_log(path)):
            found.logging.add(service.name)
            if record.pid in wanted:
                found.pids.setdefault(record.pid, service.name)
            for event in record_events(service.name, record):
                found.events.add(event)
            if service.name.startswith("neutron") and (banner := parse_version_banner(record)):
                found.banners.append(banner)
    return found


def journal_log_event(service: str, entry: JournalEntry) -> LogEvent | None:
    """The signature match of a journal entry of an OpenStack service (``use_journal``, devstack, uWSGI)."""
    hit = match_signature(entry.message)
    if hit is None:
        return None
    sig, m = hit
    return LogEvent(service, sig.id, m.groupdict(default=""), entry.timestamp, entry.line)
