"""``ostriage watch`` for real, in this process: a journal stream from a subprocess (the seed incident's
systemd messages as ``journalctl -o json`` rows), the diagnosis in a forked child (of the recorded seed
bundle), /metrics and /diagnosis over HTTP, and the alert's life in an Alertmanager-like server: firing with
the root cause, then resolved when the loop goes quiet. The real ``journalctl --follow`` and /dev/kmsg
inside the lab's controller are exercised by tests/lab/test_watch_lab.py."""

from __future__ import annotations

import json
import os
import shlex
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ostriage.monitor.detector import LoopPolicy
from ostriage.monitor.followers import MAX_LINE, KmsgFollower, LineBuffer
from ostriage.monitor.snapshot import Snapshot, take
from ostriage.monitor.watch import Watch, WatchOptions
from ostriage.sources import open_target

from .conftest import SEED, Alertmanager

JOURNAL = SEED / "sos_commands" / "logs" / "journalctl_--no-pager"


def seed_diagnosis() -> Snapshot:
    with open_target(str(SEED)) as source:
        return take(source)


def journal_rows(path: Path) -> Path:
    """neutron-server's systemd lines of the seed journal as `journalctl -o json` rows."""
    rows = []
    for line in JOURNAL.read_text().splitlines():
        if " systemd[1]: neutron-server.service: " in line or " systemd[1]: Started neutron-server" in line:
            message = line.split(" systemd[1]: ", 1)[1]
            rows.append(json.dumps({"__REALTIME_TIMESTAMP": "1764050000000000", "_PID": "1", "_COMM": "systemd",
                                    "SYSLOG_IDENTIFIER": "systemd", "UNIT": "neutron-server.service",
                                    "MESSAGE": message}))
    path.write_text("\n".join(["not json", *rows]) + "\n")
    return path


