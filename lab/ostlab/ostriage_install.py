"""ostriage from this checkout, installed in a venv inside the live controller (for the lab tests and benches)."""

from __future__ import annotations

from pathlib import Path

from . import container

VENV = "/opt/ostriage-venv"
EXE = f"{VENV}/bin/ostriage"


def install() -> str:
    """Install (again) from the read-only bind mount of the checkout; returns the ostriage command's path."""
    cert = f"PIP_CERT={container.CONTAINER_CA} " if Path(container.HOST_CA).exists() else ""
    # The checkout is bind-mounted read-only; pip builds in-tree, so build from a copy.
    container.sh(f"rm -rf /tmp/ostriage-src && cp -r {container.CONTAINER_REPO} /tmp/ostriage-src && "
                 "rm -rf /tmp/ostriage-src/.venv /tmp/ostriage-src/build && "
                 f"python3 -m venv {VENV} && "
                 f"{cert}{VENV}/bin/pip install -q 'setuptools>=69' wheel && "
                 # pip's isolated build environment ignores PIP_CERT; build with the venv's own tools.
                 f"{cert}{VENV}/bin/pip install -q --no-build-isolation /tmp/ostriage-src",
                 timeout=900, logname="ostriage-install")
    return EXE
