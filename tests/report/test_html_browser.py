"""The HTML report in a real browser (Debian's chromium, headless): it renders without a console error and
without fetching anything, the chart's marks are the diagnosis' events at their times (and OOM kills at
their anon-rss against the limit), nothing overflows a 1280 px window, printing shows the evidence, and no
secret reaches the DOM. A failing test leaves a full-page screenshot (its path is in the failure message;
``OSTRIAGE_SCREENSHOTS=DIR`` puts them there).

``make test`` installs chromium where it can (root and apt); elsewhere these tests are skipped, saying so.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ostriage.cli import main

from .browser import Browser, chromium

ROOT = Path(__file__).resolve().parents[2]
BUNDLES = {"seed-incident": ROOT / "examples" / "seed-incident",
           "seed-eventlet-reconstructed": ROOT / "tests" / "scenarios" / "seed-eventlet-reconstructed" / "sos"}
WIDTH = 1280
#: how far (CSS px) a mark may sit from where its event's time and size put it: the SVG is scaled to the
#: page, and coordinates are written to a tenth of a unit
TOLERANCE = 1.5

CHROMIUM = chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium to render the HTML report in (make test "
                                                          "installs Debian's chromium as root with apt; elsewhere: "
                                                          "apt-get install chromium, or set OSTRIAGE_CHROMIUM)")


def _run(*args: str | Path) -> int:
    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _render(target: Path, out: Path) -> dict[str, Any]:
    """The report as a user makes it (``diagnose --format html -o``) and the JSON document it comes from."""
    assert _run("diagnose", target, "--format", "html", "-o", out / "report.html") == 2
    assert _run("diagnose", target, "--format", "json", "-o", out / "report.json") == 2
    doc: dict[str, Any] = json.loads((out / "report.json").read_text())
    return doc


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None
    with Browser(CHROMIUM, width=WIDTH) as b:
        yield b


@pytest.fixture(scope="module", params=sorted(BUNDLES))
def page(request: pytest.FixtureRequest, browser: Browser,
         tmp_path_factory: pytest.TempPathFactory) -> tuple[Browser, dict[str, Any], Path]:
    out = tmp_path_factory.mktemp(request.param)
    doc = _render(BUNDLES[request.param], out)
    browser.open(out / "report.html")
    return browser, doc, out


@contextmanager
def screenshot_on_failure(browser: Browser, out: Path, name: str) -> Iterator[None]:
    try:
        yield
    except AssertionError as exc:
        where = Path(os.environ.get("OSTRIAGE_SCREENSHOTS", out))
        where.mkdir(parents=True, exist_ok=True)
        shot = browser.screenshot(where / f"{name}.png")
        raise AssertionError(f"{exc}\nscreenshot: {shot}") from exc


def test_no_console_error_and_nothing_fetched(page: tuple[Browser, dict[str, Any], Path]) -> None:
    browser, _, out = page
    with screenshot_on_failure(browser, out, "console"):
        assert browser.console_errors() == []
        assert [u for u in browser.requests() if not u.startswith("file://")] == []
        assert browser.evaluate("document.querySelectorAll('script, link[rel=stylesheet], img, iframe').length") == 0


MARKS = """(() => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; };
  const line = (kind, row) => document.querySelector(`svg.chart line.${kind}[data-row="${row}"]`);
  const axis = document.querySelector('svg.chart line.axis[data-t0]');
  return {
    axis: {box: box(axis), t0: +axis.dataset.t0, t1: +axis.dataset.t1},
    marks: [...document.querySelectorAll('svg.chart g.mark')].map(g => ({
      kind: g.dataset.kind, event: +g.dataset.event, dot: box(g.querySelector('.dot')),
      zero: line('zero', g.dataset.row) ? box(line('zero', g.dataset.row))[1] : null,
      limit: line('limit', g.dataset.row) ? box(line('limit', g.dataset.row))[1] : null,
      title: g.querySelector('title').textContent})),
  };
})()"""


def test_the_chart_marks_are_the_events(page: tuple[Browser, dict[str, Any], Path]) -> None:
    """One mark per event of the diagnosis, of its kind, at its time on the shared axis; an OOM kill's mark
    as high above its row's zero line as its anon-rss is against the memory cgroup's limit line."""
    browser, doc, out = page
    chart = browser.evaluate(MARKS)
    with screenshot_on_failure(browser, out, "marks"):
        events = doc["events"]
        assert events, "the example has a timeline"
        marks = chart["marks"]
        assert sorted(m["event"] for m in marks) == list(range(len(events)))
        assert Counter(m["kind"] for m in marks) == Counter(e["kind"] for e in events)
        left, _, width, _ = chart["axis"]["box"]
        t0, t1 = chart["axis"]["t0"], chart["axis"]["t1"]
        for m in marks:
            e = events[m["event"]]
            assert m["kind"] == e["kind"]
            assert e["time"] in m["title"] and e["evidence"]["path"] in m["title"]
            x = m["dot"][0] + m["dot"][2] / 2
            assert abs(x - (left + (e["offset_seconds"] - t0) / (t1 - t0) * width)) <= TOLERANCE, (m, e)
            if e["kind"] == "oom-kill" and e["limit_bytes"]:
                y = m["dot"][1] + m["dot"][3] / 2
                zero, limit = m["zero"], m["limit"]
                assert zero is not None and limit is not None
                expected = zero - e["bytes"] / e["limit_bytes"] * (zero - limit)
                assert abs(y - expected) <= TOLERANCE, (m, e)
                assert (y < limit + TOLERANCE) is (e["bytes"] >= e["limit_bytes"] * 0.99)


OVERFLOW = """(() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')].filter(e => {
    const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > width + 0.5 || r.left < -0.5); })
    .map(e => e.tagName + '.' + e.className.baseVal + e.className + ' ' + (e.textContent || '').slice(0, 60));
  const scrolled = [...document.querySelectorAll('pre, code, td, div, p, li')]
    .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'hidden'
                 && !(e.tagName === 'TD' && e.classList.contains('one')))
    .map(e => e.tagName + ' ' + e.textContent.slice(0, 60));
  return {page: document.documentElement.scrollWidth, width, wide, scrolled};
})()"""


def test_nothing_overflows_a_1280px_window(page: tuple[Browser, dict[str, Any], Path]) -> None:
    browser, _, out = page
    with screenshot_on_failure(browser, out, "overflow"):
        found = browser.evaluate(OVERFLOW)
        assert found["width"] <= WIDTH
        assert found["page"] <= found["width"], found
        assert found["wide"] == [] and found["scrolled"] == []


def test_the_summary_leads_and_the_findings_are_one_table(page: tuple[Browser, dict[str, Any], Path]) -> None:
    """Status, the root cause and what to do (the plan's diff) in the first screen; the stories' evidence
    folded; the findings table without the stories' explanations."""
    browser, doc, out = page
    with screenshot_on_failure(browser, out, "summary"):
        first = browser.evaluate("""(() => {
          const top = s => document.querySelector(s).getBoundingClientRect().top;
          return {status: top('header .pill'), cause: top('.cause .sentence'), todo: top('.todo pre.diff'),
                  chart: top('svg.chart'), screen: window.innerHeight};
        })()""")
        assert max(first["status"], first["cause"], first["todo"]) < first["screen"]
        text = browser.evaluate("document.querySelector('.cause .sentence').textContent")
        assert text == doc["root_causes"][0]["summary"]
        shown = browser.evaluate("[...document.querySelectorAll('.todo pre.diff')].map(p => p.textContent)")
        for change, diff in zip(doc["fix"]["changes"], shown, strict=True):
            for line in change["diff"].splitlines():
                if line.startswith(("+", "-")) and not line.startswith(("+++", "---")):
                    assert line in diff
        folded = browser.evaluate("[...document.querySelectorAll('.story details')].filter(d => !d.open).length")
        assert folded == browser.evaluate("document.querySelectorAll('.story details').length") > 0
        rows = browser.evaluate("[...document.querySelectorAll('table.findings tr')].slice(1).map(r => "
                                "[...r.cells].map(c => c.textContent))")
        assert [r[1] for r in rows] == [f["code"] for f in doc["findings"]]
        table = browser.evaluate("document.querySelector('table.findings').textContent")
        told = {s["finding"] for story in doc["root_causes"] for s in [story, *story["chain"], *story["contributors"]]}
        assert told and not [f for f in doc["findings"] if f["key"] in told and f["explanation"] in table]
        height = browser.evaluate("document.documentElement.scrollHeight")
        assert height <= 2.6 * first["screen"], f"{height} px: more than two screens and a half"


def test_printing_unfolds_the_evidence(page: tuple[Browser, dict[str, Any], Path]) -> None:
    browser, doc, out = page
    cited = next(e for e in doc["findings"][0]["evidence"])
    visible = "[...document.querySelectorAll('.story .ev code')].filter(c => c.checkVisibility()).length"
    with screenshot_on_failure(browser, out, "print"):
        assert browser.evaluate(visible) == 0  # folded on screen
        browser.call("Emulation.setEmulatedMedia", {"media": "print"}, session=True)
        try:
            assert browser.evaluate(visible) == browser.evaluate("document.querySelectorAll('.story .ev code').length")
            assert cited["text"][:40] in browser.evaluate("document.body.innerText")
        finally:
            browser.call("Emulation.setEmulatedMedia", {"media": ""}, session=True)
        assert browser.pdf().startswith(b"%PDF")


SECRETS = ("Hunter2-Secret", "NovaS3cret-in-a-url", "ostlab-dummy-db-password")


def test_no_secret_reaches_the_dom(browser: Browser, seed_copy: Path, tmp_path: Path) -> None:
    """Secrets where the page would show them: in the fix's diff (a password beside the range it changes)
    and in a cited log line (credentials in the URL nova-api failed to reach)."""
    ml2 = seed_copy / "etc/neutron/plugins/ml2/ml2_conf.ini"
    ml2.write_text(ml2.read_text().replace("vni_ranges = 1:16777215\n",
                                           f"vni_ranges = 1:16777215\nadmin_password = {SECRETS[0]}\n"))
    nova = seed_copy / "var/log/nova/nova-api.log"
    nova.write_text(nova.read_text().replace("http://127.0.0.1:9696/", f"http://admin:{SECRETS[1]}@127.0.0.1:9696/"))
    doc = _render(seed_copy, tmp_path)
    browser.open(tmp_path / "report.html")
    with screenshot_on_failure(browser, tmp_path, "secrets"):
        assert "admin_password = ***" in "\n".join(c["diff"] for c in doc["fix"]["changes"])
        assert any("admin:***@" in e["evidence"]["text"] for e in doc["events"])
        dom = browser.evaluate("document.documentElement.outerHTML")
        text = browser.evaluate("document.body.innerText")
        titles = browser.evaluate("[...document.querySelectorAll('title')].map(t => t.textContent).join('\\n')")
        for secret in SECRETS:
            assert secret not in dom and secret not in text and secret not in titles
        assert re.search(r"admin_password = \*\*\*", text)
