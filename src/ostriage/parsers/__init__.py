"""Pure parsers: lines of evidence in, typed records out.

Every parser takes an iterable of ``ostriage.evidence.Line`` and streams frozen, slotted dataclasses
that carry the ``Line`` (or lines) they came from, so a report can cite ``path:line``. No parser opens
a file, runs a command or keeps global state; the facts layer decides what to read.
"""
