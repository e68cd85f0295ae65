"""When the configuration files and units of the services last changed, where the host's own times are known.

sos keeps a copied file's modification time (``shutil.copystat``), and a live host has its own; a
tarball unpacked by ostriage, a checkout or a copy made later carry the time they were made instead.
So a time is kept only when the source knows the host's UTC offset (its ``collected_at`` is aware) and
the time is not after the collection: a later one is the copy's, and says nothing of the host.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from ostriage.facts.model import ConfigSet, Modified, UnitState
from ostriage.sources.base import Source

__all__ = ["modified_files"]


def modified_files(source: Source, collected: datetime | None, configs: Mapping[str, ConfigSet],
                   units: Iterable[UnitState]) -> list[Modified]:
    if collected is None or collected.tzinfo is None:
        return []
    owned: dict[str, tuple[str, str]] = {}
    for config in configs.values():
        shown = config.ini.paths if len(config.ini.paths) == len(config.files) else config.files
        for path, cited in zip(config.files, shown, strict=True):
            owned.setdefault(path, (cited, config.service))
    for unit in units:
        for path in unit.files:
            owned.setdefault(path, (path.lstrip("/") if source.kind == "sosreport" else path, unit.name))
    found: list[Modified] = []
    for path, (cited, owner) in owned.items():
        when = source.modified(path)
        if when is None:
            continue
        local = when.astimezone(collected.tzinfo)
        if local <= collected:
            found.append(Modified(path, cited, local.replace(tzinfo=None), owner))
    return sorted(found, key=lambda m: (m.time, m.path))
