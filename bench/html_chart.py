#!/usr/bin/env python3
"""What the HTML report's chart costs, against drawing it with a charting library.

    python bench/html_chart.py                          # ostriage's own SVG: layout, whole page
    python bench/html_chart.py --python /tmp/v/bin/python   # also pygal and matplotlib, installed in that
                                                        # interpreter (pip install pygal matplotlib)

For each library: the bytes its distribution and everything it requires install (RECORD sizes), the time
to import it in a fresh interpreter, and the time to render the same marks (the example's events: a
bar per OOM kill, a marker per restart or failure) to an SVG string; ostriage's numbers come from this
process, a median of repeated runs, and are printed beside them as ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from ostriage.diagnosis import diagnose  # noqa: E402
from ostriage.facts import collect  # noqa: E402
from ostriage.remedy.run import proposed_fix  # noqa: E402
from ostriage.report import to_document  # noqa: E402
from ostriage.report.chart import layout  # noqa: E402
from ostriage.report.html import render_html  # noqa: E402
from ostriage.sources import SosReport  # noqa: E402

RUNS = 30

# run in the other interpreter: size of each distribution and its requirements, import and render times
PROBE = r"""
import json, re, sys, time
from importlib import metadata

def closure(name, seen):
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        return
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return
    seen[key] = sum(f.size or 0 for f in dist.files or ())
    for req in dist.requires or ():
        if "extra ==" not in req:
            closure(re.split(r"[ ;<>=!~\[(]", req, maxsplit=1)[0], seen)

events = json.loads(sys.stdin.read())
lib = sys.argv[1]
seen = {}
closure(lib, seen)
start = time.perf_counter()
if lib == "pygal":
    import pygal
else:
    import matplotlib
    matplotlib.use("svg")
    import matplotlib.pyplot as plt
imported = time.perf_counter() - start
renders = []
for _ in range(10):
    start = time.perf_counter()
    if lib == "pygal":
        chart = pygal.XY(stroke=False)
        for kind in sorted({e["kind"] for e in events}):
            chart.add(kind, [(e["offset_seconds"], (e["bytes"] or 0) / 2**30) for e in events if e["kind"] == kind])
        chart.render()
    else:
        import io
        fig, ax = plt.subplots(figsize=(12, 3))
        for kind in sorted({e["kind"] for e in events}):
            xs = [e["offset_seconds"] for e in events if e["kind"] == kind]
            ax.scatter(xs, [(e["bytes"] or 0) / 2**30 for e in events if e["kind"] == kind], label=kind)
        fig.savefig(io.BytesIO(), format="svg")
        plt.close(fig)
    renders.append(time.perf_counter() - start)
renders.sort()
print(json.dumps({"bytes": sum(seen.values()), "dists": sorted(seen), "import": imported,
                  "render": renders[len(renders) // 2]}))
"""


def _median(fn: Any) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", help="an interpreter with pygal and matplotlib installed")
    args = ap.parse_args()
    with SosReport(REPO / "examples" / "seed-incident") as source:
        facts = collect(source)
        d = diagnose(facts)
        doc = to_document(d, proposed_fix(source, facts, d))
    events = doc["events"]
    chart = _median(lambda: layout(events))
    page = _median(lambda: render_html(doc))
    own = (REPO / "src/ostriage/report/chart.py").stat().st_size
    print(f"{len(events)} events of examples/seed-incident, medians of {RUNS} runs")
    print(f"{'':24} {'installs':>10} {'import':>9} {'chart':>9}  vs ostriage's chart")
    print(f"{'ostriage (own SVG)':24} {own / 1024:>8.0f} K {'-':>9} {chart * 1000:>7.2f} ms  (whole page "
          f"{page * 1000:.1f} ms)")
    if args.python:
        for lib in ("pygal", "matplotlib"):
            run = subprocess.run([args.python, "-c", PROBE, lib], input=json.dumps(events), capture_output=True,
                                 text=True, check=False)
            if run.returncode != 0:
                print(f"{lib:24} not usable: {run.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(run.stdout)
            print(f"{lib:24} {r['bytes'] / 2**20:>8.1f} M {r['import'] * 1000:>6.0f} ms {r['render'] * 1000:>6.1f} ms"
                  f"  {r['render'] / chart:.0f}x the chart's time, +{r['import'] * 1000:.0f} ms per run "
                  f"({', '.join(r['dists'])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
