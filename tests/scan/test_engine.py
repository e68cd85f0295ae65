"""The scan engine gives what the line-by-line path gives: the same events with the same cited lines, the
same pids, the same OOM kills, on real logs (the ussuri fixture, the seed incident) and on generated ones
(rotations, gzip/xz/bzip2, tracebacks, over-long lines, CRLF, records cut by block edges), with both
search engines; and its caps and aggregates bound what a flood costs."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ostriage.evidence import Line
from ostriage.knowledge.services import SERVICES
from ostriage.parsers.kernel_oom import OomLineParser, parse_oom_events
from ostriage.parsers.oslo_log import parse_oslo_log
from ostriage.scan.blocks import Budget
from ostriage.scan.digest import HEAD, TAIL, EventDigest
from ostriage.scan.kernel import finish, scan_kernel_file
from ostriage.scan.matcher import ENGINE_VARIABLE, engine_name
from ostriage.scan.oslo import record_events, scan_oslo
from ostriage.sources import SosReport
from ostriage.sources._lines import iter_lines
from ostriage.sources.base import LogFile
from ostriage.sources.sosreport import SosReport as _Sos

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-incident"


@pytest.fixture(params=["hyperscan", "stdlib"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(ENGINE_VARIABLE, request.param)
    if request.param == "hyperscan":
        try:
            assert engine_name() == "hyperscan"
        except ImportError:
            pytest.skip("no hyperscan wheel here")
    return str(request.param)


def _old(lines: Iterator[Line], service: str) -> tuple[EventDigest, set[int]]:
    """The line-by-line path: every record parsed, every event aggregated."""
    events = EventDigest()
    pids: set[int] = set()
    for record in parse_oslo_log(lines):
        pids.add(record.pid)
        for event in record_events(service, record):
            events.add(event)
    return events, pids


def _compare(report: _Sos, service: str, path: str, block_size: int = 1 << 20) -> int:
    files = report.log_files(path) or []
    checked = 0
    for file in files:
        lines = report._tree.open_lines(file.real, file.shown)
        assert lines is not None
        old, pids = _old(lines, service)
        fd = report.open_log_file(file)
        assert fd is not None
        try:
            new = scan_oslo(fd, file, service, frozenset(pids | {4_000_000}), block_size=block_size)
        finally:
            os.close(fd)
        assert new.events.events() == old.events(), file.shown
        assert new.events.counts() == old.counts()
        assert new.pids == pids
        assert new.has_records == bool(pids)
        checked += sum(old.counts().values())
    return checked


def test_real_logs_give_the_same_events_and_pids(engine: str, ussuri_sos: Path) -> None:
    report = SosReport(ussuri_sos)
    events = 0
    for service in SERVICES:
        for path in service.logs:
            events += _compare(report, service.name, path)
    agent = "/var/log/neutron/neutron-openvswitch-agent.log"
    events += _compare(report, "neutron-openvswitch-agent", agent, block_size=4096)  # records cut by blocks
    assert events > 0


def test_seed_incident_logs_give_the_same_events(engine: str) -> None:
    report = SosReport(SEED)
    # blocks a little longer than the longest traceback (17 KB): records cross block edges every way
    assert _compare(report, "nova-api", "/var/log/nova/nova-api.log", block_size=20000) == 4
    assert _compare(report, "neutron-server", "/var/log/neutron/neutron-server.log", block_size=4096) == 42


def test_cited_lines_are_the_lines_of_the_file(engine: str, tmp_path: Path) -> None:
    # the incident's nova-api log behind 50,000 lines of filler: every cited line is that line of the file
    text = (SEED / "var/log/nova/nova-api.log").read_bytes()
    filler = b"".join(b"2026-11-24 10:00:%02d.000 1301 INFO nova.api.openstack.requestlog [-] 10.0.0.1 "
                      b"\"GET /v2.1/servers/detail\" status: 200 len: 10 microversion: 2.79 time: 0.1\n" % (i % 60)
                      for i in range(50_000))
    path = tmp_path / "nova-api.log"
    path.write_bytes(filler + text)
    fd = os.open(path, os.O_RDONLY)
    try:
        scan = scan_oslo(fd, LogFile(str(path), "nova-api.log", 65536), "nova-api", block_size=1 << 16)
    finally:
        os.close(fd)
    raw = path.read_bytes().split(b"\n")
    events = scan.events.events()
    assert len(events) == 4
    for event in events:
        assert raw[event.line.number - 1].decode() == event.line.text


_HEAD = "2026-11-25 05:5{m}:{s:02d}.{ms:03d} {pid} {level} {logger}"
_MESSAGES = (
    "[-] geneve ID ranges: [(1, 16777215)]",
    "[-] Bridge br-ex for physical network phynet2 does not exist. Agent terminated!",
    "[req-1b2c3d4e-0000-4000-8000-00000000abcd admin admin - default default] Unexpected exception in API "
    "method: keystoneauth1.exceptions.connection.ConnectFailure: Unable to establish connection to "
    "http://127.0.0.1:9696/v2.0/ports: refused",
    "[-] http://127.0.0.1:8774/v2.1/servers returned with HTTP 500",
    "[-] an ordinary line that matches nothing",
    "[-] Child 123 killed by signal 9",
)


@st.composite
def _oslo_logs(draw: st.DrawFn) -> bytes:
    out: list[bytes] = []
    for i in range(draw(st.integers(0, 40))):
        kind = draw(st.integers(0, 9))
        pid = draw(st.sampled_from([857, 858, 4000]))
        head = _HEAD.format(m=i // 60 % 10, s=i % 60, ms=i % 1000, pid=pid, level="ERROR", logger="nova.api.wsgi")
        if kind < 6:
            out.append(f"{head} {_MESSAGES[kind]}".encode())
        elif kind == 6:  # a traceback ending in the exception a signature knows
            out.append(f"{head} [req-x - - - - -] failed".encode())
            out.append(f"{head} Traceback (most recent call last):".encode())
            out.append(f'{head}   File "x.py", line 1, in f'.encode())
            out.append(f"{head} keystoneauth1.exceptions.connection.ConnectFailure: Unable to establish "
                       f"connection to http://10.0.0.1:9696/v2.0/networks: boom".encode())
        elif kind == 7:  # raw continuation lines, one with Agent terminated in it
            out.append(b"raw line Agent terminated! in the middle")
        elif kind == 8:  # an over-long line with invalid UTF-8, and a CRLF line
            out.append(f"{head} [-] geneve ID ranges: [(1, 2)]".encode() + b"\xff" * draw(st.integers(0, 300)))
            out.append(f"{head} [-] geneve ID ranges: [(1, 3)]\r".encode())
        else:
            out.append(b"")
    ending = draw(st.sampled_from([b"\n", b""]))
    return b"\n".join(out) + (ending if out else b"")


_COMPRESS = {"": lambda b: b, ".gz": gzip.compress, ".xz": lzma.compress, ".bz2": bz2.compress}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_oslo_logs(), suffix=st.sampled_from(sorted(_COMPRESS)), block=st.sampled_from([1024, 2048, 65536]),
       max_line=st.sampled_from([128, 65536]))
def test_generated_logs_give_the_same_events(data: bytes, suffix: str, block: int, max_line: int,
                                             tmp_path: Path) -> None:
    path = tmp_path / f"x.log{suffix}"
    path.write_bytes(_COMPRESS[suffix](data))
    text_lines = [Line("x.log", n, t) for n, t in enumerate(iter_lines(io.BytesIO(data), max_line), 1)]
    old, pids = _old(iter(text_lines), "nova-api")
    fd = os.open(path, os.O_RDONLY)
    try:
        new = scan_oslo(fd, LogFile(str(path), "x.log", max_line), "nova-api", frozenset(pids), block_size=block)
    finally:
        os.close(fd)
    assert new.events.events() == old.events()
    assert new.events.counts() == old.counts()
    assert new.pids == pids


def test_kernel_logs_give_the_same_kills_across_rotations(engine: str, tmp_path: Path) -> None:
    # the seed's dmesg as a syslog kern.log, cut in two rotations in the middle of an OOM block
    dmesg = (SEED / "sos_commands/kernel/dmesg").read_text().splitlines()
    syslog = [f"Nov 25 05:53:{i % 60:02d} ostlab-controller kernel: {line}" for i, line in enumerate(dmesg)]
    cut = 40  # inside the first block (trigger at line 1, kill at line 82)
    (tmp_path / "kern.log.1.gz").write_bytes(gzip.compress(("\n".join(syslog[:cut]) + "\n").encode()))
    (tmp_path / "kern.log").write_text("\n".join(syslog[cut:]) + "\n")
    old = list(parse_oom_events([Line("k", n, t) for n, t in enumerate(syslog, 1)], year=2026))
    parser = OomLineParser(2026)
    new: list[object] = []
    lines = 0
    for name in ("kern.log.1.gz", "kern.log"):
        fd = os.open(tmp_path / name, os.O_RDONLY)
        try:
            n, problems = scan_kernel_file(fd, LogFile(str(tmp_path / name), name, 65536), parser, new.append,
                                           block_size=4096)
        finally:
            os.close(fd)
        assert problems == []
        lines += n
    finish(parser, new.append)
    assert lines == len(syslog)
    assert len(new) == len(old) == 14
    for a, b in zip(old, new, strict=True):
        assert (a.victim_pid, a.anon_rss_kb, a.timestamp) == (b.victim_pid, b.anon_rss_kb, b.timestamp)  # type: ignore[attr-defined]
        # line numbers restart in each file of the rotation
        assert b.kill_line.text == a.kill_line.text  # type: ignore[attr-defined]


def test_a_flood_in_a_compressed_rotation_stops_at_the_cap(tmp_path: Path) -> None:
    line = (b"2026-11-25 05:54:19.130 857 INFO neutron.plugins.ml2.drivers.type_tunnel [-] "
            b"geneve ID ranges: [(1, 16777215)]\n")
    path = tmp_path / "neutron-server.log.2.xz"
    path.write_bytes(lzma.compress(line * 200_000))  # 22 MB of the same line, 4 KB compressed
    fd = os.open(path, os.O_RDONLY)
    try:
        scan = scan_oslo(fd, LogFile(str(path), "neutron-server.log.2.xz", 65536), "neutron-server",
                         budget=Budget(max_file=2 * 2**20))
    finally:
        os.close(fd)
    (problem,) = scan.problems
    assert problem.startswith("decompressed beyond the per-file cap of 2 MiB for compressed logs: only its first")
    kept = scan.events.events()
    assert len(kept) == HEAD + TAIL
    assert scan.events.counts() == {("neutron-server", "neutron.tunnel-ranges",
                                     (("ranges", "[(1, 16777215)]"), ("type", "geneve"))): scan.lines}
    assert scan.lines == 2 * 2**20 // len(line)
    assert kept[-1].line.number == scan.lines


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), max_size=80), st.integers(0, 80))
def test_digests_merge_as_one(items: list[tuple[int, int]], cut: int) -> None:
    from ostriage.facts.model import LogEvent

    events = [LogEvent("s", f"sig{sig}", {"v": str(v)}, None, Line("f", n, "x"))
              for n, (sig, v) in enumerate(items, 1)]
    whole, first, second = EventDigest(), EventDigest(), EventDigest()
    for e in events:
        whole.add(e)
    for e in events[:cut]:
        first.add(e)
    for e in events[cut:]:
        second.add(e)
    first.merge(second)
    assert first.counts() == whole.counts()
    assert first.events() == whole.events()
    assert first.left_out == whole.left_out == len(events) - len(whole.events())


def _scan_file(path: Path, service: str, block: int) -> EventDigest:
    fd = os.open(path, os.O_RDONLY)
    try:
        return scan_oslo(fd, LogFile(str(path), path.name, 65536), service, block_size=block).events
    finally:
        os.close(fd)


def _access(i: int, status: int) -> bytes:
    return (f"2026-11-25 05:{i // 3600 % 60:02d}:{i // 60 % 60:02d}.{i % 1000:03d} 857 INFO neutron.wsgi "
            f"[req-{i:08d} admin admin - default default] 10.0.0.{i % 250} \"GET /v2.0/ports/{i % 7} HTTP/1.1\" "
            f"status: {status}  len: 219 time: 0.0123456\n").encode()


@pytest.mark.parametrize("block", [4096, 1 << 20])
def test_api_requests_keep_each_blocks_last_and_last_answered(engine: str, tmp_path: Path, block: int) -> None:
    """The access log is sampled (``Signature.latest``): the file's last request and its last answered
    (status below 500) are among the events, whatever the 5xx storm after it; other signatures stay exact."""
    lines = [_access(i, 200 if i % 3 else 404) for i in range(30_000)]
    lines.insert(12_345, b"2026-11-25 05:30:00.000 857 INFO neutron.plugins.ml2.drivers.type_tunnel [-] "
                         b"geneve ID ranges: [(1, 16777215)]\n")
    lines += [_access(30_000 + i, 503) for i in range(2_000)]  # more than a block of failures at the end
    path = tmp_path / "neutron-server.log"
    path.write_bytes(b"".join(lines))
    new = _scan_file(path, "neutron-server", block)
    old, _ = _old(iter([Line(path.name, n, t) for n, t in enumerate(iter_lines(io.BytesIO(path.read_bytes()),
                                                                                    65536), 1)]), "neutron-server")
    served = [e for e in old.events() if e.signature == "api.request-served"]
    sampled = [e for e in new.events() if e.signature == "api.request-served"]
    answered = [e for e in sampled if e.groups["status"] < "500"]
    assert sampled[-1].line == max((e.line for e in served), key=lambda line: line.number)
    assert answered[-1].line.number == 30_001  # the last 200/404 (line 30,001 with the ranges line inserted)
    assert answered[-1].line.text == path.read_bytes().split(b"\n")[30_000].decode()
    def parsed(digest: EventDigest) -> int:
        return sum(n for (_, sig, _), n in digest.counts().items() if sig == "api.request-served")

    assert parsed(new) < parsed(old) // 10
    assert [e for e in new.events() if e.signature != "api.request-served"] == [
        e for e in old.events() if e.signature != "api.request-served"]


def test_a_record_longer_than_the_first_context_is_read_whole(engine: str, tmp_path: Path) -> None:
    """A traceback of 300 KB across a block edge: its first line and its exception come from one record, as
    the line-by-line reader gives them."""
    head = "2026-11-25 05:53:01.000 4242 ERROR nova.api.openstack.wsgi"
    frames = [f'{head}   File "/usr/lib/python3/dist-packages/x{i}.py", line {i}, in f{i}'.encode()
              for i in range(4_000)]
    record = [f"{head} [req-1 admin admin - default default] Unexpected exception in API method: boom".encode(),
              f"{head} Traceback (most recent call last):".encode(), *frames,
              f"{head} keystoneauth1.exceptions.connection.ConnectFailure: Unable to establish connection to "
              f"http://127.0.0.1:9696/v2.0/ports: refused".encode()]
    filler = [_access(i, 200)[:-1] for i in range(5_000)]
    path = tmp_path / "nova-api.log"
    path.write_bytes(b"\n".join(filler + record + filler) + b"\n")
    assert len(b"\n".join(record)) > 4 * 64 * 1024
    new = _scan_file(path, "nova-api", 1 << 20)
    old, _ = _old(iter([Line(path.name, n, t) for n, t in enumerate(iter_lines(io.BytesIO(path.read_bytes()),
                                                                                    65536), 1)]), "nova-api")
    keep = {"nova-api.unexpected-exception", "keystoneauth.connect-failure"}
    got = [(e.signature, e.line.number) for e in new.events() if e.signature in keep]
    assert got == [(e.signature, e.line.number) for e in old.events() if e.signature in keep]
    assert len(got) == 2
