"""Removing the lab's cache (`ostlab clean`, `make lab-clean`): the image, the apt and pip downloads, the
bench's venvs, bundles and logs, 2–5 GiB in /var/cache/ostriage-lab (``OSTRIAGE_LAB_CACHE``)."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from . import container, paths, safety
from .shell import LabError, log

__all__ = ["clean", "mounts_under"]


def mounts_under(directory: Path, mountinfo: str) -> list[str]:
    r"""Mount points at or below ``directory`` in a ``/proc/self/mountinfo`` text (field 5, octal escapes).

    >>> mounts_under(Path("/var/cache/ostriage-lab"),
    ...     "36 25 0:32 / /var/cache/ostriage-lab/run/rootfs rw - overlay overlay rw\n"
    ...     "37 25 0:33 / /var/cache/ostriage-lab2 rw - tmpfs tmpfs rw\n")
    ['/var/cache/ostriage-lab/run/rootfs']
    """
    found = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 4:
            point = Path(fields[4].encode().decode("unicode_escape"))
            if point == directory or directory in point.parents:
                found.append(str(point))
    return found


def _size(directory: Path) -> int:
    total = 0
    for top, _dirs, files in os.walk(directory):
        for name in files:
            with contextlib.suppress(OSError):  # gone meanwhile: nothing to count
                total += os.lstat(os.path.join(top, name)).st_size
    return total


def clean() -> None:
    """Tear the lab down (as `down` does, checking nothing is left), then remove the cache directory."""
    container.shutdown()
    safety.assert_nothing_left()
    cache = paths.CACHE
    mounted = mounts_under(cache, Path("/proc/self/mountinfo").read_text())
    if mounted:
        raise LabError(f"still mounted under {cache}: {', '.join(mounted)}; nothing was removed")
    if not cache.exists():
        log(f"{cache} does not exist; nothing to remove")
        return
    size = _size(cache)
    shutil.rmtree(cache)
    log(f"removed {cache} ({size / 2**30:.1f} GiB); the next `up` builds the image again (about 4 minutes)")
