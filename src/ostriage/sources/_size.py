"""Byte counts as people read them in problem messages."""

from __future__ import annotations

__all__ = ["size"]


def size(count: int) -> str:
    """``count`` bytes in the largest binary unit that keeps it at least 1, one decimal at most.

    >>> [size(n) for n in (512, 1536, 256 * 1024 * 1024, 3 * 1024**3 // 2)]
    ['512 bytes', '1.5 KiB', '256 MiB', '1.5 GiB']
    """
    value = float(count)
    for unit in ("bytes", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f}".removesuffix(".0") + f" {unit}"
        value /= 1024
    return f"{value:.1f}".removesuffix(".0") + " GiB"
