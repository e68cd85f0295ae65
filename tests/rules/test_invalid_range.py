"""A tunnel range neutron refuses is a finding of ``diagnose`` (NEU004), as it is one of ``lint`` (LNT008):
the two commands read the same value the same way and neither drops it silently."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

Ostriage = Callable[..., Any]
ML2 = "etc/neutron/plugins/ml2/ml2_conf.ini"


@pytest.mark.parametrize(("value", "error"), [
    ("1:16777216", "Invalid network tunnel range: '1:16777216' - 16777216 is not a valid geneve identifier."),
    ("100:1", "Invalid network tunnel range: '100:1' - End of tunnel range is less than start of tunnel range."),
    ("1-65535", "Invalid network tunnel range: '1-65535' - not enough values to unpack (expected 2, got 1)."),
])
def test_diagnose_reports_what_lint_reports(value: str, error: str, seed_copy: Path, ostriage: Ostriage,
                                            replace: Callable[[Path, str, str], None]) -> None:
    replace(seed_copy / ML2, "vni_ranges = 1:16777215", f"vni_ranges = {value}")
    doc = ostriage("diagnose", seed_copy, "--format", "json").json()
    (found,) = [f for f in doc["findings"] if f["code"] == "NEU004"]
    assert found["severity"] == "critical"
    assert found["summary"] == f"[ml2_type_geneve] vni_ranges = {value}: neutron-server refuses it and exits at start"
    assert found["explanation"].startswith(error)
    assert [(e["path"], e["text"]) for e in found["evidence"]] == [(ML2, f"vni_ranges = {value}")]
    assert found["key"] in {s["finding"] for s in doc["root_causes"]}
    assert not [f for f in doc["findings"] if f["code"] == "NEU001"]  # not a range: no memory to predict
    schema = json.loads(files("ostriage.report").joinpath("schema", "diagnosis-v1.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    lint = ostriage("lint", seed_copy, "--format", "json").json()
    assert [f["message"] for f in lint["findings"] if f["code"] == "LNT008"] == [error]


def test_neutrons_own_refusal_is_cited(seed_copy: Path, ostriage: Ostriage,
                                       replace: Callable[[Path, str, str], None]) -> None:
    """neutron's traceback ends with the exception's message: its last line is the evidence of the refusal."""
    replace(seed_copy / ML2, "vni_ranges = 1:16777215", "vni_ranges = 100:1")
    log = seed_copy / "var/log/neutron/neutron-server.log"
    with log.open("a") as f:
        f.write("2026-11-25 05:55:01.120 901 ERROR neutron Traceback (most recent call last):\n"
                "2026-11-25 05:55:01.120 901 ERROR neutron neutron_lib.exceptions.NetworkTunnelRangeError: Invalid "
                "network tunnel range: '100:1' - End of tunnel range is less than start of tunnel range.\n")
    doc = ostriage("diagnose", seed_copy, "--format", "json").json()
    (found,) = [f for f in doc["findings"] if f["code"] == "NEU004"]
    assert [(e["path"], e["note"]) for e in found["evidence"]] == [
        (ML2, ""), ("var/log/neutron/neutron-server.log", "neutron refused it 1 time(s), last 2026-11-25 05:55:01")]
