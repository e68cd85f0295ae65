"""Snapshot of the exact text report of the seed incident, as `ostriage diagnose examples/seed-incident` prints it.

The snapshot is the README's promise: any change to a rule's wording, an evidence line, the memory model's
numbers or the layout shows up here as a diff to review. When the change is intended, rewrite the snapshot
and commit it with the change:

    OSTRIAGE_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/report/test_snapshot.py

(the test then rewrites tests/report/snapshots/seed-incident.txt and fails once, so an update is never silent).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from ostriage.cli import main

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("OSTRIAGE_UPDATE_SNAPSHOTS") == "1"


def _report(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(ROOT)  # the target path printed in the report is relative, as in the README
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    assert captured.err == ""
    assert exit_info.value.code == 2
    return captured.out


@pytest.mark.parametrize(("name", "args"), [
    ("seed-incident.txt", ["diagnose", "examples/seed-incident"]),
])
def test_snapshot(name: str, args: list[str], capsys: pytest.CaptureFixture[str],
                  monkeypatch: pytest.MonkeyPatch) -> None:
    got = _report(args, capsys, monkeypatch)
    path = SNAPSHOTS / name
    if UPDATE:
        path.write_text(got, encoding="utf-8")
        pytest.fail(f"snapshot {path.name} rewritten; review `git diff {path.relative_to(ROOT)}` and commit it")
    assert path.exists(), f"no snapshot {path}: run with OSTRIAGE_UPDATE_SNAPSHOTS=1 to create it"
    want = path.read_text(encoding="utf-8")
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(keepends=True), got.splitlines(keepends=True),
                                            f"snapshots/{name}", "ostriage " + " ".join(args)))
        pytest.fail(f"the report differs from its snapshot (OSTRIAGE_UPDATE_SNAPSHOTS=1 to accept):\n{diff}",
                    pytrace=False)
