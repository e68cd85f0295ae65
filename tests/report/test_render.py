"""The four renderings of the seed incident's diagnosis, and hostile text from the host in each of them.

Text: the story a person reads first (root cause, the chain beneath it, what aggravated it, the second
root cause), every claim followed by a real ``path:line``. HTML: well-formed, autoescaped. Markdown:
the structure a ticket system renders. A log line holding ``<script>`` and terminal escape sequences
must come out as text everywhere: escaped in HTML, literal in the text report and in Markdown code
spans, never a tag or a control sequence.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import markdown_it  # a dependency of rich, so always installed with ostriage
import markupsafe  # jinja2's escaping
import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-incident"
Ostriage = Any  # the ``ostriage`` fixture of conftest.py
Replace = Any  # the ``replace`` fixture of conftest.py
CONSOLE_SCRIPT = str(Path(sys.executable).with_name("ostriage")) if Path(sys.executable).with_name(
    "ostriage").exists() else (shutil.which("ostriage") or "ostriage")

CITATION = re.compile(r"^(?P<indent> *)(?P<path>[\w./-]+):(?P<line>\d+)(?:  \((?P<note>.*))?$")
SCRIPT = "<script>alert(1)</script>"
ESCAPES = "\x1b[2J\x1b]52;c;cHduZWQ=\x07\x00"


@pytest.fixture(scope="module")
def seed_text() -> str:
    """``ostriage diagnose examples/seed-incident`` as a user runs it (plain: stdout is not a terminal)."""
    # one real run of the console script, from the repository root as the README shows it
    run = subprocess.run([CONSOLE_SCRIPT, "diagnose", "examples/seed-incident"],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert run.returncode == 2, run.stderr
    assert run.stderr == ""
    return run.stdout


def _sections(text: str) -> dict[str, list[str]]:
    """The report's sections by their rule title (``ROOT CAUSE 1``, ``TIMELINE``, ``ALL FINDINGS (10)``)."""
    sections: dict[str, list[str]] = {"head": []}
    current = "head"
    for line in text.splitlines():
        m = re.match(r"^([A-Z][A-Z0-9 ()/]+?) ─{3,}$", line)
        if m:
            current = m[1]
            sections[current] = []
        else:
            sections[current].append(line)
    return sections


def _check_citation(lines: list[str], i: int, root: Path) -> None:
    """``path:line`` names a real line of the bundle, and the report shows that line's text beneath it (the
    first line indented two more than the citation: a long note wraps under itself, at its own column)."""
    m = CITATION.match(lines[i])
    assert m, lines[i]
    source = (root / m["path"]).read_text(errors="replace").splitlines()
    number = int(m["line"])
    assert 1 <= number <= len(source), lines[i]
    indent = " " * (len(m["indent"]) + 2)
    shown = next(line for line in lines[i + 1:] if line.startswith(indent) and line[len(indent)] != " ")
    expected = source[number - 1].strip()[:40].split("  ")[0]
    assert shown.strip().startswith(expected), (lines[i], shown, expected)


def _line_of(path: Path, text: str) -> int:
    """The 1-based number of the first line of ``path`` that is exactly ``text``."""
    return path.read_text().splitlines().index(text) + 1


def _unwrap(lines: list[str]) -> str:
    return re.sub(r" *\n *", " ", "\n".join(lines))


def test_text_report_head(seed_text: str, seed_doc: dict[str, Any]) -> None:
    head = _unwrap(_sections(seed_text)["head"])
    target = seed_doc["target"]
    assert head.startswith(f"ostriage diagnosis of sosreport examples/seed-incident (host {target['hostname']}), "
                           f"collected {target['collected_at']}")
    assert (f"Status: CRITICAL  ({len(seed_doc['root_causes'])} root cause(s), {len(seed_doc['findings'])} "
            "finding(s))") in head


def _story_lines(story: list[str]) -> tuple[list[tuple[int, str, str]], list[tuple[str, str, str]]]:
    """(indent, code, rule) of each "which caused" line and (relation, code, rule) of each contributor."""
    chain = [(len(m["pad"]), m["code"], m["rule"]) for line in story
             if (m := re.match(r"^(?P<pad> *)└─ which caused [A-Z]+ (?P<code>\w+) (?P<rule>\S+)$", line))]
    contributors = [(m["relation"], m["code"], m["rule"]) for line in story
                    if (m := re.match(r"^  ⊕ (?P<relation>\w+): [A-Z]+ (?P<code>\w+) (?P<rule>\S+)$", line))]
    return chain, contributors


