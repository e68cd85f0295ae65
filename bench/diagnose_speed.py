"""How fast `ostriage diagnose` is, against baselines run in the same run: grep -F, hotsos, itself unpacked.

Each run is a separate process (the console script, as a user runs it): wall time around it, peak RSS from
its own ``ru_maxrss`` (``os.wait4``; the largest of the process and its workers). Every measurement runs
``--repeat`` times, interleaved with its baseline, and the table shows medians [min–max]; the ratios are
of medians of the same run (the machine is shared: only ratios taken together mean anything).

1. **Inflated bundle** (``bench/inflate_bundle.py``: the seed incident with neutron-server.log grown to 1 GiB
   and nova-api.log to 512 MiB): ostriage vs ``grep -F -c`` with the five literals of issue 9 over the same
   two files; the diagnosis must name the same root causes as the seed bundle's.
2. **Real ussuri sosreport**, tarball and unpacked: ostriage vs hotsos (when installed apart), and the
   tarball vs the directory.
3. **A report with a full sys/** (``--full-sys DIR``, e.g. hotsos's ``tests/unit/fake_data_root/openstack``,
   75,000 files under sys/): packed here as .tar.xz, tarball vs directory.
4. ``--floods``: the seed bundle with a 38 M-line .xz rotation of the real "geneve ID ranges" line, with
   a kern.log of 1 M OOM kills, and with a journal of 2.5 M lines (``bench/journal_flood.py``: 250,000 rounds
   of an OOM crash loop, kernel, systemd and the service's own entries): peak RSS, and the root cause.

    .venv/bin/python bench/diagnose_speed.py [--repeat 3] [--hotsos PATH] [--full-sys DIR] [--floods]

hotsos is looked for as ``--hotsos``, then ``$HOTSOS``, then ``hotsos`` on PATH; install it apart:
``python3 -m venv /tmp/hotsos-venv && /tmp/hotsos-venv/bin/pip install hotsos``.
It prints numbers only: nothing is asserted (timings belong to the machine they were taken on).
"""

from __future__ import annotations

import argparse
import compileall
import json
import lzma
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inflate_bundle import GREP_LITERALS, GROWN, build
from journal_flood import flood_journal

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OSTRIAGE_SHARED", ROOT.parent / "shared"))
USSURI = SHARED / "fixtures" / "sosreport-ussuri-compute.tar.xz"
SEED = ROOT / "examples" / "seed-incident"
_FLOOD_LINE = (b"2026-11-25 05:54:19.130 857 INFO neutron.plugins.ml2.drivers.type_tunnel [-] "
               b"geneve ID ranges: [(1, 16777215)]\n")


@dataclass
class Sample:
    seconds: float
    peak_rss_kib: int
    exit_code: int
    stdout: bytes = b""


@dataclass
class Series:
    label: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def rss_mib(self) -> float:
        return statistics.median(s.peak_rss_kib for s in self.samples) / 1024

    def row(self) -> str:
        times = [s.seconds for s in self.samples]
        codes = ",".join(str(c) for c in sorted({s.exit_code for s in self.samples}))
        return (f"  {self.label:58} {self.seconds:7.2f} s [{min(times):.2f}–{max(times):.2f}]  "
                f"{self.rss_mib:6.0f} MiB  exit {codes}")


