"""Edit one option of an ini-style file (OpenStack ini or systemd unit), keeping everything else.

Comments, blank lines, order, other options and the file's own spacing style (and line endings) stay
byte for byte; the option's last assignment in its section is replaced in place (with its
continuation lines), or, when absent, added after the section's last assignment (the section is
appended when missing). Removing an option removes every assignment of it in the section: removing
only the last would bring an earlier one back into effect.

Lines are recognised exactly as the file's reader recognises them, since an edit the reader does not
see is no edit:

- oslo.config (``oslo_config.iniparser.BaseParser``): a line that starts with a space or tab continues
  the previous value; a section header starts at column 0 and its name is taken as written, lower-cased
  unless it is ``DEFAULT``; keys are compared verbatim (``vni-ranges`` in a file is never read as the
  option ``vni_ranges``, see ``ostriage.parsers.ini``).
- systemd (``src/shared/conf-parser.c``): every line is stripped first, so an indented ``Key=value`` is
  an assignment; a trailing (unescaped) backslash joins the next line, and comment lines inside such a
  continuation are skipped without ending it; section names and keys are case-sensitive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Dialect", "set_option"]

Dialect = Literal["oslo", "systemd"]

# Physical lines, each with its "\n" (a "\r" before it stays part of the line, as both readers strip it).
_LINES = re.compile(r"[^\n]*\n|[^\n]+\Z")


@dataclass
class _Assignment:
    start: int
    end: int  # exclusive: the continuation lines belong to it


def _section_key(name: str, dialect: Dialect) -> str:
    if dialect == "systemd":
        return name
    return name if name == "DEFAULT" else name.lower()


def _text(line: str, dialect: Dialect) -> str | None:
    """What the reader sees of a line; ``None`` for an oslo continuation line (leading space or tab)."""
    if dialect == "systemd":
        return line.strip()
    return None if line[:1] in (" ", "\t") else line.rstrip()


def _section_of(line: str, dialect: Dialect) -> str | None:
    text = _text(line, dialect)
    if text and text.startswith("[") and text.endswith("]") and len(text) > 2:
        return _section_key(text[1:-1], dialect)
    return None


def _separator(text: str, dialect: Dialect) -> int:
    """Index of the character that ends the key (``-1`` when there is none)."""
    if dialect == "systemd":
        return text.find("=")
    positions = [p for p in (text.find("="), text.find(":")) if p >= 0]
    return min(positions) if positions else -1


def _key_of(line: str, dialect: Dialect) -> str | None:
    """The key of an assignment line, exactly as written (both readers compare it verbatim)."""
    text = _text(line, dialect)
    if not text or text[0] in "#;[":
        return None
    pos = _separator(text, dialect)
    key = text[:pos].strip() if pos >= 0 else ""
    return key or None


def _is_comment(line: str) -> bool:
    return line.strip()[:1] in ("#", ";")


def _escaped_eol(line: str) -> bool:
    """systemd joins the next line when this one ends in a backslash that is not itself escaped."""
    body = line.rstrip("\r\n")
    return (len(body) - len(body.rstrip("\\"))) % 2 == 1


def _block_end(lines: list[str], i: int, dialect: Dialect) -> int:
    """Index of the last physical line of the assignment that starts at line ``i``."""
    if dialect == "oslo":
        while i + 1 < len(lines) and lines[i + 1][:1] in (" ", "\t") and lines[i + 1].strip():
            i += 1
        return i
    while _escaped_eol(lines[i]) and i + 1 < len(lines):
        i += 1
        while _is_comment(lines[i]) and i + 1 < len(lines):
            i += 1  # skipped by systemd: the continuation goes on past it
    return i


def _eol(line: str) -> str:
    return "\r\n" if line.endswith("\r\n") else "\n"


def _render(key: str, value: str, template: str | None, dialect: Dialect, eol: str) -> str:
    """``key = value`` in the template line's own spacing (indentation, separator, blanks)."""
    if template is not None:
        pos = _separator(template, dialect)
        if pos >= 0:
            head = template[:pos]
            after = template[pos + 1:]
            spacing = after[: len(after) - len(after.lstrip(" \t"))]
            if not after.strip():  # "key =" with no value: space the new one as the key side is spaced
                spacing = " " if head.endswith((" ", "\t")) else ""
            if not value:  # no blank dangling after the separator (and setting "" again gives the same bytes)
                spacing = ""
            return f"{head}{template[pos]}{spacing}{value}{_eol(template)}"
    return f"{key}={value}{eol}" if dialect == "systemd" else f"{key} = {value}{eol}"


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
    if value is not None and ("\n" in value or "\r" in value):
        raise ValueError(f"{key}: a value of one line only, not {value!r}")
    lines = _LINES.findall(text)
    eol = _eol(lines[0]) if lines else "\n"
    want_section = _section_key(section, dialect)
    # oslo.config looks an option up under its dest (dashes become underscores) and compares file keys
    # verbatim, so only a file key written with underscores is the option
    want_key = key.replace("-", "_") if dialect == "oslo" else key
    current: str | None = None
    found: list[_Assignment] = []
    last_in_section: int | None = None
    i = 0
    while i < len(lines):
        name = _section_of(lines[i], dialect)
        if name is not None:
            current = name
            if current == want_section:
                last_in_section = i
            i += 1
            continue
        k = _key_of(lines[i], dialect)
        if k is not None:
            start = i
            i = _block_end(lines, i, dialect)
            if current == want_section:
                last_in_section = i
                if k == want_key:
                    found.append(_Assignment(start, i + 1))
        i += 1

    if found and value is None:
        # exactly the assignments' own bytes go: a final line without a newline takes none of the
        # previous line's with it, so the diff shows the removed lines and nothing else
        for assignment in reversed(found):
            del lines[assignment.start:assignment.end]
        return "".join(lines)
    # a file whose last line has no newline keeps it that way: terminate it while editing, then take
    # back that one newline (the edited or added line may be the last one now)
    unterminated = bool(lines) and not lines[-1].endswith("\n")
    if unterminated:
        lines[-1] += eol
    if found and value is not None:
        last = found[-1]
        lines[last.start:last.end] = [_render(want_key, value, lines[last.start], dialect, eol)]
    elif value is not None:
        new = _render(want_key, value, None, dialect, eol)
        if last_in_section is None:
            if lines and lines[-1].strip():
                lines.append(eol)
            lines += [f"[{section}]{eol}", new]
        else:
            lines.insert(last_in_section + 1, new)
    out = "".join(lines)
    return out[: -len(eol)] if unterminated else out
