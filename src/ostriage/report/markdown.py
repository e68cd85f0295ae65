"""Markdown rendering, for tickets and chat: root causes with their chain, timeline, all findings.

Text from the host (log lines, and the summaries that quote them) is shown literally once rendered:
evidence lines go in code spans fenced longer than any backtick run they contain, and prose escapes
``<`` so a log line holding ``<script>`` or an HTML comment cannot become markup in a ticket system
that renders raw HTML. Control characters are shown escaped (``\\x1b``).
"""

from __future__ import annotations

import re
from typing import Any

from ostriage.report._escape import shown_tree
from ostriage.report._placements import placements_in_containers

__all__ = ["render_markdown"]

_BACKTICKS = re.compile(r"`+")
_BEFORE_LT = re.compile(r"(\\*)<")
#: a nested list item must start where its parent's text starts ("1. " is three wide)
_NEST = "   "


def _code(text: str) -> str:
    """An inline code span that shows ``text`` exactly, whatever backticks it holds.

    >>> _code("a"), _code("a `b` c"), _code("``x")
    ('`a`', '``a `b` c``', '``` ``x ```')
    """
    text = text.strip()
    fence = "`" * (max((len(m) for m in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _prose(text: str) -> str:
    r"""Text outside code spans: ``<`` cannot open an HTML tag.

    >>> print(_prose("see <script>alert(1)</script>, and \\<b>"))
    see \<script>alert(1)\</script>, and \\\<b>
    """
    return _BEFORE_LT.sub(lambda m: m[1] * 2 + "\\<", text)


def _where(e: dict[str, Any]) -> str:
    return f"{e['path']}:{e['line']}"


def _evidence(ev: list[dict[str, Any]], indent: str = "") -> list[str]:
    return [f"{indent}- {_code(_where(e))} {_code(e['text'])}"
            + (f" — {_prose(e['note'])}" if e["note"] else "")
            for e in ev]


def _head(f: dict[str, Any]) -> str:
    return f"{_code(f['code'])} {f['rule']}"


def render_markdown(doc: dict[str, Any]) -> str:
    doc = shown_tree(doc)
    findings = {f["key"]: f for f in doc["findings"]}
    t = doc["target"]
    p = _prose
    out = [f"# ostriage diagnosis: {p(t['hostname'] or t['path'])}", "",
           f"- target: {t['kind']} {_code(t['path'])}"
           + (f", collected {t['collected_at']}" if t["collected_at"] else ""),
           f"- status: **{doc['status'].upper()}** ({len(doc['root_causes'])} root cause(s), "
           f"{len(doc['findings'])} finding(s))", ""]
    for n, story in enumerate(doc["root_causes"], 1):
        root = findings[story["finding"]]
        out += [f"## Root cause {n}: {p(root['summary'])}", "",
                f"**{root['severity']}** · {_head(root)} · subject {_code(root['subject'])}", "",
                p(root["explanation"]), "", "Evidence:", *_evidence(root["evidence"]), ""]
        if story["chain"]:
            out += ["Which caused:", ""]
            for step in story["chain"]:
                f = findings[step["finding"]]
                pad = _NEST * (step["depth"] - 1)
                out.append(f"{pad}1. **{p(f['summary'])}** ({_head(f)})")
                out += _evidence(f["evidence"][:3], pad + _NEST)
            out.append("")
        if story["contributors"]:
            out += ["Made worse by / related:", ""]
            for step in story["contributors"]:
                f = findings[step["finding"]]
                out.append(f"- *{step['relation']}*: **{p(f['summary'])}** ({_head(f)})")
                out += _evidence(f["evidence"][:2], "  ")
            out.append("")
        if root["remedy"]:
            out += [f"**Fix:** {p(root['remedy']['title'])}", "", *[f"- {p(s)}" for s in root["remedy"]["steps"]], ""]
    if doc["timeline"]:
        out += ["## Timeline", "", "| time | what | evidence |", "|---|---|---|"]
        out += [f"| {x['time']} | {p(x['what']).replace('|', '/')} | "
                f"{_code(_where(x['evidence']))} |"
                for x in doc["timeline"]]
        out.append("")
    out += ["## All findings", ""]
    for f in doc["findings"]:
        out += [f"### {f['severity']}: {p(f['summary'])}", "", f"{_head(f)} · {_code(f['subject'])}", "",
                p(f["explanation"]), "", *_evidence(f["evidence"]), ""]
    if not doc["findings"]:
        out += ["No findings.", ""]
    elsewhere = placements_in_containers(doc)
    if elsewhere:
        out += ["## Where services run", "", "| service | where |", "|---|---|"]
        out += [f"| {_code(service)} | {p(where).replace('|', '/')} |" for service, where in elsewhere]
        out.append("")
    missing = doc["facts"].get("missing") or []
    if doc["problems"] or doc["rule_failures"] or missing:
        out += ["## Could not read / check", ""]
        out += [f"- not available: {m}" for m in missing]
        out += [f"- {p(x)}" for x in doc["problems"]]
        out += [f"- rule {r['rule']} failed: {p(r['error'])}" for r in doc["rule_failures"]]
        out.append("")
    return "\n".join(out)
