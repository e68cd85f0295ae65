"""What a first run meets, as real processes: SIGINT, SIGTERM and SIGHUP remove the unpacked tarball and exit
with 128 + the signal; a Ctrl-C while the modules import prints one line, not a traceback; a closed pipe is 141
for every command, --help and --version included; ``--help`` lists every exit code, as the README does;
``diagnose /`` says what it does and what else there is."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ostriage.exit_codes import BY_COMMAND, COMMON

from .test_console_script import SCRIPT

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-incident"

# The console script's own entry point in a process that stops inside the tarball's extraction, right after
# the first member is written, until a signal arrives: the test needs no guess of how long unpacking takes.
# It starts as a command typed at a terminal does: Ctrl-C not ignored (a background job inherits SIGINT
# ignored, which ostriage then keeps ignoring, as it should); argv[2] names signals to ignore, as nohup does.
STOP_IN_EXTRACTION = textwrap.dedent("""
    import signal, sys, time
    from pathlib import Path
    # as from a terminal, whatever this test runs under: `nohup make test` or a CI runner ignores SIGHUP,
    # and an ignored signal is inherited (and kept by ostriage, as it should be)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    for name in filter(None, sys.argv[2].split(",")):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    from ostriage.sources import _tarball

    marker, sys.argv = Path(sys.argv[1]), ["ostriage", *sys.argv[3:]]
    written = _tarball._Extractor._unpack

    def unpack_then_wait(self, member, rel):
        go_on = written(self, member, rel)
        marker.write_text(str(self.result.root))
        time.sleep(300)  # the signal's exception comes out of here
        return go_on

    _tarball._Extractor._unpack = unpack_then_wait
    from ostriage.console import main
    main()
""")


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run never reached the extraction"
        time.sleep(0.02)


@pytest.mark.parametrize(("signum", "code", "message"), [
    (signal.SIGINT, 130, "ostriage: error: interrupted"),
    (signal.SIGTERM, 143, "ostriage: error: interrupted by SIGTERM"),
    (signal.SIGHUP, 129, "ostriage: error: interrupted by SIGHUP"),
])
def test_a_signal_removes_the_unpacked_tarball(signum: int, code: int, message: str, tmp_path: Path,
                                               make_tar_of_the_seed: Path) -> None:
    code_seen, out, err = _interrupt_extraction(tmp_path, make_tar_of_the_seed, [signum])
    assert code_seen == code
    assert (out, err.strip()) == ("", message)


def test_a_signal_ignored_at_start_stays_ignored(tmp_path: Path, make_tar_of_the_seed: Path) -> None:
    """Under nohup SIGHUP is ignored before ostriage starts: the hang-up does nothing, the SIGTERM after it ends
    the run (and still cleans up)."""
    code, _, err = _interrupt_extraction(tmp_path, make_tar_of_the_seed, [signal.SIGHUP, signal.SIGTERM],
                                         ignored="SIGHUP")
    assert (code, err.strip()) == (143, "ostriage: error: interrupted by SIGTERM")


def _interrupt_extraction(tmp_path: Path, tarball: Path, signals: list[int], ignored: str = "") -> tuple[int, str, str]:
    """Start `diagnose TARBALL`, send ``signals`` once it is unpacking; its exit code and output, after checking
    that the temporary directory it unpacked into is gone."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    marker = tmp_path / "extracting"
    process = subprocess.Popen([sys.executable, "-c", STOP_IN_EXTRACTION, str(marker), ignored, "diagnose",
                                str(tarball)], env={**os.environ, "TMPDIR": str(temp)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(marker, process)
        assert Path(marker.read_text()).is_dir()  # unpacking under TMPDIR
        assert list(temp.iterdir())
        for signum in signals:
            process.send_signal(signum)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:  # a failed assertion must not leave it waiting in its sleep
            process.kill()
            process.wait()
    assert list(temp.iterdir()) == []
    return process.returncode, out, err


@pytest.fixture
def make_tar_of_the_seed(tmp_path: Path) -> Path:
    import tarfile

    path = tmp_path / "sosreport-seed.tar.xz"
    with tarfile.open(path, "w:xz") as tar:
        tar.add(SEED, arcname="sosreport-seed")
    return path


# A Ctrl-C delivered while click is being imported (the console script's first quarter second).
CTRL_C_WHILE_IMPORTING = textwrap.dedent("""
    import os, signal, sys
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as at a terminal, even when run in the background

    class CtrlC:
        def find_spec(self, name, path=None, target=None):
            if name == "click":
                os.kill(os.getpid(), signal.SIGINT)
            return None

    sys.meta_path.insert(0, CtrlC())
    sys.argv = ["ostriage", "rules"]
    from ostriage.console import main
    main()
""")


def test_ctrl_c_while_the_modules_import_is_one_line() -> None:
    run = subprocess.run([sys.executable, "-c", CTRL_C_WHILE_IMPORTING], capture_output=True, text=True,
                         timeout=120, check=False)
    assert (run.returncode, run.stdout, run.stderr) == (130, "", "ostriage: error: interrupted\n")


def _with_a_closed_pipe(*args: str | Path) -> tuple[int, bytes]:
    """Run the console script with stdout a pipe whose reader is already gone (`| true` that won the race)."""
    assert SCRIPT
    read, write = os.pipe()
    os.close(read)
    try:
        run = subprocess.run([SCRIPT, *map(str, args)], stdout=write, stderr=subprocess.PIPE, cwd=ROOT,
                             timeout=120, check=False)
    finally:
        os.close(write)
    return run.returncode, run.stderr


@pytest.mark.parametrize("args", [
    ["rules"], ["rules", "NEU001"], ["--help"], ["diagnose", "--help"], ["--version"], ["diagnose", SEED],
    ["diagnose", SEED, "--format", "json"], ["predict", "--vni-ranges", "1:16777215"], ["lint", SEED],
    ["fix", "--root", SEED],
], ids=lambda a: " ".join(map(str, a)).replace(str(SEED), "SEED"))
def test_a_closed_pipe_is_141_quietly(args: list[str | Path]) -> None:
    assert _with_a_closed_pipe(*args) == (141, b"")


def test_help_lists_every_exit_code(ostriage) -> None:  # type: ignore[no-untyped-def]
    top = ostriage("--help")
    assert top.code == 0
    codes = [code for code, _ in COMMON]
    for code, what in COMMON:
        assert re.search(rf"^ +{code} +{re.escape(what)}$", top.out, re.M), code
    for command, own in BY_COMMAND.items():
        sub = ostriage(command, "--help")
        assert all(line in sub.out for line in own) and all(line in top.out for line in own)
        assert all(re.search(rf"^ +{code} ", sub.out, re.M) for code in codes)
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"\b(\d{2,3}) [a-z(]", readme.split("Exit codes:", 1)[1].split("\n\n", 1)[0]))
    own = {line.split()[0] for lines in BY_COMMAND.values() for line in lines}
    assert documented == set(codes) | {code for code in own if len(code) > 1}


def test_diagnose_slash_says_it_reads_a_copy_not_the_live_host(ostriage) -> None:  # type: ignore[no-untyped-def]
    run = ostriage("diagnose", "/", "--format", "json")
    assert run.code in (0, 1, 2, 66)  # 66 where / has no etc/systemd, etc/neutron or etc/nova
    assert run.err.startswith("ostriage: note: / is read as a copy of a host's files, as --root / would; without "
                              "TARGET ostriage reads this host live, the output of its commands included\n")
