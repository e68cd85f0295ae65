"""A copy of a host's files (``fix --root``, ``lint`` of a config tree) as a read-only ``Source``.

Not a sosreport and not a live host: there are files and nothing else, so every logical command is
absent. ``mount`` says which host directory the tree stands for: ``/`` for a whole host tree
(``etc/neutron``, ``etc/systemd`` below it), ``/etc/neutron`` for a bare copy of neutron's config
directory. A whole tree is cited root-relative, like a sosreport; a copy of one directory by the
user's own paths to its files, so lint findings point at what they can open.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Literal

from ostriage.errors import SourceError
from ostriage.evidence import Line
from ostriage.sources._tree import Tree
from ostriage.sources.base import CommandOutput, LogFile, Problem, Source

__all__ = ["HostTree"]


class HostTree(Source):
    kind: Literal["live", "sosreport", "tree"] = "tree"

    def __init__(self, path: str | os.PathLike[str], *, mount: str = "/") -> None:
        if not os.path.isdir(path):
            raise SourceError(f"{path}: not a directory")
        self.path = Path(path)
        self.mount = posixpath.normpath("/" + mount.lstrip("/"))
        self.label = str(path)
        self.problems: list[Problem] = []
        shown = str(path).rstrip("/")
        # a whole host tree is cited like a sosreport (root-relative: the host path without its "/"); a
        # copy of one directory is cited by the user's own paths to its files
        display = (lambda rel: rel) if self.mount == "/" else (
            lambda rel: posixpath.join(shown, rel) if rel else shown)
        self._tree = Tree(self.path, self.problems, display)

    def __repr__(self) -> str:
        return f"HostTree({str(self.path)!r}, mount={self.mount!r})"

    def _inner(self, path: str) -> str | None:
        """The host path as a path below the tree's own root, or ``None`` when outside ``mount``."""
        host = posixpath.normpath("/" + path.lstrip("/"))
        if self.mount == "/":
            return host
        if host == self.mount or host.startswith(self.mount + "/"):
            return "/" + host[len(self.mount):].lstrip("/")
        return None

    def read_lines(self, path: str) -> Iterator[Line] | None:
        inner = self._inner(path)
        return None if inner is None else self._tree.read_lines(inner)

    def read_log(self, path: str) -> Iterator[Line]:
        inner = self._inner(path)
        return iter(()) if inner is None else self._tree.read_log(inner)

    def log_files(self, path: str) -> list[LogFile] | None:
        inner = self._inner(path)
        return [] if inner is None else self._tree.log_files(inner)

    def open_log_file(self, file: LogFile) -> int | None:
        return self._tree.open_fd(file.real, file.shown)

    def glob(self, pattern: str) -> list[str]:
        if self.mount == "/":
            return self._tree.glob(pattern)
        inner = self._inner(pattern)
        if inner is None:
            return []
        return [posixpath.join(self.mount, p.lstrip("/")) for p in self._tree.glob(inner)]

    def command(self, name: str) -> CommandOutput | None:
        return None

    def collected_at(self) -> datetime | None:
        return None

    def read_bytes(self, path: str) -> bytes | None:
        """The exact contents of the file at host path ``path``, links followed inside the tree (``fix`` shows its
        edits)."""
        inner = self._inner(path)
        return None if inner is None else self._tree.read_bytes(inner)
