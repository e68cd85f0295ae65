"""How long `ostriage diagnose` takes and how much memory it needs, with hotsos as the baseline when installed.

Each run is a separate process (the console script, as a user runs it); its wall time is measured around
it and its peak RSS is the child's own ``ru_maxrss`` from ``os.wait4``. Targets: the real ussuri compute
sosreport as a tarball (unpacked by the tool itself) and as an unpacked directory, and the seed incident
bundle. Every (tool, target) pair runs ``--repeat`` times; the table shows median, min and max.

    .venv/bin/python bench/diagnose_speed.py [--repeat 5] [--hotsos /path/to/hotsos] [--no-hotsos]

hotsos (canonical/hotsos, from PyPI) is looked for as ``--hotsos``, then ``$HOTSOS``, then ``hotsos`` on PATH.
To install it apart from ostriage's environment:

    python3 -m venv /tmp/hotsos-venv && /tmp/hotsos-venv/bin/pip install hotsos
    HOTSOS=/tmp/hotsos-venv/bin/hotsos .venv/bin/python bench/diagnose_speed.py

It prints numbers only: nothing is asserted (timings belong to the machine they were taken on).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
USSURI = ROOT.parent / "shared" / "fixtures" / "sosreport-ussuri-compute.tar.xz"
SEED = ROOT / "examples" / "seed-incident"


@dataclass
class Sample:
    seconds: float
    peak_rss_kib: int
    exit_code: int


@dataclass
class Series:
    tool: str
    target: str
    samples: list[Sample] = field(default_factory=list)

    def seconds(self) -> list[float]:
        return [s.seconds for s in self.samples]

    def rss_mib(self) -> list[float]:
        return [s.peak_rss_kib / 1024 for s in self.samples]


def run_once(argv: list[str], cwd: Path) -> Sample:
    """One child process: wall time around it, and its own peak RSS (``ru_maxrss``, KiB on Linux)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Sample(elapsed, int(usage.ru_maxrss), proc.returncode)


def ostriage_command() -> list[str]:
    beside = Path(sys.executable).with_name("ostriage")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("ostriage")
    return [found] if found else [sys.executable, "-m", "ostriage.cli"]


def find_hotsos(given: str | None) -> str | None:
    for candidate in (given, os.environ.get("HOTSOS"), shutil.which("hotsos")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def version_of(argv: list[str]) -> str:
    try:
        out = subprocess.run([*argv, "--version"], capture_output=True, text=True, timeout=60, check=False)
    except OSError as exc:
        return f"unknown ({exc})"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "unknown"


def unpack(tarball: Path, into: Path) -> Path:
    with tarfile.open(tarball) as tar:
        tar.extractall(into, filter="data")
    (root,) = [p for p in into.iterdir() if p.is_dir()]
    return root


def fmt(values: list[float], unit: str, digits: int = 2) -> str:
    return (f"{statistics.median(values):.{digits}f}{unit} "
            f"[{min(values):.{digits}f}–{max(values):.{digits}f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool and target (default 3)")
    parser.add_argument("--hotsos", help="the hotsos executable (default: $HOTSOS, else hotsos on PATH)")
    parser.add_argument("--no-hotsos", action="store_true", help="measure ostriage only")
    parser.add_argument("--tarball", type=Path, default=USSURI, help="the real sosreport tarball")
    args = parser.parse_args()

    if not args.tarball.exists():
        sys.exit(f"no tarball at {args.tarball} (give --tarball)")
    tools: dict[str, list[str]] = {"ostriage": [*ostriage_command(), "diagnose"]}
    hotsos = None if args.no_hotsos else find_hotsos(args.hotsos)
    if hotsos:
        tools["hotsos"] = [hotsos]

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")
    print(f"ostriage: {version_of(ostriage_command())}")
    if hotsos:
        print(f"hotsos:   {version_of([hotsos])} ({hotsos})")
    else:
        print("hotsos:   not installed (see --hotsos): ostriage only")
    print(f"runs per tool and target: {args.repeat}; times are wall seconds, memory is the process's peak RSS")
    print()

    with tempfile.TemporaryDirectory(prefix="ostriage-bench-") as tmp:
        unpacked = unpack(args.tarball, Path(tmp))
        targets = {
            f"ussuri tarball ({args.tarball.stat().st_size / 2**20:.1f} MiB .tar.xz)": args.tarball,
            "ussuri unpacked directory": unpacked,
            "seed incident (examples/)": SEED,
        }
        results: list[Series] = []
        for label, target in targets.items():
            for tool, argv in tools.items():
                series = Series(tool, label)
                for _ in range(args.repeat):
                    series.samples.append(run_once([*argv, str(target)], ROOT))
                results.append(series)
                print(f"  measured {tool:8} on {label}: {fmt(series.seconds(), ' s')}", file=sys.stderr, flush=True)

    width = max(len(s.target) for s in results)
    head = f"{'wall time, median [min–max]':30}  {'peak RSS, median [min–max]':32}"
    print(f"{'target':{width}}  {'tool':8}  {head}  exit")
    print("-" * (width + 84))
    for s in results:
        codes = sorted({x.exit_code for x in s.samples})
        print(f"{s.target:{width}}  {s.tool:8}  {fmt(s.seconds(), ' s'):30}  {fmt(s.rss_mib(), ' MiB', 0):32}  "
              f"{','.join(map(str, codes))}")
    if hotsos:
        print()
        print("hotsos / ostriage (medians; > 1 means ostriage is faster or smaller):")
        for label in targets:
            o = next(s for s in results if s.target == label and s.tool == "ostriage")
            h = next(s for s in results if s.target == label and s.tool == "hotsos")
            print(f"  {label:{width}}  time x{statistics.median(h.seconds()) / statistics.median(o.seconds()):.1f}"
                  f"  memory x{statistics.median(h.rss_mib()) / statistics.median(o.rss_mib()):.1f}")


if __name__ == "__main__":
    main()
