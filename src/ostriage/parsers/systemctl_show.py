"""Unit properties from ``systemctl show``.

Sources: ``systemctl show <unit>`` (one block) and ``systemctl show --all`` / ``systemctl show service
--all`` (blocks separated by blank lines; sos ``sos_commands/systemd/systemctl_show_service_--all``, and
``systemctl_show_--all`` for the manager itself). Real lines, from the ussuri sosreport's
``neutron-l3-agent.service`` block::

    Restart=on-failure
    RestartUSec=100ms
    MainPID=1591
    NRestarts=0
    ExecMainStartTimestamp=Wed 2022-02-09 22:38:26 UTC
    MemoryCurrent=294281216
    MemoryMax=infinity
    Id=neutron-l3-agent.service
    ActiveState=active
    SubState=running

Every ``KEY=VALUE`` line is kept with its ``Line`` (values may contain ``=``; a key may repeat, e.g.
``ExecStart``); typed accessors read the common properties. ``infinity``, ``[not set]``, an empty value
and 2**64-1 (systemd's "unset") read as ``None``. Lines without ``=`` are skipped; nothing raises: a
value that does not parse reads as ``None``.

>>> from ostriage.evidence import numbered
>>> text = "Id=neutron-server.service\\nNRestarts=17\\nMemoryMax=2147483648\\nActiveState=active\\n"
>>> (unit,) = parse_systemctl_show(numbered(text, "systemctl_show"))
>>> unit.id, unit.n_restarts, unit.memory_max, unit.line_for("NRestarts").cite()
('neutron-server.service', 17, 2147483648, 'systemctl_show:2')
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from ostriage.evidence import Line
from ostriage.parsers.timestamps import parse_systemd_timestamp
from ostriage.parsers.unit_files import parse_timespan

__all__ = ["EXIT_CODES", "UnitProperties", "parse_systemctl_show"]

_UNSET = frozenset({"", "infinity", "[not set]", "18446744073709551615"})

# ExecMainCode is a waitid() si_code (CLD_*), printed as a number.
EXIT_CODES = {1: "exited", 2: "killed", 3: "dumped", 4: "trapped", 5: "stopped", 6: "continued"}


@dataclass(frozen=True, slots=True)
class UnitProperties:
    """One block of ``systemctl show``: every property line, and typed accessors.

    ``properties`` maps each key to the lines that set it, in order (usually one).
    """

    properties: Mapping[str, tuple[Line, ...]]

    def get(self, key: str) -> str | None:
        """The (last) value of a property, as printed."""
        line = self.line_for(key)
        return line.text.partition("=")[2] if line else None

    def get_all(self, key: str) -> tuple[str, ...]:
        """Every value of a property that may repeat (``ExecStart``, ``DeviceAllow``)."""
        return tuple(line.text.partition("=")[2] for line in self.properties.get(key, ()))

    def line_for(self, key: str) -> Line | None:
        """The line carrying a property, for citations."""
        lines = self.properties.get(key)
        return lines[-1] if lines else None

    def _int(self, key: str) -> int | None:
        value = self.get(key)
        if value is None or value in _UNSET:
            return None
        try:
            return int(value)
        except ValueError:
            return None

    def _text(self, key: str) -> str | None:
        return self.get(key) or None

    def _span(self, key: str) -> timedelta | None:
        value = self.get(key)
        if not value:
            return None
        try:
            return parse_timespan(value)
        except ValueError:
            return None

    @property
    def id(self) -> str | None:
        return self._text("Id")

    @property
    def description(self) -> str | None:
        return self._text("Description")

    @property
    def load_state(self) -> str | None:
        return self._text("LoadState")

    @property
    def active_state(self) -> str | None:
        return self._text("ActiveState")

    @property
    def sub_state(self) -> str | None:
        return self._text("SubState")

    @property
    def result(self) -> str | None:
        return self._text("Result")

    @property
    def n_restarts(self) -> int | None:
        return self._int("NRestarts")

    @property
    def main_pid(self) -> int | None:
        return self._int("MainPID")

    @property
    def exec_main_pid(self) -> int | None:
        return self._int("ExecMainPID")

    @property
    def exec_main_code(self) -> int | None:
        """The ``CLD_*`` code of the last main process exit (name: ``EXIT_CODES``)."""
        return self._int("ExecMainCode")

    @property
    def exec_main_status(self) -> int | None:
        """Exit status, or the signal number when ``exec_main_code`` is killed/dumped."""
        return self._int("ExecMainStatus")

    @property
    def exec_main_start_timestamp(self) -> datetime | None:
        value = self.get("ExecMainStartTimestamp")
        return parse_systemd_timestamp(value) if value else None

    @property
    def memory_current(self) -> int | None:
        """Bytes in use; ``None`` when memory accounting is off (``[not set]``)."""
        return self._int("MemoryCurrent")

    @property
    def memory_max(self) -> int | None:
        """Limits in bytes; ``None`` means no limit."""
        return self._int("MemoryMax")

    @property
    def memory_high(self) -> int | None:
        return self._int("MemoryHigh")

    @property
    def memory_limit(self) -> int | None:
        """The cgroup v1 limit (``MemoryLimit=``, deprecated by ``MemoryMax=``)."""
        return self._int("MemoryLimit")

    @property
    def memory_swap_max(self) -> int | None:
        return self._int("MemorySwapMax")

    @property
    def oom_score_adjust(self) -> int | None:
        return self._int("OOMScoreAdjust")

    @property
    def oom_policy(self) -> str | None:
        return self._text("OOMPolicy")

    @property
    def restart(self) -> str | None:
        return self._text("Restart")

    @property
    def restart_usec(self) -> timedelta | None:
        return self._span("RestartUSec")

    @property
    def fragment_path(self) -> str | None:
        return self._text("FragmentPath")

    @property
    def drop_in_paths(self) -> tuple[str, ...]:
        return tuple((self.get("DropInPaths") or "").split())

    @property
    def control_group(self) -> str | None:
        return self._text("ControlGroup")

    @property
    def start_limit_burst(self) -> int | None:
        return self._int("StartLimitBurst")

    @property
    def start_limit_interval_usec(self) -> timedelta | None:
        return self._span("StartLimitIntervalUSec")


def parse_systemctl_show(lines: Iterable[Line]) -> Iterator[UnitProperties]:
    """One ``UnitProperties`` per blank-line-separated block (blocks without properties are dropped)."""
    block: dict[str, list[Line]] = {}
    for line in lines:
        key, sep, _ = line.text.partition("=")
        if sep and key.isalnum() and key.isascii() and key[0].isalpha():  # [A-Za-z][A-Za-z0-9]*, without re
            block.setdefault(key, []).append(line)
        elif not line.text.strip() and block:
            yield _freeze(block)
            block = {}
    if block:
        yield _freeze(block)


def _freeze(block: dict[str, list[Line]]) -> UnitProperties:
    return UnitProperties(MappingProxyType({key: tuple(lines) for key, lines in block.items()}))