def test_text_report_tells_the_story(seed_text: str, seed_doc: dict[str, Any]) -> None:
    sections = _sections(seed_text)
    assert list(sections)[:3] == ["head", "ROOT CAUSE 1", "ROOT CAUSE 2"]
    story = sections["ROOT CAUSE 1"]
    assert story[0] == "CRITICAL NEU001 ml2-segment-range-too-large"
    assert story[1] == ("  [ml2_type_geneve] vni_ranges = 1:16777215 makes neutron build 16,777,215 geneve allocations "
                        "at every start")
    chain, contributors = _story_lines(story)
    # the text tells the document's chain, each step indented by its depth
    want = seed_doc["root_causes"][0]
    assert [(2 * s["depth"], s["code"], s["rule"]) for s in want["chain"]] == chain
    assert [(s["relation"], s["code"], s["rule"]) for s in want["contributors"]] == contributors
    # and it is the incident's chain: OOM-kill loop → crash loop (→ port 9696 down) → nova-api's HTTP 500s
    codes = [c for _, c, _ in chain]
    assert codes[0] == "OOM001"
    assert codes.index("OOM001") < codes.index("SYS003") < codes.index("NOV001")
    if "NEU002" in codes:
        assert codes.index("SYS003") < codes.index("NEU002") < codes.index("NOV001")
    text = _unwrap(story)
    oom = next(f for f in seed_doc["findings"] if f["code"] == "OOM001")
    assert f"neutron-server.service was OOM-killed {oom['data']['kills']} times between" in text
    assert re.search(r"nova-api failed \d+ time\(s\) to connect to neutron \(http://[^)]*:9696/v2\.0/\S+\)", text)
    # the memory limit aggravates; the OOM protection is told beside it
    assert ("aggravates", "SYS001", "unit-memory-limit-below-need") in contributors
    assert [c for c in contributors if c[1] == "SYS002"]
    assert "  Fix: set [ml2_type_geneve] vni_ranges = 1:65535 and restart neutron-server" in story
    # the range's own line is cited first
    ini = next(e for e in next(f for f in seed_doc["findings"] if f["code"] == "NEU001")["evidence"])
    assert ini["text"] == "vni_ranges = 1:16777215"
    assert ini["line"] == _line_of(SEED / ini["path"], "vni_ranges = 1:16777215")
    cite = story.index(f"    {ini['path']}:{ini['line']}  (16,777,215 IDs)")
    assert story[cite + 1] == "      vni_ranges = 1:16777215"


def test_text_report_second_and_third_root_causes(seed_text: str, seed_doc: dict[str, Any]) -> None:
    """Masked by the OOM for now, the ovn-router plugin without the ovn driver would stop neutron next;
    the OVS agent's missing bridge is a problem of its own."""
    mech = _sections(seed_text)["ROOT CAUSE 2"]
    assert mech[0] == "CRITICAL NEU003 ml2-mechanism-driver-mismatch"
    assert mech[1].startswith("  mechanism_drivers = openvswitch with the ovn-router plugin: neutron-server cannot")
    assert "  Fix: set [ml2] mechanism_drivers = ovn" in mech
    story = _sections(seed_text)["ROOT CAUSE 3"]
    assert story[0] == "CRITICAL OVS001 ovs-agent-bridge-missing"
    assert story[1] == "  neutron-openvswitch-agent exits: bridge br-ex for physical network phynet2 does not exist"
    chain, _ = _story_lines(story)
    want = seed_doc["root_causes"][2]
    assert [(s["code"], s["rule"]) for s in want["chain"]] == [(c, r) for _, c, r in chain]
    assert any(line.endswith("Agent terminated!") for line in story)
    assert "  Fix: create br-ex (ovs-vsctl add-br br-ex) or correct bridge_mappings" in story


def test_every_citation_of_the_text_report_is_a_real_line(seed_text: str, seed_doc: dict[str, Any]) -> None:
    lines = seed_text.splitlines()
    cited = 0
    for i, line in enumerate(lines):
        m = CITATION.match(line)
        if m and (SEED / m["path"]).is_file():
            _check_citation(lines, i, SEED)
            cited += 1
    shown = sum(min(len(f["evidence"]), 1) for f in seed_doc["findings"])
    assert cited > shown  # every finding's first line at least once, the stories' lines more


