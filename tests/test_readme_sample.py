"""The README's sample output is what `make demo` prints today: `ostriage diagnose examples/seed-incident`, run
here, up to the ALL FINDINGS header (the list under it repeats each finding in brief and is left out).

When the report changes on purpose, rewrite the README's block and commit it with the change:

    OSTRIAGE_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_readme_sample.py

(the test then rewrites the block in README.md and fails once, so an update is never silent).
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest

from ostriage.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
UPDATE = os.environ.get("OSTRIAGE_UPDATE_SNAPSHOTS") == "1"
# the section's heading, then its first fenced block
BLOCK = re.compile(r"(^## Sample output \(`make demo`[^\n]*\n(?:(?!```)[^\n]*\n)*```\n)(.*?)(^```$)", re.M | re.S)
CUT = "ALL FINDINGS ("


def demo_output(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(ROOT)  # the report prints the target as typed: `make demo` types it relative
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["diagnose", "examples/seed-incident"])
    return capsys.readouterr().out


def abridged(report: str) -> str:
    lines = report.splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if line.startswith(CUT))
    return "".join(lines[: cut + 1])


def test_the_readme_shows_what_make_demo_prints(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    readme = README.read_text()
    match = BLOCK.search(readme)
    assert match, "README.md has no '## Sample output (`make demo`...' section with a fenced block"
    want = abridged(demo_output(capsys, monkeypatch))
    if match.group(2) == want:
        return
    if UPDATE:
        README.write_text(readme[: match.start(2)] + want + readme[match.end(2):])
        pytest.fail("README.md's sample output rewritten from the current report: review and commit it")
    diff = "".join(difflib.unified_diff(match.group(2).splitlines(keepends=True), want.splitlines(keepends=True),
                                        "README.md", "make demo"))
    pytest.fail(f"README.md's sample output is not what `make demo` prints (OSTRIAGE_UPDATE_SNAPSHOTS=1 "
                f"rewrites it):\n{diff}", pytrace=False)
