"""The running host as an evidence ``Source``: read-only, safe to run on a host in trouble.

Files are read under ``root`` (``/``, or a mounted copy of a host's file system) and cited by
their absolute path. Commands are only ever the catalog's fixed argv lists, run without a shell,
with a timeout, stdin closed and a fixed environment; their output is streamed, never held whole,
and cut at ``max_output_bytes``. Anything that prevents reading (a program that is not
installed, a non-zero exit, a timeout, a permission) becomes a ``Problem`` that says what to do
about it; running as an ordinary user works wherever the host allows.
"""

from __future__ import annotations

import grp
import os
import socket
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Literal

from ostriage.evidence import Line
from ostriage.sources._lines import CHUNK, MAX_LINE, iter_lines
from ostriage.sources._runner import Finished, Process, Runner, subprocess_runner
from ostriage.sources._size import size
from ostriage.sources._tree import Tree, note
from ostriage.sources.base import CommandOutput, Problem, Source
from ostriage.sources.catalog import LiveVariant, lookup

__all__ = [
    "DEFAULT_MAX_OUTPUT", "ENVIRONMENT", "Finished", "LiveHost", "Process", "Runner", "subprocess_runner",
]

#: Most bytes of one command's output read (the bounded journal stays well below it).
DEFAULT_MAX_OUTPUT = 128 * 1024 * 1024
#: The whole environment commands run with. A fixed PATH so what runs does not depend on the
#: caller's; C.UTF-8 (as sos 4.x) for stable, untranslated output that still shows non-ASCII
#: journal messages instead of "[blob data]"; no pager, colours or pip network check.
ENVIRONMENT: Mapping[str, str] = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL": "C.UTF-8",
    "LANG": "C.UTF-8",
    "SYSTEMD_PAGER": "",
    "SYSTEMD_COLORS": "0",
    "PAGER": "cat",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PIP_NO_INPUT": "1",
    "HOME": "/",
}
# What to do when a program says it may not do something, by program.
_PERMISSION_HINTS = {
    "dmesg": "kernel.dmesg_restrict=1; run as root or use journalctl -k",
    "journalctl": "run as root or as a member of group systemd-journal or adm",
    "ovs-vsctl": "run as root or as a member of group openvswitch",
    "ovn-sbctl": "run as root or as a member of group openvswitch",
}
_PERMISSION_WORDS = ("permission denied", "operation not permitted", "insufficient permissions",
                     "not seeing messages from other users")


