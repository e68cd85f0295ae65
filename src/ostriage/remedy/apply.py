"""Apply a plan so that it can never be half-applied, and roll it back byte for byte.

Order of work: every file is checked first (writable, unchanged since the plan was made) and nothing
is touched if one fails; then a timestamped backup set (the old files and a manifest with their
checksums, modes and owners) is written and synced; then each file is replaced atomically (temporary
file in the same directory, fsync, rename, fsync of the directory), so a crash at any moment leaves
every file either old or new. The manifest's ``status`` says how far it got, so ``rollback`` can
restore a crashed apply too.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ostriage.errors import OstriageError
from ostriage.remedy.plan import Plan

__all__ = ["Applied", "FixError", "apply_changes", "latest_backup", "rollback"]

MANIFEST = "manifest.json"


class FixError(OstriageError):
    """A fix that cannot be applied or rolled back; nothing was changed when raised before writing."""


@dataclass(frozen=True, slots=True)
class Applied:
    backup: Path
    files: tuple[str, ...]


def _real(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


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
        real = _real(root, change.path)
        if real.exists() or real.is_symlink():
            if real.is_symlink() or not real.is_file():
                raise FixError(f"{real}: not a regular file; refusing to replace it")
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
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    backup = backups / stamp
    try:
        backup.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        raise FixError(f"{backup}: cannot create the backup set ({exc.strerror}); nothing was changed") from None
    entries = []
    for n, change in enumerate(plan.changes):
        real = _real(root, change.path)
        entry: dict[str, object] = {"path": change.path, "existed": real.exists(),
                                    "new_sha256": _sha(change.new.encode("utf-8", "surrogateescape"))}
        if real.exists():
            st = real.stat()
            data = real.read_bytes()
            saved = backup / f"{n:03d}-{real.name}"
            saved.write_bytes(data)
            entry.update({"backup": saved.name, "old_sha256": _sha(data), "mode": st.st_mode & 0o7777,
                          "uid": st.st_uid, "gid": st.st_gid})
        entries.append(entry)
    manifest: dict[str, object] = {"status": "applying", "root": str(root), "created": stamp, "files": entries,
                "commands": plan.commands, "restart_units": plan.restart_units}
    _write_manifest(backup, manifest)

    for change, entry in zip(plan.changes, entries, strict=True):
        real = _real(root, change.path)
        real.parent.mkdir(parents=True, exist_ok=True)
        mode = int(entry.get("mode", 0o644))  # type: ignore[call-overload]
        uid = entry.get("uid")
        gid = entry.get("gid")
        atomic_write(real, change.new.encode("utf-8", "surrogateescape"), mode=mode,
                     uid=uid if isinstance(uid, int) else None, gid=gid if isinstance(gid, int) else None)
    manifest["status"] = "applied"
    _write_manifest(backup, manifest)
    return Applied(backup, tuple(c.path for c in plan.changes))


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
    restored = []
    for entry in manifest["files"]:
        real = _real(root, entry["path"])
        if entry["existed"]:
            data = (backup / entry["backup"]).read_bytes()
            if _sha(data) != entry["old_sha256"]:
                raise FixError(f"{backup / entry['backup']}: backup corrupted (checksum mismatch); not restored")
            real.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(real, data, mode=entry["mode"], uid=entry["uid"], gid=entry["gid"])
        elif real.exists():
            real.unlink()
            _fsync_dir(real.parent)
            if real.parent.name.endswith(".d") and not any(real.parent.iterdir()):
                real.parent.rmdir()
        restored.append(entry["path"])
    manifest["status"] = "rolled-back"
    _write_manifest(backup, manifest)
    return tuple(restored)
