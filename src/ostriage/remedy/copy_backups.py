"""Backup sets kept inside a copy of a host's files (``fix --root COPY``), and taking them away again.

A fix applied to a copy keeps its backup set in the copy (``COPY/var/backups/ostriage/<stamp>``), so the
copy can be moved with its history. A rollback that restored every file exactly leaves nothing of the fix
behind: the set is removed, and so are the directories the fix created to hold it (recorded at apply time
in the set, ``made-dirs.json``). On a live host the set stays, marked rolled-back, as the record of what was
done there.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from ostriage.remedy.apply import real_path

__all__ = ["MADE_DIRS", "dirs_to_make", "forget_after_rollback", "remember_made_dirs"]

MADE_DIRS = "made-dirs.json"


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def dirs_to_make(backups: Path, root: Path) -> list[Path]:
    """The directories below ``root`` that holding ``backups`` will create (call it before the apply)."""
    missing = [d for d in (backups, *backups.parents) if not d.exists()]
    return [d for d in missing if _inside(d, root) and d.resolve() != root.resolve()]


def remember_made_dirs(backup: Path, made: list[Path]) -> None:
    """Record, in the new backup set, which directories its apply created."""
    (backup / MADE_DIRS).write_text(json.dumps([str(d.absolute()) for d in made]))


def _restored_exactly(manifest: dict[str, object], root: Path) -> bool:
    files = manifest.get("files")
    if not isinstance(files, list):
        return False
    for entry in files:
        real = real_path(root, str(entry.get("target", entry["path"])))
        if not entry["existed"]:
            if real.exists() or real.is_symlink():
                return False
            continue
        if not real.is_file() or hashlib.sha256(real.read_bytes()).hexdigest() != entry["old_sha256"]:
            return False
        st = real.stat()
        if (st.st_mode & 0o7777, st.st_uid, st.st_gid) != (entry["mode"], entry["uid"], entry["gid"]):
            return False
    return True


def forget_after_rollback(backup: Path, root: Path) -> bool:
    """Remove a rolled-back set kept in the copy ``root`` when every file is back exactly (checksum, mode,
    owner), and the directories its apply made there when they are empty now; ``False`` (the set is kept)
    when anything differs or the set is not inside ``root``."""
    if not _inside(backup, root) or root.resolve() == Path("/"):
        return False
    try:
        manifest = json.loads((backup / "manifest.json").read_text())
        made = [Path(d) for d in json.loads((backup / MADE_DIRS).read_text())] \
            if (backup / MADE_DIRS).is_file() else []
    except (OSError, ValueError):
        return False
    if manifest.get("status") != "rolled-back" or not _restored_exactly(manifest, root):
        return False
    shutil.rmtree(backup)
    for directory in sorted(made, key=lambda d: len(d.parts), reverse=True):
        if directory.is_dir() and not directory.is_symlink() and not any(directory.iterdir()):
            os.rmdir(directory)
    return True