class LiveHost(Source):
    """This machine (or a host file system mounted at ``root``).

    ``runner`` starts commands (default: real subprocesses); tests pass a fake.
    """

    kind: Literal["live", "sosreport", "tree"] = "live"

    def __init__(
        self,
        root: str | os.PathLike[str] = "/",
        runner: Runner | None = None,
        *,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT,
        max_line: int = MAX_LINE,
    ) -> None:
        self.root = Path(root)
        self.label = socket.gethostname() if os.path.realpath(root) == "/" else f"live:{root}"
        self.problems: list[Problem] = []
        self._runner = runner or subprocess_runner
        self._max_output = max_output_bytes
        self._max_line = max_line
        self._tree = Tree(self.root, self.problems, _display,
                          permission_hint=_permission_hint, max_line=max_line)

    def __repr__(self) -> str:
        return f"LiveHost({str(self.root)!r})"

    # -- files ----------------------------------------------------------------------------------

    def read_lines(self, path: str) -> Iterator[Line] | None:
        return self._tree.read_lines(path)

    def read_log(self, path: str) -> Iterator[Line]:
        return self._tree.read_log(path)

    def glob(self, pattern: str) -> list[str]:
        return self._tree.glob(pattern)

    def modified(self, path: str) -> datetime | None:
        return self._tree.modified(path)

    # -- commands -------------------------------------------------------------------------------

    def command(self, name: str) -> CommandOutput | None:
        """Run the first live variant of ``name`` that works.

        A variant that cannot run, or exits with an error before printing anything, gives way to
        the next; problems are recorded only when none works. Once a command prints, its output
        is streamed to the caller, and how it ended (exit status, timeout, size cut, permission
        warnings) is recorded when the stream ends.
        """
        spec = lookup(name)
        failures: list[Problem] = []
        refused: list[Problem] = []
        missing: set[str] = set()
        for variant in spec.live:
            if variant.argv[0] in missing:
                continue  # the same program, not installed either
            outcome = self._start(spec.name, variant)
            if isinstance(outcome, CommandOutput):
                # a fallback answered, but what the better variant would have shown may be missing
                # (dmesg refused to a user: journalctl --dmesg sees only what the journal kept)
                for problem in refused:
                    note(self.problems, problem.path, f"{problem.message}; used `{outcome.origin[2:]}` instead")
                return outcome
            failures.append(outcome.problem)
            if not outcome.not_installed:
                refused.append(outcome.problem)
            if outcome.not_installed:
                missing.add(variant.argv[0])
        if len(missing) == len({v.argv[0] for v in spec.live}) and all(v.optional for v in spec.live):
            return None  # none of its programs is installed, and that is normal (no container engine here)
        for problem in failures:
            note(self.problems, problem.path, problem.message)
        return None

    def _start(self, name: str, variant: LiveVariant) -> CommandOutput | _Failed:
        shown = variant.display()
        program = variant.argv[0]
        try:
            process = self._runner(variant.argv, variant.timeout, ENVIRONMENT)
        except FileNotFoundError:
            return _Failed(Problem(shown, f"{program}: command not found (not installed here, or not in "
                                   f"{ENVIRONMENT['PATH']})"), not_installed=True)
        except PermissionError:
            return _Failed(Problem(shown, f"{program}: permission denied (not executable by this user)"))
        except OSError as exc:
            return _Failed(Problem(shown, f"{program}: cannot run ({exc.strerror or exc})"))
        try:
            first = process.stdout.read(CHUNK)
        except OSError as exc:
            process.kill()
            process.finish()
            return _Failed(Problem(shown, f"output unreadable ({exc.strerror or exc})"))
        if not first:
            ended = process.finish()
            failure = _failure(variant, ended)
            if failure:
                return _Failed(Problem(shown, failure))
            self._warnings(shown, program, ended)
        return CommandOutput(name, variant.format, shown, self._stream(process, first, variant, shown))

    def _stream(self, process: Process, first: bytes, variant: LiveVariant, shown: str) -> Iterator[Line]:
        if not first:
            return  # already finished and judged in _start
        capped = _Capped(process.stdout, self._max_output - len(first))
        finished = False
        try:
            for number, text in enumerate(iter_lines(capped, self._max_line, first), 1):
                yield Line(shown, number, text)
            finished = True
        finally:
            # The caller stopped early, or the output hit the cap: the rest is not wanted.
            if not finished or capped.cut:
                process.kill()
            ended = process.finish()
            if capped.cut:
                note(self.problems, shown, f"output cut at {size(self._max_output)}")
            elif finished:
                failure = _failure(variant, ended)
                if failure:
                    note(self.problems, shown, f"{failure} (the output read before it is used)")
                else:
                    self._warnings(shown, variant.argv[0], ended)

    def _warnings(self, shown: str, program: str, ended: Finished) -> None:
        """A command that succeeded may still say it could not see everything (journalctl as a
        user outside systemd-journal, ls of an unreadable directory)."""
        for line in ended.stderr.splitlines():
            if any(word in line.lower() for word in _PERMISSION_WORDS):
                hint = _PERMISSION_HINTS.get(program, "run as root")
                note(self.problems, shown, f"incomplete: {line.strip()} ({hint})")
                return

    # -- time -----------------------------------------------------------------------------------

    def collected_at(self) -> datetime:
        """Now, in the host's local time zone."""
        return datetime.now().astimezone()


@dataclass(frozen=True, slots=True)
class _Failed:
    """A variant that could not give the answer."""

    problem: Problem
    not_installed: bool = False


class _Capped:
    """Reads at most ``limit`` bytes from ``stream``; ``cut`` tells whether there was more."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._left = max(limit, 0)
        self.cut = False

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            self.cut = self.cut or bool(self._stream.read(1))
            return b""
        data = self._stream.read(min(size, self._left) if size >= 0 else self._left)
        self._left -= len(data)
        return data


def _failure(variant: LiveVariant, ended: Finished) -> str:
    """Why a finished command's output is not the answer ("" when it is)."""
    program = variant.argv[0]
    if ended.timed_out:
        return f"timed out after {variant.timeout:g} s"
    if ended.returncode in variant.ok_exit:
        return ""
    detail = next((line.strip() for line in ended.stderr.splitlines() if line.strip()), "")
    status = (f"killed by signal {-ended.returncode}" if ended.returncode < 0
              else f"exit status {ended.returncode}")
    message = f"{program}: {status}" + (f": {detail}" if detail else "")
    if any(word in detail.lower() for word in _PERMISSION_WORDS):
        message += f" ({_PERMISSION_HINTS.get(program, 'run as root')})"
    return message


def _display(rel: str) -> str:
    return "/" + rel


def _permission_hint(real: str) -> str:
    """Who may read ``real``: root, or the file's group when the group may read it."""
    try:
        info = os.stat(real)
    except OSError:
        return " (run as root)"
    if info.st_mode & stat.S_IRGRP:
        try:
            group = grp.getgrgid(info.st_gid).gr_name
        except KeyError:
            group = str(info.st_gid)
        return f" (run as root or as a member of group {group})"
    return " (run as root)"
