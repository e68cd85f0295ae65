"""Shared fixtures: the real ussuri compute sosreport, unpacked once per test session."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
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
