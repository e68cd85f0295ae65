"""Where the lab keeps things. Everything lives outside the repository, in one cache directory."""

from __future__ import annotations

import os
from pathlib import Path

# Overridable so CI or a developer can put the multi-GB image on another disk.
CACHE = Path(os.environ.get("OSTRIAGE_LAB_CACHE", "/var/cache/ostriage-lab"))

IMAGE = CACHE / "image"                # built once: debootstrap + packages + neutron venv
IMAGE_ROOT = IMAGE / "rootfs"
APT_ARCHIVES = CACHE / "apt-archives"  # .deb cache shared by every image build
PIP_CACHE = CACHE / "pip"
LOGS = CACHE / "logs"
BUNDLES = CACHE / "bundles"

RUN = CACHE / "run"                    # one live lab: an overlay on the image, removed on teardown
RUN_UPPER = RUN / "upper"
RUN_WORK = RUN / "work"
RUN_ROOT = RUN / "rootfs"
STATE = RUN / "state.json"

MACHINE = "ostlab-controller"
REPO = Path(__file__).resolve().parents[2]
FILES = Path(__file__).resolve().parent / "files"

# Inside the container.
VENV = "/opt/neutron"
NEUTRON_VERSION = os.environ.get("OSTRIAGE_LAB_NEUTRON", "29.0.0")
API_URL = "http://127.0.0.1:9696"
