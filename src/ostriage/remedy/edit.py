"""Edit one option of an ini-style file (OpenStack ini or systemd unit), keeping everything else.

Comments, blank lines, order, other options and the file's own spacing style stay byte for byte; the
option's last assignment in its section is replaced in place (with its continuation lines), removed,
or, when absent, added after the section's last assignment (the section is appended when missing).
Section names compare as the file's reader compares them: oslo.config lower-cases all but DEFAULT,
systemd is case-sensitive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Dialect", "set_option"]

Dialect = Literal["oslo", "systemd"]

_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]\s*$")


@dataclass
class _Assignment:
    start: int
    end: int  # exclusive: the continuation lines belong to it


def _section_key(name: str, dialect: Dialect) -> str:
    name = name.strip()
    if dialect == "systemd":
        return name
    return name if name == "DEFAULT" else name.lower()


def _key_of(line: str, dialect: Dialect) -> str | None:
    stripped = line.strip()
    if not stripped or stripped[0] in "#;[" or line[:1] in " \t":
        return None
    seps = "=" if dialect == "systemd" else "=:"
    positions = [p for p in (stripped.find(c) for c in seps) if p >= 0]
    if not positions:
        return None
    key = stripped[: min(positions)].strip()
    return key.replace("-", "_") if dialect == "oslo" else key


def _continues(lines: list[str], i: int, dialect: Dialect) -> bool:
    """Does line ``i + 1`` belong to the assignment that includes line ``i``?"""
    if dialect == "systemd":
        return lines[i].rstrip("\r\n").endswith("\\")
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    return nxt[:1] in (" ", "\t") and bool(nxt.strip())


def _render(key: str, value: str, template: str | None, dialect: Dialect) -> str:
    if template is not None:
        m = re.match(r"^(\s*[^=:\s]+)(\s*[=:]\s*)", template)
        if m:
            return f"{m.group(1)}{m.group(2)}{value}\n"
    return f"{key}={value}\n" if dialect == "systemd" else f"{key} = {value}\n"


def set_option(text: str, section: str, key: str, value: str | None, dialect: Dialect = "oslo") -> str:
    """Return ``text`` with ``[section] key`` set to ``value`` (removed when ``value`` is ``None``).

    >>> conf = "[DEFAULT]\\n# keep me\\n[ml2_type_geneve]\\nvni_ranges = 1:16777215\\nmax_header_size = 38\\n"
    >>> print(set_option(conf, "ml2_type_geneve", "vni_ranges", "1:65535"), end="")
    [DEFAULT]
    # keep me
    [ml2_type_geneve]
    vni_ranges = 1:65535
    max_header_size = 38
    >>> print(set_option("[Service]\\nMemoryMax=2G\\nOOMScoreAdjust=-1000\\n", "Service", "OOMScoreAdjust", None,
    ...                  "systemd"), end="")
    [Service]
    MemoryMax=2G
    >>> print(set_option("[ovn]\\n", "ml2_type_geneve", "max_header_size", "38"), end="")
    [ovn]
    <BLANKLINE>
    [ml2_type_geneve]
    max_header_size = 38
    """
    lines = text.splitlines(keepends=True)
    unterminated = bool(lines) and not lines[-1].endswith("\n")
    if unterminated:
        lines[-1] += "\n"
    want_section = _section_key(section, dialect)
    want_key = key.replace("-", "_") if dialect == "oslo" else key
    current: str | None = None
    found: _Assignment | None = None
    last_in_section: int | None = None
    section_header: int | None = None
    i = 0
    while i < len(lines):
        m = _SECTION.match(lines[i].strip())
        if m:
            current = _section_key(m.group("name"), dialect)
            if current == want_section:
                section_header = i
                last_in_section = i
            i += 1
            continue
        k = _key_of(lines[i], dialect)
        if k is not None:
            start = i
            while i + 1 < len(lines) and _continues(lines, i, dialect):
                i += 1
            if current == want_section:
                last_in_section = i
                if k == want_key:
                    found = _Assignment(start, i + 1)
        i += 1

    if found is not None:
        replacement = [] if value is None else [_render(key, value, lines[found.start], dialect)]
        lines[found.start:found.end] = replacement
    elif value is not None:
        new = _render(key, value, None, dialect)
        if section_header is None:
            if lines and lines[-1].strip():
                lines.append("\n")
            lines += [f"[{section}]\n", new]
        else:
            assert last_in_section is not None
            lines.insert(last_in_section + 1, new)
    out = "".join(lines)
    return out[:-1] if unterminated and out.endswith("\n") else out
