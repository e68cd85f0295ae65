"""Apply a plan so that it can never be half-applied, and roll it back byte for byte.

Order of work: every file is checked first (writable, unchanged since the plan was made) and nothing
is touched if one fails; then a timestamped backup set (the old files and a manifest with their
checksums, modes and owners) is written and synced; then each file is replaced atomically (temporary
file in the same directory, fsync, rename, fsync of the directory), so a crash at any moment leaves
every file either old or new. The manifest's ``status`` says how far it got, so ``rollback`` can
restore a crashed apply too (and removes the temporary file a killed write leaves behind).

Backups hold the files' old contents, secrets included (``neutron.conf`` has the database password):
the set is readable by its owner only. A path is followed through symbolic links as the host would
follow them, inside ``root`` (RDO's ``/etc/neutron/plugin.ini`` links to ``plugins/ml2/ml2_conf.ini``):
the link's target is what the service reads, so it is the file edited, and the link stays.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from ostriage.errors import OstriageError
from ostriage.remedy.plan import Plan

__all__ = ["Applied", "FixError", "apply_changes", "latest_backup", "real_path", "rollback"]

MANIFEST = "manifest.json"
#: symbolic links followed in one path before giving up (the kernel's own limit)
MAX_SYMLINKS = 40


class FixError(OstriageError):
    """A fix that cannot be applied or rolled back; nothing was changed when raised before writing."""


@dataclass(frozen=True, slots=True)
class Applied:
    backup: Path
    files: tuple[str, ...]


def real_path(root: Path, path: str) -> Path:
    """Where ``path`` of the host whose ``/`` is ``root`` really is, symbolic links followed as a process
    chrooted to ``root`` would follow them: an absolute target starts again at ``root``, ``..`` stops
    there. On a copy of a host's files a link to ``/etc/...`` must not lead to this machine's ``/etc``."""
    todo = list(PurePosixPath(path).parts)
    done: list[str] = []
    links = 0
    while todo:
        part = todo.pop(0)
        if part in ("/", ".", ""):
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        here = root.joinpath(*done, part)
        if here.is_symlink():
            links += 1
            if links > MAX_SYMLINKS:
                raise FixError(f"{root / path.lstrip('/')}: too many levels of symbolic links")
            target = os.readlink(here)
            if target.startswith("/"):
                done = []
            todo = list(PurePosixPath(target).parts) + todo
            continue
        done.append(part)
    return root.joinpath(*done)


def _temporaries(target: Path) -> list[Path]:
    """What a write of ``target`` killed between ``mkstemp`` and ``rename`` leaves behind."""
    return sorted(target.parent.glob(f".{target.name}.ostriage-*")) if target.parent.is_dir() else []


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(target: Path, data: bytes, *, mode: int, uid: int | None, gid: int | None) -> None:
    """Replace ``target`` with ``data``: readers see the old file or the new one, never a mix."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.ostriage-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            if uid is not None and gid is not None and os.geteuid() == 0:
                os.fchown(f.fileno(), uid, gid)
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def _writable_dir(directory: Path) -> Path | None:
    """The directory, or its nearest existing ancestor, if a file can be created there."""
    probe = directory
    while not probe.exists():
        probe = probe.parent
    return probe if probe.is_dir() and os.access(probe, os.W_OK | os.X_OK) else None


def _preflight(plan: Plan, root: Path) -> None:
    for change in plan.changes:
        real = real_path(root, change.path)
        if real.exists() or real.is_symlink():
            if real.is_symlink() or not real.is_file():
                raise FixError(f"{real}: not a regular file; refusing to replace it; nothing was changed")
            if not os.access(real, os.W_OK):
                raise FixError(f"{real}: not writable; nothing was changed")
            if real.read_bytes().decode("utf-8", "surrogateescape") != (change.old or ""):
                raise FixError(f"{real}: changed since the plan was made; nothing was changed (run fix again)")
        elif change.old is not None:
            raise FixError(f"{real}: disappeared since the plan was made; nothing was changed")
        if _writable_dir(real.parent) is None:
            raise FixError(f"{real.parent}: cannot write there; nothing was changed")


