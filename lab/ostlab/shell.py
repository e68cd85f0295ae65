"""Running commands with logs and one-line failures."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import paths


class LabError(RuntimeError):
    """A step failed; the message is the one line the operator needs."""


def log(msg: str) -> None:
    print(f"[ostlab {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd: Sequence[str], *, logname: str | None = None, timeout: float = 1800,
        check: bool = True, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run cmd; long output goes to a log file so a failure can point at it."""
    logfile: Path | None = None
    if logname:
        paths.LOGS.mkdir(parents=True, exist_ok=True)
        logfile = paths.LOGS / f"{logname}.log"
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                              input=input_text, errors="replace")
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"timed out after {timeout:.0f}s: {' '.join(cmd)}") from exc
    if logfile:
        with logfile.open("a") as fh:
            fh.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}\n[rc={proc.returncode}]\n")
    if check and proc.returncode != 0:
        where = f" (log: {logfile})" if logfile else ""
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        raise LabError(f"failed rc={proc.returncode}: {' '.join(cmd[:6])}... {tail[0]}{where}")
    return proc


def wait_for(what: str, probe: Callable[[], bool], timeout: float, interval: float = 1.0) -> float:
    """Poll probe until true; return seconds waited, or fail naming what never happened."""
    start = time.monotonic()
    while True:
        if probe():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise LabError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
