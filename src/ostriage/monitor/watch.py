"""``ostriage watch``: follow the journal and the kernel log, diagnose a crash loop the moment it starts.

One thread blocks in ``select()`` on every descriptor it serves: journalctl's output, ``/dev/kmsg``, the
``/metrics`` listening socket, the pipe of a running diagnosis and a self-pipe for signals. Its timeout
is the next thing that must happen (a loop that may have ended, an alert to send again, a refresh), or
none at all: idle, it does not wake up.

A diagnosis runs in a forked child (``snapshot.take`` on the live host: the same public entry points as
``ostriage diagnose``) that sends its snapshot back as JSON and exits, so its memory goes back to the
system and the watch stays small; one runs at a time, and requests that come meanwhile are coalesced into
one more run. Why one runs: ``start``; ``early`` (the first kill, restart or abnormal exit of a quiet
workload: if a loop follows, its story is ready when the loop is recognised); ``crash-loop`` (a loop
began); ``rediagnose`` (a loop goes on); ``loop-ended``; ``unit-change`` (a known service's unit was started
or stopped, ``settle`` seconds later); ``refresh`` (every ``refresh`` seconds). The first three pre-empt a
routine diagnosis that is running.

While a workload loops, its ``OstriageCrashLoop`` alert goes to every Alertmanager given, from the first
diagnosis that began at or after the loop's first sign (at once if the ``early`` one is done), again every
``resend`` seconds (``endsAt`` four resends ahead, as Prometheus does), and resolved when the loop ends or
its explanation changes.

Read-only on the host: it reads, runs journalctl and the diagnosis' fixed commands, and writes nothing but
the optional textfile.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import ProcessCollector
from prometheus_client.exposition import MetricsHandler
from prometheus_client.registry import CollectorRegistry

from ostriage.monitor.alerts import LoopInfo, PostError, crash_loop_alert, post_alerts, resolved
from ostriage.monitor.detector import LoopDetector, LoopPolicy
from ostriage.monitor.events import EventKind, KernelKills, WatchEvent, journal_event, parse_journal_row
from ostriage.monitor.exposition import SampleCollector, write_textfile
from ostriage.monitor.followers import JournalFollower, KmsgFollower, journal_argv
from ostriage.monitor.labels import LABELS, Target
from ostriage.monitor.metrics import Sample
from ostriage.monitor.snapshot import Snapshot, take
from ostriage.report.redact import redact

__all__ = ["Watch", "WatchOptions", "live_diagnosis"]

log = logging.getLogger("ostriage.watch")

#: most bytes a diagnosis child may send back (its JSON document and samples)
MAX_RESULT = 64 * 1024 * 1024
#: label sets kept per watch counter; beyond it, events count under service="other"
MAX_SERIES = 64
_OTHER = Target(service="other")
_JOURNAL_BACKOFF = (5.0, 300.0)
#: seconds an entry may take from the journal to our stream before the stream counts as blind
_JOURNAL_SLACK = 10.0
#: diagnoses about a crash loop: they go first, and are never abandoned
_LOOP_REASONS = ("early", "crash-loop", "rediagnose")
#: events that may start a loop: the first of them already starts a diagnosis ("early")
_TROUBLE = (EventKind.OOM_KILL, EventKind.RESTART, EventKind.EXIT, EventKind.START_LIMIT)
#: a diagnosis that began this long before a loop's first event still speaks for it (clock conversions)
_SLACK = 1.0


def live_diagnosis() -> Snapshot:
    from ostriage.sources import LiveHost

    with LiveHost() as source:
        return take(source)


@dataclass(frozen=True)
class WatchOptions:
    listen: tuple[str, int] | None = ("127.0.0.1", 9891)
    textfile: str | None = None
    alertmanagers: tuple[str, ...] = ()
    policy: LoopPolicy = field(default_factory=LoopPolicy)
    resend: float = 60.0
    rediagnose: float = 300.0
    refresh: float = 3600.0
    settle: float = 30.0
    diagnosis_timeout: float = 300.0
    journal: bool = True
    kmsg: bool = True
    kmsg_path: str = "/dev/kmsg"
    journal_command: tuple[str, ...] | None = None
    instance: str = field(default_factory=socket.gethostname)
    diagnose: Callable[[], Snapshot] = live_diagnosis


class _Child:
    """A diagnosis in a forked process; its result comes back through a pipe."""

    def __init__(self, job: Callable[[], Snapshot], reason: str, timeout: float) -> None:
        self.reason = reason
        self.deadline = time.monotonic() + timeout
        self.requested = time.time()
        self._data = bytearray()
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's coverage is its result, checked by the parent
            os.close(read_end)
            _child_main(job, write_end)
        os.close(write_end)
        os.set_blocking(read_end, False)
        self.pid, self.fd = pid, read_end
        self.too_big = False

    def read(self) -> bool:
        """Take what the child sent; ``True`` at its end."""
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return False
            if not chunk:
                return True
            if len(self._data) + len(chunk) > MAX_RESULT:
                self.too_big = True
                return True
            self._data += chunk

    def finish(self) -> Snapshot | str:
        """Reap the child; its snapshot, or why there is none."""
        os.close(self.fd)
        if self.too_big:
            self.kill()
        _, status = os.waitpid(self.pid, 0)
        if self.too_big:
            return f"result larger than {MAX_RESULT} bytes"
        head, _, body = bytes(self._data).partition(b"\n")
        if head == b"ok":
            try:
                return Snapshot.from_json(body)
            except (ValueError, KeyError, TypeError) as exc:
                return f"unreadable result ({exc})"
        if head == b"error":
            return body.decode("utf-8", "replace")
        return f"the diagnosis process ended ({_wait_status(status)}) without a result"

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


def _wait_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _child_main(job: Callable[[], Snapshot], fd: int) -> None:  # pragma: no cover - runs in the child
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    code = 0
    try:
        payload = b"ok\n" + job().to_json()
    except BaseException as exc:
        payload, code = f"error\n{type(exc).__name__}: {exc}".encode(), 1
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os._exit(code)


class _Counters:
    """Watch's counters, each keyed by a bounded label set."""

    def __init__(self) -> None:
        self.values: dict[str, dict[tuple[str, ...], float]] = {}

    def add(self, name: str, labels: tuple[str, ...], amount: float = 1.0) -> None:
        series = self.values.setdefault(name, {})
        if labels not in series and len(series) >= MAX_SERIES:
            labels = _OTHER.values if len(labels) == len(LABELS) else ("other",) * len(labels)
        series[labels] = series.get(labels, 0.0) + amount

    def samples(self) -> Iterator[Sample]:
        for name, series in self.values.items():
            for labels, value in series.items():
                yield Sample(name, labels, value)