def apply_changes(plan: Plan, root: Path, backups: Path) -> Applied:
    """Write the plan's files under ``root`` (``/`` on a live host), keeping a backup set in ``backups``."""
    _preflight(plan, root)
    # absolute: a rollback may run from another directory (``--root copy`` then ``cd``; ``--backup-dir``)
    root = root.absolute()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    backup = backups / stamp
    try:
        backups.mkdir(parents=True, exist_ok=True, mode=0o700)
        backup.mkdir(exist_ok=False, mode=0o700)  # old contents include secrets: owner only
    except OSError as exc:
        raise FixError(f"{backup}: cannot create the backup set ({exc.strerror}); nothing was changed") from None
    entries = []
    for n, change in enumerate(plan.changes):
        real = real_path(root, change.path)
        entry: dict[str, object] = {"path": change.path, "target": "/" + str(real.relative_to(root)),
                                    "existed": real.exists(),
                                    "new_sha256": _sha(change.new.encode("utf-8", "surrogateescape"))}
        if real.exists():
            st = real.stat()
            data = real.read_bytes()
            saved = backup / f"{n:03d}-{real.name}"
            _write_new(saved, data)
            entry.update({"backup": saved.name, "old_sha256": _sha(data), "mode": st.st_mode & 0o7777,
                          "uid": st.st_uid, "gid": st.st_gid})
        else:
            entry["dir_existed"] = real.parent.is_dir()  # a drop-in directory the fix creates goes with it
        entries.append(entry)
    # the manifest (written and synced last) is what makes the set restorable: its copies must be on
    # disk before it says "applying", or a power cut could leave a manifest pointing at empty files
    _fsync_dir(backup)
    manifest: dict[str, object] = {"status": "applying", "root": str(root), "created": stamp, "files": entries,
                "commands": plan.commands, "restart_units": plan.restart_units}
    _write_manifest(backup, manifest)

    for change, entry in zip(plan.changes, entries, strict=True):
        real = real_path(root, str(entry["target"]))
        real.parent.mkdir(parents=True, exist_ok=True)
        mode = int(entry.get("mode", 0o644))  # type: ignore[call-overload]
        uid = entry.get("uid")
        gid = entry.get("gid")
        atomic_write(real, change.new.encode("utf-8", "surrogateescape"), mode=mode,
                     uid=uid if isinstance(uid, int) else None, gid=gid if isinstance(gid, int) else None)
    manifest["status"] = "applied"
    _write_manifest(backup, manifest)
    return Applied(backup, tuple(c.path for c in plan.changes))


def _write_new(path: Path, data: bytes) -> None:
    """A new file readable by its owner only, synced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _write_manifest(backup: Path, manifest: dict[str, object]) -> None:
    atomic_write(backup / MANIFEST, json.dumps(manifest, indent=2).encode(), mode=0o600, uid=None, gid=None)


def latest_backup(backups: Path) -> Path | None:
    """The newest backup set that is applied, or was being applied when the process died."""
    if not backups.is_dir():
        return None
    for candidate in sorted(backups.iterdir(), reverse=True):
        m = candidate / MANIFEST
        if m.is_file() and json.loads(m.read_text()).get("status") in ("applied", "applying"):
            return candidate
    return None


def rollback(backup: Path) -> tuple[str, ...]:
    """Restore every file of a backup set to its exact old bytes, mode and owner (remove created ones)."""
    manifest = json.loads((backup / MANIFEST).read_text())
    root = Path(manifest["root"])
    # every copy is checked before the first file is touched: a corrupted set must not half-restore
    saved: dict[str, bytes] = {}
    for entry in manifest["files"]:
        if entry["existed"]:
            data = saved[entry["backup"]] = (backup / entry["backup"]).read_bytes()
            if _sha(data) != entry["old_sha256"]:
                raise FixError(f"{backup / entry['backup']}: backup corrupted (checksum mismatch); nothing restored")
    restored = []
    for entry in manifest["files"]:
        real = real_path(root, entry.get("target", entry["path"]))
        for leftover in _temporaries(real):  # a write killed before its rename
            leftover.unlink()
        if entry["existed"]:
            real.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(real, saved[entry["backup"]], mode=entry["mode"], uid=entry["uid"], gid=entry["gid"])
        else:
            if real.exists():
                real.unlink()
                _fsync_dir(real.parent)
            made_dir = not entry.get("dir_existed", not real.parent.name.endswith(".d"))
            if made_dir and real.parent.is_dir() and not any(real.parent.iterdir()):
                real.parent.rmdir()
        restored.append(entry["path"])
    manifest["status"] = "rolled-back"
    _write_manifest(backup, manifest)
    return tuple(restored)
