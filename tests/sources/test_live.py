"""The live host: a fake root and a fake runner for every failure, and real runs of harmless commands."""

from __future__ import annotations

import grp
import io
import os
import textwrap
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ostriage.parsers.date import parse_date
from ostriage.sources import Format, LiveHost
from ostriage.sources._runner import Finished, subprocess_runner
from ostriage.sources.catalog import CATALOG
from ostriage.sources.live import ENVIRONMENT

if TYPE_CHECKING:
    from conftest import OtherUser


@dataclass
class FakeProcess:
    """What a command does: its output, how it ends; records whether it was killed."""

    out: bytes = b""
    returncode: int = 0
    stderr: str = ""
    timed_out: bool = False
    killed: bool = False
    stdout: io.BytesIO = field(init=False)

    def __post_init__(self) -> None:
        self.stdout = io.BytesIO(self.out)

    def finish(self) -> Finished:
        return Finished(-9 if self.killed else self.returncode, self.stderr, self.timed_out)

    def kill(self) -> None:
        self.killed = True


@dataclass
class FakeRunner:
    """Answers by program name; a missing program raises like subprocess does."""

    answers: dict[str, FakeProcess | type[OSError]]
    calls: list[tuple[tuple[str, ...], float, Mapping[str, str]]] = field(default_factory=list)

    def __call__(self, argv: Sequence[str], timeout: float, env: Mapping[str, str]) -> FakeProcess:
        self.calls.append((tuple(argv), timeout, env))
        answer = self.answers.get(argv[0], FileNotFoundError)
        if isinstance(answer, type):
            raise answer(2, "No such file or directory")
        return answer


def host(tmp_path: Path, **answers: FakeProcess | type[OSError]) -> tuple[LiveHost, FakeRunner]:
    runner = FakeRunner(answers)
    return LiveHost(tmp_path, runner), runner


def texts(host: LiveHost) -> list[str]:
    return [str(p) for p in host.problems]


def test_command_runs_the_catalog_argv_with_the_fixed_environment(tmp_path: Path) -> None:
    live, runner = host(tmp_path, ps=FakeProcess(b"USER PID\nroot 1\n"))
    output = live.command("processes")
    assert output is not None
    assert (output.name, output.format, output.origin) == ("processes", Format.PS_AUX_THREADS, "$ ps auxwwwm")
    assert [(line.path, line.number, line.text) for line in output.lines] == [
        ("$ ps auxwwwm", 1, "USER PID"),
        ("$ ps auxwwwm", 2, "root 1"),
    ]
    assert runner.calls == [(("ps", "auxwwwm"), CATALOG["processes"].live[0].timeout, ENVIRONMENT)]
    assert live.problems == []


def test_missing_binary(tmp_path: Path) -> None:
    live, _ = host(tmp_path)
    assert live.command("ovs-vsctl-show") is None
    assert texts(live) == [
        "$ ovs-vsctl -t 5 show: ovs-vsctl: command not found (not installed here, or not in "
        f"{ENVIRONMENT['PATH']})"
    ]


def test_missing_binary_reported_once_for_its_variants(tmp_path: Path) -> None:
    live, runner = host(tmp_path)
    assert live.command("ovn-sbctl-show") is None
    assert len(runner.calls) == 1 and len(live.problems) == 1


def test_not_executable(tmp_path: Path) -> None:
    live, _ = host(tmp_path, uptime=PermissionError)
    assert live.command("uptime") is None
    assert texts(live) == ["$ uptime: uptime: permission denied (not executable by this user)"]


def test_timeout(tmp_path: Path) -> None:
    live, _ = host(tmp_path, **{"ovs-vsctl": FakeProcess(returncode=-9, timed_out=True)})
    assert live.command("ovs-vsctl-list-br") is None
    assert texts(live) == ["$ ovs-vsctl -t 5 list-br: timed out after 20 s"]


def test_non_zero_exit(tmp_path: Path) -> None:
    stderr = "ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file)\n"
    live, _ = host(tmp_path, **{"ovs-vsctl": FakeProcess(returncode=1, stderr=stderr)})
    assert live.command("ovs-vsctl-show") is None
    assert texts(live) == ["$ ovs-vsctl -t 5 show: ovs-vsctl: exit status 1: " + stderr.strip()]


