"""HTML rendering (one self-contained page, autoescaped) of the report document.

Control characters of evidence lines are shown escaped (``\\x1b``): they are not valid in HTML.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ostriage.report._escape import shown_tree

__all__ = ["render_html"]

_ENV = Environment(loader=PackageLoader("ostriage.report", "templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def render_html(doc: dict[str, Any]) -> str:
    doc = shown_tree(doc)
    findings = {f["key"]: f for f in doc["findings"]}
    return _ENV.get_template("diagnosis.html").render(doc=doc, findings=findings)
