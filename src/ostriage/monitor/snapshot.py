"""One diagnosis of a source, kept as what monitoring needs: the redacted document and the samples.

``take`` runs the same public entry points as ``ostriage diagnose`` (``collect``, ``diagnose``,
``to_document``); ``watch`` runs it in a child process and gets the snapshot back as JSON, so the
diagnosis' memory is returned to the system when the child exits and a bug in it cannot stop the watch.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timezone
from typing import Any

from ostriage.diagnosis import diagnose
from ostriage.facts import collect
from ostriage.monitor.metrics import Sample, Timing, diagnosis_samples
from ostriage.report.document import to_document
from ostriage.sources.base import Source

__all__ = ["Snapshot", "take"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """``started``/``finished`` and ``journal_latest`` (the newest message of the service manager the diagnosis
    read in the journal, which lets ``watch`` check that its own journal stream is not blind) are Unix times."""

    document: dict[str, Any]
    samples: tuple[Sample, ...]
    started: float
    finished: float
    journal_latest: float | None = None

    def to_json(self) -> bytes:
        return json.dumps({"document": self.document, "started": self.started, "finished": self.finished,
                           "journal_latest": self.journal_latest,
                           "samples": [[s.name, list(s.labels), s.value] for s in self.samples]},
                          ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Snapshot:
        raw = json.loads(data)
        latest = raw.get("journal_latest")
        return cls(raw["document"], tuple(Sample(n, tuple(labels), float(v)) for n, labels, v in raw["samples"]),
                   float(raw["started"]), float(raw["finished"]), None if latest is None else float(latest))


def take(source: Source) -> Snapshot:
    started, clock = time.time(), time.monotonic()
    facts = collect(source)
    diagnosis = diagnose(facts)
    collected = source.collected_at()
    offset = collected.utcoffset() if collected is not None else None
    finished = time.time()
    samples = diagnosis_samples(facts, diagnosis, Timing(finished, time.monotonic() - clock, offset))
    times = [e.timestamp for unit in facts.units.values() for e in unit.events if e.timestamp is not None]
    latest = max(times).replace(tzinfo=timezone(offset)).timestamp() if times and offset is not None else None
    return Snapshot(to_document(diagnosis), tuple(samples), started, finished, latest)
