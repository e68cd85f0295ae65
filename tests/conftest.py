"""Shared fixtures: the real ussuri compute sosreport (unpacked once per session), the command line run
in-process, and private copies of the bundles to edit."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from ostriage.cli import main

# Property tests draw fresh random examples on every run (no fixed seed: a seed that happens to pass
# would hide a bug from everyone). Nothing in them may depend on the machine's speed, so no deadline and
# no "too slow" health check: on two shared cores a slow example is not a failure. A failure prints its
# seed and a @reproduce_failure blob; `pytest --hypothesis-seed=N` replays a whole run, and a failing
# example saved in .hypothesis/ (untracked, removed by `make clean`) is replayed first by the next run in
# the same checkout, never in a fresh clone. `--hypothesis-profile=thorough` hunts with 50x the examples.
settings.register_profile("ostriage", max_examples=300, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", settings.get_profile("ostriage"), max_examples=15_000)
settings.load_profile("ostriage")

# the steering repository's shared/ beside this checkout; OSTRIAGE_SHARED points elsewhere (a clone in /tmp)
SHARED = Path(os.environ.get("OSTRIAGE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
USSURI_TARBALL = SHARED / "fixtures" / "sosreport-ussuri-compute.tar.xz"


@pytest.fixture(scope="session")
def ussuri_tarball() -> Path:
    if not USSURI_TARBALL.exists():
        pytest.skip(f"real fixture not present: {USSURI_TARBALL}")
    return USSURI_TARBALL


@pytest.fixture(scope="session")
def ussuri_sos(ussuri_tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Root directory of the unpacked real sosreport (read-only by convention)."""
    dest = tmp_path_factory.mktemp("ussuri")
    with tarfile.open(ussuri_tarball) as tar:
        tar.extractall(dest, filter="data")
    (root,) = [p for p in dest.iterdir() if p.is_dir()]
    return root


ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed-incident"
SCENARIOS = ROOT / "tests" / "scenarios"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Ostriage = Callable[..., Run]


@pytest.fixture
def ostriage(capsys: pytest.CaptureFixture[str]) -> Ostriage:
    """``ostriage(*args)`` runs the command line in this process (the console script's ``main``)."""

    def run(*args: str | Path) -> Run:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A private copy of the seed bundle, to edit."""
    return Path(shutil.copytree(SEED, tmp_path / "seed", symlinks=True))


@pytest.fixture(scope="module")
def seed_module_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the seed bundle shared by one test module (for fixtures that edit it once, and tests that read)."""
    return Path(shutil.copytree(SEED, tmp_path_factory.mktemp("seed") / "seed", symlinks=True))


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not found in {path}"
    path.write_text(text.replace(old, new))


Replace = Callable[[Path, str, str], None]


@pytest.fixture
def replace() -> Replace:
    """``replace(path, old, new)``: edit a text file, failing loudly when ``old`` is not in it."""
    return _replace


@pytest.fixture(scope="session")
def seed_doc() -> dict[str, Any]:
    """The JSON document of the example bundle, as it is: tests derive lines and names from it, so they hold
    whichever bundle examples/seed-incident is (reconstructed or recorded by the lab)."""
    from ostriage.diagnosis import diagnose
    from ostriage.facts import collect
    from ostriage.report import to_document
    from ostriage.sources import open_target

    with open_target(str(SEED)) as source:
        doc: dict[str, Any] = json.loads(json.dumps(to_document(diagnose(collect(source)))))
    return doc


@pytest.fixture
def scenario_copy(tmp_path: Path) -> Callable[[str], Path]:
    """``scenario_copy("healthy-controller")``: a private copy of a scenario's sos tree, to edit."""

    def make(name: str) -> Path:
        return Path(shutil.copytree(SCENARIOS / name / "sos", tmp_path / name, symlinks=True))

    return make
