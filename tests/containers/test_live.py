"""Containers on a live host: only the allow-listed read-only engine commands run, one ``inspect`` per container
listed, and an engine that is not installed costs one failed start, nothing else (most hosts have none)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ostriage.facts.where import collect_containers
from ostriage.sources import LiveHost
from ostriage.sources._runner import Finished

INSPECT = Path(__file__).resolve().parents[1] / "data" / "insights-core" / "docker_inspect_97d7cd1a5d8f"
PS = (b"CONTAINER ID   IMAGE               COMMAND       CREATED       STATUS          PORTS     NAMES\n"
      b"97d7cd1a5d8f   rhel7_imagemagick   \"/bin/bash\"   9 years ago   Up 30 minutes             hehe2\n")


@dataclass
class _Process:
    out: bytes
    stdout: io.BytesIO = field(init=False)

    def __post_init__(self) -> None:
        self.stdout = io.BytesIO(self.out)

    def finish(self) -> Finished:
        return Finished(0, "", False)

    def kill(self) -> None:
        pass


@dataclass
class _Runner:
    """Answers whole argvs; any other program is not installed."""

    answers: dict[tuple[str, ...], bytes]
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def __call__(self, argv: Sequence[str], timeout: float, env: Mapping[str, str]) -> _Process:
        self.calls.append(tuple(argv))
        if tuple(argv) not in self.answers:
            raise FileNotFoundError(2, "No such file or directory")
        return _Process(self.answers[tuple(argv)])


def test_docker_listed_then_inspected(tmp_path: Path) -> None:
    runner = _Runner({("docker", "ps", "-a"): PS,
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
