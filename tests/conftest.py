"""Shared fixtures: the real ussuri compute sosreport (unpacked once per session), the command line run
in-process, and private copies of the bundles to edit."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from packaging.requirements import Requirement

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
        # a fixture we trust; the data filter where this Python has one (3.11.4 and later)
        tar.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
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


# -- running ostriage as another user ----------------------------------------------------------------

NOBODY = 65534  # nobody / nogroup on Debian and Ubuntu


def _reachable_by_anyone(path: Path) -> bool:
    """Every directory from / down to ``path`` can be searched by others."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents))


def _share(src: Path, dest: Path) -> None:
    """``src`` readable by anyone at ``dest``: a hard link (no data copied) when it already is readable by
    others and the file system allows, else a copy made readable (a clone made under umask 077)."""
    if src.stat().st_mode & stat.S_IROTH:
        try:
            os.link(src, dest)
            return
        except OSError:
            pass
    shutil.copyfile(src, dest)
    dest.chmod(0o644)


def _runtime_distributions() -> list[importlib.metadata.Distribution]:
    """ostriage's installed run-time dependencies, transitively (no test extras)."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = ["ostriage"]
    while todo:
        name = todo.pop()
        dist = importlib.metadata.distribution(name)
        key = dist.metadata["Name"].lower().replace("_", "-").replace(".", "-")
        if key in seen:
            continue
        seen[key] = dist
        for spec in dist.requires or ():
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    del seen["ostriage"]  # an editable install: its files are the checkout's src/, copied apart
    return list(seen.values())


@dataclass(frozen=True)
class OtherUser:
    """``nobody``, able to run this checkout's ostriage wherever the checkout lives (a clone in /root or in a
    0700 directory is out of its reach): the package and its run-time dependencies are linked into a
    directory every user can reach, and run by an interpreter nobody can start."""

    home: Path  # world-searchable; the tests' trees go under it
    python: str
    site: Path
    uid: int = NOBODY  # and its group's id

    def mkdtemp(self, prefix: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=self.home))
        path.chmod(0o755)
        return path

    def python_as_nobody(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``python ARGS`` as nobody, from its own directory, with only the run-time packages on its path."""
        env = {"PYTHONPATH": str(self.site), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8"}
        return subprocess.run(["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                               self.python, "-s", *args], cwd=self.home, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def ostriage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """The console script's entry point, as nobody."""
        (script,) = importlib.metadata.entry_points(group="console_scripts", name="ostriage")
        call = f"import sys; from {script.module} import {script.attr}; sys.exit({script.attr}())"
        return self.python_as_nobody("-c", call, *args, timeout=timeout)


def _interpreter_for_nobody(home: Path) -> str | None:
    """An interpreter of this Python's version that nobody can start (a venv's may sit in /root)."""
    want = f"{sys.version_info.major}.{sys.version_info.minor}"
    base = getattr(sys, "_base_executable", sys.executable)
    for candidate in dict.fromkeys([os.path.realpath(base), f"/usr/bin/python{want}", f"/usr/local/bin/python{want}"]):
        if not os.access(candidate, os.X_OK):
            continue
        probe = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", candidate,
                                "-s", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               cwd=home, capture_output=True, text=True, timeout=60, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == want:
            return candidate
    return None


@pytest.fixture(scope="session")
def other_user() -> Iterator[OtherUser]:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run ostriage as an unprivileged user")
    bases = [Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp")]
    base = next((b for b in bases if b.is_dir() and _reachable_by_anyone(b)), None)
    if base is None:
        pytest.skip(f"no temporary directory that nobody can reach among {', '.join(map(str, bases))}")
    home = Path(tempfile.mkdtemp(prefix="ostriage-other-user-", dir=base))
    try:
        home.chmod(0o755)
        python = _interpreter_for_nobody(home)
        if python is None:
            pytest.skip(f"no Python {sys.version_info.major}.{sys.version_info.minor} that nobody can run")
        site = home / "site-packages"
        package = ROOT / "src"
        files = [(package, f.relative_to(package)) for f in (package / "ostriage").rglob("*") if f.is_file()]
        for dist in _runtime_distributions():
            files += [(Path(dist.locate_file("")), Path(f)) for f in dist.files or ()]
        for top, rel in files:
            if ".." not in rel.parts and "__pycache__" not in rel.parts and (top / rel).is_file():
                (site / rel).parent.mkdir(parents=True, exist_ok=True)
                _share(top / rel, site / rel)
        for directory in [site, *site.rglob("*")]:
            if directory.is_dir():
                directory.chmod(0o755)
        yield OtherUser(home, python, site)
    finally:
        for path in home.rglob("*"):  # a test may have left a directory read-only
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(home)