def run_once(argv: list[str], keep_output: bool = False) -> Sample:
    """One child process: wall time around it, and its own peak RSS (``ru_maxrss``, KiB on Linux)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE if keep_output else subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    return Sample(time.perf_counter() - start, int(usage.ru_maxrss), os.waitstatus_to_exitcode(status), out)


def measure(repeat: int, commands: dict[str, list[str]], keep_output: bool = False) -> dict[str, Series]:
    """Each command ``repeat`` times, interleaved (a, b, a, b...), so a load change hits all alike."""
    series = {label: Series(label) for label in commands}
    for _ in range(repeat):
        for label, argv in commands.items():
            series[label].samples.append(run_once(argv, keep_output))
    for s in series.values():
        print(s.row(), flush=True)
    return series


def ostriage() -> list[str]:
    beside = Path(sys.executable).with_name("ostriage")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "ostriage.cli"]


def find_hotsos(given: str | None) -> str | None:
    for candidate in (given, os.environ.get("HOTSOS"), shutil.which("hotsos")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def root_causes(sample: Sample) -> list[str]:
    return [r["rule"] for r in json.loads(sample.stdout)["root_causes"]]


def ratio(text: str, slow: Series, fast: Series) -> None:
    print(f"  => {text}: x{slow.seconds / fast.seconds:.2f} time, "
          f"x{slow.rss_mib / fast.rss_mib:.2f} peak RSS")


def pack(directory: Path, tarball: Path) -> Path:
    """``directory`` as a .tar.xz holding it under its own name (made once, kept)."""
    if not tarball.exists():
        with tarfile.open(tarball.with_suffix(".tmp"), "w:xz", preset=6) as tar:
            tar.add(directory, arcname=directory.name)
        tarball.with_suffix(".tmp").rename(tarball)
    return tarball


def unpack(tarball: Path, into: Path) -> Path:
    if not into.exists():
        into.mkdir(parents=True)
        with tarfile.open(tarball) as tar:
            tar.extractall(into, filter="data")
    (root,) = [p for p in into.iterdir() if p.is_dir()]
    return root


def section(title: str) -> None:
    print(f"\n{title}", flush=True)


def inflated(work: Path, repeat: int) -> None:
    section("1. inflated seed bundle (neutron-server.log 1 GiB, nova-api.log 512 MiB): ostriage vs grep -F")
    bundle = build(work / "inflated", 2**30, 2**29, 9)
    files = [str(bundle / p) for p in GROWN]
    grep = ["grep", "-F", "-c", *(a for lit in GREP_LITERALS for a in ("-e", lit)), *files]
    mine, theirs = "ostriage diagnose --format json", "grep -F -c (5 literals, the same 2 files)"
    s = measure(repeat, {mine: [*ostriage(), "diagnose", "--format", "json", str(bundle)], theirs: grep},
                keep_output=True)
    o, g = s[mine], s[theirs]
    ratio("ostriage / grep -F", o, g)
    seed = run_once([*ostriage(), "diagnose", "--format", "json", str(SEED)], keep_output=True)
    same = all(root_causes(x) == root_causes(seed) for x in o.samples)
    print(f"  => root causes {root_causes(o.samples[0])}: {'the same as' if same else 'NOT the same as'} the seed's")


def ussuri(work: Path, repeat: int, hotsos: str | None) -> None:
    section(f"2. real ussuri sosreport ({USSURI.stat().st_size / 2**20:.1f} MiB .tar.xz), tarball and unpacked")
    directory = unpack(USSURI, work / "ussuri")
    commands = {"ostriage, tarball": [*ostriage(), "diagnose", str(USSURI)],
                "ostriage, directory": [*ostriage(), "diagnose", str(directory)]}
    if hotsos:
        commands |= {"hotsos, tarball": [hotsos, str(USSURI)], "hotsos, directory": [hotsos, str(directory)]}
    s = measure(repeat, commands)
    ratio("tarball / directory (ostriage)", s["ostriage, tarball"], s["ostriage, directory"])
    if hotsos:
        ratio("hotsos / ostriage, tarball", s["hotsos, tarball"], s["ostriage, tarball"])
        ratio("hotsos / ostriage, directory", s["hotsos, directory"], s["ostriage, directory"])


def full_sys(work: Path, repeat: int, directory: Path) -> None:
    files = sum(1 for _ in (directory / "sys").rglob("*"))
    section(f"3. a report with a full sys/ ({directory}, {files:,} entries under sys/): tarball vs directory")
    tarball = pack(directory, work / f"{directory.name}-full-sys.tar.xz")
    s = measure(repeat, {"ostriage, tarball": [*ostriage(), "diagnose", str(tarball)],
                         "ostriage, directory": [*ostriage(), "diagnose", str(directory)]})
    ratio("tarball / directory", s["ostriage, tarball"], s["ostriage, directory"])


def _xz_flood(bundle: Path) -> None:
    with lzma.open(bundle / "var/log/neutron/neutron-server.log.2.xz", "wb", preset=6) as out:
        block = _FLOOD_LINE * 100_000
        for _ in range(380):
            out.write(block)


def _kill_flood(bundle: Path) -> None:
    # the seed's clock: its dmesg puts kill 1 at 6241 s after a boot at 04:09:07
    with open(bundle / "var/log/kern.log", "w") as out:
        for i in range(1_000_000):
            mono = 1000 + i * 0.005
            at = time.gmtime(14947 + int(mono))
            stamp = (f"Nov 25 {at.tm_hour:02d}:{at.tm_min:02d}:{at.tm_sec:02d} ostlab-controller kernel: "
                     f"[{mono:12.6f}]")
            out.write(f"{stamp} uwsgi invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, "
                      "oom_score_adj=0\n"
                      f"{stamp} Memory cgroup out of memory: Killed process {30000 + i} (uwsgi) "
                      f"total-vm:2147412kB, anon-rss:{1900000 + i % 90000}kB, file-rss:20888kB, shmem-rss:0kB, "
                      "UID:0 pgtables:4096kB oom_score_adj:0\n")


def _journal_flood(bundle: Path) -> None:
    flood_journal(bundle, 250_000)


def floods(work: Path) -> None:
    section("4. floods: peak RSS and root cause (one run each)")
    seed = run_once([*ostriage(), "diagnose", "--format", "json", str(SEED)], keep_output=True)

    def flooded(name: str, make: Callable[[Path], None]) -> None:
        bundle = work / name
        if not (bundle / ".made").exists():
            shutil.rmtree(bundle, ignore_errors=True)
            shutil.copytree(SEED, bundle, symlinks=True)
            # Made in a process of its own: Linux carries a parent's peak RSS into every child it starts
            # (execve keeps the forked memory's high-water mark in ru_maxrss), so a bench grown by xz's
            # 94 MiB compressor would put its own peak under every later measurement.
            maker = multiprocessing.get_context("spawn").Process(target=make, args=(bundle,))
            maker.start()
            maker.join()
            if maker.exitcode != 0:
                raise SystemExit(f"making {bundle} failed (exit {maker.exitcode})")
            (bundle / ".made").touch()
        sample = run_once([*ostriage(), "diagnose", "--format", "json", str(bundle)], keep_output=True)
        doc = json.loads(sample.stdout)
        same = doc["root_causes"][0]["rule"] == json.loads(seed.stdout)["root_causes"][0]["rule"]
        print(f"  {name:20} {sample.seconds:7.1f} s  {sample.peak_rss_kib / 1024:5.0f} MiB  "
              f"root cause {doc['root_causes'][0]['rule']} ({'same' if same else 'NOT the same'} as without)")
        for problem in doc["problems"]:
            print(f"      noted: {problem}")

    flooded("flood-xz-38M-lines", _xz_flood)
    flooded("flood-kern-1M-kills", _kill_flood)
    flooded("flood-journal-2.5M", _journal_flood)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (default 3)")
    parser.add_argument("--hotsos", help="the hotsos executable (default: $HOTSOS, else hotsos on PATH)")
    parser.add_argument("--full-sys", type=Path, help="an unpacked report with a full sys/ (hotsos's openstack root)")
    parser.add_argument("--floods", action="store_true", help="also the .xz and kern.log floods (slow)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/ostriage-bench"), help="where generated data is kept")
    parser.add_argument("--skip", action="append", default=[], choices=["inflated", "ussuri"])
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    hotsos = find_hotsos(args.hotsos)
    # pip byte-compiles an installed package (hotsos's venv has its .pyc); a checkout run with
    # PYTHONDONTWRITEBYTECODE set would compile ~150 modules again on every run (0.1-0.2 s each time)
    compileall.compile_dir(ROOT / "src" / "ostriage", quiet=1)
    version = subprocess.run([*ostriage(), "--version"], capture_output=True, text=True, check=False).stdout.strip()
    probe = "from ostriage.scan.matcher import engine_name; print(engine_name())"
    engine = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False).stdout.strip()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; {version}; "
          f"search engine {engine}; hotsos {hotsos or 'not installed'}; {args.repeat} runs each, medians")
    if "inflated" not in args.skip:
        inflated(args.work, args.repeat)
    if "ussuri" not in args.skip and USSURI.exists():
        ussuri(args.work, args.repeat, hotsos)
    if args.full_sys:
        full_sys(args.work, args.repeat, args.full_sys)
    if args.floods:
        floods(args.work)


if __name__ == "__main__":
    main()
