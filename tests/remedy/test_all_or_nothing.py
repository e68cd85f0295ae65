"""``fix --apply`` is all or nothing: a disk that fills, an I/O error or an interruption after the first file
was replaced puts every file back at once (exit 74, the failing file named); what can be checked before
writing is checked first (free space, locks held by other processes, an unfinished earlier apply), and
then nothing is written at all.

The full disk is real: a tmpfs of 256 KiB mounted on the drop-in directory (``neutron-server.service.d``,
the plan's second file), so these tests need root (they skip without it). The free-space check sees the
room the fix needs, so the disk is filled the way it fills on a host: by someone else, after the check.
A wrapper of ``atomic_write`` plays that other writer just before the second file is written; the write
that then fails is the real one, and so is its ENOSPC.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ostriage.remedy import apply as apply_module
from ostriage.remedy.apply import FixError, apply_changes, latest_backup, unfinished_backup

from .conftest import BACKUPS, ML2, OVERRIDE, CliRun, Entry, at, chattr, differences, fingerprint, fix_copy

Cli = Callable[..., CliRun]
DROPINS = "etc/systemd/system/neutron-server.service.d"
FILLER = ".filler"


def _mount_tmpfs(directory: Path, size: str) -> bool:
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "ostriage-test", str(directory)],
                          capture_output=True, text=True, check=False)
    return done.returncode == 0


@pytest.fixture
def small_dropins(seed: Path) -> Iterator[Path]:
    """The seed copy, its drop-in directory on a 256 KiB tmpfs of its own (same files, modes and owners)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    directory = seed / DROPINS
    saved = {p.name: (p.read_bytes(), p.stat()) for p in directory.iterdir()}
    if not _mount_tmpfs(directory, "256k"):
        pytest.skip("cannot mount a tmpfs here")
    try:
        for name, (data, st) in saved.items():
            path = directory / name
            path.write_bytes(data)
            os.chmod(path, st.st_mode & 0o7777)
            os.chown(path, st.st_uid, st.st_gid)
        yield seed
    finally:
        subprocess.run(["umount", str(directory)], check=True)


def fill(directory: Path) -> None:
    """Fill the file system of ``directory`` to the last byte, as another writer would."""
    with open(directory / FILLER, "ab", buffering=0) as f:
        while True:
            try:
                f.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                return