class Watch:
    def __init__(self, options: WatchOptions) -> None:
        self.options = options
        self.detector = LoopDetector(options.policy)
        self.snapshot: Snapshot | None = None
        self.loops: dict[Target, LoopInfo] = {}
        #: per workload, when its current trouble began (monotonic): the first event since it was last quiet
        self._trouble: dict[Target, float] = {}
        self._sent: dict[Target, dict[str, Any]] = {}
        self._counters = _Counters()
        self._crash_loop: dict[Target, float] = {}
        self._source_up: dict[str, float] = {}
        self._selector = selectors.DefaultSelector()
        self._child: _Child | None = None
        self._pending: str | None = None
        self._timers: dict[str, float] = {}
        self._journal: JournalFollower | None = None
        self._journal_backoff = _JOURNAL_BACKOFF[0]
        #: when journalctl was started, and when it last delivered a line (Unix times)
        self._journal_since = 0.0
        self._journal_heard = 0.0
        self._kmsg: KmsgFollower | None = None
        self._kmsg_kills = KernelKills("kmsg")
        self._journal_kills = KernelKills("journal-kernel")
        self._server: http.server.HTTPServer | None = None
        self._stopping = False
        self._wakeup: tuple[socket.socket, socket.socket] | None = None
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(SampleCollector(self.samples))
        ProcessCollector(registry=self.registry)

    # -- what /metrics shows ------------------------------------------------------------------------
    def samples(self) -> list[Sample]:
        out = list(self.snapshot.samples) if self.snapshot else []
        out += self._counters.samples()
        out += [Sample("ostriage_watch_crash_loop", t.values, v) for t, v in self._crash_loop.items()]
        out += [Sample("ostriage_watch_source_up", (s,), v) for s, v in sorted(self._source_up.items())]
        if self.detector.dropped:
            out.append(Sample("ostriage_watch_events_lost_total", ("tracking",), self.detector.dropped))
        return out

    # -- life cycle ---------------------------------------------------------------------------------
    def run(self) -> None:
        """Serve until SIGTERM or SIGINT."""
        self._install_signals()
        try:
            self.start()
            while not self._stopping:
                self.step(self._timeout())
        finally:
            self.close()
        log.info("stopped")

    def start(self) -> None:
        """Follow the sources, listen, and run the first diagnosis (``run`` does this; tests call it and ``step``)."""
        self._open_sources()
        if self.options.listen is not None:
            self._listen(self.options.listen)
        self._request("start")

    @property
    def address(self) -> tuple[str, int] | None:
        """Where /metrics is served (the real port when 0 was asked)."""
        if self._server is None:
            return None
        host, port = self._server.server_address[:2]
        return (host if isinstance(host, str) else bytes(host).decode()), port

    def step(self, timeout: float | None) -> None:
        """Wait at most ``timeout`` seconds for something to do, do it, then run the timers due."""
        for key, _ in self._selector.select(timeout):
            key.data()
        self._due(time.monotonic())

    def close(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child.finish()
            self._child = None
        if self._journal is not None:
            self._journal.stop()
        if self._kmsg is not None:
            self._kmsg.close()
        if self._server is not None:
            self._server.server_close()
        if self._wakeup is not None:
            signal.set_wakeup_fd(-1)
            for s in self._wakeup:
                s.close()
        self._selector.close()

    def _install_signals(self) -> None:
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        self._wakeup = (reader, writer)
        signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)

        def stop(signum: int, frame: object) -> None:
            self._stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self._selector.register(reader, selectors.EVENT_READ, lambda: reader.recv(64))

    # -- sources ------------------------------------------------------------------------------------
    def _open_sources(self) -> None:
        kmsg_ok = False
        if self.options.kmsg:
            self._kmsg = KmsgFollower(self.options.kmsg_path)
            kmsg_ok = self._kmsg.open()
            self._source_up["kmsg"] = float(kmsg_ok)
            if kmsg_ok:
                self._selector.register(self._kmsg.fd, selectors.EVENT_READ, self._on_kmsg)  # type: ignore[arg-type]
                log.info("following %s", self.options.kmsg_path)
            else:
                log.warning("not following the kernel log: %s", self._kmsg.error)
                self._kmsg = None
        if self.options.journal:
            argv = self.options.journal_command or journal_argv(kernel=not kmsg_ok)
            self._journal = JournalFollower(argv)
            self._start_journal()

    def _start_journal(self) -> None:
        assert self._journal is not None
        if not self._journal.start():
            self._journal_down(self._journal.error or "cannot start")
            return
        out, err = self._journal.fds()
        self._selector.register(out, selectors.EVENT_READ, lambda: self._on_journal(out))
        self._selector.register(err, selectors.EVENT_READ, lambda: self._on_journal(err))
        self._source_up["journal"] = 1.0
        self._journal_since = time.time()
        log.info("following the journal: %s", " ".join(self._journal.argv))

    def _journal_down(self, why: str) -> None:
        self._source_up["journal"] = 0.0
        delay = self._journal_backoff
        self._journal_backoff = min(delay * 2, _JOURNAL_BACKOFF[1])
        self._timers["journal"] = time.monotonic() + delay
        log.warning("journal not followed (%s); trying again in %.0f s", why, delay)

    def _on_journal(self, fd: int) -> None:
        assert self._journal is not None
        lines, ended = self._journal.read_lines(fd)
        out, _ = self._journal.fds()
        if fd != out:
            for line in lines:
                log.warning("journalctl: %s", redact(line.strip()))
        else:
            if lines:
                self._journal_heard = time.time()
            for number, text in enumerate(lines, 1):
                self._journal_line(text, number)
        if ended:
            for each in self._journal.fds():
                self._selector.unregister(each)
            self._journal_down(f"journalctl ended: {self._journal.stop()}")

    def _journal_line(self, text: str, number: int) -> None:
        entry = parse_journal_row(text, number)
        if entry is None:
            return
        self._journal_backoff = _JOURNAL_BACKOFF[0]
        event = self._journal_kills.feed(entry.message) if entry.ident == "kernel" else journal_event(entry)
        if event is not None:
            self.observe(event)

    def _on_kmsg(self) -> None:
        assert self._kmsg is not None
        records, lost = self._kmsg.read_records()
        if lost:
            self._counters.add("ostriage_watch_events_lost_total", ("kmsg",), lost)
        for record in records:
            event = self._kmsg_kills.feed(record.message)
            if event is not None:
                self.observe(event)

    # -- events and loops ---------------------------------------------------------------------------
    def observe(self, event: WatchEvent) -> None:
        now = time.monotonic()
        self._loops_ended(now)  # a loop whose window passed is over before this event counts
        counter = {EventKind.OOM_KILL: "ostriage_watch_oom_kills_total",
                   EventKind.RESTART: "ostriage_watch_restarts_total",
                   EventKind.EXIT: "ostriage_watch_exits_total"}.get(event.kind)
        if counter is not None:
            self._counters.add(counter, event.target.values)
            log.info("%s: %s (%s) %s", event.kind.value, event.target.name, event.source, redact(event.detail))
        if event.kind is EventKind.UNIT_CHANGE:
            if event.target not in self.loops and "settle" not in self._timers:
                self._timers["settle"] = now + self.options.settle
            return
        if event.kind in _TROUBLE and (event.target.unit or event.target.service):
            self._first_trouble(event.target, now)
        if not self.detector.observe(event, now):
            return
        state = self.detector.state(event.target)
        assert state is not None
        first = min(t for t in (*state.kills, *state.restarts, self._trouble.get(event.target, now), now))
        started = datetime.now(UTC) - timedelta(seconds=now - first)
        self.loops[event.target] = LoopInfo(event.target, state.reason, started)
        if event.target not in self._crash_loop and len(self._crash_loop) >= MAX_SERIES:
            ended = next((t for t, v in self._crash_loop.items() if not v), None)
            if ended is not None:
                del self._crash_loop[ended]  # the oldest loop that is over makes room
        self._crash_loop[event.target] = 1.0
        self._counters.add("ostriage_watch_crash_loops_total", event.target.values)
        log.warning("crash loop of %s: %s; diagnosing", event.target.name, state.reason)
        self._alert()  # the diagnosis begun at its first sign may already tell the story
        self._request("crash-loop")
        self._timers.setdefault("resend", now + self.options.resend)
        self._timers.setdefault("rediagnose", now + self.options.rediagnose)

    def _first_trouble(self, target: Target, now: float) -> None:
        """The first sign of trouble of a quiet workload starts a diagnosis at once: if a loop follows, its
        alert can go out as soon as the loop is recognised."""
        window = self.options.policy.window
        for old in [t for t, at in self._trouble.items() if now - at > window and t not in self.loops]:
            del self._trouble[old]
        if target in self._trouble:
            return
        if len(self._trouble) >= self.options.policy.max_targets:
            return  # as many workloads in trouble as tracked: their loops still get their own diagnoses
        self._trouble[target] = now
        self._request("early")

    def _loops_ended(self, now: float) -> None:
        ended = self.detector.expire(now)
        if not ended:
            return
        at = datetime.now(UTC)
        done = []
        for target in ended:
            log.info("crash loop of %s is over (nothing for %.0f s)", target.name, self.options.policy.window)
            self.loops.pop(target, None)
            self._trouble.pop(target, None)
            self._crash_loop[target] = 0.0
            sent = self._sent.pop(target, None)
            if sent is not None:
                done.append(resolved(sent, at))
        self._post(done)
        if not self.loops:
            self._timers.pop("resend", None)
            self._timers.pop("rediagnose", None)
        self._request("loop-ended")

    # -- diagnoses ----------------------------------------------------------------------------------
    def _request(self, reason: str) -> None:
        if reason in _LOOP_REASONS:
            self._timers.pop("settle", None)  # the loop's diagnosis is the newer one
            if self._child is not None and self._child.reason not in _LOOP_REASONS:
                self._abandon()  # a routine diagnosis must not delay the loop's
        if self._child is not None:
            self._pending = reason if reason in _LOOP_REASONS else (self._pending or reason)
            return
        self._counters.add("ostriage_watch_diagnoses_total", (reason,))
        try:
            child = _Child(self.options.diagnose, reason, self.options.diagnosis_timeout)
        except OSError as exc:
            log.error("cannot start a diagnosis: %s", exc.strerror or exc)
            self._counters.add("ostriage_watch_diagnosis_failures_total", ())
            return
        self._child = child
        self._selector.register(child.fd, selectors.EVENT_READ, self._on_child)
        self._timers["child"] = child.deadline

    def _abandon(self) -> None:
        child, self._child = self._child, None
        assert child is not None
        self._selector.unregister(child.fd)
        self._timers.pop("child", None)
        child.kill()
        child.finish()
        log.info("diagnosis (%s) abandoned for a crash loop's", child.reason)

    def _on_child(self) -> None:
        assert self._child is not None
        if self._child.read():
            self._child_done()

    def _child_done(self, timed_out: bool = False) -> None:
        child, self._child = self._child, None
        assert child is not None
        self._selector.unregister(child.fd)
        self._timers.pop("child", None)
        if timed_out:
            child.kill()
        outcome = child.finish()
        if isinstance(outcome, Snapshot):
            self._diagnosed(outcome, child.reason)
        else:
            why = f"timed out after {self.options.diagnosis_timeout:g} s" if timed_out else outcome
            log.error("diagnosis (%s) failed: %s", child.reason, why)
            self._counters.add("ostriage_watch_diagnosis_failures_total", ())
        if self._pending is not None:
            reason, self._pending = self._pending, None
            self._request(reason)

    def _diagnosed(self, snapshot: Snapshot, reason: str) -> None:
        self.snapshot = snapshot
        self._check_journal(snapshot)
        doc = snapshot.document
        roots = ", ".join(f"{r['code']} {r['rule']}" for r in doc.get("root_causes", [])) or "none"
        log.info("diagnosis (%s) in %.1f s: %s; root causes: %s", reason, snapshot.finished - snapshot.started,
                 doc.get("status"), roots)
        if self.options.refresh > 0:
            self._timers["refresh"] = time.monotonic() + self.options.refresh
        if self.options.textfile:
            try:
                write_textfile(self.options.textfile, snapshot.samples)
            except OSError as exc:
                log.error("cannot write %s: %s", self.options.textfile, exc.strerror or exc)
        self._alert()

    def _check_journal(self, snapshot: Snapshot) -> None:
        """The diagnosis read the journal too: if it holds service-manager messages newer than anything our
        stream delivered since it started, the stream is blind (it happens: journalctl --follow in some
        sandboxes sees no new entry and says nothing). Start it again rather than watch nothing."""
        if self._journal is None or self._source_up.get("journal") != 1.0 or snapshot.journal_latest is None:
            return
        if snapshot.journal_latest <= max(self._journal_since, self._journal_heard) + _JOURNAL_SLACK:
            return
        log.warning("the journal holds entries newer than journalctl --follow delivered: following it again")
        self._counters.add("ostriage_watch_events_lost_total", ("journal",))
        for fd in self._journal.fds():
            self._selector.unregister(fd)
        self._journal.stop()
        self._start_journal()

    # -- alerts ---------------------------------------------------------------------------------------
    def _alert(self) -> None:
        """(Re)send the alert of every loop the last diagnosis can speak for."""
        if not self.options.alertmanagers or self.snapshot is None:
            return
        now = datetime.now(UTC)
        ends = now + timedelta(seconds=4 * self.options.resend)
        url = self._url("/diagnosis")
        alerts: list[dict[str, Any]] = []
        for target, loop in self.loops.items():
            if self.snapshot.started < loop.started.timestamp() - _SLACK:
                continue  # this diagnosis began before the loop's first sign: the next one will tell
            alert = crash_loop_alert(self.snapshot.document, loop, instance=self.options.instance, ends_at=ends,
                                     generator_url=url)
            old = self._sent.get(target)
            if old is not None and old["labels"] != alert["labels"]:
                alerts.append(resolved(old, now))
            self._sent[target] = alert
            alerts.append(alert)
        self._post(alerts)

    def _post(self, alerts: list[dict[str, Any]]) -> None:
        if not alerts:
            return
        for url in self.options.alertmanagers:
            try:
                post_alerts(url, alerts)
            except PostError as exc:
                log.error("alert not delivered: %s", exc)
                self._counters.add("ostriage_watch_alertmanager_posts_total", ("error",))
                continue
            self._counters.add("ostriage_watch_alertmanager_posts_total", ("ok",))
            for alert in alerts:
                labels = alert["labels"]
                state = "resolved" if _ended(alert) else "firing"
                log.info("alert %s %s (%s) -> %s", labels.get("alertname"), state,
                         labels.get("unit") or labels.get("service"), url)

    def _url(self, path: str) -> str | None:
        if self.address is None:
            return None
        shown, port = self.address
        if shown in ("0.0.0.0", "::"):
            shown = self.options.instance
        return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}{path}"

    # -- timers ---------------------------------------------------------------------------------------
    def _timeout(self) -> float | None:
        deadlines = list(self._timers.values())
        end = self.detector.deadline()
        if end is not None:
            deadlines.append(end)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic())

    def _due(self, now: float) -> None:
        self._loops_ended(now)
        for name, at in sorted(self._timers.items(), key=lambda kv: kv[1]):
            if at > now or name not in self._timers:
                continue
            del self._timers[name]
            if name == "child" and self._child is not None:
                self._child_done(timed_out=True)
            elif name == "journal" and self._journal is not None:
                self._start_journal()
            elif name == "settle":
                self._request("unit-change")
            elif name == "refresh":
                self._request("refresh")
            elif name == "resend" and self.loops:
                self._alert()
                self._timers["resend"] = now + self.options.resend
            elif name == "rediagnose" and self.loops:
                self._request("rediagnose")
                self._timers["rediagnose"] = now + self.options.rediagnose

    # -- HTTP -----------------------------------------------------------------------------------------
    def _listen(self, address: tuple[str, int]) -> None:
        watch = self

        class Handler(_Handler):
            registry = self.registry

            def owner(self) -> Watch:
                return watch

        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        server_class = type("Server", (_Server,), {"address_family": family})
        self._server = server_class(address, Handler)
        self._selector.register(self._server.socket, selectors.EVENT_READ, self._server.handle_request)
        log.info("serving /metrics on http://%s:%d/metrics", *self._server.server_address[:2])


