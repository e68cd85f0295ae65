"""``ostriage fix``: plan, then (only with ``apply``) back up, write, restart, verify, roll back.

Where the files are written decides what can be done: on the live host (``/``) the units are
reloaded and restarted and the result is watched; under ``--root`` (a copy of a host's files) only
files change and the copy is diagnosed again; a sosreport is evidence, never a place to write.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ostriage.diagnosis import Diagnosis, diagnose
from ostriage.facts import collect
from ostriage.facts.model import Facts
from ostriage.knowledge import neutron_options as opts
from ostriage.remedy.allocations import AllocationCheck, segments_in_use
from ostriage.remedy.apply import (
    Applied,
    FixError,
    apply_changes,
    latest_backup,
    real_path,
    rollback,
    unfinished_backup,
)
from ostriage.remedy.copy_backups import dirs_to_make, forget_after_rollback, remember_made_dirs
from ostriage.remedy.plan import Plan, build_plan
from ostriage.remedy.verify import Host, Verdict, live_host, verify
from ostriage.sources import HostTree, LiveHost, SosReport, Source

__all__ = ["FixOptions", "FixResult", "backups_dir", "fix", "proposed_fix", "undo"]

#: where backup sets go, below the root the fix writes to
BACKUPS = "var/backups/ostriage"


@dataclass(frozen=True, slots=True)
class FixOptions:
    apply: bool = False
    include_unsafe: bool = False
    keep_outside: bool = False
    verify_seconds: float = 60.0
    backup_dir: Path | None = None
    root: Path | None = None


@dataclass
class FixResult:
    plan: Plan
    applied: Applied | None = None
    verdict: Verdict | None = None
    rolled_back: tuple[str, ...] = ()
    remaining: list[str] = field(default_factory=list)


def _writable_root(source: Source, options: FixOptions) -> Path | None:
    """``--root`` (a copy of a host's files, possibly a sosreport directory), or the live host's ``/``."""
    if options.root is not None:
        return options.root
    return source.root if isinstance(source, LiveHost) else None


def backups_dir(source: Source, options: FixOptions) -> Path:
    root = _writable_root(source, options)
    if options.backup_dir is not None:
        return options.backup_dir
    if root is None:
        raise FixError(f"{source.label}: not a host (a sosreport is evidence): give --root DIR or run on the host")
    return root / BACKUPS


def _reader(source: Source, options: FixOptions) -> Callable[[str], str | None]:
    """Exact file contents (bytes, not evidence lines) where the fix would write them."""

    def read(path: str) -> str | None:
        root = _writable_root(source, options)
        if root is not None:
            # links followed inside root, as the apply will follow them (not to this machine's /etc)
            real = real_path(root, path)
            data = real.read_bytes() if real.is_file() else None
        elif isinstance(source, SosReport | HostTree):
            data = source.read_bytes(path)  # evidence: its links lead inside it, as the diagnosis read them
        else:
            data = None
        return None if data is None else data.decode("utf-8", "surrogateescape")

    return read


def _interrupted(source: Source, options: FixOptions) -> Path | None:
    """The backup set of an apply that never finished, where this fix would keep its backups."""
    if options.backup_dir is None and _writable_root(source, options) is None:
        return None  # a sosreport: nothing is ever applied to it
    return unfinished_backup(backups_dir(source, options))


def _checker(source: Source, options: FixOptions) -> Callable[[str, str], AllocationCheck] | None:
    """Only a live host has a database to ask; a copy or a sosreport cannot tell."""
    return segments_in_use if isinstance(source, LiveHost) and options.root is None else None


def _run_commands(commands: Sequence[Sequence[str]]) -> None:
    for argv in commands:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise FixError(f"{' '.join(argv)} failed: {done.stderr.strip() or done.returncode}")


def _api_port(facts: Facts) -> int | None:
    config = facts.configs.get("neutron-server")
    return opts.or_default(opts.bind_port, config.ini, opts.DEFAULT_BIND_PORT).value if config else None


def proposed_fix(source: Source, facts: Facts, d: Diagnosis) -> Plan:
    """The plan ``ostriage fix`` shows for ``d``, for the diagnosis report: the same files read, but neutron's
    database is not asked (diagnose runs only its allow-listed commands), so on a live host ``fix`` may
    widen a range for the segments it finds in use."""
    return build_plan(d, facts, _reader(source, FixOptions()), check=None)


def fix(source: Source, options: FixOptions, *, host: Host | None = None,
        run_commands: Callable[[Sequence[Sequence[str]]], None] = _run_commands) -> FixResult:
    facts = collect(source)
    d = diagnose(facts)
    plan = build_plan(d, facts, _reader(source, options), check=_checker(source, options),
                      include_unsafe=options.include_unsafe, keep_outside=options.keep_outside)
    result = FixResult(plan)
    interrupted = _interrupted(source, options)
    if interrupted is not None:
        plan.reasoning.insert(0, f"an earlier fix was interrupted while applying ({interrupted}): its files may be "
                                 "half old, half new, and this plan was made from them; run `ostriage fix --rollback` "
                                 "first (--apply refuses until then)")
    if not options.apply or plan.empty:
        return result
    root = _writable_root(source, options)
    if root is None:
        raise FixError(f"{source.label}: a sosreport is evidence, not a host: nothing can be applied to it "
                       "(apply on the host, or on a copy of its files with --root)")
    backups = backups_dir(source, options)
    made = dirs_to_make(backups, root)
    result.applied = apply_changes(plan, root, backups)
    remember_made_dirs(result.applied.backup, made)
    if isinstance(source, LiveHost) and options.root is None:
        since = f"@{int(time.time())}"
        try:
            run_commands(plan.commands)
            result.verdict = verify(host or live_host(), plan.restart_units, _api_port(facts),
                                    options.verify_seconds, since)
        except (FixError, OSError, subprocess.SubprocessError) as exc:
            result.verdict = Verdict(False, [str(exc)])
        if not result.verdict.ok:
            # the service is down with the new files: they go back whatever holds a lock on them
            result.rolled_back = rollback(result.applied.backup,
                                          error="verification failed: " + "; ".join(result.verdict.details))
            try:
                run_commands(plan.commands)
            except (FixError, OSError, subprocess.SubprocessError) as exc:
                # the files are back; say that the services could not be restarted with them, and keep
                # the report (raising here would hide that the rollback happened)
                result.verdict.details.append(f"files rolled back, but restarting with them failed: {exc}")
    else:
        result.remaining = _recheck(source, d)
        result.verdict = Verdict(True, ["files written; no unit restarted (a copy of a host's files)"])
    return result


def _recheck(source: Source, before: Diagnosis) -> list[str]:
    """Root causes of the first diagnosis that a new diagnosis of the written files still reports."""
    after = diagnose(collect(source))
    still = {s.root.key for s in after.stories}
    return [s.root.key for s in before.stories if s.root.key in still and s.root.remedy
            and (s.root.remedy.ini_edits or s.root.remedy.unit_edits)]


def undo(source: Source, options: FixOptions,
         run_commands: Callable[[Sequence[Sequence[str]]], None] = _run_commands) -> tuple[Path, tuple[str, ...]]:
    """Restore the last applied backup set; on a live host reload and restart what it restarted (and keep the
    set, marked rolled-back); in a copy (``--root``) remove the set once every file is back exactly
    (``copy_backups``): the returned set no longer exists then."""
    backups = backups_dir(source, options)
    backup = latest_backup(backups)
    if backup is None:
        raise FixError(f"{backups}: no applied fix to roll back")
    restored = rollback(backup)
    if options.root is not None:
        forget_after_rollback(backup, options.root)
    if isinstance(source, LiveHost) and options.root is None:
        manifest = json.loads((backup / "manifest.json").read_text())
        run_commands(manifest["commands"])
    return backup, restored
