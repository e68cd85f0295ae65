"""Scenario tests as data: every folder with a sos tree and an ``expected.json`` is diagnosed end to end.

``tests/scenarios/<name>/sos/`` and ``examples/<name>/`` (the bundle itself) are discovered
automatically; ``expected.json`` says the status, the exact root causes (by rule name), the rules that
must fire and those that must not (the negative cases: what must never be blamed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ostriage.diagnosis import diagnose
from ostriage.facts import collect
from ostriage.report import to_document
from ostriage.sources import open_target

ROOT = Path(__file__).resolve().parents[1]


def _scenarios() -> list[tuple[str, Path, Path]]:
    found = []
    for expected in sorted((ROOT / "tests" / "scenarios").glob("*/expected.json")):
        found.append((expected.parent.name, expected.parent / "sos", expected))
    for expected in sorted((ROOT / "examples").glob("*/expected.json")):
        found.append((f"example:{expected.parent.name}", expected.parent, expected))
    return found


SCENARIOS = _scenarios()


def _document(path: Path) -> dict[str, Any]:
    with open_target(str(path)) as source:
        return to_document(diagnose(collect(source)))


@pytest.mark.parametrize(("name", "sos", "expected"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_scenario(name: str, sos: Path, expected: Path) -> None:
    want = json.loads(expected.read_text())
    doc = _document(sos)
    fired = {f["rule"] for f in doc["findings"]}
    roots = [r["rule"] for r in doc["root_causes"] if r["severity"] != "info"]
    assert doc["status"] == want["status"], doc["root_causes"]
    assert sorted(roots) == sorted(want["root_causes"])
    assert set(want.get("present", [])) <= fired, f"missing: {set(want['present']) - fired}"
    assert not set(want.get("absent", [])) & fired, f"must not fire: {set(want['absent']) & fired}"


@pytest.mark.parametrize(("name", "sos", "expected"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_every_claim_cites_a_real_line(name: str, sos: Path, expected: Path) -> None:
    """Each evidence line of each finding is the exact text at that line of that file."""
    doc = _document(sos)
    for finding in doc["findings"]:
        assert finding["evidence"], f"{finding['key']} has no evidence"
        for ev in finding["evidence"]:
            lines = (sos / ev["path"]).read_text(errors="replace").splitlines()
            assert lines[ev["line"] - 1].rstrip("\r") == ev["text"] or "***" in ev["text"], (finding["key"], ev)


def test_kills_are_placed_before_the_restarts_they_caused() -> None:
    """The recorded seed bundle has dmesg only (seconds since boot) and `uptime` (to the minute): the boot
    time is refined with systemd's notices, so no restart appears before the kill that caused it."""
    doc = _document(ROOT / "examples" / "seed-incident")
    events = [(t["time"], t["what"]) for t in doc["timeline"] if "neutron-server.service" in t["what"]]
    first_kill = next(time for time, what in events if "OOM-killed" in what)
    first_restart = next(time for time, what in events if "restart 1" in what)
    assert first_kill < first_restart
