"""Fixtures building sosreports on disk and in tarballs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .builders import Member, write_tar

MakeTar = Callable[..., Path]
MakeReport = Callable[[dict[str, str | bytes]], Path]


@pytest.fixture
def make_tar(tmp_path: Path) -> MakeTar:
    """``make_tar(*members, name="report.tar.xz", compression="xz")`` → path of a new tarball."""

    def make(*members: Member, name: str = "report.tar.xz", compression: str = "xz") -> Path:
        return write_tar(tmp_path / name, members, compression)

    return make


@pytest.fixture
def make_report(tmp_path: Path) -> MakeReport:
    """``make_report({"rel/path": content, ...})`` → root of a new sosreport directory."""
    count = 0

    def make(files: dict[str, str | bytes]) -> Path:
        nonlocal count
        count += 1
        root = tmp_path / f"sosreport-{count}"
        (root / "sos_commands").mkdir(parents=True)
        (root / "version.txt").write_text("sosreport: 4.5.6\n")
        for rel, content in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        return root

    return make
