"""A ``LiveHost`` runner that answers whole argvs with recorded output; any other program is not installed."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ostriage.sources._runner import Finished


@dataclass
class Recorded:
    out: bytes
    stdout: io.BytesIO = field(init=False)

    def __post_init__(self) -> None:
        self.stdout = io.BytesIO(self.out)

    def finish(self) -> Finished:
        return Finished(0, "", False)

    def kill(self) -> None:
        pass


@dataclass
class Replay:
    answers: dict[tuple[str, ...], bytes]
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def __call__(self, argv: Sequence[str], timeout: float, env: Mapping[str, str]) -> Recorded:
        self.calls.append(tuple(argv))
        if tuple(argv) not in self.answers:
            raise FileNotFoundError(2, "No such file or directory")
        return Recorded(self.answers[tuple(argv)])
