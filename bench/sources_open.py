"""How long opening and reading the real ussuri sosreport takes (prints numbers; asserts nothing).

.venv/bin/python bench/sources_open.py [path-to-sosreport.tar.xz] [repeats]
"""

from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ostriage.sources import CATALOG, SosReport

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "sosreport-ussuri-compute.tar.xz"


def timed(label: str, repeats: int, action: Callable[[], object]) -> None:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    print(f"{label:48} median {statistics.median(times):7.3f} s   min {min(times):7.3f} s   ({repeats} runs)")


def open_and_close(path: Path) -> None:
    SosReport(path).close()


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    print(f"{path} ({path.stat().st_size / 2**20:.1f} MiB)")
    timed("open tarball (stream, filter, unpack) + close", repeats, lambda: open_and_close(path))
    with SosReport(path) as report:
        files = sum(1 for p in report.root.rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in report.root.rglob("*") if p.is_file() and not p.is_symlink())
        print(f"{'unpacked':48} {files} files, {size / 2**20:.1f} MiB")

        def read_all_commands() -> None:
            for name in CATALOG:
                output = report.command(name)
                for _ in output.lines if output else ():
                    pass

        def read_all_logs() -> None:
            for log in report.glob("/var/log/**/*.log"):
                for _ in report.read_log(log):
                    pass

        timed("read every catalog command's output", repeats, read_all_commands)
        timed("read every log with its rotations", repeats, read_all_logs)
        with tempfile.TemporaryDirectory() as directory:
            import tarfile

            with tarfile.open(path) as tar:
                tar.extractall(directory, filter="data")
            (root,) = Path(directory).iterdir()
            timed("open the unpacked directory", repeats, lambda: SosReport(root).close())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak RSS of this process':48} {peak:.0f} MiB")


if __name__ == "__main__":
    main()
