"""`ostriage metrics` and `ostriage watch` on the command line: output, exit codes, signals."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .conftest import SEED

Ostriage = Any  # the ``ostriage`` fixture of tests/conftest.py

OSTRIAGE = Path(sys.executable).parent / "ostriage"


def test_metrics_of_a_sosreport_to_stdout(ostriage: Ostriage) -> None:
    run = ostriage("metrics", SEED)
    assert run.code == 0, run.err
    assert "# TYPE ostriage_root_cause gauge" in run.out
    assert re.search(r'^ostriage_root_cause\{code="NEU001",.*\} 1\.0$', run.out, re.M)
    assert re.search(r"^ostriage_diagnosis_status 2\.0$", run.out, re.M)  # critical, and still exit 0


def test_metrics_to_a_textfile(ostriage: Ostriage, tmp_path: Path) -> None:
    path = tmp_path / "ostriage.prom"
    run = ostriage("metrics", SEED, "--textfile", path)
    assert run.code == 0 and run.out == ""
    assert "ostriage_oom_kills{" in path.read_text()


def test_metrics_to_a_textfile_that_cannot_be_written(ostriage: Ostriage, tmp_path: Path) -> None:
    run = ostriage("metrics", SEED, "--textfile", tmp_path / "absent" / "ostriage.prom")
    assert run.code == 73
    assert run.err.startswith("ostriage: error: ") and "absent/ostriage.prom: cannot write" in run.err
    assert len(run.err.strip().splitlines()) == 1


def test_watch_refuses_bad_usage(ostriage: Ostriage) -> None:
    for args in (["--listen", "9891"], ["--listen", "host:port"], ["--no-journal", "--no-kmsg"], ["--kills", "0"]):
        run = ostriage("watch", *args)
        assert run.code == 64, (args, run.err)
        assert run.err.startswith("ostriage: error: ")


def test_watch_says_when_its_port_is_taken(ostriage: Ostriage) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = ostriage("watch", "--listen", f"127.0.0.1:{port}", "--no-kmsg", "--refresh", "0")
    assert run.code == 64
    assert f"--listen 127.0.0.1:{port}: Address already in use" in run.err


def test_watch_runs_until_sigterm_and_exits_0(tmp_path: Path) -> None:
    proc = subprocess.Popen([str(OSTRIAGE), "watch", "--listen", "127.0.0.1:0", "--refresh", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        seen = []
        deadline = time.monotonic() + 60
        while not any("serving /metrics" in line for line in seen):
            assert time.monotonic() < deadline and proc.poll() is None, seen
            seen.append(proc.stderr.readline())
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert "ostriage watch: INFO stopped" in err
