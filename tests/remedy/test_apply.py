"""``fix --apply`` on a copy of the seed host (``--root``): exactly the planned bytes, modes and owners kept,
a backup set, the root cause gone, idempotent, and ``--rollback`` back to the original bytes."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from ostriage.remedy import apply as apply_module
from ostriage.remedy import run as run_module
from ostriage.remedy.apply import latest_backup, rollback
from ostriage.remedy.run import FixOptions, undo

from .conftest import (
    BACKUPS,
    ML2,
    OVERRIDE,
    SEED,
    CliRun,
    at,
    copy_source,
    differences,
    fingerprint,
    fix_copy,
    sha256,
)

ROOT_CAUSE = "ml2-segment-range-too-large"


def rules(run: CliRun) -> set[str]:
    """Rule names of every finding of ``diagnose --format json``."""
    return set(re.findall(r'"rule": "([^"]+)"', run.out))


def test_apply_writes_exactly_the_plan_and_keeps_mode_and_owner(seed: Path) -> None:
    ml2 = at(seed, ML2)
    ml2.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(ml2, 1234, 2345)  # neutron.conf & co. are root:neutron 0640 on a real host
    before = fingerprint(seed)
    plan = fix_copy(seed).plan
    result = fix_copy(seed, apply=True)
    assert [c.path for c in result.plan.changes] == [c.path for c in plan.changes] == [ML2, OVERRIDE]
    assert result.applied is not None and result.applied.files == (ML2, OVERRIDE)
    after = fingerprint(seed)
    assert set(differences(before, after)) == {ML2.lstrip("/"), OVERRIDE.lstrip("/")}
    for change in plan.changes:
        assert at(seed, change.path).read_text() == change.new
    assert stat.S_IMODE(ml2.stat().st_mode) == 0o640
    if os.geteuid() == 0:
        assert (ml2.stat().st_uid, ml2.stat().st_gid) == (1234, 2345)
    for rel in (ML2.lstrip("/"), OVERRIDE.lstrip("/")):
        assert (after[rel].mode, after[rel].uid, after[rel].gid) == (before[rel].mode, before[rel].uid, before[rel].gid)
    # nothing restarted on a copy; the copy is diagnosed again and the root cause is gone
    assert result.verdict is not None and result.verdict.ok
    assert result.remaining == []


def test_the_backup_set_is_complete_synced_and_private(seed: Path) -> None:
    old = {p: at(seed, p).read_bytes() for p in (ML2, OVERRIDE)}
    at(seed, ML2).chmod(0o640)
    os.umask(umask := os.umask(0o022))
    result = fix_copy(seed, apply=True)
    assert result.applied is not None
    backup = result.applied.backup
    assert backup.parent == at(seed, BACKUPS)
    assert latest_backup(at(seed, BACKUPS)) == backup
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["status"] == "applied"
    assert manifest["root"] == str(seed.absolute())
    assert [e["path"] for e in manifest["files"]] == [ML2, OVERRIDE]
    for entry in manifest["files"]:
        saved = (backup / entry["backup"]).read_bytes()
        assert saved == old[entry["path"]]
        assert entry["old_sha256"] == sha256(saved)
        assert entry["new_sha256"] == sha256(at(seed, entry["path"]).read_bytes())
        # the old neutron configs hold the database password: the copies are the owner's only
        assert stat.S_IMODE((backup / entry["backup"]).stat().st_mode) == 0o600
    assert manifest["files"][0]["mode"] == 0o640
    assert stat.S_IMODE(backup.stat().st_mode) == 0o700
    assert manifest["commands"] == [["systemctl", "daemon-reload"], ["systemctl", "restart", "neutron-server.service"]]
    assert umask == os.umask(umask)


def test_the_command_line_plan_apply_again_rollback(seed: Path, cli: Callable[..., CliRun]) -> None:
    original = fingerprint(seed)
    fingerprint_of_the_original = fingerprint(seed, skip=())
    assert ROOT_CAUSE in rules(cli("diagnose", "--root", str(seed), "--format", "json"))

    planned = cli("fix", "--root", str(seed))
    assert planned.code == 1  # changes planned, not applied
    assert planned.out.startswith(f"ostriage fix plan for {seed}: 2 file(s) to change, 2 command(s)")
    assert "Nothing was changed. Run again with --apply" in planned.out
    assert fingerprint(seed) == original

    applied = cli("fix", "--root", str(seed), "--apply")
    assert applied.code == 0, applied.err
    assert "Applied; backup set " in applied.out
    assert "verified: files written; no unit restarted" in applied.out
    assert ROOT_CAUSE not in rules(cli("diagnose", "--root", str(seed), "--format", "json"))

    again = cli("fix", "--root", str(seed))
    assert again.code == 0  # nothing to change
    assert again.out.startswith(f"ostriage fix plan for {seed}: 0 file(s) to change, 0 command(s)")
    assert "nothing to change" in again.out
    assert cli("fix", "--root", str(seed), "--apply").out == again.out  # and applying it changes nothing

    undone = cli("fix", "--root", str(seed), "--rollback")
    assert undone.code == 0
    assert undone.out.startswith(f"restored 2 file(s) from {seed / BACKUPS}/")
    assert undone.out.endswith("\nbackup set removed: every file is back as it was (checksum, mode, owner): "
                               "nothing of the fix is left in the copy\n")
    # byte for byte, mode and owner, every file and directory of the tree: the backups' too
    assert fingerprint(seed, skip=()) == fingerprint_of_the_original
    assert ROOT_CAUSE in rules(cli("diagnose", "--root", str(seed), "--format", "json"))

    nothing = cli("fix", "--root", str(seed), "--rollback")
    assert nothing.code == 66 and "no applied fix to roll back" in nothing.err


def test_rollback_restores_every_file_by_sha256(seed: Path) -> None:
    original = {p: sha256(p.read_bytes()) for p in seed.rglob("*") if p.is_file()}
    result = fix_copy(seed, apply=True)
    assert result.applied is not None
    assert sha256(at(seed, ML2).read_bytes()) != original[at(seed, ML2)]
    with copy_source(seed) as source:
        backup, restored = undo(source, FixOptions(root=seed))
    assert backup == result.applied.backup and restored == (ML2, OVERRIDE)
    now = {p: sha256(p.read_bytes()) for p in seed.rglob("*") if p.is_file() and at(seed, BACKUPS) not in p.parents}
    assert now == original
    assert not backup.exists() and not at(seed, "var/backups").exists()  # the fix made them, the rollback took them


def test_a_rollback_keeps_the_set_when_a_file_is_not_back_exactly(seed: Path) -> None:
    result = fix_copy(seed, apply=True)
    assert result.applied is not None
    with copy_source(seed) as source:
        original_rollback = apply_module.rollback

        def rollback_then_someone_edits(backup: Path) -> tuple[str, ...]:
            restored = original_rollback(backup)
            at(seed, ML2).write_text(at(seed, ML2).read_text() + "# edited meanwhile\n")
            return restored

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(run_module, "rollback", rollback_then_someone_edits)
            backup, _ = undo(source, FixOptions(root=seed))
    assert json.loads((backup / "manifest.json").read_text())["status"] == "rolled-back"
    assert latest_backup(at(seed, BACKUPS)) is None


def test_a_rollback_keeps_what_was_there_before_the_fix(seed: Path) -> None:
    """An earlier backup set (and so the directories holding it) existed before: only the new set goes."""
    earlier = at(seed, BACKUPS) / "20200101T000000.000000Z"
    earlier.mkdir(parents=True)
    (earlier / "note").write_text("kept\n")
    before = fingerprint(seed, skip=())
    fix_copy(seed, apply=True)
    with copy_source(seed) as source:
        undo(source, FixOptions(root=seed))
    assert fingerprint(seed, skip=()) == before


@pytest.fixture
def seed_protected_by_its_unit(seed: Path) -> Path:
    """The seed host with MemoryMax and OOMScoreAdjust in the vendor unit file and no drop-in at all:
    the fix must create the override (and its directory)."""
    dropins = at(seed, "/etc/systemd/system/neutron-server.service.d")
    settings = [line for f in sorted(dropins.iterdir()) for line in f.read_text().splitlines(keepends=True)
                if not line.startswith("[")]
    assert "OOMScoreAdjust=-1000\n" in settings
    for f in dropins.iterdir():
        f.unlink()
    dropins.rmdir()
    unit = at(seed, "/usr/lib/systemd/system/neutron-server.service")
    unit.write_text(unit.read_text().replace("[Service]\n", "[Service]\n" + "".join(settings), 1))
    show = at(seed, "sos_commands/systemd/systemctl_show_service_--all")
    show.write_text(re.sub(r"(?m)^DropInPaths=/etc/systemd/system/neutron-server\.service\.d/.*$", "DropInPaths=",
                           show.read_text()))
    return seed


def test_rollback_removes_what_the_fix_created(seed_protected_by_its_unit: Path) -> None:
    root = seed_protected_by_its_unit
    original = fingerprint(root)
    result = fix_copy(root, apply=True)
    created = [c for c in result.plan.changes if c.old is None]
    assert [(c.path, c.new) for c in created] == [(OVERRIDE, "[Service]\nOOMScoreAdjust=0\n")]
    assert at(root, OVERRIDE).read_text() == "[Service]\nOOMScoreAdjust=0\n"
    assert stat.S_IMODE(at(root, OVERRIDE).stat().st_mode) == 0o644
    assert result.applied is not None
    rollback(result.applied.backup)
    assert fingerprint(root) == original  # the override and the directory made for it are gone
    assert not at(root, OVERRIDE).parent.exists()


def test_rollback_keeps_a_directory_that_was_there(seed_protected_by_its_unit: Path) -> None:
    root = seed_protected_by_its_unit
    dropins = at(root, OVERRIDE).parent
    dropins.mkdir()
    (dropins / "05-environment.conf").write_text("[Service]\nEnvironment=PYTHONUNBUFFERED=1\n")
    original = fingerprint(root)
    result = fix_copy(root, apply=True)
    assert [c.path for c in result.plan.changes if c.old is None] == [OVERRIDE]
    assert result.applied is not None
    rollback(result.applied.backup)
    assert fingerprint(root) == original and dropins.is_dir()


def test_rollback_restores_modes_and_owners_changed_after_the_apply(seed: Path) -> None:
    ml2 = at(seed, ML2)
    ml2.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(ml2, 1234, 2345)
    original = fingerprint(seed)
    applied = fix_copy(seed, apply=True).applied
    assert applied is not None
    ml2.chmod(0o666)  # someone "fixes" the permissions afterwards
    if os.geteuid() == 0:
        os.chown(ml2, 0, 0)
    rollback(applied.backup)
    assert fingerprint(seed) == original


def test_a_rollback_works_from_another_directory(seed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--root`` given relative: the manifest must say where the files are, not where the shell was."""
    monkeypatch.chdir(seed.parent)
    original = fingerprint(seed)
    backups = tmp_path / "backups"
    with copy_source(Path(seed.name)) as source:
        from ostriage.remedy.run import fix

        result = fix(source, FixOptions(apply=True, root=Path(seed.name), backup_dir=backups))
    assert result.applied is not None
    monkeypatch.chdir(tmp_path / "backups")
    rollback(result.applied.backup)
    assert fingerprint(seed) == original
    assert not (tmp_path / "backups" / "seed").exists()


