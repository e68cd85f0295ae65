"""HTML rendering (one self-contained page, autoescaped, no script) of the report document.

The page leads with the summary (status, the root cause, what to do now with the fix's diff), then the
timeline chart (inline SVG laid out by ``chart.py`` from the document's ``events``), the stories with
their evidence folded under each claim, and every finding as one table row. Control characters of
evidence lines are shown escaped (``\\x1b``): they are not valid in HTML.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ostriage.report._escape import visible_tree
from ostriage.report._placements import placements_in_containers
from ostriage.report.chart import layout
from ostriage.report.redact import redact_tree

__all__ = ["render_html"]

_ENV = Environment(loader=PackageLoader("ostriage.report", "templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


#: unchanged lines kept around each change of a diff in the summary (the rest folds into one "⋯" line)
CONTEXT = 1


def diff_view(diff: str) -> list[tuple[str, str]]:
    """A unified diff as ``(kind, line)`` for the summary: ``add``, ``del``, ``ctx`` and ``gap`` (unchanged
    lines folded), without the file headers (the path is shown above it) and the hunk headers.

    >>> diff_view("--- a\\n+++ a\\n@@ -1,4 +1,4 @@\\n [s]\\n x = 1\\n-y = 2\\n+y = 3\\n z = 4\\n w = 5\\n")
    [('gap', '⋯ 1 unchanged line'), ('ctx', ' x = 1'), ('del', '-y = 2'), ('add', '+y = 3'), ('ctx', ' z = 4'), \
('gap', '⋯ 1 unchanged line')]
    """
    body = [ln for ln in diff.splitlines() if not ln.startswith(("---", "+++", "@@"))]
    changed = [i for i, ln in enumerate(body) if ln.startswith(("+", "-"))]
    keep = {j for i in changed for j in range(i - CONTEXT, i + CONTEXT + 1)}
    view: list[tuple[str, str]] = []
    folded = 0
    for i, line in enumerate(body):
        if i not in keep:
            folded += 1
            continue
        if folded:
            view.append(("gap", f"⋯ {folded} unchanged line{'s' if folded > 1 else ''}"))
            folded = 0
        view.append(({"+": "add", "-": "del"}.get(line[:1], "ctx"), line))
    if folded:
        view.append(("gap", f"⋯ {folded} unchanged line{'s' if folded > 1 else ''}"))
    return view


def _first_sentence(text: str) -> str:
    """Up to the first full stop that ends a sentence (a version number's dots do not)."""
    m = re.search(r"\.(?=\s+[A-Z])", text)
    return text[: m.end()] if m else text


def render_html(doc: dict[str, Any]) -> str:
    # redacted again (a renderer never trusts its caller to have done it); a diff is shown line by line (its
    # newlines would otherwise be escaped with the control characters)
    doc = redact_tree(doc)
    views = [diff_view(c["diff"]) for c in doc["fix"]["changes"]] if doc.get("fix") else []
    doc = visible_tree(doc)
    for change, view in zip(doc["fix"]["changes"] if doc.get("fix") else [], views, strict=True):
        change["view"] = [(kind, visible_tree(line)) for kind, line in view]
    findings = {f["key"]: f for f in doc["findings"]}
    root = findings[doc["root_causes"][0]["finding"]] if doc["root_causes"] else None
    # the story that tells each finding (the first, when several do)
    told: dict[str, int] = {}
    for n, story in enumerate(doc["root_causes"], 1):
        for key in (story["finding"], *(s["finding"] for s in story["chain"] + story["contributors"])):
            told.setdefault(key, n)
    return _ENV.get_template("diagnosis.html").render(doc=doc, findings=findings, chart=layout(doc["events"]),
                                                      lead=_first_sentence(root["explanation"]) if root else None,
                                                      told=told, elsewhere=placements_in_containers(doc))