def filled_before(target: str, root: Path, monkeypatch: pytest.MonkeyPatch,
                  also: Callable[[], None] = lambda: None) -> None:
    """Fill the drop-in tmpfs just before ``atomic_write`` writes ``target`` (once)."""
    real_write = apply_module.atomic_write
    done: list[bool] = []

    def write(path: Path, data: bytes, **kw: object) -> None:
        if path == at(root, target) and not done:
            done.append(True)
            fill(at(root, OVERRIDE).parent)
            also()
        real_write(path, data, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(apply_module, "atomic_write", write)


def unchanged_tree(root: Path) -> dict[str, Entry]:
    """The fingerprint of ``root`` without the filler of the full disk."""
    after = fingerprint(root)
    after.pop(f"{DROPINS}/{FILLER}", None)
    return after


def unchanged(before: dict[str, Entry], root: Path) -> dict[str, tuple[Entry | None, ...]]:
    return differences(before, unchanged_tree(root))


def test_enospc_on_the_second_file_rolls_back_automatically(small_dropins: Path, cli: Cli,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    seed = small_dropins
    original = {p: at(seed, p).read_bytes() for p in (ML2, OVERRIDE)}
    before = fingerprint(seed)
    filled_before(OVERRIDE, seed, monkeypatch)
    run = cli("fix", "--root", str(seed), "--apply")
    assert run.code == 74, run.err
    assert (f"{at(seed, OVERRIDE)}: cannot write (No space left on device); rolled back automatically: every file "
            "is as it was before") in run.err
    # both files byte for byte as before: the first had been replaced, the second never was
    assert {p: at(seed, p).read_bytes() for p in (ML2, OVERRIDE)} == original
    assert unchanged(before, seed) == {}
    assert not [p for p in at(seed, OVERRIDE).parent.iterdir() if ".ostriage-" in p.name]
    (backup,) = at(seed, BACKUPS).iterdir()
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["status"] == "rolled-back"
    assert manifest["error"] == f"{at(seed, OVERRIDE)}: cannot write (No space left on device)"
    # once there is room again, the same fix applies (a rolled-back set is finished business)
    (at(seed, OVERRIDE).parent / FILLER).unlink()
    monkeypatch.undo()
    assert cli("fix", "--root", str(seed), "--apply").code == 0
    assert at(seed, ML2).read_bytes() != original[ML2]


def test_no_room_at_all_is_refused_before_anything_is_written(small_dropins: Path, cli: Cli) -> None:
    seed = small_dropins
    fill(at(seed, OVERRIDE).parent)
    before = fingerprint(seed)
    run = cli("fix", "--root", str(seed), "--apply")
    assert run.code == 66, run.err
    assert f"{at(seed, OVERRIDE).parent}: not enough free space: the fix needs 8 KiB there and 0 KiB is free; " \
           "nothing was changed" in run.err
    assert fingerprint(seed) == before
    assert not at(seed, BACKUPS).exists()


def test_a_backup_set_that_cannot_be_written_whole_leaves_nothing(small_dropins: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The backup set goes to the small tmpfs too (``--backup-dir``), and it fills after the check."""
    seed = small_dropins
    backups = at(seed, OVERRIDE).parent / "backups"
    real_check = apply_module._check_space

    def check_then_fill(*args: object) -> None:
        real_check(*args)  # type: ignore[arg-type]
        fill(backups.parent)

    monkeypatch.setattr(apply_module, "_check_space", check_then_fill)
    plan = fix_copy(seed).plan
    before = fingerprint(seed)
    with pytest.raises(FixError, match=r"cannot write the backup set \(No space left on device\); nothing was changed"):
        apply_changes(plan, seed, backups)
    assert list(backups.iterdir()) == []  # the partial set is gone
    backups.rmdir()
    assert unchanged(before, seed) == {}


def test_an_interruption_midway_rolls_back_and_goes_on(seed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C between the two files: they are put back, then the interruption reaches the caller (exit 130)."""
    plan = fix_copy(seed).plan
    before = fingerprint(seed)
    real_write = apply_module.atomic_write

    def write(path: Path, data: bytes, **kw: object) -> None:
        if path == at(seed, OVERRIDE):
            raise KeyboardInterrupt
        real_write(path, data, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(apply_module, "atomic_write", write)
    with pytest.raises(KeyboardInterrupt):
        apply_changes(plan, seed, at(seed, BACKUPS))
    monkeypatch.undo()
    assert fingerprint(seed) == before
    backup = latest_backup(at(seed, BACKUPS))
    assert backup is None  # rolled back: nothing left to roll back
    (only,) = at(seed, BACKUPS).iterdir()
    assert json.loads((only / "manifest.json").read_text())["error"].endswith("interrupted (KeyboardInterrupt)")


def test_when_the_rollback_fails_too_it_says_so(small_dropins: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first file's directory turns immutable while the second write fails: the files cannot be put back
    (exit 71); once the cause is gone, ``--rollback`` restores them."""
    seed = small_dropins
    ml2_dir = at(seed, ML2).parent
    before = fingerprint(seed)
    filled_before(OVERRIDE, seed, monkeypatch, also=lambda: None if chattr(ml2_dir, "+i") else pytest.skip(
        "chattr +i is not supported here"))
    try:
        run = cli("fix", "--root", str(seed), "--apply")
    finally:
        chattr(ml2_dir, "-i")
    assert run.code == 71, run.err
    assert "No space left on device); putting the files back failed too" in run.err
    assert "run `ostriage fix --rollback`" in run.err
    assert set(differences(before, unchanged_tree(seed))) == {ML2.lstrip("/")}  # half applied, as said
    (at(seed, OVERRIDE).parent / FILLER).unlink()
    monkeypatch.undo()
    assert cli("fix", "--root", str(seed), "--apply").code == 66  # unfinished: refused
    undo = cli("fix", "--root", str(seed), "--rollback")
    assert undo.code == 0, undo.err
    assert fingerprint(seed) == before


# -- locks held by other processes -------------------------------------------------------------------

HOLDER = """
import fcntl, sys
f = open(sys.argv[1], "r+" if sys.argv[2] != "shared" else "r")
if sys.argv[2] == "flock":
    fcntl.flock(f, fcntl.LOCK_EX)
elif sys.argv[2] == "shared":
    fcntl.flock(f, fcntl.LOCK_SH)
else:
    fcntl.lockf(f, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def hold() -> Iterator[Callable[[Path, str], subprocess.Popen[str]]]:
    """``hold(path, kind)``: another process holding a lock on ``path`` until the test ends."""
    children: list[subprocess.Popen[str]] = []

    def start(path: Path, kind: str) -> subprocess.Popen[str]:
        child = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), kind], text=True,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        children.append(child)
        assert child.stdout is not None and child.stdout.readline() == "locked\n"
        return child

    yield start
    for child in children:
        if child.poll() is None:
            release(child)


def release(child: subprocess.Popen[str]) -> None:
    """Tell a holder this test started to let go, and reap it."""
    child.communicate(input="\n")


@pytest.mark.parametrize("kind", ["flock", "lockf", "shared"])
def test_a_lock_held_by_another_process_is_respected(kind: str, seed: Path, cli: Cli,
                                                     hold: Callable[[Path, str], subprocess.Popen[str]]) -> None:
    """The lock is on the plan's second file: a fix that wrote as it went would have changed the first."""
    holder = hold(at(seed, OVERRIDE), kind)
    before = fingerprint(seed)
    run = cli("fix", "--root", str(seed), "--apply")
    assert run.code == 75, run.err
    assert (f"{at(seed, OVERRIDE)}: locked by another process (pid {holder.pid}, python") in run.err
    assert "nothing was changed: try again when it has finished" in run.err
    assert fingerprint(seed) == before
    assert not at(seed, BACKUPS).exists()
    release(holder)
    assert cli("fix", "--root", str(seed), "--apply").code == 0


def test_a_rollback_respects_a_lock_too(seed: Path, cli: Cli,
                                        hold: Callable[[Path, str], subprocess.Popen[str]]) -> None:
    assert cli("fix", "--root", str(seed), "--apply").code == 0
    applied = fingerprint(seed)
    holder = hold(at(seed, ML2), "flock")
    run = cli("fix", "--root", str(seed), "--rollback")
    assert run.code == 75 and "locked by another process" in run.err
    assert fingerprint(seed) == applied
    release(holder)
    assert cli("fix", "--root", str(seed), "--rollback").code == 0


# -- an apply that was killed: roll it back before anything else -----------------------------------

KILLED = """
import os, signal, sys
from pathlib import Path
from ostriage.remedy import apply
from ostriage.remedy.run import FixOptions, fix
from ostriage.sources import SosReport
root, second = Path(sys.argv[1]), Path(sys.argv[2])
real_write = apply.atomic_write
def write(path, data, **kw):
    if path == second:
        os.kill(os.getpid(), signal.SIGKILL)  # the power goes out between the two files
    real_write(path, data, **kw)
apply.atomic_write = write
with SosReport(root) as source:
    fix(source, FixOptions(apply=True, root=root))
"""


def test_an_unfinished_apply_must_be_rolled_back_first(seed: Path, cli: Cli) -> None:
    before = fingerprint(seed)
    child = subprocess.run([sys.executable, "-c", KILLED, str(seed), str(at(seed, OVERRIDE))],
                           capture_output=True, text=True, timeout=300, check=False)
    assert child.returncode == -signal.SIGKILL, child.stderr
    half = fingerprint(seed)
    assert set(differences(before, half)) == {ML2.lstrip("/")}  # the first file new, the second old
    interrupted = unfinished_backup(at(seed, BACKUPS))
    assert interrupted is not None

    run = cli("fix", "--root", str(seed), "--apply")
    assert run.code == 66
    assert (f"{interrupted}: an earlier fix was interrupted while applying (its files may be half old, half new); "
            "run `ostriage fix --rollback` to restore them first; nothing was changed") in run.err
    assert fingerprint(seed) == half
    assert len(list(at(seed, BACKUPS).iterdir())) == 1  # no second set stacked on the first
    plan = cli("fix", "--root", str(seed))
    assert f"an earlier fix was interrupted while applying ({interrupted})" in plan.out

    assert cli("fix", "--root", str(seed), "--rollback").code == 0
    assert fingerprint(seed) == before
    assert cli("fix", "--root", str(seed), "--apply").code == 0



def test_the_manifest_says_why_without_the_secrets(tmp_path: Path) -> None:
    """The manifest keeps the plan's reasons (what the set is for), redacted like every output; the paths
    and checksums a rollback needs stay exact."""
    from ostriage.remedy.plan import FileChange, Plan

    root = tmp_path / "host"
    (root / "etc/keystone").mkdir(parents=True)
    (root / "etc/keystone/keystone.conf").write_text("[DEFAULT]\nadmin_token = Adm1nT0kenValue\n")
    change = FileChange("/etc/keystone/keystone.conf", "[DEFAULT]\nadmin_token = Adm1nT0kenValue\n",
                        "[DEFAULT]\n", reasons=["[DEFAULT] admin_token = Adm1nT0kenValue (removed): a standing secret"])
    applied = apply_changes(Plan([change]), root, root / BACKUPS)
    manifest = (applied.backup / "manifest.json").read_text()
    assert "Adm1nT0kenValue" not in manifest
    assert json.loads(manifest)["files"][0]["reasons"] == ["[DEFAULT] admin_token = *** (removed): a standing secret"]
    assert json.loads(manifest)["files"][0]["target"] == "/etc/keystone/keystone.conf"