def _ended(alert: dict[str, Any]) -> bool:
    ends = datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00"))
    return ends <= datetime.now(UTC)


class _Server(http.server.HTTPServer):
    #: handle_request() is called only when select() says a connection waits: never block in it
    timeout = 0


class _Handler(MetricsHandler):
    """``/metrics`` (Prometheus), ``/diagnosis`` (the last diagnosis, JSON), ``/`` (what watch sees)."""

    #: a client that does not send its request in time is dropped (the loop serves one at a time)
    timeout = 10

    def owner(self) -> Watch:
        raise NotImplementedError

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/metrics":
            super().do_GET()
            return
        watch = self.owner()
        if path == "/diagnosis":
            if watch.snapshot is None:
                self._send(503, "text/plain; charset=utf-8", b"no diagnosis yet\n")
            else:
                body = json.dumps(watch.snapshot.document, indent=2, ensure_ascii=False).encode()
                self._send(200, "application/json", body)
        elif path == "/":
            self._send(200, "text/plain; charset=utf-8", _index(watch).encode())
        elif path == "/-/healthy":
            self._send(200, "text/plain; charset=utf-8", b"ok\n")
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found: try /metrics, /diagnosis or /\n")

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _index(watch: Watch) -> str:
    lines = [f"ostriage watch on {watch.options.instance}"]
    snap = watch.snapshot
    if snap is None:
        lines.append("no diagnosis yet")
    else:
        finished = datetime.fromtimestamp(snap.finished, UTC).isoformat(timespec="seconds")
        lines.append(f"last diagnosis: {snap.document.get('status')}, finished {finished}")
        lines += [f"  root cause {r['code']} {r['rule']}: {r['summary']}" for r in snap.document.get("root_causes", [])]
    lines += [f"crash loop: {loop.target.name}: {loop.reason}" for loop in watch.loops.values()]
    lines.append("/metrics (Prometheus), /diagnosis (JSON, schema v1)")
    return "\n".join(lines) + "\n"
