"""Facts: the typed snapshot of one host that rules read."""

from ostriage.facts.collect import collect
from ostriage.facts.model import ConfigSet, Facts, LogEvent, Sized, UnitState

__all__ = ["ConfigSet", "Facts", "LogEvent", "Sized", "UnitState", "collect"]
