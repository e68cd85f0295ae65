"""systemd unit files and drop-ins, the settings they produce, and systemd's size and time values.

Sources: unit files and drop-ins under ``/etc/systemd/system``, ``/run/systemd/system``,
``/usr/local/lib/systemd/system``, ``/usr/lib/systemd/system`` and ``/lib/systemd/system`` (copied by sos
under ``etc/systemd``, ``lib/systemd/system``, ``run/systemd/system``; ``systemctl cat`` prints the same
text). A real drop-in from the ussuri sosreport,
``etc/systemd/system/nova-compute.service.d/99-mount.conf``::

    [Unit]
    Requires=var-lib-nova-instances.mount
    After=var-lib-nova-instances.mount

and what ``systemctl edit neutron-server`` writes (``override.conf``)::

    [Service]
    MemoryMax=2G
    OOMScoreAdjust=-1000

Semantics follow systemd's config parser: ``#`` and ``;`` start comment lines (also inside a continued
line), a trailing backslash joins the next line with a space, assignments outside a section and lines
without ``=`` are ignored (systemd only warns), and an empty assignment (``ExecStart=``) empties a list
setting. Unit files are read leniently, like systemd does: nothing here raises except the value parsers
``parse_size``/``parse_timespan`` on values that are not sizes or time spans.

>>> from ostriage.evidence import numbered
>>> unit = numbered("[Service]\\nExecStart=/usr/bin/neutron-server\\nMemoryMax=4G", "neutron-server.service")
>>> drop_in = numbered("[Service]\\nMemoryMax=2G\\n", "etc/.../override.conf")
>>> setting = effective_settings(unit, [drop_in])["Service", "MemoryMax"]
>>> setting.value, parse_size(setting.value), setting.line.cite()
('2G', 2147483648, 'etc/.../override.conf:2')
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath

from ostriage.evidence import Line

__all__ = [
    "UNIT_DIRS",
    "Assignment",
    "Percent",
    "Setting",
    "drop_in_order",
    "effective_settings",
    "parse_size",
    "parse_timespan",
    "parse_unit_file",
]

# systemd's unit search path for the system manager, highest priority first (src/basic/path-lookup.c;
# /lib comes after /usr/lib on split-/usr systems such as Ubuntu focal).
UNIT_DIRS = (
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/run/systemd/generator.early",
    "/etc/systemd/system",
    "/etc/systemd/system.attached",
    "/run/systemd/system",
    "/run/systemd/system.attached",
    "/run/systemd/generator",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
    "/run/systemd/generator.late",
)

# Settings that accumulate over assignments and are emptied by an empty one; every other key keeps
# its last value (which is what systemd does for the scalar settings ostriage reads).
_LIST_KEYS = frozenset(
    {
        "ExecCondition", "ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop",
        "ExecStopPost", "Environment", "EnvironmentFile", "PassEnvironment", "UnsetEnvironment",
        "After", "Before", "Wants", "Requires", "Requisite", "BindsTo", "PartOf", "Upholds", "Conflicts",
        "OnFailure", "OnSuccess", "WantedBy", "RequiredBy", "Also", "Alias", "ReadWritePaths",
        "ReadOnlyPaths", "InaccessiblePaths", "SupplementaryGroups", "DeviceAllow", "SuccessExitStatus",
        "RestartPreventExitStatus", "RestartForceExitStatus", "LoadCredential", "SetCredential",
    }
)

_SIZE_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGTPEB]?)")
_SIZE_FACTORS = {
    "": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50, "E": 1 << 60,
}
_SPAN_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Zµμ]*)")
_SPAN_SECONDS = {
    **dict.fromkeys(("", "s", "sec", "second", "seconds"), 1.0),
    **dict.fromkeys(("us", "usec", "µs", "μs"), 1e-6),
    **dict.fromkeys(("ms", "msec"), 1e-3),
    **dict.fromkeys(("m", "min", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hr", "hour", "hours"), 3600.0),
    **dict.fromkeys(("d", "day", "days"), 86400.0),
    **dict.fromkeys(("w", "week", "weeks"), 604800.0),
    **dict.fromkeys(("M", "month", "months"), 2629800.0),
    **dict.fromkeys(("y", "year", "years"), 31557600.0),
}


@dataclass(frozen=True, slots=True)
class Assignment:
    """One ``Key=value`` in a section; ``line`` is the first physical line of a continued assignment."""

    section: str
    key: str
    value: str
    line: Line


@dataclass(frozen=True, slots=True)
class Setting:
    """The effective state of one (section, key) after the fragment and all drop-ins.

    ``assignments`` are those still in effect: the last one for a scalar; for a list setting every
    assignment since (and including) the last empty one, which is kept as the evidence of the reset.
    """

    section: str
    key: str
    assignments: tuple[Assignment, ...]

    @property
    def value(self) -> str:
        """The last value assigned (``""`` when the last assignment was a reset)."""
        return self.assignments[-1].value

    @property
    def values(self) -> tuple[str, ...]:
        """The non-empty values in effect, in order."""
        return tuple(a.value for a in self.assignments if a.value)

    @property
    def line(self) -> Line:
        """The line that last changed this setting (what a report cites)."""
        return self.assignments[-1].line


@dataclass(frozen=True, slots=True)
class Percent:
    """A size given as a share of physical memory (``MemoryMax=50%``)."""

    value: float

    def of(self, total: int) -> int:
        """Bytes this share is of ``total`` bytes, rounded down like systemd.

        >>> Percent(50).of(8 << 30) == 4 << 30
        True
        """
        return int(total * self.value / 100)


def parse_unit_file(lines: Iterable[Line]) -> Iterator[Assignment]:
    """Assignments of one unit file or drop-in, in order.

    >>> from ostriage.evidence import numbered
    >>> text = "# comment\\n[Service]\\nExecStart=/usr/bin/x \\\\\\n  --flag\\n;also a comment\\nEnvironment="
    >>> [(a.key, a.value, a.line.number) for a in parse_unit_file(numbered(text))]
    [('ExecStart', '/usr/bin/x --flag', 3), ('Environment', '', 6)]
    """
    section: str | None = None
    pending: list[str] = []
    first: Line | None = None
    for line in lines:
        stripped = line.text.strip()
        if stripped[:1] in ("#", ";"):
            continue
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].rstrip())
            first = first or line
            continue
        logical, start = " ".join([*pending, stripped]).strip(), first or line
        pending, first = [], None
        if logical.startswith("[") and logical.endswith("]"):
            section = logical[1:-1].strip()
            continue
        key, sep, value = logical.partition("=")
        if section is not None and sep and key.strip():
            yield Assignment(section, key.strip(), value.strip(), start)
    if pending and first is not None and section is not None:
        key, sep, value = " ".join(pending).strip().partition("=")
        if sep and key.strip():
            yield Assignment(section, key.strip(), value.strip(), first)


def effective_settings(
    fragment: Iterable[Line], drop_ins: Iterable[Iterable[Line]] = ()
) -> dict[tuple[str, str], Setting]:
    """Each (section, key)'s effective setting: the fragment, then drop-ins in ``drop_in_order``."""
    state: dict[tuple[str, str], list[Assignment]] = {}
    for source in (fragment, *drop_ins):
        for assignment in parse_unit_file(source):
            key = (assignment.section, assignment.key)
            if _is_list(assignment.key) and assignment.value and key in state:
                state[key].append(assignment)
            else:
                state[key] = [assignment]
    return {key: Setting(key[0], key[1], tuple(found)) for key, found in state.items()}


