"""Make evidence text safe to show: control characters become visible escapes.

Log lines are whatever the host wrote, and some of it is hostile or broken: an ESC sequence in a log
line printed raw would recolour, move the cursor or (OSC 52) write the clipboard of the terminal that
shows the report; NULs and other C0/C1 controls are invalid in HTML. The JSON document keeps the exact
text; the text, Markdown and HTML renderers show ``\\x1b`` instead of the byte.
"""

from __future__ import annotations

import re
from typing import Any

from ostriage.report.redact import redact_tree

__all__ = ["shown_tree", "visible", "visible_tree"]

# C0 controls but tab, DEL, C1 controls, and the bidirectional overrides that reorder what a reader sees
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m[0])
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def visible(text: str) -> str:
    r"""Replace control characters by their escapes.

    >>> visible("a\x1b[31mred\x00\u202eb\tc")
    'a\\x1b[31mred\\x00\\u202eb\tc'
    """
    return _CONTROL.sub(_escape, text)


def visible_tree(value: Any) -> Any:
    """``visible`` applied to every string of a JSON-like tree (keys included)."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {visible_tree(k): visible_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [visible_tree(v) for v in value]
    return value


def shown_tree(doc: Any) -> Any:
    """What a renderer may show of a document: redacted (again: a renderer never trusts its caller to have
    done it), then with control characters escaped."""
    return visible_tree(redact_tree(doc))
