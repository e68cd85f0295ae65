"""A sosreport packed as sos packs it reads as its directory does: whatever a fact reads must be unpacked."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

from ostriage.facts._configs import MYSQL_OPTION_DIRS, MYSQL_OPTION_FILES, UWSGI_INIS

if TYPE_CHECKING:
    from conftest import Ostriage


def test_the_seed_with_every_option_file_reads_the_same_packed(seed_copy: Path, tmp_path: Path,
                                                                ostriage: Ostriage) -> None:
    """The seed recording with the database's and uWSGI's option files in every place they are looked for."""
    for path in (*MYSQL_OPTION_FILES, *(f"{d}/ostriage.cnf" for d in MYSQL_OPTION_DIRS), *UWSGI_INIS):
        target = seed_copy / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        section = "uwsgi" if path in UWSGI_INIS else "mysqld"
        target.write_text(f"[{section}]\nmax_allowed_packet = 64M\nprocesses = 3\n")
    # Debian's /etc/mysql/my.cnf -> /etc/alternatives/my.cnf -> /etc/mysql/mariadb.cnf, made relative as sos copies
    # links (the real ussuri report has them so)
    (seed_copy / "etc/mysql/my.cnf").unlink()
    (seed_copy / "etc/mysql/my.cnf").symlink_to("../alternatives/my.cnf")
    (seed_copy / "etc/alternatives").mkdir(exist_ok=True)
    (seed_copy / "etc/alternatives/my.cnf").symlink_to("../mysql/mariadb.cnf")
    tarball = tmp_path / "sosreport-seed.tar.xz"
    with tarfile.open(tarball, "w:xz") as tar:
        tar.add(seed_copy, arcname="sosreport-seed")
    packed, unpacked = (ostriage("diagnose", target, "--format", "json") for target in (tarball, seed_copy))
    assert packed.code == unpacked.code == 2
    facts = packed.json()["facts"]
    assert facts == unpacked.json()["facts"]
    assert len(facts["configs"]["mysql"]) == len(MYSQL_OPTION_FILES) + len(MYSQL_OPTION_DIRS)
