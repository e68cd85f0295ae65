"""Containers on a live host: only the allow-listed read-only engine commands run, one ``inspect`` per container
listed, and an engine that is not installed costs one failed start, nothing else (most hosts have none)."""

from __future__ import annotations

from pathlib import Path

from ostriage.facts.where import collect_containers
from ostriage.sources import LiveHost

from ._replay import Replay

INSPECT = Path(__file__).resolve().parents[1] / "data" / "insights-core" / "docker_inspect_97d7cd1a5d8f"
PS = (b"CONTAINER ID   IMAGE               COMMAND       CREATED       STATUS          PORTS     NAMES\n"
      b"97d7cd1a5d8f   rhel7_imagemagick   \"/bin/bash\"   9 years ago   Up 30 minutes             hehe2\n")


def test_docker_listed_then_inspected(tmp_path: Path) -> None:
    runner = Replay({("docker", "ps", "-a"): PS,
                      ("docker", "container", "inspect", "97d7cd1a5d8f"): INSPECT.read_bytes()})
    live = LiveHost(tmp_path, runner)
    (c,) = collect_containers(live, None)
    assert (c.name, c.engine, c.state, c.restart_count, c.restart_policy) == ("hehe2", "docker", "running", 0, "no")
    assert c.id is not None and c.id.startswith("97d7cd1a5d8f")
    assert c.lines["restart_count"].path == "$ docker container inspect 97d7cd1a5d8f"
    programs = {argv[0] for argv in runner.calls}
    assert programs <= {"docker", "podman", "crictl", "kubectl", "k8s", "microk8s", "lxc"}
    assert ("docker", "container", "inspect", "97d7cd1a5d8f") in runner.calls
    # every command run is read-only: a listing, an inspect or a get
    assert all(argv[1] in ("ps", "container", "get", "list") or argv[2] == "get" for argv in runner.calls)
    # engines that are not installed are not problems: most hosts have none of them
    assert live.problems == []
