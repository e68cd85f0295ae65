"""``run.fix`` on a live host without a live host: the seed copy as ``LiveHost(root=copy)`` (no program
installed, so nothing of this machine is read), commands recorded, the units scripted. A verified fix stays;
a failed one rolls itself back and says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ostriage.remedy.apply import FixError
from ostriage.remedy.run import FixOptions, fix, undo
from ostriage.report.plan import fix_text

from .conftest import (
    BACKUPS,
    ML2,
    OVERRIDE,
    Commands,
    NothingInstalled,
    ScriptedHost,
    UnitScript,
    differences,
    fingerprint,
    live_copy,
    steady,
    unreachable_database,
)

UNIT = "neutron-server.service"
COMMANDS = [["systemctl", "daemon-reload"], ["systemctl", "restart", UNIT]]
OPTIONS = FixOptions(apply=True, verify_seconds=20)


@pytest.fixture
def live(seed: Path, tmp_path: Path) -> Path:
    """The seed copy, its database unreachable at once (a socket that does not exist: no network)."""
    live_copy(seed, unreachable_database(tmp_path))
    return seed


def test_a_verified_fix_stays_applied(live: Path) -> None:
    before = fingerprint(live)
    host = ScriptedHost({UNIT: steady()}, port_answers_from=6.0)
    commands = Commands()
    source = live_copy(live, unreachable_database(live.parent))
    result = fix(source, OPTIONS, host=host.host, run_commands=commands)
    assert [c.path for c in result.plan.changes] == [ML2, OVERRIDE]
    assert commands.runs == [COMMANDS]  # reload, restart; nothing else
    assert result.verdict is not None and result.verdict.ok, result.verdict
    assert result.rolled_back == ()
    assert set(differences(before, fingerprint(live))) == {ML2.lstrip("/"), OVERRIDE.lstrip("/")}
    assert result.applied is not None and result.applied.backup.parent == live / BACKUPS
    assert json.loads((result.applied.backup / "manifest.json").read_text())["status"] == "applied"
    # the database was asked (live host), could not answer, and the plan says so
    assert any("neutron's database: cannot connect to neutron's database" in r for r in result.plan.reasoning)
    # the port neutron listens on, from neutron.conf (default 9696)
    assert host.http_calls and host.http_calls[0] == ("127.0.0.1", 9696)
    text = fix_text(result, "controller-1")
    assert f"  verified: {UNIT} stable for 20 s, no OOM kill\n  verified: port 9696 answers HTTP\n" in text
    assert isinstance(source._runner, NothingInstalled) and source._runner.calls  # no real command ran


def test_a_failed_verification_rolls_back_by_itself(live: Path) -> None:
    original = fingerprint(live)
    crash = UnitScript([*steady().changes, (8.0, {"NRestarts": "4", "MainPID": "4300"})])
    host = ScriptedHost({UNIT: crash})
    commands = Commands()
    result = fix(live_copy(live, unreachable_database(live.parent)), OPTIONS, host=host.host, run_commands=commands)
    assert result.verdict is not None and not result.verdict.ok
    assert result.verdict.details == [f"{UNIT} restarted again (NRestarts 3 → 4, main PID 4242 → 4300)"]
    assert result.rolled_back == (ML2, OVERRIDE)
    assert differences(original, fingerprint(live)) == {}  # byte for byte, modes and owners
    assert commands.runs == [COMMANDS, COMMANDS]  # and the services restarted with the old files
    assert result.applied is not None
    assert json.loads((result.applied.backup / "manifest.json").read_text())["status"] == "rolled-back"
    text = fix_text(result, "controller-1")
    assert f"  FAILED: {UNIT} restarted again" in text
    assert "Rolled back 2 file(s) to their backups." in text


def test_a_restart_that_fails_rolls_back_too(live: Path) -> None:
    original = fingerprint(live)
    commands = Commands(fail=FixError("systemctl restart neutron-server.service failed: Job failed"))
    result = fix(live_copy(live, unreachable_database(live.parent)), OPTIONS,
                 host=ScriptedHost({UNIT: steady()}).host, run_commands=commands)
    assert result.verdict is not None and not result.verdict.ok
    assert result.verdict.details[0] == "systemctl restart neutron-server.service failed: Job failed"
    # the second restart (with the old files) failed as well: said, and the rollback is still reported
    assert result.verdict.details[1].startswith("files rolled back, but restarting with them failed")
    assert result.rolled_back == (ML2, OVERRIDE)
    assert differences(original, fingerprint(live)) == {}
    assert len(commands.runs) == 2


def test_undo_on_the_live_host_restarts_what_the_fix_restarted(live: Path) -> None:
    original = fingerprint(live)
    commands = Commands()
    source = live_copy(live, unreachable_database(live.parent))
    result = fix(source, OPTIONS, host=ScriptedHost({UNIT: steady()}).host, run_commands=commands)
    assert result.verdict is not None and result.verdict.ok
    backup, restored = undo(source, FixOptions(), run_commands=commands)
    assert result.applied is not None and backup == result.applied.backup
    assert restored == (ML2, OVERRIDE)
    assert commands.runs == [COMMANDS, COMMANDS]
    assert differences(original, fingerprint(live)) == {}


def test_a_plan_only_run_never_restarts_or_writes(live: Path) -> None:
    original = fingerprint(live)
    commands = Commands()
    host = ScriptedHost({UNIT: steady()})
    result = fix(live_copy(live, unreachable_database(live.parent)), FixOptions(), host=host.host,
                 run_commands=commands)
    assert len(result.plan.changes) == 2 and result.applied is None
    assert commands.runs == [] and host.calls == []
    assert differences(original, fingerprint(live)) == {}
