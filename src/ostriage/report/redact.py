"""The report package's name for the one redactor (``ostriage.redaction``), which lives outside the package
so that layers the reports import (``remedy``: backup manifests) can use it too."""

from ostriage.redaction import MASK, redact, redact_tree

__all__ = ["MASK", "redact", "redact_tree"]
