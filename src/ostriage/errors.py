"""Errors that carry the place they are about, so messages can name the file and line."""

from __future__ import annotations

__all__ = ["OstriageError", "ParseError", "SourceError", "UsageError"]


class OstriageError(Exception):
    """Base of every error ostriage reports to the user as one line (no traceback)."""


class ParseError(OstriageError):
    """Malformed input: the file, line number and text that could not be understood.

    >>> str(ParseError("etc/neutron/neutron.conf", 3, "No ':' or '=' found in assignment", "garbage"))
    "etc/neutron/neutron.conf:3: No ':' or '=' found in assignment: 'garbage'"
    """

    def __init__(self, path: str, line: int, message: str, text: str = "") -> None:
        self.path = path
        self.line = line
        self.message = message
        self.text = text
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}" + (f": {self.text[:120]!r}" if self.text else "")


class SourceError(OstriageError):
    """A target that cannot be read at all (not a sosreport, corrupt archive, missing path)."""


class UsageError(OstriageError):
    """Bad command-line input (unknown option value, conflicting flags)."""
