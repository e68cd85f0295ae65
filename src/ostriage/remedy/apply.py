"""Apply a plan all or nothing, and roll it back byte for byte.

Order of work. Nothing is written until every check has passed: no backup set was left unfinished by an
earlier apply (that one must be rolled back first), every file is a regular file that can be written, in
a directory that can be written, on a file system with room for the new files and the backup copies; each
existing file is opened, locked (``flock`` and ``lockf``: a lock held by another process, an editor or a
configuration-management run, makes the fix refuse) and read under the lock, and must still be what the
plan was made from. Then a timestamped backup set (the old files and a manifest with their checksums,
modes and owners) is written and synced; then each file is replaced atomically (temporary file in the
same directory, fsync, rename, fsync of the directory), so a crash at any moment leaves every file either
old or new. When a write fails after the first file was replaced (a disk that fills meanwhile, an I/O
error), every file is put back at once and the error names the file that failed. The manifest's
``status`` says how far it got (``applying``, ``applied``, ``rolled-back``), so ``rollback`` can restore a
crashed apply too (and removes the temporary file a killed write leaves behind).

Backups hold the files' old contents, secrets included (``neutron.conf`` has the database password):
the set is readable by its owner only. The manifest holds no secret: paths, checksums, modes, commands, and
the plan's reasons and any error, redacted. A path is followed through symbolic links as the host would follow them,
inside ``root`` (RDO's ``/etc/neutron/plugin.ini`` links to ``plugins/ml2/ml2_conf.ini``): the link's
target is what the service reads, so it is the file edited, and the link stays.

Locks are advisory and taken on the files being replaced: a process that honours them is never
overwritten while it holds one; the new file is a new inode (that is what makes the write atomic).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from ostriage.errors import OstriageError
from ostriage.redaction import redact, redact_tree
from ostriage.remedy.plan import FileChange, Plan

__all__ = ["Applied", "FixError", "FixFailed", "FixLocked", "FixRollbackFailed", "apply_changes", "latest_backup",
           "real_path", "rollback", "unfinished_backup"]

MANIFEST = "manifest.json"
#: symbolic links followed in one path before giving up (the kernel's own limit)
MAX_SYMLINKS = 40
#: what a manifest may take on disk, counted in the free-space check
MANIFEST_ROOM = 64 * 1024
#: statuses of a backup set whose apply did not finish: its files may be half old, half new
UNFINISHED = ("applying",)


class FixError(OstriageError):
    """A fix that cannot be applied or rolled back; nothing was changed when raised before writing."""


class FixLocked(FixError):
    """A file of the plan is locked by another process: nothing was changed, try again later."""


class FixFailed(FixError):
    """A write failed after the apply had begun; every file was put back as it was."""


class FixRollbackFailed(FixError):
    """A write failed after the apply had begun, and putting the files back failed too."""


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


def _existing_ancestor(directory: Path) -> Path:
    """The directory, or its nearest ancestor that exists (where a missing drop-in directory would go)."""
    probe = directory
    while not probe.exists():
        probe = probe.parent
    return probe


def _writable_dir(directory: Path) -> Path | None:
    """The directory, or its nearest existing ancestor, if a file can be created there."""
    probe = _existing_ancestor(directory)
    return probe if probe.is_dir() and os.access(probe, os.W_OK | os.X_OK) else None


@dataclass
class _Target:
    """One file of the plan: where it really is and, when it exists, its locked descriptor and bytes."""

    change: FileChange
    real: Path
    fd: int | None = None
    old: bytes | None = None
    stat: os.stat_result | None = None


def _preflight(plan: Plan, root: Path) -> list[_Target]:
    """Every target is a regular file (or absent) that can be written, in a directory that can be written."""
    targets = []
    for change in plan.changes:
        real = real_path(root, change.path)
        if real.exists() or real.is_symlink():
            if real.is_symlink() or not real.is_file():
                raise FixError(f"{real}: not a regular file; refusing to replace it; nothing was changed")
            if not os.access(real, os.W_OK):
                raise FixError(f"{real}: not writable; nothing was changed")
        elif change.old is not None:
            raise FixError(f"{real}: disappeared since the plan was made; nothing was changed")
        if _writable_dir(real.parent) is None:
            raise FixError(f"{real.parent}: cannot write there; nothing was changed")
        targets.append(_Target(change, real))
    return targets


def _holder(fd: int) -> str:
    """Who holds a lock on the file open as ``fd``, from /proc/locks (Linux): `` (pid 123, vim)``."""
    st = os.fstat(fd)
    inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    with contextlib.suppress(OSError), open("/proc/locks") as locks:
        for line in locks:
            fields = line.split()
            # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" ("->" marks a waiter, not a holder)
            if len(fields) >= 6 and fields[1] != "->" and fields[5] == inode and fields[4] != str(os.getpid()):
                pid = fields[4]
                comm = Path(f"/proc/{pid}/comm")
                name = comm.read_text().strip() if comm.exists() else "?"
                return f" (pid {pid}, {name}, {fields[1].lower()})"
    return ""


@contextlib.contextmanager
def _locked(paths: list[Path], *, take: bool = True) -> Iterator[dict[Path, int]]:
    """Open every existing file of ``paths`` and take ``flock`` and ``lockf`` on it without waiting; yield the
    descriptors and release the locks at the end. Read the files through these descriptors: closing any
    other descriptor of a file drops this process's ``lockf`` lock on it. ``take=False``: the caller holds
    the locks already (a second ``flock`` of this process on the same file would fail)."""
    fds: dict[Path, int] = {}
    seen: set[tuple[int, int]] = set()
    try:
        for path in paths:
            if path in fds or not path.is_file():
                continue
            fd = fds[path] = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
            st = os.fstat(fd)
            if not take or (st.st_dev, st.st_ino) in seen:  # the same file under two paths: locked once
                continue
            seen.add((st.st_dev, st.st_ino))
            for lock in (fcntl.flock, fcntl.lockf):
                try:
                    lock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                    kind = "flock" if lock is fcntl.flock else "lockf"
                    raise FixLocked(f"{path}: locked by another process{_holder(fd)} ({kind}); nothing was "
                                    "changed: try again when it has finished") from None
        yield fds
    finally:
        for fd in fds.values():
            os.close(fd)  # closing drops both locks


def _read_all(fd: int) -> bytes:
    chunks = []
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _check_space(targets: list[_Target], backups: Path) -> None:
    """Room on every file system the apply writes to: each new file beside the old one until the rename,
    the backup copies and the manifest, in whole blocks, plus an inode for each new file."""
    need: dict[int, list[int]] = {}  # device -> [bytes, files, ...]
    where: dict[int, Path] = {}

    def add(directory: Path, size: int) -> None:
        probe = _existing_ancestor(directory)
        dev = probe.stat().st_dev
        where.setdefault(dev, probe)
        need.setdefault(dev, []).append(size)

    for t in targets:
        add(t.real.parent, len(t.change.new.encode("utf-8", "surrogateescape")))
        if t.old is not None:
            add(backups, len(t.old))
    add(backups, MANIFEST_ROOM)
    for dev, sizes in need.items():
        st = os.statvfs(where[dev])
        block = st.f_frsize or st.f_bsize or 4096
        # a block for each file's data rounded up, and one for its metadata
        needed = sum((size + block - 1) // block + 1 for size in sizes) * block
        # root may use the blocks a file system reserves for it (ext4's 5 %)
        free = (st.f_bfree if os.geteuid() == 0 else st.f_bavail) * block
        if needed > free:
            raise FixError(f"{where[dev]}: not enough free space: the fix needs {_size(needed)} there and "
                           f"{_size(free)} is free; nothing was changed")
        if st.f_files and len(sizes) > st.f_favail:  # f_files 0: no inode limit (btrfs, some FUSE)
            raise FixError(f"{where[dev]}: no free inodes for {len(sizes)} new file(s) ({st.f_favail} free); "
                           "nothing was changed")


def _size(n: int) -> str:
    return f"{n / 1024:,.0f} KiB" if n < 1 << 20 else f"{n / (1 << 20):,.1f} MiB"


def unfinished_backup(backups: Path) -> Path | None:
    """The newest backup set of an apply that never finished (interrupted, or rolled back by nobody)."""
    return next((b for b, status in _sets(backups) if status in UNFINISHED), None)


def _sets(backups: Path) -> Iterator[tuple[Path, str | None]]:
    """Every backup set with its status, newest first (a set without a readable manifest has none)."""
    if not backups.is_dir():
        return
    for candidate in sorted(backups.iterdir(), reverse=True):
        m = candidate / MANIFEST
        status = None
        if m.is_file():
            with contextlib.suppress(OSError, ValueError, AttributeError):
                status = json.loads(m.read_text()).get("status")
        yield candidate, status


def apply_changes(plan: Plan, root: Path, backups: Path) -> Applied:
    """Write the plan's files under ``root`` (``/`` on a live host), keeping a backup set in ``backups``."""
    interrupted = unfinished_backup(backups)
    if interrupted is not None:
        raise FixError(f"{interrupted}: an earlier fix was interrupted while applying (its files may be half "
                       "old, half new); run `ostriage fix --rollback` to restore them first; nothing was changed")
    # absolute: a rollback may run from another directory (``--root copy`` then ``cd``; ``--backup-dir``)
    root = root.absolute()
    targets = _preflight(plan, root)
    with _locked([t.real for t in targets]) as fds:
        for t in targets:
            t.fd = fds.get(t.real)
            if t.fd is None:
                continue
            t.old, t.stat = _read_all(t.fd), os.fstat(t.fd)
            if t.old.decode("utf-8", "surrogateescape") != (t.change.old or ""):
                raise FixError(f"{t.real}: changed since the plan was made; nothing was changed (run fix again)")
        _check_space(targets, backups)
        backup, manifest = _backup(plan, root, backups, targets)
        failed = None
        try:
            for t in targets:
                failed = t.real
                t.real.parent.mkdir(parents=True, exist_ok=True)
                st = t.stat
                atomic_write(t.real, t.change.new.encode("utf-8", "surrogateescape"),
                             mode=st.st_mode & 0o7777 if st else 0o644, uid=st.st_uid if st else None,
                             gid=st.st_gid if st else None)
            failed = backup / MANIFEST
            manifest["status"] = "applied"
            _write_manifest(backup, manifest)
        except BaseException as exc:
            _undo_failed_apply(backup, failed, exc)
            raise
    return Applied(backup, tuple(c.path for c in plan.changes))


