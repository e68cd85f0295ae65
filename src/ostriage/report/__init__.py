"""Renderers of a diagnosis: one redacted document tree, several formats."""

from __future__ import annotations

import json
from typing import Any, TextIO

from ostriage.report.document import to_document
from ostriage.report.redact import redact_tree

__all__ = ["FORMATS", "render", "to_document"]

FORMATS = ("text", "json", "markdown", "html")


def render(doc: dict[str, Any], fmt: str, out: TextIO, *, color: bool | None = None) -> None:
    # Each renderer is imported when its format is asked for: rich, jinja2 and the chart layout cost a tenth
    # of a second of start-up that a run printing one format does not need.
    if fmt == "text":
        from ostriage.report.text import render_text

        render_text(doc, out, color=color)
    elif fmt == "json":
        json.dump(redact_tree(doc), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif fmt == "markdown":
        from ostriage.report.markdown import render_markdown

        out.write(render_markdown(doc))
        out.write("\n")
    elif fmt == "html":
        from ostriage.report.html import render_html

        out.write(render_html(doc))
    else:
        raise ValueError(f"unknown format {fmt!r}")