def test_dmesg_restricted_falls_back_to_the_kernel_journal(tmp_path: Path) -> None:
    journal = b"2025-11-21T14:22:56+0000 host kernel: Out of memory: Killed process 22426 (python)\n"
    live, runner = host(
        tmp_path,
        dmesg=FakeProcess(returncode=1, stderr="dmesg: read kernel buffer failed: Operation not permitted\n"),
        journalctl=FakeProcess(journal),
    )
    output = live.command("dmesg")
    assert output is not None
    assert output.format == Format.JOURNAL_SHORT_ISO
    assert output.origin == "$ journalctl --no-pager --output=short-iso --dmesg"
    assert [line.text for line in output.lines] == [journal.decode().strip()]
    assert [call[0][0] for call in runner.calls] == ["dmesg", "journalctl"]
    # the journal keeps only what it was sent: the refusal is still worth telling
    assert texts(live) == [
        "$ dmesg: dmesg: exit status 1: dmesg: read kernel buffer failed: Operation not permitted "
        "(kernel.dmesg_restrict=1; run as root or use journalctl -k); used "
        "`journalctl --no-pager --output=short-iso --dmesg` instead"
    ]


def test_dmesg_restricted_and_no_journal(tmp_path: Path) -> None:
    live, _ = host(
        tmp_path,
        dmesg=FakeProcess(returncode=1, stderr="dmesg: read kernel buffer failed: Operation not permitted\n"),
    )
    assert live.command("dmesg") is None
    assert texts(live)[0] == (
        "$ dmesg: dmesg: exit status 1: dmesg: read kernel buffer failed: Operation not "
        "permitted (kernel.dmesg_restrict=1; run as root or use journalctl -k)"
    )
    assert "journalctl: command not found" in texts(live)[1]


def test_failure_after_output_is_recorded_when_the_stream_ends(tmp_path: Path) -> None:
    live, _ = host(
        tmp_path, ss=FakeProcess(b"State Recv-Q\nLISTEN 0\n", returncode=1, stderr="ss: netlink error\n")
    )
    output = live.command("listening-sockets")
    assert output is not None
    assert live.problems == []
    assert len(list(output.lines)) == 2
    assert texts(live) == [
        "$ ss -lntp: ss: exit status 1: ss: netlink error (the output read before it is used)"
    ]


def test_partial_journal_as_an_ordinary_user_is_flagged(tmp_path: Path) -> None:
    hint = (
        "Hint: You are currently not seeing messages from other users and the system.\n"
        "      Users in groups 'adm', 'systemd-journal' can see all messages.\n"
    )
    live, _ = host(tmp_path, journalctl=FakeProcess(b"2025-01-01T00:00:00+0000 h u[1]: x\n", stderr=hint))
    output = live.command("journal")
    assert output is not None
    list(output.lines)
    assert texts(live) == [
        "$ journalctl --no-pager --output=short-iso --since=-7d --lines=250000: incomplete: Hint: You are "
        "currently not seeing messages from other users and the system. (run as root or as a member of group "
        "systemd-journal or adm)"
    ]


def test_output_cap(tmp_path: Path) -> None:
    big = b"".join(b"line %d\n" % i for i in range(100_000))
    live = LiveHost(tmp_path, FakeRunner({"journalctl": FakeProcess(big)}), max_output_bytes=2 * 1024 * 1024)
    output = live.command("journal")
    assert output is not None
    assert len(list(output.lines)) == 100_000
    live = LiveHost(
        tmp_path, FakeRunner({"journalctl": (process := FakeProcess(big))}), max_output_bytes=100_000
    )
    output = live.command("journal")
    assert output is not None
    lines = list(output.lines)
    assert 10_000 < len(lines) < 20_000
    assert process.killed
    assert texts(live) == [
        "$ journalctl --no-pager --output=short-iso --since=-7d --lines=250000: output cut at 97.7 KiB"
    ]


def test_reader_stopping_early_kills_quietly(tmp_path: Path) -> None:
    process = FakeProcess(b"a\n" * 200_000)
    live, _ = host(tmp_path, ps=process)
    output = live.command("processes")
    assert output is not None
    assert next(output.lines).text == "a"
    output.lines.close()  # type: ignore[attr-defined]
    assert process.killed
    assert live.problems == []


def test_empty_output_is_an_answer(tmp_path: Path) -> None:
    live, _ = host(tmp_path, ss=FakeProcess(b""))
    output = live.command("listening-sockets")
    assert output is not None and list(output.lines) == []


def test_accepted_non_zero_exit(tmp_path: Path) -> None:
    listing = b"-rw-r----- 1 42 42 12345 Jan 1 00:00 /var/lib/ovn/ovnsb_db.db\n"
    live, _ = host(
        tmp_path,
        ls=FakeProcess(
            listing,
            returncode=2,
            stderr="ls: cannot access '/etc/openvswitch/ovnsb_db.db': No such file or directory\n",
        ),
    )
    output = live.command("ovn-sb-db-listing")
    assert output is not None and [line.text for line in output.lines] == [listing.decode().strip()]
    assert live.problems == []


