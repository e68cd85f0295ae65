"""Where services run, in words, for the renderers: only when some run in a container or another machine
(a host of packaged units needs no such section)."""

from __future__ import annotations

from typing import Any

__all__ = ["placements_in_containers"]


def _describe(p: dict[str, Any]) -> str:
    if p["pod"]:
        place = f"pod {p['pod']} container {p['container']}"
    elif p["container"]:
        place = f"{p['engine'] or ''} container {p['container']}".strip()
    else:
        place = f"{p['engine'] + ' ' if p['engine'] else ''}machine {p['machine']}"
        if p["unit"]:
            place += f" ({p['unit']})"
    details = [d for d in (
        p["state"],
        {True: "ready", False: "not ready"}.get(p["ready"]) if p["ready"] is not None else None,
        f"restarted {p['restart_count']} times" if p["restart_count"] else None,
        f"memory limit {p['memory_limit_bytes'] / 2**30:.1f} GiB" if p["memory_limit_bytes"] else None,
        {True: "host network", False: "own network namespace"}.get(p["host_network"])
        if p["host_network"] is not None else "network namespace unknown",
        f"started by {p['unit']}" if p["unit"] and p["container"] else None,
    ) if d]
    return place + (f" ({', '.join(details)})" if details else "")


def placements_in_containers(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """``(service, where)`` for every service, when at least one runs in a container or machine."""
    placements = doc["facts"].get("placements") or {}
    if not any(p["where"] in ("container", "machine") for p in placements.values()):
        return []
    out = []
    for service, p in placements.items():
        if p["where"] in ("container", "machine"):
            out.append((service, _describe(p)))
        elif p["where"] == "unit":
            out.append((service, f"unit {p['unit']} of this host"))
    return out
