"""The JSON document v1 against its schema (report/schema/diagnosis-v1.json) and its documentation.

Every scenario, the example bundle, several targets at once and the real ussuri report are diagnosed
through the command line with ``--format json`` and validated; mutated documents prove the schema
rejects what document.py must never write; the user documentation (docs/json-schema.md) must name
every field the schema has.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ostriage.rules import RULES

Ostriage = Any  # the ``ostriage`` fixture of conftest.py: ``ostriage(*args) -> Run``
ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-incident"
SCENARIOS = ROOT / "tests" / "scenarios"
SCHEMA_FILE = files("ostriage.report").joinpath("schema", "diagnosis-v1.json")
DOC = ROOT / "docs" / "json-schema.md"
TARGETS = [*sorted(p / "sos" for p in SCENARIOS.iterdir() if (p / "sos").is_dir()), SEED]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _errors(validator: jsonschema.protocols.Validator, doc: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(doc)]


def test_schema_is_valid_draft_2020_12(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_ships_in_the_package() -> None:
    """Found through importlib.resources, as an installed package would find it, and declared as package
    data in pyproject.toml so a wheel carries it."""
    assert SCHEMA_FILE.is_file()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"report/schema/*.json"' in pyproject


@pytest.mark.parametrize("target", TARGETS, ids=[t.parent.name if t.name == "sos" else t.name for t in TARGETS])
def test_every_scenario_validates(target: Path, ostriage: Ostriage,
                                  validator: jsonschema.protocols.Validator) -> None:
    run = ostriage("diagnose", target, "--format", "json")
    doc = run.json()
    assert run.code == doc["exit_code"]
    assert _errors(validator, doc) == []
    _check_references(doc)


def test_several_targets_validate(ostriage: Ostriage, validator: jsonschema.protocols.Validator) -> None:
    healthy = SCENARIOS / "healthy-controller" / "sos"
    run = ostriage("diagnose", healthy, SEED, "--format", "json")
    doc = run.json()
    assert run.code == 2  # the worst of the two
    assert [r["status"] for r in doc["reports"]] == ["healthy", "critical"]
    assert _errors(validator, doc) == []


def test_ussuri_report_validates(ussuri_sos: Path, ostriage: Ostriage,
                                 validator: jsonschema.protocols.Validator) -> None:
    doc = ostriage("diagnose", ussuri_sos, "--format", "json").json()
    assert _errors(validator, doc) == []
    _check_references(doc)


def _check_references(doc: dict[str, Any]) -> None:
    """What JSON Schema cannot say: every key a story, step or link names is a finding of the document."""
    keys = [f["key"] for f in doc["findings"]]
    assert len(keys) == len(set(keys)), "finding keys are unique"
    by_key = {f["key"]: f for f in doc["findings"]}
    for f in doc["findings"]:
        assert f["key"] == f"{f['rule']}:{f['subject']}"
    for story in doc["root_causes"]:
        root = by_key[story["finding"]]
        assert (story["rule"], story["code"], story["severity"], story["summary"]) == (
            root["rule"], root["code"], root["severity"], root["summary"])
        members = {story["finding"]}
        for step in story["chain"]:
            assert step["from"] in members, "a chain step hangs below a finding already in the chain"
            members.add(step["finding"])
        for step in [*story["chain"], *story["contributors"]]:
            f = by_key[step["finding"]]
            assert (step["rule"], step["code"], step["severity"]) == (f["rule"], f["code"], f["severity"])
            assert step["from"] in by_key
    for link in doc["links"]:
        assert link["from"] in by_key and link["to"] in by_key
    status = max((f["severity"] for f in doc["findings"] if f["severity"] != "info"),
                 key=["warning", "critical"].index, default="healthy")
    assert doc["status"] == status


def _mutations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    def mutated(change: Any) -> dict[str, Any]:
        d = copy.deepcopy(doc)
        change(d)
        return d

    yield "schema_version 2", mutated(lambda d: d.update(schema_version=2))
    yield "status info", mutated(lambda d: d.update(status="info"))
    yield "status and exit code disagree", mutated(lambda d: d.update(exit_code=1))
    yield "unknown top-level key", mutated(lambda d: d.update(extra=True))
    yield "missing facts", mutated(lambda d: d.pop("facts"))
    yield "severity fatal", mutated(lambda d: d["findings"][0].update(severity="fatal"))
    yield "line 0", mutated(lambda d: d["findings"][0]["evidence"][0].update(line=0))
    yield "line as string", mutated(lambda d: d["findings"][0]["evidence"][0].update(line="70"))
    yield "evidence without text", mutated(lambda d: d["findings"][0]["evidence"][0].pop("text"))
    yield "remedy safety maybe", mutated(lambda d: d["findings"][0]["remedy"].update(safety="maybe"))
    yield "relation caused-by", mutated(lambda d: d["links"][0].update(relation="caused-by"))
    yield "chain relation aggravates", mutated(lambda d: d["root_causes"][0]["chain"][0].update(relation="aggravates"))
    yield "code lower case", mutated(lambda d: d["findings"][0].update(code="neu001"))
    yield "rule not kebab-case", mutated(lambda d: d["findings"][0].update(rule="Ml2_Range"))
    yield "rule data with an unknown key", mutated(lambda d: d["findings"][0]["data"].update(surprise=1))
    yield "rule data missing a key", mutated(lambda d: d["findings"][0]["data"].pop("ids"))
    yield "code of another rule", mutated(lambda d: d["findings"][0].update(code="SYS001"))
    yield "time without seconds", mutated(lambda d: d["timeline"][0].update(time="2024-06-12 13:47"))
    yield "info root cause", mutated(lambda d: d["root_causes"][0].update(severity="info"))


def test_schema_rejects_what_document_py_never_writes(seed_doc: dict[str, Any],
                                                       validator: jsonschema.protocols.Validator) -> None:
    assert seed_doc["findings"][0]["rule"] == "ml2-segment-range-too-large"  # what the mutations below edit
    assert _errors(validator, seed_doc) == []
    accepted = [name for name, bad in _mutations(seed_doc) if not _errors(validator, bad)]
    assert accepted == []


def test_every_rule_has_its_data_described(schema: dict[str, Any]) -> None:
    """A new rule must document its ``data`` (and so appear in docs/json-schema.md)."""
    described = {}
    for clause in schema["$defs"]["finding"]["allOf"]:
        rule = clause["if"]["properties"]["rule"]["const"]
        then = clause["then"]["properties"]
        described[rule] = then["code"]["const"]
        assert then["data"]["$ref"] == f"#/$defs/data-{then['code']['const']}"
    assert described == {r.name: r.code for r in RULES}


def _property_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                yield from value
            yield from _property_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _property_names(item)


def test_documentation_names_every_field(schema: dict[str, Any]) -> None:
    text = DOC.read_text()
    documented = set(re.findall(r"`([a-z_0-9]+)`", text))
    missing = sorted(set(_property_names(schema)) - documented)
    assert missing == [], f"fields of the schema not documented in {DOC.name}: {missing}"
    for rule in RULES:
        assert f"`{rule.code}`" in text and rule.name in text, f"{rule.code} {rule.name} has no data section"
    for enum in ("healthy", "warning", "critical", "info", "causes", "aggravates", "related", "safe", "unsafe",
                 "display-only", "sosreport", "tree", "live"):
        assert f"`{enum}`" in text, f"value {enum} not documented"
    assert "schema_version" in text and "breaking" in text