def test_text_report_timeline_and_all_findings(seed_text: str, seed_doc: dict[str, Any]) -> None:
    sections = _sections(seed_text)
    # one entry per time; a long entry wraps under its own text, never under the time
    entries: list[str] = []
    for line in sections["TIMELINE"]:
        if re.match(r"^  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  \S", line):
            entries.append(line)
        elif line.strip():
            assert line.startswith(" " * 23) and entries, line
            entries[-1] += " " + line.strip()
    assert len(entries) == len(seed_doc["timeline"])
    for entry, t in zip(entries, seed_doc["timeline"], strict=True):
        assert entry == f"  {t['time']}  {t['what']} [{t['evidence']['path']}:{t['evidence']['line']}]" or \
            entry == f"  {t['time']}  {t['what']}  [{t['evidence']['path']}:{t['evidence']['line']}]"
    assert any("OOM-killed (anon-rss" in e for e in entries)
    assert any("nova-api cannot reach neutron (HTTP 500)" in e for e in entries)
    times = [entry.split()[0] + " " + entry.split()[1] for entry in entries]
    assert times == sorted(times)
    n = len(seed_doc["findings"])
    findings = [line for line in sections[f"ALL FINDINGS ({n})"] if re.match(r"^  (CRITICAL|WARNING|INFO) ", line)]
    assert [f.split()[1] for f in findings] == [f["code"] for f in seed_doc["findings"]]


def test_text_colour_only_when_asked(ostriage: Ostriage) -> None:
    plain = ostriage("diagnose", SEED, "--color", "never")
    coloured = ostriage("diagnose", SEED, "--color", "always")
    assert "\x1b[" not in plain.out
    assert "\x1b[1;31mCRITICAL" in coloured.out
    uncoloured = re.sub(r"\x1b\[[0-9;]*m", "", coloured.out)
    assert [line.rstrip() for line in uncoloured.splitlines()] == plain.out.splitlines()


