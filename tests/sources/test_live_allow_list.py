"""The README's list of commands ostriage runs on a live host is the list the code runs: every program of
the catalog's live variants is named there, and nothing else is (an operator audits ostriage by it)."""

from __future__ import annotations

import re
from pathlib import Path

from ostriage.sources.catalog import CATALOG

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text()
    start = text.index("### On a live host")
    return text[start:text.index("\n#", start + 1)]


def _allow_list() -> str:
    """The paragraph from "only this allow-list" to the end of the list."""
    section = _section()
    return section[section.index("allow-list"):section.index("A test checks this list")]


def test_every_program_the_code_runs_is_named() -> None:
    named = set(re.findall(r"`([a-z][\w-]*)", _allow_list()))
    programs = {v.argv[0] for spec in CATALOG.values() for v in spec.live}
    assert programs - named == set(), "run by the code, missing from the README's allow-list"
    assert named - programs == set(), "named in the README's allow-list, never run by the code"


def test_every_subcommand_the_code_runs_is_named() -> None:
    """``systemctl show`` and ``systemctl list-units`` are not the same permission to ask for."""
    text = " ".join(_allow_list().split())
    for spec in CATALOG.values():
        for variant in spec.live:
            words = [a for a in variant.argv[1:] if re.fullmatch(r"[A-Za-z][\w-]*", a)]
            for word in words[:2]:
                assert re.search(rf"\b{re.escape(word)}\b", text), f"{' '.join(variant.argv)}: {word!r} not named"


def test_the_timeouts_said_are_the_code_s() -> None:
    text = " ".join(_allow_list().split())
    for spec in CATALOG.values():
        for variant in spec.live:
            if variant.timeout != 20:
                assert f"{variant.timeout:g} s" in text, f"{' '.join(variant.argv)}: {variant.timeout:g} s not said"
