"""Markdown rendering, for tickets and chat: root causes with their chain, timeline, all findings."""

from __future__ import annotations

from typing import Any

__all__ = ["render_markdown"]


def _code(text: str) -> str:
    # a backtick inside a log line would end the inline code span early
    fence = "``" if "`" in text else "`"
    return f"{fence}{text.strip()}{fence}"


def _evidence(ev: list[dict[str, Any]], indent: str = "") -> list[str]:
    return [f"{indent}- `{e['path']}:{e['line']}` {_code(e['text'])}" + (f" — {e['note']}" if e["note"] else "")
            for e in ev]


def render_markdown(doc: dict[str, Any]) -> str:
    findings = {f["key"]: f for f in doc["findings"]}
    t = doc["target"]
    out = [f"# ostriage diagnosis: {t['hostname'] or t['path']}", "",
           f"- target: {t['kind']} `{t['path']}`" + (f", collected {t['collected_at']}" if t["collected_at"] else ""),
           f"- status: **{doc['status'].upper()}** ({len(doc['root_causes'])} root cause(s), "
           f"{len(doc['findings'])} finding(s))", ""]
    for n, story in enumerate(doc["root_causes"], 1):
        root = findings[story["finding"]]
        out += [f"## Root cause {n}: {root['summary']}", "",
                f"**{root['severity']}** · `{root['code']}` {root['rule']} · subject `{root['subject']}`", "",
                root["explanation"], "", "Evidence:", *_evidence(root["evidence"]), ""]
        if story["chain"]:
            out += ["Which caused:", ""]
            for step in story["chain"]:
                f = findings[step["finding"]]
                pad = "  " * (step["depth"] - 1)
                out.append(f"{pad}1. **{f['summary']}** (`{f['code']}` {f['rule']})")
                out += _evidence(f["evidence"][:3], pad + "   ")
            out.append("")
        if story["contributors"]:
            out += ["Made worse by / related:", ""]
            for step in story["contributors"]:
                f = findings[step["finding"]]
                out.append(f"- *{step['relation']}*: **{f['summary']}** (`{f['code']}` {f['rule']})")
                out += _evidence(f["evidence"][:2], "  ")
            out.append("")
        if root["remedy"]:
            out += [f"**Fix:** {root['remedy']['title']}", "", *[f"- {s}" for s in root["remedy"]["steps"]], ""]
    if doc["timeline"]:
        out += ["## Timeline", "", "| time | what | evidence |", "|---|---|---|"]
        out += [f"| {x['time']} | {x['what'].replace('|', '/')} | `{x['evidence']['path']}:{x['evidence']['line']}` |"
                for x in doc["timeline"]]
        out.append("")
    out += ["## All findings", ""]
    for f in doc["findings"]:
        out += [f"### {f['severity']}: {f['summary']}", "", f"`{f['code']}` {f['rule']} · `{f['subject']}`", "",
                f["explanation"], "", *_evidence(f["evidence"]), ""]
    if not doc["findings"]:
        out += ["No findings.", ""]
    if doc["problems"] or doc["rule_failures"]:
        out += ["## Could not read / check", ""]
        out += [f"- {p}" for p in doc["problems"]]
        out += [f"- rule {r['rule']} failed: {r['error']}" for r in doc["rule_failures"]]
        out.append("")
    return "\n".join(out)