class _Structure(HTMLParser):
    """Checks that every element is closed, in order; records tags and text."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "wbr", "col"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _html_structure(html: str) -> _Structure:
    parser = _Structure()
    parser.feed(html)
    parser.close()
    assert parser.doctype.lower() == "doctype html"
    assert parser.errors == []
    assert parser.stack == []
    return parser


def test_html_is_well_formed(ostriage: Ostriage, seed_doc: dict[str, Any]) -> None:
    run = ostriage("diagnose", SEED, "--format", "html")
    assert run.code == 2
    page = _html_structure(run.out)
    assert page.tags[:5] == ["html", "head", "meta", "meta", "title"]  # charset, viewport
    assert page.tags.count("section") == 1 + 3  # the summary, one story per root cause
    assert "script" not in page.tags
    assert page.tags.count("svg") >= 1 and page.tags.count("details") >= len(seed_doc["findings"])
    text = "".join(page.text)
    assert "Root cause 1: [ml2_type_geneve] vni_ranges = 1:16777215" in text
    assert "Root cause 2: mechanism_drivers = openvswitch with the ovn-router plugin" in text
    assert "Root cause 3: neutron-openvswitch-agent exits: bridge br-ex" in text
    ini = _ini_citation()
    assert f"{ini['path']}:{ini['line']} — 16,777,215 IDs" in text
    # every evidence line is in the page, autoescaped (quotes, ampersands, '<urllib3...>' of keystoneauth's errors)
    for f in seed_doc["findings"]:
        for e in f["evidence"][:50]:
            assert str(markupsafe.escape(e["text"])) in run.out, e


def _markdown(md: str) -> list[Any]:
    return markdown_it.MarkdownIt("commonmark").enable("table").parse(md)


def _ini_citation() -> dict[str, Any]:
    path = next(p for p in (SEED / "etc/neutron").rglob("*") if p.is_file()
                and "vni_ranges = 1:16777215" in p.read_text().splitlines())
    return {"path": str(path.relative_to(SEED)), "line": _line_of(path, "vni_ranges = 1:16777215")}


def test_markdown_structure(ostriage: Ostriage, seed_doc: dict[str, Any]) -> None:
    run = ostriage("diagnose", SEED, "--format", "markdown")
    assert run.code == 2
    tokens = _markdown(run.out)
    headings = [(t.tag, tokens[i + 1].content) for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings[0] == ("h1", f"ostriage diagnosis: {seed_doc['target']['hostname']}")
    h2 = [text for tag, text in headings if tag == "h2"]
    assert h2[0].startswith("Root cause 1: [ml2_type_geneve] vni_ranges = 1:16777215")
    assert h2[1].startswith("Root cause 2: mechanism_drivers = openvswitch with the ovn-router plugin")
    assert h2[2].startswith("Root cause 3: neutron-openvswitch-agent exits: bridge br-ex")
    assert h2[3:] == ["Timeline", "All findings"]
    assert len([tag for tag, _ in headings if tag == "h3"]) == len(seed_doc["findings"])
    assert not [t for t in tokens if t.type in ("html_block", "html_inline")]
    inline = [c for t in tokens if t.children for c in t.children]
    assert not [c for c in inline if c.type == "html_inline"]
    codes = [c.content for c in inline if c.type == "code_inline"]
    ini = _ini_citation()
    assert f"{ini['path']}:{ini['line']}" in codes
    assert "vni_ranges = 1:16777215" in codes
    # the first chain is a nested ordered list, as deep as the chain
    depth = max_depth = 0
    for t in tokens:
        if t.type == "ordered_list_open":
            depth += 1
            max_depth = max(max_depth, depth)
        elif t.type == "ordered_list_close":
            depth -= 1
    assert max_depth == max(s["depth"] for s in seed_doc["root_causes"][0]["chain"]) >= 3
    assert sum(t.type == "table_open" for t in tokens) == 1


@pytest.fixture(scope="module")
def hostile(seed_module_copy: Path, seed_doc: dict[str, Any]) -> Path:
    """The example bundle with ``<script>`` in the neutron URL nova-api fails to reach (so in NOV001's summary, the
    timeline and its cited lines) and terminal escape sequences, BEL and NUL at the end of the OVS agent's cited
    'Agent terminated!' line."""
    seed_copy = seed_module_copy
    nova = next(f for f in seed_doc["findings"] if f["code"] == "NOV001")
    base = re.match(r"[a-z]+://[^/]+/v2\.0/", nova["data"]["url"])
    assert base, nova["data"]["url"]
    for e in nova["evidence"][:1]:
        log = seed_copy / e["path"]
        text = log.read_text()
        assert text.count(base[0]) >= nova["data"]["connect_failures"]
        log.write_text(text.replace(base[0], f"{base[0]}{SCRIPT}/"))
    agent = next(f for f in seed_doc["findings"] if f["code"] == "OVS001")["evidence"][0]
    log = seed_copy / agent["path"]
    lines = log.read_text().split("\n")
    assert lines[agent["line"] - 1].endswith("Agent terminated!")
    lines[agent["line"] - 1] += f" {ESCAPES}"
    log.write_text("\n".join(lines))
    return seed_copy


def test_hostile_text_is_printed_literally(hostile: Path, ostriage: Ostriage) -> None:
    run = ostriage("diagnose", hostile, "--color", "never")
    assert run.code == 2
    unwrapped = re.sub(r" *\n *", " ", run.out)
    assert re.search(rf"nova-api failed \d+ time\(s\) to connect to neutron \(http://\S+/v2\.0/{re.escape(SCRIPT)}/",
                     unwrapped)
    cited = re.search(r"var/log/nova/nova-api\.log:\d+\s+\(\d+ connection failure\(s\) to neutron\) (.*)", unwrapped)
    assert cited and f"/v2.0/{SCRIPT}/" in cited[1].split(" var/log/")[0]
    assert re.search(r"Agent terminated! \\x1b\[2J\\x1b\]52;c;cHduZWQ=\\x07\\x00 ", unwrapped)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", run.out)


def test_hostile_text_is_escaped_in_html(hostile: Path, ostriage: Ostriage) -> None:
    run = ostriage("diagnose", hostile, "--format", "html")
    assert run.code == 2
    assert "<script" not in run.out.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in run.out
    page = _html_structure(run.out)
    assert "script" not in page.tags
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", run.out)
    assert "Agent terminated! \\x1b[2J\\x1b]52;c;cHduZWQ=\\x07\\x00" in "".join(page.text)


def test_hostile_text_in_markdown(hostile: Path, ostriage: Ostriage) -> None:
    run = ostriage("diagnose", hostile, "--format", "markdown")
    assert run.code == 2
    tokens = _markdown(run.out)
    inline = [c for t in tokens if t.children for c in t.children]
    assert not [c for c in [*tokens, *inline] if c.type in ("html_block", "html_inline")]
    codes = [c.content for c in inline if c.type == "code_inline"]
    assert any(SCRIPT in c and "ConnectFailure" in c for c in codes), "the cited line, literally, in a code span"
    texts = "".join(c.content for c in inline if c.type == "text")
    assert re.search(rf"connect to neutron \(http://\S+/v2\.0/{re.escape(SCRIPT)}/", texts), \
        "the summary reads literally once rendered"
    rendered = markdown_it.MarkdownIt("commonmark").enable("table").render(run.out)
    assert "<script" not in rendered
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", run.out)


def test_json_keeps_the_exact_text(hostile: Path, ostriage: Ostriage) -> None:
    doc = ostriage("diagnose", hostile, "--format", "json").json()
    texts = [e["text"] for f in doc["findings"] for e in f["evidence"]]
    assert any(SCRIPT in t for t in texts)
    assert any(t.endswith(f"Agent terminated! {ESCAPES}") for t in texts)
    nova = next(f for f in doc["findings"] if f["code"] == "NOV001")
    assert f"/v2.0/{SCRIPT}/" in nova["data"]["url"]
    json.dumps(doc, ensure_ascii=True)  # still encodable for strict consumers
