"""A fix can never be half-applied: refusals happen before the first byte changes, a SIGKILL at any moment
leaves every file old or new (and the crashed set rolls back), and a rollback is exact."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ostriage.remedy.apply import FixError, apply_changes, latest_backup, rollback

if TYPE_CHECKING:
    from conftest import OtherUser

from .conftest import BACKUPS, ML2, OVERRIDE, SEED, at, chattr, copy_tree, differences, fingerprint, fix_copy, sha256

# -- (a) refused before anything changes ---------------------------------------------------------------


def test_an_immutable_file_aborts_before_anything_changes(seed: Path) -> None:
    """As root, a mode does not stop a write; an immutable file does (``chattr +i``). It is the second file
    of the plan, so a fix that wrote as it went would already have changed the first."""
    target = at(seed, OVERRIDE)
    if not chattr(target, "+i"):
        pytest.skip("chattr +i is not supported here (tool missing, not root, or file system without it)")
    try:
        original = fingerprint(seed)
        with pytest.raises(FixError, match=r"override\.conf: not writable; nothing was changed"):
            fix_copy(seed, apply=True)
        assert fingerprint(seed) == original
        assert not at(seed, BACKUPS).exists()  # not even a backup set was started
    finally:
        chattr(target, "-i")


def test_the_command_line_says_so_and_exits_66(seed: Path, cli) -> None:  # type: ignore[no-untyped-def]
    target = at(seed, OVERRIDE)
    if not chattr(target, "+i"):
        pytest.skip("chattr +i is not supported here")
    try:
        original = fingerprint(seed)
        run = cli("fix", "--root", str(seed), "--apply")
        assert run.code == 66
        assert "not writable; nothing was changed" in run.err
        assert fingerprint(seed) == original
    finally:
        chattr(target, "-i")


@pytest.fixture
def nobody_seed(other_user: OtherUser) -> Iterator[Path]:
    """A copy of the seed owned by ``nobody``, where nobody can reach it (not pytest's root-only tmp_path)."""
    base = other_user.mkdtemp("seed-")
    root = copy_tree(SEED, base / "seed")
    for path in [root, *root.rglob("*")]:
        os.lchown(path, other_user.uid, other_user.uid)
    yield root
    for path in base.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(base)


def test_unprivileged_apply_into_a_read_only_directory_is_refused(nobody_seed: Path, other_user: OtherUser) -> None:
    dropins = at(nobody_seed, OVERRIDE).parent
    dropins.chmod(0o555)  # the file is writable, but it is replaced by a rename in its directory
    original = fingerprint(nobody_seed)
    run = other_user.ostriage("fix", "--root", str(nobody_seed), "--apply")
    assert run.returncode == 66, run.stderr
    assert f"{dropins}: cannot write there; nothing was changed" in run.stderr
    assert fingerprint(nobody_seed) == original
    assert not at(nobody_seed, BACKUPS).exists()


def test_unprivileged_apply_of_a_read_only_file_is_refused(nobody_seed: Path, other_user: OtherUser) -> None:
    at(nobody_seed, OVERRIDE).chmod(0o444)
    original = fingerprint(nobody_seed)
    run = other_user.ostriage("fix", "--root", str(nobody_seed), "--apply")
    assert run.returncode == 66, run.stderr
    assert "override.conf: not writable; nothing was changed" in run.stderr
    assert fingerprint(nobody_seed) == original


def test_unprivileged_apply_and_rollback_work_where_allowed(nobody_seed: Path, other_user: OtherUser) -> None:
    """The control for the two refusals above: the same user, the same copy, nothing read-only."""
    original = fingerprint(nobody_seed)
    fingerprint_of_the_original = fingerprint(nobody_seed, skip=())
    run = other_user.ostriage("fix", "--root", str(nobody_seed), "--apply")
    assert run.returncode == 0, run.stderr
    changed = differences(original, fingerprint(nobody_seed))
    assert set(changed) == {ML2.lstrip("/"), OVERRIDE.lstrip("/")}
    assert all(after is not None and (after.uid, after.gid) == (other_user.uid,) * 2 for _, after in changed.values())
    undo = other_user.ostriage("fix", "--root", str(nobody_seed), "--rollback")
    assert undo.returncode == 0, undo.stderr
    assert fingerprint(nobody_seed, skip=()) == fingerprint_of_the_original


def test_a_file_changed_between_plan_and_apply_is_refused(seed: Path) -> None:
    plan = fix_copy(seed).plan
    assert [c.path for c in plan.changes] == [ML2, OVERRIDE]
    override = at(seed, OVERRIDE)
    override.write_text(override.read_text() + "MemoryHigh=1G\n")  # someone edits it meanwhile
    original = fingerprint(seed)
    with pytest.raises(FixError, match="changed since the plan was made; nothing was changed"):
        apply_changes(plan, seed, at(seed, BACKUPS))
    assert fingerprint(seed) == original
    assert not at(seed, BACKUPS).exists()


def test_a_file_removed_between_plan_and_apply_is_refused(seed: Path) -> None:
    plan = fix_copy(seed).plan
    at(seed, OVERRIDE).unlink()
    original = fingerprint(seed)
    with pytest.raises(FixError, match="disappeared since the plan was made"):
        apply_changes(plan, seed, at(seed, BACKUPS))
    assert fingerprint(seed) == original


@pytest.mark.parametrize("kind", ["directory", "link-to-directory", "link-loop", "fifo"])
def test_a_target_that_is_not_a_regular_file_is_refused(seed: Path, kind: str) -> None:
    plan = fix_copy(seed).plan
    target = at(seed, OVERRIDE)
    target.unlink()
    if kind == "directory":
        target.mkdir()
    elif kind == "link-to-directory":
        target.symlink_to("/etc")  # inside the root: the copy's etc/, a directory
    elif kind == "link-loop":
        target.symlink_to(target.name)
    else:
        os.mkfifo(target)
    original = fingerprint(seed)
    with pytest.raises(FixError, match=r"not a regular file|too many levels of symbolic links"):
        apply_changes(plan, seed, at(seed, BACKUPS))
    assert fingerprint(seed) == original
    assert not at(seed, BACKUPS).exists()


def test_a_corrupted_backup_restores_nothing(seed: Path) -> None:
    applied = fix_copy(seed, apply=True).applied
    assert applied is not None
    after_apply = fingerprint(seed)
    manifest = json.loads((applied.backup / "manifest.json").read_text())
    second = applied.backup / manifest["files"][1]["backup"]
    second.write_bytes(second.read_bytes() + b"# bit rot\n")
    with pytest.raises(FixError, match="backup corrupted"):
        rollback(applied.backup)
    # checked before the first file is touched: not half rolled back
    assert fingerprint(seed) == after_apply
    assert json.loads((applied.backup / "manifest.json").read_text())["status"] == "applied"


# -- (b) SIGKILL in the middle of an apply ------------------------------------------------------------------

FILES = 30
SIZE = 1 << 20  # 1 MiB each: an apply takes long enough to be caught at every stage
TRIALS = 25
BIG = "etc/big"

# The child imports first and says "ready", then waits for "go": the next trial's child starts (and pays
# for its imports) while this trial's files are checked, and the kill window is the apply alone.
CHILD = """
import sys
from pathlib import Path
from ostriage.remedy.apply import apply_changes
from ostriage.remedy.plan import FileChange, Plan
print("ready", flush=True)
if sys.stdin.readline() != "go\\n":
    sys.exit(0)
root, new, files = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
changes = [FileChange(f"/etc/big/f{i:02d}.conf", (root / f"etc/big/f{i:02d}.conf").read_text(),
                      (new / f"f{i:02d}.conf").read_text()) for i in range(files)]
apply_changes(Plan(changes), root, root / "var/backups/ostriage")
"""


def content(i: int, generation: str, size: int) -> str:
    line = f"{generation} value of option {i:02d} ".ljust(79, ".") + "\n"
    return f"[DEFAULT]\n# file {i} ({generation})\n" + line * (size // len(line))


class Progress:
    """How far the apply got: backup copies made plus files replaced (0 .. 2 x FILES). Both happen in
    plan order, so each look costs one or two ``stat`` calls and leaves the CPU to the child."""

    def __init__(self, backups: Path, paths: list[Path]) -> None:
        self.backups, self.paths = backups, paths
        self.inodes = [os.stat(p).st_ino for p in paths]
        self.set: Path | None = None
        self.copied = self.replaced = 0

    def __call__(self) -> int:
        if self.set is None and self.backups.is_dir():
            self.set = next((Path(d.path) for d in os.scandir(self.backups)), None)
        while self.set is not None and self.copied < FILES and (
                self.set / f"{self.copied:03d}-{self.paths[self.copied].name}").exists():
            self.copied += 1
        while self.replaced < FILES and os.stat(self.paths[self.replaced]).st_ino != self.inodes[self.replaced]:
            self.replaced += 1
        return self.copied + self.replaced


def test_sigkill_at_any_moment_leaves_every_file_old_or_new(tmp_path: Path) -> None:
    root = tmp_path / "host"
    big = root / BIG
    big.mkdir(parents=True)
    new_dir = tmp_path / "new"
    new_dir.mkdir()
    names = [f"f{i:02d}.conf" for i in range(FILES)]
    paths = [big / n for n in names]
    old_sha, new_sha = [], []
    for i, (name, path) in enumerate(zip(names, paths, strict=True)):
        old, new = content(i, "old", SIZE), content(i, "new", SIZE + 4096)
        path.write_text(old)
        (new_dir / name).write_text(new)
        old_sha.append(sha256(old.encode()))
        new_sha.append(sha256(new.encode()))
    paths[0].chmod(0o640)
    if os.geteuid() == 0:
        os.chown(paths[1], 1234, 2345)
    backups = root / BACKUPS
    (root / "var").mkdir()  # as on a host; the backup sets below it are not part of the comparison
    original = fingerprint(root)
    seen: dict[str, int] = {"before the manifest": 0, "some new, some old": 0, "all new": 0, "temporary left": 0}

    def spawn() -> subprocess.Popen[str]:
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(root), str(new_dir), str(FILES)], text=True,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return child

    upcoming = spawn()
    try:
        for trial in range(TRIALS):
            child, upcoming = upcoming, spawn()
            assert child.stdout is not None and child.stdin is not None
            assert child.stdout.readline() == "ready\n", child.communicate()[1]
            threshold = round(trial * (2 * FILES + 1) / (TRIALS - 1))  # the last one lets the apply finish
            progress = Progress(backups, paths)
            child.stdin.write("go\n")
            child.stdin.flush()
            while child.poll() is None and progress() < threshold:
                os.sched_yield()
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)  # the child this test started, by its pid
            _, err = child.communicate()
            assert child.returncode in (0, -signal.SIGKILL), err

            # every file is exactly old or exactly new; nothing else but a killed write's temporary file
            is_new = []
            for i, p in enumerate(paths):
                digest = sha256(p.read_bytes())
                assert digest in (old_sha[i], new_sha[i]), f"trial {trial}: {p.name} is neither old nor new"
                is_new.append(digest == new_sha[i])
            extras = sorted(set(os.listdir(big)) - set(names))
            assert all(re.fullmatch(r"\.f\d\d\.conf\.ostriage-\w+", e) for e in extras), extras
            seen["temporary left"] += bool(extras)

            backup = latest_backup(backups)
            if backup is None:  # killed while copying the backups: nothing may have been written yet
                assert not any(is_new) and not extras, f"trial {trial}: files written before the manifest"
                seen["before the manifest"] += 1
            else:
                status = json.loads((backup / "manifest.json").read_text())["status"]
                assert status in ("applying", "applied")
                if status == "applied":
                    assert all(is_new)
                seen["all new" if all(is_new) else "some new, some old" if any(is_new) else
                     "before the manifest"] += 1
                rollback(backup)  # a crashed set ("applying") rolls back like an applied one
            assert differences(original, fingerprint(root)) == {}, f"trial {trial}: rollback is not exact"
            shutil.rmtree(backups, ignore_errors=True)
    finally:
        upcoming.communicate(input="")  # no "go": it exits

    # the kills did land in the middle: otherwise this test would have proved nothing
    assert seen["before the manifest"] and seen["some new, some old"] and seen["all new"], seen
    shutil.rmtree(root)  # 60 MB of test files
    shutil.rmtree(new_dir)
