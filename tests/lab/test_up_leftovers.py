"""What `ostlab up` does with what an interrupted run left (no lab needed: no root, no container).

The CI failure this guards against: a state file whose systemd was gone and an overlay holding a
database another neutron release had migrated were reused, and neutron's `upgrade heads` died."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "lab"))

from ostlab import container, paths  # noqa: E402 - the lab package lives outside src/, on purpose

STATE = {"nspawn": 4100, "leader": 4123}


def test_a_running_lab_is_reused() -> None:
    assert container.up_plan(STATE, {4100, 4123, 4200}, leftovers=True) == "reuse"


def test_a_state_whose_systemd_is_gone_is_cleaned_up() -> None:
    assert container.up_plan(STATE, {4100}, leftovers=True) == "clean"
    assert container.up_plan(STATE, set(), leftovers=False) == "clean"


def test_a_leader_pid_alive_outside_the_labs_cgroup_is_not_the_lab() -> None:
    # The pid was reused by some other process after the lab's systemd died: not a running lab.
    assert container.up_plan(STATE, {4100, 9999}, leftovers=True) == "clean"


def test_an_overlay_left_without_a_state_is_cleaned_up() -> None:
    assert container.up_plan(None, set(), leftovers=True) == "clean"


def test_nothing_left_starts_fresh() -> None:
    assert container.up_plan(None, set(), leftovers=False) == "fresh"


@pytest.mark.parametrize("text", ["", '{"nspawn": 41', "[]", '{"nspawn": 4100}'])
def test_a_state_file_cut_short_reads_as_no_state(text: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "STATE", tmp_path / "state.json")
    paths.STATE.write_text(text)
    assert container.state() is None


def test_a_state_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "STATE", tmp_path / "state.json")
    paths.STATE.write_text('{"nspawn": 4100, "leader": 4123}')
    assert container.state() == STATE
