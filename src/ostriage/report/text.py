"""Terminal rendering with rich: the story first, then the timeline, then every finding.

Meant to be pasted into a ticket: when stdout is not a terminal rich drops colour, wrapped lines keep
their indentation, and every claim is followed by the ``path:line`` it rests on. Every string goes
through ``Text``, never rich markup, so brackets in log lines are printed as they are, and control
characters (an ESC sequence in a log line) are shown escaped, never sent to the terminal.
"""

from __future__ import annotations

import io
from typing import Any, TextIO

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ostriage.report._escape import shown_tree
from ostriage.report._placements import placements_in_containers

__all__ = ["render_text"]

_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan", "healthy": "bold green"}
_EVIDENCE_WIDTH = 240


class _Out:
    def __init__(self, console: Console) -> None:
        self.console = console

    def line(self, text: Text | str, indent: int = 0, style: str = "") -> None:
        body = text if isinstance(text, Text) else Text(text, style=style)
        self.console.print(Padding(body, (0, 0, 0, indent), expand=False))

    def hanging(self, first: Text, rest: Text, indent: int) -> None:
        """``first`` then ``rest``, ``rest`` wrapping under itself: a wrapped note or timeline entry never
        starts a line of its own that would read as the next entry."""
        grid = Table.grid(padding=(0, 2))
        grid.add_column(overflow="fold")
        grid.add_column(overflow="fold")
        grid.add_row(first, rest)
        self.console.print(Padding(grid, (0, 0, 0, indent), expand=False))

    def evidence(self, ev: list[dict[str, Any]], indent: int, limit: int = 4) -> None:
        for e in ev[:limit]:
            text = e["text"].strip()
            if len(text) > _EVIDENCE_WIDTH:
                text = text[:_EVIDENCE_WIDTH] + "…"
            cite = Text(f"{e['path']}:{e['line']}", style="dim")
            if e.get("note"):
                self.hanging(cite, Text(f"({e['note']})", style="dim"), indent)
            else:
                self.line(cite, indent)
            self.line(Text(text), indent + 2)
        if len(ev) > limit:
            self.line(Text(f"… {len(ev) - limit} more evidence line(s) in --format json", style="dim"), indent)


def _head(f: dict[str, Any]) -> Text:
    t = Text()
    t.append(f"{f['severity'].upper()}", style=_STYLE[f["severity"]])
    t.append(f" {f['code']} {f['rule']}", style="bold")
    return t


def render_text(doc: dict[str, Any], out: TextIO, *, color: bool | None = None, width: int = 110) -> None:
    buffer = io.StringIO()
    terminal = out.isatty() if color is None else color
    console = Console(file=buffer, force_terminal=terminal, no_color=not terminal, width=width, highlight=False)
    _render(shown_tree(doc), console)
    # rich pads wrapped lines to the width; trailing blanks are noise in a ticket
    out.write("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n")


def _render(doc: dict[str, Any], console: Console) -> None:
    w = _Out(console)
    findings = {f["key"]: f for f in doc["findings"]}
    target = doc["target"]
    host = f" (host {target['hostname']})" if target.get("hostname") else ""
    when = f", collected {target['collected_at']}" if target.get("collected_at") else ""
    w.line(Text(f"ostriage diagnosis of {target['kind']} {target['path']}{host}{when}", style="bold"))
    status = doc["status"]
    w.line(Text.assemble(("Status: ", "bold"), (status.upper(), _STYLE[status]),
                         f"  ({len(doc['root_causes'])} root cause(s), {len(doc['findings'])} finding(s))"))
    if doc["facts"].get("missing"):
        w.line(Text("  as far as the evidence goes: some of it could not be read (see the end)", style="yellow"))

    for n, story in enumerate(doc["root_causes"], 1):
        root = findings[story["finding"]]
        console.print()
        console.rule(Text(f"ROOT CAUSE {n}", style=_STYLE[root["severity"]]), align="left")
        w.line(_head(root))
        w.line(Text(root["summary"], style="bold"), 2)
        w.line(root["explanation"], 2)
        w.evidence(root["evidence"], 4)
        for step in story["chain"]:
            f = findings[step["finding"]]
            pad = 2 * step["depth"]
            w.line(Text.assemble(("└─ which caused ", "dim"), _head(f)), pad)
            w.line(f["summary"], pad + 3)
            w.evidence(f["evidence"], pad + 5, limit=2)
        for step in story["contributors"]:
            f = findings[step["finding"]]
            w.line(Text.assemble((f"⊕ {step['relation']}: ", "dim"), _head(f)), 2)
            w.line(f["summary"], 5)
            w.evidence(f["evidence"], 7, limit=2)
        if root["remedy"]:
            w.line(Text(f"Fix: {root['remedy']['title']}", style="bold green"), 2)
            for s in root["remedy"]["steps"]:
                w.line(f"- {s}", 4)

    if doc["timeline"]:
        console.print()
        console.rule("TIMELINE", align="left")
        for t in doc["timeline"]:
            ev = t["evidence"]
            w.hanging(Text(t["time"], style="cyan"),
                      Text.assemble(t["what"], (f"  [{ev['path']}:{ev['line']}]", "dim")), 2)

    console.print()
    console.rule(f"ALL FINDINGS ({len(doc['findings'])})", align="left")
    for f in doc["findings"]:
        w.line(Text.assemble(_head(f), f"  [{f['subject']}]"), 2)
        w.line(f["summary"], 4)
        w.evidence(f["evidence"], 6, limit=1)
    if not doc["findings"]:
        w.line(Text("No findings: nothing in the evidence matches a known failure.", style="green"), 2)

    elsewhere = placements_in_containers(doc)
    if elsewhere:
        console.print()
        console.rule("WHERE SERVICES RUN (containers and machines)", align="left")
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for service, where in elsewhere:
            grid.add_row(Text(service, style="bold"), Text(where))
        console.print(Padding(grid, (0, 0, 0, 2), expand=False))

    missing = doc["facts"].get("missing") or []
    if doc["problems"] or doc["rule_failures"] or missing:
        console.print()
        console.rule("COULD NOT READ / CHECK", align="left")
        for m in missing:
            w.line(Text(f"not available: {m}", style="yellow"), 2)
        for p in doc["problems"]:
            w.line(Text(p, style="yellow"), 2)
        for r in doc["rule_failures"]:
            w.line(Text(f"rule {r['rule']} failed: {r['error']}", style="red"), 2)