def wait(watch: Watch, what: str, done: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        watch.step(0.2)


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def fetch_while_stepping(watch: Watch, url: str) -> tuple[int, str]:
    """GET from another thread while this one serves (the watch is single-threaded)."""
    result: list[tuple[int, str]] = []
    thread = threading.Thread(target=lambda: result.append(fetch(url)))
    thread.start()
    wait(watch, f"GET {url}", lambda: not thread.is_alive())
    return result[0]


def posted(state: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    out = []
    for _, _, body in Alertmanager.received:
        for alert in body:
            ended = datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00")) <= now
            if (state == "resolved") == ended:
                out.append(alert)
    return out


def test_a_crash_loop_in_the_journal_reaches_alertmanager_with_its_diagnosis(tmp_path: Path,
                                                                              alertmanager: str) -> None:
    rows = journal_rows(tmp_path / "rows.json")
    textfile = tmp_path / "ostriage.prom"
    options = WatchOptions(
        listen=("127.0.0.1", 0), textfile=str(textfile), alertmanagers=(alertmanager,),
        policy=LoopPolicy(window=3.0, kills=2, restarts=2), resend=5, rediagnose=60, refresh=0, settle=3600,
        kmsg=False, journal_command=("sh", "-c", f"cat {shlex.quote(str(rows))}; exec sleep 300"),
        instance="ostlab-controller", diagnose=seed_diagnosis)
    watch = Watch(options)
    try:
        watch.start()
        assert watch.address is not None
        base = "http://{}:{}".format(*watch.address)
        wait(watch, "the firing alert", lambda: bool(posted("firing")))
        (alert,) = posted("firing")[:1]
        assert alert["labels"]["alertname"] == "OstriageCrashLoop"
        assert alert["labels"]["unit"] == "neutron-server.service" and alert["labels"]["code"] == "NEU001"
        assert "vni_ranges = 1:16777215" in alert["annotations"]["root_cause"]
        assert "vni_ranges = 1:65535" in alert["annotations"]["fix"]
        assert alert["generatorURL"] == f"{base}/diagnosis"

        status, text = fetch_while_stepping(watch, f"{base}/metrics")
        metrics = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for f in text_string_to_metric_families(text) for s in f.samples}
        unit = (("container", ""), ("engine", ""), ("service", "neutron-server"), ("unit", "neutron-server.service"))
        restarts = JOURNAL.read_text().count("neutron-server.service: Scheduled restart job")
        assert metrics[("ostriage_watch_restarts_total", unit)] == restarts
        assert metrics[("ostriage_watch_crash_loop", unit)] == 1.0
        assert metrics[("ostriage_watch_crash_loops_total", unit)] == 1.0
        assert metrics[("ostriage_diagnosis_status", ())] == 2.0
        assert metrics[("ostriage_watch_source_up", (("source", "journal"),))] == 1.0
        assert ("process_resident_memory_bytes", ()) in metrics
        reasons = {dict(labels)["reason"] for (n, labels) in metrics if n == "ostriage_watch_diagnoses_total"}
        assert {"early", "crash-loop"} <= reasons

        status, index = fetch_while_stepping(watch, f"{base}/")
        assert "crash loop: neutron-server.service: 2 restarts within 3 s" in index
        assert "root cause NEU001 ml2-segment-range-too-large" in index

        status, body = fetch_while_stepping(watch, f"{base}/diagnosis")
        assert status == 200 and json.loads(body)["root_causes"][0]["code"] == "NEU001"
        assert "ostriage_root_cause{" in textfile.read_text()

        # nothing more happens to neutron: a window later the loop is over and the alert resolved
        wait(watch, "the resolved alert", lambda: bool(posted("resolved")))
        assert posted("resolved")[0]["labels"] == alert["labels"]
        assert watch.loops == {}
        journalctl = watch._journal.pid  # type: ignore[union-attr]
    finally:
        watch.close()
    assert journalctl is not None and not _alive(journalctl)


class SlowFirstDiagnosis:
    """The first diagnosis hangs (it records its pid); later ones are the seed's."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __call__(self) -> Snapshot:
        if not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            time.sleep(600)
        return seed_diagnosis()


def test_a_crash_loop_does_not_wait_for_a_routine_diagnosis(tmp_path: Path, alertmanager: str) -> None:
    rows = journal_rows(tmp_path / "rows.json")
    marker = tmp_path / "first-diagnosis.pid"
    # the rows come once the first (routine) diagnosis has started and hangs
    command = (f"while [ ! -s {shlex.quote(str(marker))} ]; do sleep 0.1; done; "
               f"cat {shlex.quote(str(rows))}; exec sleep 300")
    watch = Watch(WatchOptions(listen=None, alertmanagers=(alertmanager,), refresh=0, settle=3600, kmsg=False,
                               journal_command=("sh", "-c", command), diagnose=SlowFirstDiagnosis(marker)))
    try:
        watch.start()
        wait(watch, "the firing alert", lambda: bool(posted("firing")))
        assert posted("firing")[0]["labels"]["code"] == "NEU001"
        assert not _alive(int(marker.read_text()))  # the hanging routine diagnosis was stopped
    finally:
        watch.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def failing_diagnosis() -> Snapshot:
    raise RuntimeError("the diagnosis broke")


def test_a_failing_diagnosis_is_counted_and_the_watch_goes_on(tmp_path: Path) -> None:
    watch = Watch(WatchOptions(listen=None, kmsg=False, journal_command=("sh", "-c", "exec sleep 300"),
                               refresh=0, diagnose=failing_diagnosis))
    try:
        watch.start()
        count = lambda: sum(s.value for s in watch.samples()  # noqa: E731
                            if s.name == "ostriage_watch_diagnosis_failures_total")
        wait(watch, "the failed diagnosis", lambda: count() == 1)
        assert watch.snapshot is None
    finally:
        watch.close()


def fresh_journal_diagnosis() -> Snapshot:
    """A diagnosis whose journal holds a service-manager message a minute newer than the stream's start."""
    snapshot = seed_diagnosis()
    return Snapshot(snapshot.document, snapshot.samples, snapshot.started, snapshot.finished, time.time() + 60)


def test_a_blind_journal_stream_is_started_again() -> None:
    watch = Watch(WatchOptions(listen=None, kmsg=False, journal_command=("sh", "-c", "exec sleep 300"), refresh=0,
                               diagnose=fresh_journal_diagnosis))
    try:
        watch.start()
        first = watch._journal.pid  # type: ignore[union-attr]
        wait(watch, "the diagnosis", lambda: watch.snapshot is not None)
        lost = {s.labels: s.value for s in watch.samples() if s.name == "ostriage_watch_events_lost_total"}
        assert lost == {("journal",): 1.0}
        assert watch._journal.pid not in (None, first)  # type: ignore[union-attr]
        assert first is not None and not _alive(first)
    finally:
        watch.close()


def test_a_journal_that_cannot_run_is_reported_and_retried_later() -> None:
    watch = Watch(WatchOptions(listen=None, kmsg=False, journal_command=("/nonexistent/journalctl",), refresh=0,
                               diagnose=seed_diagnosis))
    try:
        watch.start()
        up = {s.labels: s.value for s in watch.samples() if s.name == "ostriage_watch_source_up"}
        assert up == {("journal",): 0.0}
        assert watch._timeout() is not None  # the retry timer (and the diagnosis) wake it, nothing else
    finally:
        watch.close()


def test_lines_beyond_the_limit_are_dropped_whole() -> None:
    buffer = LineBuffer(limit=10)
    assert buffer.feed(b"short\nthis line is far too long") == ["short"]
    assert buffer.feed(b" and goes on\nnext\n") == ["next"]
    assert buffer.dropped == 1
    assert LineBuffer().feed(b"x" * (MAX_LINE - 1) + b"\n") == ["x" * (MAX_LINE - 1)]


@pytest.mark.skipif(os.geteuid() != 0 or not os.access("/dev/kmsg", os.W_OK), reason="needs root and /dev/kmsg")
def test_kmsg_follower_reads_new_records_from_the_real_kernel_log() -> None:
    follower = KmsgFollower()
    assert follower.open(), follower.error
    try:
        assert follower.read_records() == ([], 0)  # it starts at the end: the past is the diagnosis' business
        marker = f"ostriage test: kmsg follower probe {os.getpid()}-{time.monotonic_ns()}"
        with open("/dev/kmsg", "w") as kmsg:  # an informational line, not an OOM record
            kmsg.write(marker + "\n")
        records, lost = follower.read_records()
        assert marker in [r.message for r in records] and lost == 0
    finally:
        follower.close()


def test_kmsg_follower_that_cannot_open_says_why(tmp_path: Path) -> None:
    follower = KmsgFollower(str(tmp_path / "kmsg"))
    assert not follower.open()
    assert "No such file" in (follower.error or "") and "run watch on the host" in (follower.error or "")
