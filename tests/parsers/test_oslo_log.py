"""oslo.log records: the real neutron logs of the ussuri sosreport (plain, rotated, gzipped), and the
variants oslo.log produces (context forms, exception prefix, TRACE, raw stderr, caps)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from ostriage.evidence import Line, numbered
from ostriage.parsers.oslo_log import LogRecord, parse_oslo_log

LOGS = "var/log/neutron"


def _lines(root: Path, rel: str) -> Iterator[Line]:
    path = root / rel
    opener = gzip.open if rel.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        yield from numbered(handle, rel)


def _records(root: Path, rel: str) -> list[LogRecord]:
    return list(parse_oslo_log(_lines(root, rel)))


@pytest.mark.parametrize("name", [
    "neutron-dhcp-agent.log", "neutron-dhcp-agent.log.1", "neutron-l3-agent.log", "neutron-l3-agent.log.1",
    "neutron-metadata-agent.log.1", "neutron-openvswitch-agent.log", "neutron-openvswitch-agent.log.2.gz",
    "neutron-ovs-cleanup.log.1",
])
def test_every_real_line_belongs_to_exactly_one_record(ussuri_sos: Path, name: str) -> None:
    rel = f"{LOGS}/{name}"
    total = sum(1 for _ in _lines(ussuri_sos, rel))
    records = _records(ussuri_sos, rel)
    assert records and sum(1 + len(r.continuation) + r.dropped for r in records) == total
    assert all(r.line.path == rel for r in records)
    numbers = [r.line.number for r in records]
    assert numbers == sorted(numbers) and numbers[0] == 1


def test_real_banners(ussuri_sos: Path) -> None:
    records = _records(ussuri_sos, f"{LOGS}/neutron-dhcp-agent.log.1")
    enabled = [r for r in records if r.message == "Logging enabled!"]
    assert enabled[0].line.text == ("2022-02-04 09:38:50.704 24147 INFO neutron.common.config [-] "
                                    "Logging enabled!")
    first = enabled[0]
    assert (first.timestamp, first.pid, first.level, first.logger, first.context, first.request_id) == (
        datetime(2022, 2, 4, 9, 38, 50, 704000), 24147, "INFO", "neutron.common.config", "-", None)
    after = records[records.index(first) + 1]
    assert after.message == "/usr/bin/neutron-dhcp-agent version 16.4.1"


def test_real_traceback_is_attached_with_its_final_exception(ussuri_sos: Path) -> None:
    records = _records(ussuri_sos, f"{LOGS}/neutron-dhcp-agent.log.1")
    failed = next(r for r in records if r.message.startswith("Failed reporting state!"))
    assert failed.level == "ERROR" and failed.logger == "neutron.agent.dhcp.agent"
    assert failed.request_id == "req-dc4c65b9-52fa-498c-9302-45c6f608059b"
    assert failed.context == "req-dc4c65b9-52fa-498c-9302-45c6f608059b - - - - -"
    # The chained traceback: _queue.Empty, "During handling...", then MessagingTimeout (the one raised).
    assert len(failed.continuation) == 32 and failed.dropped == 0
    assert failed.continuation[0].text.endswith("neutron.agent.dhcp.agent Traceback (most recent call last):")
    assert failed.continuation[-1].text == "2022-02-04 10:06:18.917 184407 ERROR neutron.agent.dhcp.agent "
    assert failed.exception is not None
    assert failed.exception.cls == "oslo_messaging.exceptions.MessagingTimeout"
    assert failed.exception.message.startswith("Timed out waiting for a reply to message ID 1e84933798194f92")
    assert failed.exception.line == failed.continuation[-2]
    following = records[records.index(failed) + 1]
    assert following.level == "WARNING" and following.logger == "oslo.service.loopingcall"


def test_real_multi_line_message_keeps_raw_lines(ussuri_sos: Path) -> None:
    records = _records(ussuri_sos, f"{LOGS}/neutron-l3-agent.log")
    keepalived = [r for r in records if r.continuation and any(c.text == "vrrp_instance VR_24 {"
                                                                for c in r.continuation)]
    assert keepalived
    assert all(r.exception is None for r in keepalived)
    assert keepalived[0].continuation[-1].text.startswith("}")


def test_real_gzipped_rotation(ussuri_sos: Path) -> None:
    records = _records(ussuri_sos, f"{LOGS}/neutron-openvswitch-agent.log.2.gz")
    versions = [r for r in records if r.message.endswith("version 16.4.1")]
    assert versions and versions[0].message == "/usr/bin/neutron-openvswitch-agent version 16.4.1"
    assert {r.exception.cls for r in records if r.exception} == {"oslo_messaging.exceptions.MessagingTimeout"}


PREFIX = "2025-09-28 02:51:00.001 77 ERROR nova.api.openstack.wsgi"
CONNECT = ("keystoneauth1.exceptions.connection.ConnectFailure: Unable to establish connection to "
           "http://10.0.0.10:9696/v2.0/ports?device_id=5e1e: HTTPConnectionPool(host='10.0.0.10', port=9696)")


def _parse(lines: list[str], path: str = "x.log", **kwargs: int) -> list[LogRecord]:
    return list(parse_oslo_log(numbered(lines, path), **kwargs))


def test_incident_bridge_missing_line() -> None:
    (r,) = _parse(["2025-09-28 02:50:07.123 12345 ERROR neutron.plugins.ml2.drivers.openvswitch.agent."
                   "ovs_neutron_agent [-] Bridge br-ex for physical network phynet2 does not exist. Agent "
                   "terminated!"])
    assert r.logger == "neutron.plugins.ml2.drivers.openvswitch.agent.ovs_neutron_agent"
    assert r.message == "Bridge br-ex for physical network phynet2 does not exist. Agent terminated!"
    assert r.timestamp == datetime(2025, 9, 28, 2, 50, 7, 123000)


@pytest.mark.parametrize(("context", "request_id"), [
    ("-", None),
    ("req-24ebe5aa-702f-4ddd-9883-2fb489afd2f5 - - - - -", "req-24ebe5aa-702f-4ddd-9883-2fb489afd2f5"),
    ("req-1b2c3d4e-0000-4000-8000-00000000abcd 5c1f0e admin-project - default default",
     "req-1b2c3d4e-0000-4000-8000-00000000abcd"),
    # oslo.context >= 4 prints the global request id first
    ("None req-9f7e1c2b-1111-4222-8333-444455556666 admin admin", "req-9f7e1c2b-1111-4222-8333-444455556666"),
])
def test_context_forms(context: str, request_id: str | None) -> None:
    (r,) = _parse([f"2025-09-28 02:51:00.001 77 INFO neutron.wsgi [{context}] 10.0.0.5 \"GET /v2.0/ports\""])
    assert (r.context, r.request_id, r.message) == (context, request_id, '10.0.0.5 "GET /v2.0/ports"')


def test_record_without_context() -> None:
    a, b = _parse(["2025-09-28 02:51:00.001 77 INFO neutron.service Neutron service started, listening on "
                   "0.0.0.0:9696", "2025-09-28 02:51:00.002 77 INFO neutron.service Next"])
    assert a.context is None and a.message == "Neutron service started, listening on 0.0.0.0:9696"
    assert b.message == "Next"


def test_nova_connect_failure_traceback_with_instance_prefix() -> None:
    lines = [
        f"{PREFIX} [req-1b2c3d4e-0000-4000-8000-00000000abcd admin admin - default default] "
        f"Unexpected exception in API method: {CONNECT}",
        f"{PREFIX} [instance: 5e1e4d6a-aaaa-bbbb-cccc-0123456789ab] Traceback (most recent call last):",
        f'{PREFIX} [instance: 5e1e4d6a-aaaa-bbbb-cccc-0123456789ab]   File "/usr/lib/python3/dist-packages/'
        'keystoneauth1/session.py", line 1004, in _send_request',
        f"{PREFIX} [instance: 5e1e4d6a-aaaa-bbbb-cccc-0123456789ab]     resp = self.session.request(url)",
        f"{PREFIX} [instance: 5e1e4d6a-aaaa-bbbb-cccc-0123456789ab] {CONNECT}",
        "2025-09-28 02:51:00.002 77 INFO nova.api.openstack.requestlog [-] 10.0.0.1 \"GET /v2.1/servers\" "
        "status: 500",
    ]
    first, second = _parse(lines, "var/log/nova/nova-api.log")
    assert len(first.continuation) == 4 and first.exception is not None
    assert first.exception.cls == "keystoneauth1.exceptions.connection.ConnectFailure"
    assert first.exception.message.startswith("Unable to establish connection to http://10.0.0.10:9696/v2.0/")
    assert first.exception.line.cite() == "var/log/nova/nova-api.log:5"
    assert second.message.endswith("status: 500")


def test_old_trace_level_prefix_and_exception_without_message() -> None:
    p = "2015-03-02 10:00:00.100 4242 TRACE neutron.plugins.ml2.managers"
    lines = ["2015-03-02 10:00:00.100 4242 ERROR neutron.plugins.ml2.managers [-] Mechanism driver failed",
             f"{p} Traceback (most recent call last):", f'{p}   File "x.py", line 1, in f', f"{p}     g()",
             f"{p} StopIteration", f"{p} "]
    (r,) = _parse(lines)
    assert r.exception is not None and (r.exception.cls, r.exception.message) == ("StopIteration", "")
    assert len(r.continuation) == 5


def test_raw_stderr_traceback_after_a_record() -> None:
    lines = ["2025-09-28 02:50:00.000 900 CRITICAL neutron [-] Unhandled error: MemoryError",
             "Traceback (most recent call last):",
             '  File "/usr/bin/neutron-server", line 10, in <module>',
             "    sys.exit(main())",
             "MemoryError",
             "2025-09-28 02:50:05.000 901 INFO neutron.common.config [-] Logging enabled!"]
    first, second = _parse(lines)
    assert first.level == "CRITICAL" and first.exception is not None and first.exception.cls == "MemoryError"
    assert first.exception.line.number == 5 and second.pid == 901


def test_traceback_of_a_different_record_does_not_join() -> None:
    lines = ["2025-09-28 02:50:00.000 900 ERROR a.b [-] first",
             "2025-09-28 02:50:00.000 901 ERROR a.b Traceback (most recent call last):"]
    first, second = _parse(lines)
    assert first.continuation == () and second.pid == 901 and second.context is None


def test_continuation_cap_keeps_head_and_tail_and_still_finds_the_exception() -> None:
    p = "2025-09-28 02:50:00.000 900 ERROR neutron.db.api"
    frames = [f'{p}   File "f{i}.py", line {i}, in f' for i in range(1000)]
    lines = [f"{p} [-] DB error", f"{p} Traceback (most recent call last):", *frames,
             f"{p} oslo_db.exception.DBConnectionError: (pymysql.err.OperationalError) (2013, 'Lost')"]
    (r,) = _parse(lines, max_continuation=10)
    assert len(r.continuation) == 10 and r.dropped == 1002 - 10
    assert r.continuation[0].number == 2 and r.continuation[-1].number == 1003
    assert r.exception is not None and r.exception.cls == "oslo_db.exception.DBConnectionError"
    assert r.exception.message == "(pymysql.err.OperationalError) (2013, 'Lost')"
    (none_kept,) = _parse(lines, max_continuation=0)
    assert none_kept.continuation == () and none_kept.dropped == 1002 and none_kept.exception is not None


def test_a_new_file_starts_a_new_record() -> None:
    older = numbered(["2025-09-28 02:50:00.000 900 ERROR a.b [-] first"], "server.log.1")
    newer = numbered(["continues?", "2025-09-28 02:51:00.000 900 INFO a.b [-] second"], "server.log")
    records = list(parse_oslo_log([*older, *newer]))
    assert [(r.line.path, r.message, r.continuation) for r in records] == [
        ("server.log.1", "first", ()), ("server.log", "second", ())]


def test_garbage_nul_bytes_and_huge_lines() -> None:
    lines = ["\x00\x00\x00 binary", "2025-09-28 02:50:00.000 900 INFO a.b [-] ok", "\x00\xff" * 10,
             "x" * 1_000_000, "2025-13-45 02:50:00.000 900 INFO a.b [-] impossible date",
             "2025-09-28 02:50:01.000 900 INFO a.b [-] " + "y" * 1_000_000]
    first, second = _parse(lines)
    assert first.message == "ok" and len(first.continuation) == 3
    assert len(second.message) == 1_000_000


def test_records_stream() -> None:
    def endless() -> Iterator[Line]:
        number = 0
        while True:
            number += 1
            yield Line("x.log", number, f"2025-09-28 02:50:00.000 {number} INFO a.b [-] m")

    records = parse_oslo_log(endless())
    assert [next(records).pid for _ in range(3)] == [1, 2, 3]
