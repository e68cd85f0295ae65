"""Exit codes of every command, as documented in cli.py and the README.

diagnose: 0 healthy, 1 warnings, 2 critical. lint: 0 clean, 2 errors, 1 warnings with ``--fail-on warning``.
predict: 0 fits (or no budget), 1 at risk, 2 will OOM. fix: 0 nothing to change, 1 changes planned.
Every command: 64 bad usage, 66 a target that cannot be read, 73 an output file that cannot be written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ostriage.cli import EXIT_INPUT, EXIT_OUTPUT, EXIT_USAGE

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-incident"
HEALTHY = ROOT / "tests" / "scenarios" / "healthy-controller" / "sos"
LINT_WARNINGS_ONLY = ROOT / "tests" / "scenarios" / "global-oom-protected" / "sos"
Ostriage = Any  # the ``ostriage`` fixture of conftest.py
Replace = Any  # the ``replace`` fixture of conftest.py


def _one_error_line(run: Any) -> str:
    """Usage and input errors: nothing on stdout, one line on stderr, no traceback."""
    assert run.out == ""
    assert "Traceback" not in run.err
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("ostriage: error: ")
    return lines[0]


@pytest.fixture
def warning_only(scenario_copy: Callable[[str], Path], replace: Replace) -> Path:
    """The healthy controller with a huge geneve range and no OOM yet: a warning, not a critical finding."""
    sos = scenario_copy("healthy-controller")
    replace(sos / "etc/neutron/plugins/ml2/ml2_conf.ini", "\nvni_ranges = 1:65535\n", "\nvni_ranges = 1:16777215\n")
    return sos


def test_diagnose_healthy_is_0(ostriage: Ostriage) -> None:
    run = ostriage("diagnose", HEALTHY)
    assert run.code == 0
    assert "Status: HEALTHY  (0 root cause(s), 0 finding(s))" in run.out


def test_diagnose_warning_is_1(warning_only: Path, ostriage: Ostriage) -> None:
    run = ostriage("diagnose", warning_only, "--format", "json")
    assert run.code == 1
    doc = run.json()
    assert (doc["status"], doc["exit_code"]) == ("warning", 1)
    assert [(f["code"], f["severity"]) for f in doc["findings"]] == [("NEU001", "warning")]


def test_diagnose_critical_is_2(ostriage: Ostriage) -> None:
    run = ostriage("diagnose", SEED)
    assert run.code == 2
    assert "Status: CRITICAL" in run.out


def test_diagnose_several_targets_exit_with_the_worst(warning_only: Path, ostriage: Ostriage) -> None:
    assert ostriage("diagnose", HEALTHY, warning_only).code == 1
    assert ostriage("diagnose", warning_only, SEED, HEALTHY).code == 2


@pytest.mark.parametrize(("target", "args", "code"), [
    (HEALTHY, [], 0),
    (HEALTHY, ["--fail-on", "warning"], 0),
    (LINT_WARNINGS_ONLY, [], 0),
    (LINT_WARNINGS_ONLY, ["--fail-on", "warning"], 1),
    (SEED, [], 2),
    (SEED, ["--fail-on", "warning"], 2),
], ids=["clean", "clean-fail-on-warning", "warnings", "warnings-fail-on-warning", "errors", "errors-fail-on-warning"])
def test_lint(target: Path, args: list[str], code: int, ostriage: Ostriage) -> None:
    run = ostriage("lint", target, *args)
    assert run.code == code
    m = re.fullmatch(r".*: (\d+) error\(s\), (\d+) warning\(s\), \d+ checks run", run.out.splitlines()[-1])
    assert m, run.out
    errors, warnings = int(m[1]), int(m[2])
    assert (errors > 0) == (code == 2)
    assert (warnings > 0) == (target in (LINT_WARNINGS_ONLY, SEED))


@pytest.mark.parametrize(("args", "code", "verdict"), [
    (["--vni-ranges", "1:1000", "--memory-max", "64G"], 0, "FITS"),
    (["--vni-ranges", "1:1000"], 0, "no budget known"),
    (["--vni-ranges", "1:16777215", "--memory-max", "32G"], 1, "AT RISK"),
    (["--vni-ranges", "1:16777215", "--release", "2024.1", "--restart", "--memory-max", "2G"], 2, "WILL OOM"),
], ids=["fits", "no-budget", "at-risk", "will-oom"])
def test_predict(args: list[str], code: int, verdict: str, ostriage: Ostriage) -> None:
    run = ostriage("predict", *args)
    assert run.code == code, run.out
    assert f"verdict: {verdict}" in run.out
    doc = ostriage("predict", *args, "--format", "json")
    assert doc.code == code
    assert doc.json()["verdict"] in ("fits", "no-budget", "at-risk", "will-oom")


def test_predict_from_a_target(ostriage: Ostriage) -> None:
    run = ostriage("predict", SEED)
    assert run.code == 2
    assert re.match(r"neutron start-up for geneve ranges 1:16777215 \(16,777,215 IDs, "
                    r"from etc/neutron/plugins/ml2/ml2_conf\.ini:\d+\)\n", run.out)
    assert "verdict: WILL OOM" in run.out


def test_fix_nothing_to_do_is_0(ostriage: Ostriage) -> None:
    run = ostriage("fix", HEALTHY)
    assert run.code == 0
    assert "Nothing was changed." in run.out


def test_fix_planned_is_1(ostriage: Ostriage) -> None:
    run = ostriage("fix", SEED)
    assert run.code == 1
    assert "+vni_ranges = 1:65535" in run.out
    assert "Run again with --apply" in run.out


@pytest.mark.parametrize("args", [
    ["diagnose", SEED, "--no-such-option"],
    ["no-such-command"],
    ["diagnose", SEED, "--format", "pdf"],
    ["diagnose", SEED, "--format"],
    ["diagnose", "--root", SEED, SEED],
    ["predict", "--vni-ranges", "1:1000", "--ram", "lots"],
    ["predict", "--vni-ranges", "1:1000", "--ram", "1e3G"],
    ["predict", "--vni-ranges", "1:1000", "--memory-max", "-5G"],
    ["predict", "--vni-ranges", "abc"],
    ["predict", "--vni-ranges", "10:1"],
    ["predict", "--vni-ranges", "1:99999999999", "--type", "vxlan"],
    ["predict", "--vni-ranges", "1:1000", "--release", "bogus"],
    ["predict", "--vni-ranges", "1:1000", "--api-workers", "-1"],
    ["predict", "--vni-ranges", "1:1000", "--type", "vlan"],
    ["lint", SEED, "--ram", "xyz"],
    ["lint", SEED, "--fail-on", "never"],
    ["fix", SEED, "--verify-seconds", "-1"],
    ["rules", "NOPE999"],
], ids=lambda a: " ".join(str(x).replace(str(ROOT) + "/", "") for x in a))
def test_usage_errors_are_64(args: list[Any], ostriage: Ostriage) -> None:
    run = ostriage(*args)
    assert run.code == EXIT_USAGE == 64
    _one_error_line(run)


def test_usage_error_messages_name_the_option(ostriage: Ostriage) -> None:
    assert _one_error_line(ostriage("predict", "--vni-ranges", "abc")).startswith(
        "ostriage: error: --vni-ranges: Invalid network tunnel range: 'abc'")
    assert "not a size: 'lots'" in _one_error_line(ostriage("predict", "--vni-ranges", "1:9", "--ram", "lots"))
    assert "No such option" in _one_error_line(ostriage("diagnose", SEED, "--no-such-option"))


@pytest.mark.parametrize("command", ["diagnose", "lint", "predict", "fix"])
def test_missing_target_is_66_for_every_command(command: str, tmp_path: Path, ostriage: Ostriage) -> None:
    missing = tmp_path / "no-such-report"
    run = ostriage(command, missing)
    assert run.code == EXIT_INPUT == 66
    assert _one_error_line(run) == f"ostriage: error: {missing}: no such file or directory"


def test_version_and_help_are_0(ostriage: Ostriage) -> None:
    import ostriage as package

    run = ostriage("--version")
    assert (run.code, run.out) == (0, f"ostriage, version {package.__version__}\n")
    run = ostriage("diagnose", "--help")
    assert run.code == 0
    assert run.out.startswith("Usage: ostriage diagnose [OPTIONS] [TARGETS]...")


def test_unwritable_output_is_73(tmp_path: Path, ostriage: Ostriage) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    run = ostriage("diagnose", SEED, "-o", blocker / "report.txt")
    assert run.code == EXIT_OUTPUT == 73
    assert _one_error_line(run) == f"ostriage: error: {blocker / 'report.txt'}: cannot write (Not a directory)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_ctrl_c_is_130(ostriage: Ostriage, monkeypatch: pytest.MonkeyPatch) -> None:
    from ostriage import cli

    def interrupted(source: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "collect", interrupted)
    run = ostriage("diagnose", SEED)
    assert run.code == 130
    assert run.out == ""
    assert run.err.strip() == "ostriage: error: interrupted"
