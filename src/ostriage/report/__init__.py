"""Renderers of a diagnosis: one redacted document tree, several formats."""

from __future__ import annotations

import json
from typing import Any, TextIO

from ostriage.report.document import to_document
from ostriage.report.html import render_html
from ostriage.report.markdown import render_markdown
from ostriage.report.redact import redact_tree
from ostriage.report.text import render_text

__all__ = ["FORMATS", "render", "to_document"]

FORMATS = ("text", "json", "markdown", "html")


def render(doc: dict[str, Any], fmt: str, out: TextIO, *, color: bool | None = None) -> None:
    if fmt == "text":
        render_text(doc, out, color=color)
    elif fmt == "json":
        json.dump(redact_tree(doc), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif fmt == "markdown":
        out.write(render_markdown(doc))
        out.write("\n")
    elif fmt == "html":
        out.write(render_html(doc))
    else:
        raise ValueError(f"unknown format {fmt!r}")