def _backup(plan: Plan, root: Path, backups: Path, targets: list[_Target]) -> tuple[Path, dict[str, object]]:
    """The backup set, complete and synced, its manifest saying ``applying``; nothing is left of it when
    it cannot be written whole."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    backup = backups / stamp
    try:
        backups.mkdir(parents=True, exist_ok=True, mode=0o700)
        backup.mkdir(exist_ok=False, mode=0o700)  # old contents include secrets: owner only
    except OSError as exc:
        raise FixError(f"{backup}: cannot create the backup set ({exc.strerror}); nothing was changed") from None
    try:
        entries = []
        for n, t in enumerate(targets):
            entry: dict[str, object] = {"path": t.change.path, "target": "/" + str(t.real.relative_to(root)),
                                        "existed": t.old is not None,
                                        "new_sha256": _sha(t.change.new.encode("utf-8", "surrogateescape")),
                                        "reasons": redact_tree(t.change.reasons)}
            if t.old is not None and t.stat is not None:
                st = t.stat
                saved = backup / f"{n:03d}-{t.real.name}"
                _write_new(saved, t.old)
                entry.update({"backup": saved.name, "old_sha256": _sha(t.old), "mode": st.st_mode & 0o7777,
                              "uid": st.st_uid, "gid": st.st_gid})
            else:
                entry["dir_existed"] = t.real.parent.is_dir()  # a drop-in directory the fix creates goes with it
            entries.append(entry)
        # the manifest (written and synced last) is what makes the set restorable: its copies must be on
        # disk before it says "applying", or a power cut could leave a manifest pointing at empty files
        _fsync_dir(backup)
        manifest: dict[str, object] = {"status": "applying", "root": str(root), "created": stamp, "files": entries,
                                       "commands": plan.commands, "restart_units": plan.restart_units}
        _write_manifest(backup, manifest)
    except BaseException as exc:
        shutil.rmtree(backup, ignore_errors=True)
        if isinstance(exc, OSError):
            raise FixError(f"{exc.filename or backup}: cannot write the backup set ({exc.strerror or exc}); "
                           "nothing was changed") from None
        raise
    return backup, manifest


def _undo_failed_apply(backup: Path, failed: Path | None, exc: BaseException) -> None:
    """Put every file back after a write failed (or the run was interrupted) midway; raise what happened
    when it was a failure, let an interruption go on once the files are back."""
    why = f"cannot write ({exc.strerror or exc})" if isinstance(exc, OSError) else f"interrupted ({type(exc).__name__})"
    try:
        rollback(backup, error=f"{failed}: {why}")
    except Exception as again:
        raise FixRollbackFailed(
            f"{failed}: {why}; putting the files back failed too ({again}): some files may be new, "
            f"others old; free the space or fix the error, then run `ostriage fix --rollback` "
            f"(backup set {backup})") from None
    if isinstance(exc, OSError):
        raise FixFailed(f"{failed}: {why}; rolled back automatically: every file is as it was "
                        f"before (backup set {backup})") from None


def _write_new(path: Path, data: bytes) -> None:
    """A new file readable by its owner only, synced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _write_manifest(backup: Path, manifest: dict[str, object]) -> None:
    # its free text (reasons, error) is redacted where it is put in; what rollback uses (paths, checksums,
    # modes, commands) is kept exact
    data = json.dumps(manifest, indent=2).encode()
    atomic_write(backup / MANIFEST, data, mode=0o600, uid=None, gid=None)