def _is_list(key: str) -> bool:
    return key in _LIST_KEYS or key.startswith(("Condition", "Assert"))


def drop_in_order(paths: Iterable[str]) -> list[str]:
    """The drop-ins systemd applies, in application order (later ones override earlier ones).

    A ``.conf`` in a higher-priority directory (``UNIT_DIRS``) masks one of the same name in a lower
    one; within a directory the most specific drop-in directory wins (``foo-bar.service.d`` over
    ``foo-.service.d`` over ``service.d``; more specific names are longer). Survivors are applied sorted
    by file name. Paths are host-absolute (a missing leading ``/`` is assumed); paths outside
    ``UNIT_DIRS`` rank last. A drop-in masked by a ``/dev/null`` symlink cannot be seen from its path.

    >>> for path in drop_in_order([
    ...     "/lib/systemd/system/neutron-server.service.d/override.conf",
    ...     "/etc/systemd/system/neutron-server.service.d/override.conf",
    ...     "/usr/lib/systemd/system/service.d/10-timeout-abort.conf",
    ... ]):
    ...     print(path)
    /usr/lib/systemd/system/service.d/10-timeout-abort.conf
    /etc/systemd/system/neutron-server.service.d/override.conf
    """
    best: dict[str, tuple[int, int, str]] = {}
    for path in paths:
        pure = PurePosixPath("/" + path.lstrip("/"))
        if pure.suffix != ".conf" or not pure.parent.name.endswith(".d"):
            continue
        base = str(pure.parent.parent)
        rank = (UNIT_DIRS.index(base) if base in UNIT_DIRS else len(UNIT_DIRS), -len(pure.parent.name), path)
        if pure.name not in best or rank < best[pure.name]:
            best[pure.name] = rank
    return [best[name][2] for name in sorted(best)]


def parse_size(text: str) -> int | Percent | None:
    """A systemd size (``MemoryMax=``): bytes (K/M/G/T/P/E are powers of 1024), ``None`` for
    ``infinity``, ``Percent`` for ``50%`` or ``500‰``. Raises ``ValueError`` on anything else.

    >>> parse_size("2G"), parse_size("1.5K"), parse_size("infinity"), parse_size("50%")
    (2147483648, 1536, None, Percent(value=50.0))
    """
    value = text.strip()
    if value == "infinity":
        return None
    if value.endswith(("%", "‰")):
        number = float(value[:-1])
        return Percent(number if value.endswith("%") else number / 10)
    total, end = 0.0, 0
    for m in _SIZE_PART.finditer(value):
        if m.start() != end:
            break
        total += float(m.group(1)) * _SIZE_FACTORS[m.group(2)]
        end = m.end()
    if end == 0 or end != len(value) or not math.isfinite(total):
        raise ValueError(f"not a systemd size: {text!r}")
    return int(total)


def parse_timespan(text: str) -> timedelta | None:
    """A systemd time span (``RestartSec=``, ``RestartUSec`` of ``systemctl show``): ``None`` for
    ``infinity``; a bare number is seconds. Raises ``ValueError`` on anything else.

    >>> parse_timespan("1min 30s"), parse_timespan("100ms"), parse_timespan("infinity")
    (datetime.timedelta(seconds=90), datetime.timedelta(microseconds=100000), None)
    """
    value = text.strip()
    if value == "infinity":
        return None
    seconds, end = 0.0, 0
    for m in _SPAN_PART.finditer(value):
        if m.start() != end or m.group(2) not in _SPAN_SECONDS:
            break
        seconds += float(m.group(1)) * _SPAN_SECONDS[m.group(2)]
        end = m.end()
    if end == 0 or end != len(value):
        raise ValueError(f"not a systemd time span: {text!r}")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:  # more than timedelta holds (2.7 million years): not a span systemd prints
        raise ValueError(f"not a systemd time span: {text!r}") from None
