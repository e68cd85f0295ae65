"""OpenStack service logs in oslo.log's default format, one record per message, tracebacks attached.

Source: ``/var/log/neutron/*.log`` (Ubuntu ``neutron-server.log``, ``neutron-openvswitch-agent.log``;
RHEL/TripleO ``server.log``; containers ``/var/log/containers/neutron/``), ``/var/log/nova/nova-api.log``;
the same paths in a sosreport, rotated ``.1``/``.gz`` included. Real lines from the ussuri fixture::

    2022-02-04 09:38:45.398 23973 INFO neutron.common.config [-] Logging enabled!
    2022-02-04 09:38:45.399 23973 INFO neutron.common.config [-] /usr/bin/neutron-ovs-cleanup version 16.4.1
    2022-02-10 00:00:01.845 1603 INFO neutron.plugins.ml2.drivers.openvswitch.agent.ovs_neutron_agent \
[req-24ebe5aa-702f-4ddd-9883-2fb489afd2f5 - - - - -] Agent rpc_loop - iteration:2091 started
    2022-02-04 10:06:18.917 184407 ERROR neutron.agent.dhcp.agent [req-dc4c65b9-52fa-498c-9302-45c6f608059b \
- - - - -] Failed reporting state!: oslo_messaging.exceptions.MessagingTimeout: Timed out waiting for ...
    2022-02-04 10:06:18.917 184407 ERROR neutron.agent.dhcp.agent Traceback (most recent call last):
    2022-02-04 10:06:18.917 184407 ERROR neutron.agent.dhcp.agent   File "/usr/lib/python3/dist-packages/...
    2022-02-04 10:06:18.917 184407 ERROR neutron.agent.dhcp.agent oslo_messaging.exceptions.Messaging...

Format (``logging_context_format_string`` / ``logging_default_format_string``):
``<date> <time.ms> <pid> <LEVEL> <logger> [<context>] <message>``. The context is ``-`` without a request,
``req-<uuid> - - - - -`` for an agent's own requests, ``req-<uuid> <user> <project> - default default``
for API calls (newer oslo.context prefixes a global request id); some formats have none.

Continuation lines, grouped with the record they belong to:

- traceback lines: oslo.log prints each with ``logging_exception_prefix``
  (``%(asctime)s.%(msecs)03d %(process)d ERROR %(name)s %(instance)s``, ``TRACE`` instead of ``ERROR`` in
  old releases): same time, pid and logger as the record, no context, whatever the record's level;
- raw lines that do not start like a record at all (multi-line messages such as the keepalived
  configuration the l3 agent logs, or stderr captured into the file).

The same records as a container runtime keeps a container's output are read too: ``kubectl logs``/CRI
``/var/log/pods`` lines start with the runtime's time stamp (and ``stdout F``), Canonical's OpenStack pods add
the service's name under Juju's pebble; a real line of hotsos's Sunbeam data root::

    2025-05-14T04:26:37.395Z [neutron-server] 2025-05-14 04:26:37.388 18 INFO neutron.common.config [-] \
/usr/bin/neutron-server version 24.1.0\x1b[00m

(the trailing colour code is dropped from the message, the line is cited as it is).

A record ends at the next record or when the file changes (``Line.path``). Only ``max_continuation``
continuation lines are kept (head and tail; ``dropped`` counts the rest) so one huge dump cannot exhaust
memory; the exception is found in every line, kept or not. Lines before the first record are skipped.

>>> from ostriage.evidence import numbered
>>> prefix = "2025-09-28 02:51:00.001 77 ERROR nova.api.openstack.wsgi"
>>> exc = ("keystoneauth1.exceptions.connection.ConnectFailure: "
...        "Unable to establish connection to http://10.0.0.10:9696/v2.0/ports: refused")
>>> log = [
...     "2025-09-28 02:50:07.123 12345 ERROR neutron.plugins.ml2.drivers.openvswitch.agent.ovs_neutron_agent"
...     " [-] Bridge br-ex for physical network phynet2 does not exist. Agent terminated!",
...     f"{prefix} [req-1b2c3d4e-0000-4000-8000-00000000abcd admin admin - default default]"
...     f" Unexpected exception in API method: {exc}",
...     f"{prefix} Traceback (most recent call last):",
...     f'{prefix}   File "/usr/lib/python3/dist-packages/nova/network/neutron.py", line 1, in f',
...     f"{prefix} {exc}",
... ]
>>> first, second = parse_oslo_log(numbered(log, "nova-api.log"))
>>> first.pid, first.level, first.context, first.message[:12]
(12345, 'ERROR', '-', 'Bridge br-ex')
>>> second.request_id, len(second.continuation), second.exception.cls
('req-1b2c3d4e-0000-4000-8000-00000000abcd', 3, 'keystoneauth1.exceptions.connection.ConnectFailure')
>>> second.exception.line.cite(), second.exception.message
('nova-api.log:5', 'Unable to establish connection to http://10.0.0.10:9696/v2.0/ports: refused')
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from ostriage.evidence import Line

__all__ = ["DEFAULT_MAX_CONTINUATION", "LogException", "LogRecord", "parse_oslo_log"]

DEFAULT_MAX_CONTINUATION = 200

_HEADER = re.compile(
    # a container's output as its runtime keeps it: the runtime's time stamp, CRI's stream and tag, or
    # the name of the service under Juju's pebble (Canonical's OpenStack pods)
    r"(?:\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d) (?:(?:stdout|stderr) [FP] )?(?:\[[\w.@-]+\] )?)?"
    r"(?P<date>\d{4}-\d\d-\d\d) (?P<time>\d\d:\d\d:\d\d(?:[.,]\d+)?) +(?P<pid>\d+) +(?P<level>[A-Z]+) +"
    r"(?P<logger>\S+)(?: (?P<rest>.*))?$"
)
# colour codes some log formats end each record with (devstack, the pebble-run images: "\x1b[00m")
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
_REQUEST_ID = re.compile(r"\breq-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_TRACEBACK = "Traceback (most recent call last):"
_EXCEPTION = re.compile(r"(?P<cls>[A-Za-z_][\w.]*)(?::(?: (?P<message>.*))?)?$")
# logging_exception_prefix ends with "%(instance)s": empty, or "[instance: <uuid>] " in nova.
_INSTANCE = re.compile(r"^\[instance: [0-9a-f-]+\] ")


@dataclass(frozen=True, slots=True)
class LogException:
    """The exception a traceback ends with: ``pkg.mod.ExcClass: text``."""

    cls: str
    message: str
    line: Line


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One log record with its continuation lines (tracebacks, multi-line messages)."""

    timestamp: datetime
    pid: int
    level: str
    logger: str
    context: str | None
    request_id: str | None
    message: str
    line: Line
    continuation: tuple[Line, ...] = ()
    dropped: int = 0
    exception: LogException | None = None

    @property
    def lines(self) -> tuple[Line, ...]:
        return (self.line, *self.continuation)