def test_files_under_a_fake_root(tmp_path: Path) -> None:
    (tmp_path / "etc/neutron").mkdir(parents=True)
    (tmp_path / "etc/neutron/neutron.conf").write_text("[DEFAULT]\ncore_plugin = ml2\n")
    (tmp_path / "var/log/neutron").mkdir(parents=True)
    (tmp_path / "var/log/neutron/server.log.1").write_text("old\n")
    (tmp_path / "var/log/neutron/server.log").write_text("new\n")
    live, _ = host(tmp_path)
    lines = live.read_lines("/etc/neutron/neutron.conf")
    assert lines is not None
    assert [line.cite() for line in lines] == ["/etc/neutron/neutron.conf:1", "/etc/neutron/neutron.conf:2"]
    assert [line.cite() for line in live.read_log("/var/log/neutron/server.log")] == [
        "/var/log/neutron/server.log.1:1",
        "/var/log/neutron/server.log:1",
    ]
    assert live.glob("/etc/**/*.conf") == ["/etc/neutron/neutron.conf"]
    assert live.read_lines("/etc/nova/nova.conf") is None
    assert live.problems == []
    assert live.kind == "live" and live.label == f"live:{tmp_path}"


def test_absolute_symlinks_of_a_fake_root_stay_in_it(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc/neutron/plugins/ml2").mkdir(parents=True)
    (root / "etc/passwd").symlink_to("/etc/passwd")  # this machine's /etc/passwd must never be read
    (root / "etc/neutron/plugins/ml2/ml2_conf.ini").write_text("[ml2]\n")
    (root / "etc/neutron/plugin.ini").symlink_to("/etc/neutron/plugins/ml2/ml2_conf.ini")  # as RDO has it
    live, _ = host(root)
    assert live.read_lines("/etc/passwd") is None
    assert texts(live) == ["/etc/passwd: symlink loop; not read"]
    lines = live.read_lines("/etc/neutron/plugin.ini")
    assert lines is not None and [ln.text for ln in lines] == ["[ml2]"]


def test_collected_at_is_now_and_aware(tmp_path: Path) -> None:
    live, _ = host(tmp_path)
    when = live.collected_at()
    assert when.tzinfo is not None
    assert abs(datetime.now().astimezone() - when) < timedelta(seconds=5)


# -- real commands on this machine --------------------------------------------------------------


def test_real_ps_and_date() -> None:
    live = LiveHost()
    assert live.label and live.kind == "live"
    output = live.command("processes")
    assert output is not None
    lines = list(output.lines)
    assert lines[0].text.split()[:2] == ["USER", "PID"]
    assert any(line.text.split()[1] == str(os.getpid()) for line in lines[1:])
    date = live.command("date")
    assert date is not None
    stamp = parse_date(next(date.lines).text)
    assert stamp is not None
    assert abs(stamp.wall - datetime.now()) < timedelta(seconds=60)
    assert live.problems == []


def test_real_file_read_as_root_path() -> None:
    live = LiveHost()
    lines = live.read_lines("/proc/self/status")
    assert lines is not None
    assert next(lines).text.startswith("Name:")
    assert live.read_lines("/etc/shadow") is not None or live.problems  # readable as root, else a problem


def test_real_runner_timeout_kills_the_process_group() -> None:
    started = time.monotonic()
    process = subprocess_runner(["sleep", "30"], 0.3, ENVIRONMENT)
    assert process.stdout.read() == b""
    ended = process.finish()
    assert ended.timed_out and ended.returncode == -9
    assert time.monotonic() - started < 10


def test_real_runner_missing_program() -> None:
    with pytest.raises(FileNotFoundError):
        subprocess_runner(["ostriage-no-such-program"], 1, ENVIRONMENT)


def test_real_permission_denied_as_an_ordinary_user(other_user: OtherUser) -> None:
    """Run as nobody (root reads everything, so chmod alone proves nothing)."""
    root = other_user.mkdtemp("perm-")  # nobody must reach the file to be refused by the file's own mode
    (root / "etc/neutron").mkdir(parents=True)
    secret = root / "etc/neutron/neutron.conf"
    secret.write_text("[database]\nconnection = x\n")
    os.chown(secret, 0, 4)  # group adm on Debian/Ubuntu; the hint names whatever group it is
    secret.chmod(0o640)
    script = textwrap.dedent(f"""
        from ostriage.sources.live import LiveHost
        host = LiveHost({str(root)!r})
        print(host.read_lines("/etc/neutron/neutron.conf"))
        print(host.problems[0])
    """)
    result = other_user.python_as_nobody("-c", script)
    assert result.returncode == 0, result.stderr
    group = grp.getgrgid(4).gr_name
    assert result.stdout.splitlines() == [
        "None",
        f"/etc/neutron/neutron.conf: permission denied (run as root or as a member of group {group})",
    ]
