"""Builders of sosreports in tarballs, hostile ones included."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Member:
    """One tar member; ``kind`` is a tarfile type (REGTYPE, SYMTYPE, LNKTYPE, FIFOTYPE, ...)."""

    name: str
    data: bytes = b""
    kind: bytes = tarfile.REGTYPE
    link: str = ""


def file(name: str, data: bytes | str = b"") -> Member:
    return Member(name, data.encode() if isinstance(data, str) else data)


def symlink(name: str, target: str) -> Member:
    return Member(name, kind=tarfile.SYMTYPE, link=target)


def hardlink(name: str, target: str) -> Member:
    return Member(name, kind=tarfile.LNKTYPE, link=target)


def special(name: str, kind: bytes) -> Member:
    return Member(name, kind=kind)


#: The smallest tree that is a sosreport, under a top directory like sos makes.
MINIMAL = (
    Member("sosreport-host-2025", kind=tarfile.DIRTYPE),
    file("sosreport-host-2025/version.txt", "sosreport: 4.5.6\n"),
    file("sosreport-host-2025/sos_commands/date/date", "Thu Feb 10 16:19:17 UTC 2022\n"),
)


def write_tar(path: Path, members: Iterable[Member], compression: str = "xz",
              tar_format: int = tarfile.GNU_FORMAT) -> Path:
    """Write ``members`` exactly as given (names, link targets and types are not sanitised; a name that is not
    UTF-8 is given with surrogate escapes, as the reader hands it back)."""
    with tarfile.open(path, "w" if compression == "" else f"w:{compression}", format=tar_format,
                      encoding="utf-8", errors="surrogateescape") as tar:
        for member in members:
            info = tarfile.TarInfo(member.name)
            info.type = member.kind
            info.linkname = member.link
            info.mode = 0o755 if member.kind == tarfile.DIRTYPE else 0o644
            info.size = len(member.data) if member.kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(member.data) if info.size else None)
    return path