@dataclass(frozen=True, slots=True)
class _Head:
    timestamp: datetime
    stamp: str
    pid: int
    level: str
    logger: str
    context: str | None
    message: str


def _parse_head(text: str) -> _Head | None:
    match = _HEADER.match(text)
    if match is None:
        return None
    try:
        timestamp = datetime.fromisoformat(f"{match['date']} {match['time'].replace(',', '.')}")
    except ValueError:
        return None
    rest = _COLOUR.sub("", match["rest"] or "")
    context: str | None = None
    # "[instance: <uuid>] " right after the logger is logging_exception_prefix's %(instance)s, not a context.
    if rest.startswith("[") and not rest.startswith("[instance: "):
        end = rest.find("]")
        if end > 0:
            context, rest = rest[1:end], rest[end + 1 :].removeprefix(" ")
    return _Head(timestamp, f"{match['date']} {match['time']}", int(match["pid"]), match["level"],
                 match["logger"], context, rest)


class _Builder:
    """The record being assembled: bounded line buffers and the traceback state machine."""

    def __init__(self, head: _Head, line: Line, cap: int) -> None:
        self.head = head
        self.line = line
        self.first: list[Line] = []
        self.last: deque[Line] = deque(maxlen=cap - cap // 2)
        self.cap_first = cap // 2
        self.total = 0
        self.in_traceback = False
        self.exception: LogException | None = None
        self.scan(head.message, line)

    def add(self, line: Line, payload: str) -> None:
        self.total += 1
        if len(self.first) < self.cap_first:
            self.first.append(line)
        elif self.last.maxlen:
            self.last.append(line)
        self.scan(payload, line)

    def scan(self, payload: str, line: Line) -> None:
        if payload.rstrip() == _TRACEBACK:
            self.in_traceback = True
            return
        # Frames ("  File ...", source lines, carets) are indented; the first flush-left line after
        # them is the exception. Chained tracebacks repeat this; the last exception is the one raised.
        if not self.in_traceback or not payload.strip() or payload[0] in " \t":
            return
        self.in_traceback = False
        match = _EXCEPTION.match(payload.rstrip())
        if match is not None:
            self.exception = LogException(match["cls"], match["message"] or "", line)

    def build(self) -> LogRecord:
        kept = (*self.first, *self.last)
        request = _REQUEST_ID.search(self.head.context or "")
        return LogRecord(
            self.head.timestamp, self.head.pid, self.head.level, self.head.logger, self.head.context,
            request.group(0) if request else None, self.head.message, self.line, kept,
            self.total - len(kept), self.exception,
        )


def parse_oslo_log(
    lines: Iterable[Line], max_continuation: int = DEFAULT_MAX_CONTINUATION
) -> Iterator[LogRecord]:
    """Records of an oslo.log file (or of consecutive files: a new path starts a new record)."""
    current: _Builder | None = None
    for line in lines:
        head = _parse_head(line.text)
        if current is not None and line.path == current.line.path:
            if head is None:
                current.add(line, line.text)
                continue
            if (head.context is None and head.pid == current.head.pid and head.stamp == current.head.stamp
                    and head.logger == current.head.logger):
                current.add(line, _INSTANCE.sub("", head.message, count=1))
                continue
        if current is not None:
            yield current.build()
            current = None
        if head is not None:
            current = _Builder(head, line, max_continuation)
    if current is not None:
        yield current.build()