def test_a_symlinked_config_is_edited_through_its_link(tmp_path: Path, cli: Callable[..., CliRun]) -> None:
    """RDO: /etc/neutron/plugin.ini -> plugins/ml2/ml2_conf.ini. The link stays, its target is edited."""
    from .conftest import SCENARIOS, copy_tree

    root = copy_tree(SCENARIOS / "old-kernel-global-oom" / "sos", tmp_path / "sos")
    original = fingerprint(root)
    link = at(root, "/etc/neutron/plugin.ini")
    assert os.readlink(link) == "plugins/ml2/ml2_conf.ini"
    applied = cli("fix", "--root", str(root), "--apply")
    assert applied.code == 0, applied.err
    assert os.readlink(link) == "plugins/ml2/ml2_conf.ini"
    assert set(differences(original, fingerprint(root))) == {"etc/neutron/plugins/ml2/ml2_conf.ini"}
    assert "vni_ranges = 1:65535\n" in at(root, "/etc/neutron/plugins/ml2/ml2_conf.ini").read_text()
    assert cli("fix", "--root", str(root)).code == 0  # fixed: nothing more to plan
    assert cli("fix", "--root", str(root), "--rollback").code == 0
    assert fingerprint(root) == original


def test_an_absolute_link_is_followed_inside_the_root_not_on_this_machine(tmp_path: Path) -> None:
    """A copy of a host whose plugin.ini links to /etc/neutron/plugins/ml2/ml2_conf.ini (as RDO makes it):
    the copy's file is written, never this machine's /etc, and ``..`` cannot climb out of the root."""
    from ostriage.remedy.apply import apply_changes, real_path
    from ostriage.remedy.edit import set_option
    from ostriage.remedy.plan import FileChange, Plan

    from .conftest import SCENARIOS, copy_tree

    root = copy_tree(SCENARIOS / "old-kernel-global-oom" / "sos", tmp_path / "sos")
    link = at(root, "/etc/neutron/plugin.ini")
    link.unlink()
    link.symlink_to("/etc/neutron/plugins/ml2/ml2_conf.ini")
    target = at(root, "/etc/neutron/plugins/ml2/ml2_conf.ini")
    assert real_path(root, "/etc/neutron/plugin.ini") == target
    assert real_path(root, "/etc/../../../etc/neutron/plugin.ini") == target
    original = fingerprint(root)
    old = target.read_text()
    new = set_option(old, "ml2_type_vxlan", "vni_ranges", "1:65535")
    applied = apply_changes(Plan([FileChange("/etc/neutron/plugin.ini", old, new)]), root, tmp_path / "backups")
    assert target.read_text() == new and link.is_symlink()
    assert set(differences(original, fingerprint(root))) == {"etc/neutron/plugins/ml2/ml2_conf.ini"}
    rollback(applied.backup)
    assert fingerprint(root) == original


def test_the_seed_example_itself_is_never_written() -> None:
    """Guard for every test here: they work on copies."""
    assert not at(SEED, BACKUPS).exists()
    assert "vni_ranges = 1:16777215\n" in at(SEED, ML2).read_text()
