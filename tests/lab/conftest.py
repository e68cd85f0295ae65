"""What every lab test needs from the machine."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def skip_unless_lab_possible() -> None:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    if not Path("/sys/fs/cgroup/memory").is_dir():
        pytest.skip("the lab needs the cgroup v1 memory controller")
    if shutil.which("apt-get") is None:
        pytest.skip("the lab needs Debian's apt-get")
