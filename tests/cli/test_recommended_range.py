"""One recommended range per host: predict, lint, diagnose and fix offer the same one, for the same reasons."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-incident"
Ostriage = Any  # the ``ostriage`` fixture of conftest.py


def _offers(ostriage: Ostriage, target: Path) -> dict[str, Any]:
    predict = ostriage("predict", target, "--format", "json").json()
    lint = ostriage("lint", target, "--format", "json").json()
    diagnosis = ostriage("diagnose", target, "--format", "json").json()
    fix = ostriage("fix", target, "--format", "json").json()
    (lnt001,) = [f for f in lint["findings"] if f["code"] == "LNT001"]
    (neu001,) = [f for f in diagnosis["findings"] if f["code"] == "NEU001"]
    (ml2,) = [c for c in fix["changes"] if c["path"].endswith("ml2_conf.ini")]
    (fixed,) = re.findall(r"^\+vni_ranges = (.*)$", ml2["diff"], re.M)
    return {
        "predict": predict["recommended"]["value"],
        "lint": lnt001["fix"].removeprefix("set [ml2_type_geneve] vni_ranges = "),
        "diagnose": neu001["data"]["suggested"],
        "diagnose remedy": neu001["remedy"]["ini_edits"][0]["value"],
        "fix": fixed,
        "_reasons": (predict["recommended"]["reasoning"], neu001["data"]["suggested_reasoning"], fix["reasoning"]),
    }


@pytest.mark.parametrize("networks", [None, 20_000], ids=["example", "20000-networks-in-ovn"])
def test_the_same_range_everywhere(networks: int | None, ostriage: Ostriage, seed_copy: Path) -> None:
    """On the example (OVN's Northbound shows no network) and on a copy whose Northbound shows 20,000: every
    command offers the one range, and predict and diagnose give the same reasons fix starts from."""
    if networks is not None:
        (seed_copy / "sos_commands/ovn_central/ovn-nbctl_show").write_text("".join(
            f"switch {n:08x}-0000-4000-8000-000000000000 (neutron-{n:08x}-1111-4111-8111-111111111111)\n"
            for n in range(networks)))
    offers = _offers(ostriage, SEED if networks is None else seed_copy)
    reasons = offers.pop("_reasons")
    assert set(offers.values()) == {"1:65535" if networks is None else f"1:{5 * networks}"}, offers
    predicted, diagnosed, fixed = reasons
    assert predicted == diagnosed
    # fix says why it could not read neutron's database; diagnose cannot read it at all
    assert [r.split("neutron's database:")[0] for r in fixed[:2]] == [r.split("neutron's database:")[0]
                                                                      for r in predicted]
    assert f"at most {networks or 0:,}" in predicted[0]