def latest_backup(backups: Path) -> Path | None:
    """The newest backup set that is applied, or was being applied when the process died."""
    return next((b for b, status in _sets(backups) if status in ("applied", *UNFINISHED)), None)


def _unchanged(fd: int | None, data: bytes, entry: dict[str, int]) -> bool:
    """The file open as ``fd`` already holds ``data`` with the entry's mode and owner (a file the failed apply
    never got to: nothing to write, which matters on a full disk)."""
    if fd is None:
        return False
    st = os.fstat(fd)
    return (st.st_mode & 0o7777 == entry["mode"] and (st.st_uid, st.st_gid) == (entry["uid"], entry["gid"])
            and _read_all(fd) == data)


def rollback(backup: Path, *, error: str | None = None) -> tuple[str, ...]:
    """Restore every file of a backup set to its exact old bytes, mode and owner (remove created ones).

    The files are locked like an apply locks them (a lock held by another process: nothing is restored).
    ``error``: why a fix is being undone on its own (a write failed midway, while the apply holds the locks;
    the service failed its verification and must get its old files back): kept in the manifest, and no
    lock is taken.
    """
    manifest = json.loads((backup / MANIFEST).read_text())
    root = Path(manifest["root"])
    # every copy is checked before the first file is touched: a corrupted set must not half-restore
    saved: dict[str, bytes] = {}
    for entry in manifest["files"]:
        if entry["existed"]:
            data = saved[entry["backup"]] = (backup / entry["backup"]).read_bytes()
            if _sha(data) != entry["old_sha256"]:
                raise FixError(f"{backup / entry['backup']}: backup corrupted (checksum mismatch); nothing restored")
    reals = [real_path(root, entry.get("target", entry["path"])) for entry in manifest["files"]]
    restored = []
    with _locked(reals, take=error is None) as fds:
        for entry, real in zip(manifest["files"], reals, strict=True):
            for leftover in _temporaries(real):  # a write killed before its rename
                leftover.unlink()
            if entry["existed"]:
                if not _unchanged(fds.get(real), saved[entry["backup"]], entry):
                    real.parent.mkdir(parents=True, exist_ok=True)
                    atomic_write(real, saved[entry["backup"]], mode=entry["mode"], uid=entry["uid"],
                                 gid=entry["gid"])
            else:
                if real.exists():
                    real.unlink()
                    _fsync_dir(real.parent)
                made_dir = not entry.get("dir_existed", not real.parent.name.endswith(".d"))
                if made_dir and real.parent.is_dir() and not any(real.parent.iterdir()):
                    real.parent.rmdir()
            restored.append(entry["path"])
    manifest["status"] = "rolled-back"
    if error is not None:
        manifest["error"] = redact(error)
    # the files are back; a status that cannot be written (the same full disk) must not hide that, and the
    # set then still reads "applying", so the next apply asks for a --rollback, which finds nothing to do
    with contextlib.suppress(OSError):
        _write_manifest(backup, manifest)
    return tuple(restored)
