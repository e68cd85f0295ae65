"""OpenStack ini files, read exactly as oslo.config reads them, with the line of every value.

Source: files such as ``/etc/neutron/neutron.conf``, ``/etc/neutron/plugins/ml2/ml2_conf.ini``,
``/etc/neutron/plugins/ml2/openvswitch_agent.ini`` (sosreport: ``etc/neutron/**``, where sos masks
secrets as ``*********``). Real lines from the ussuri fixture's ``etc/neutron/neutron.conf``::

    [DEFAULT]
    core_plugin =  neutron.plugins.ml2.plugin.Ml2Plugin
    transport_url = *********
    [QUOTAS]
    [AGENT]
    root_helper = sudo neutron-rootwrap /etc/neutron/rootwrap.conf

The grammar is oslo.config's own (``oslo_config.iniparser.BaseParser``, subclassed here, not
re-implemented): ``key = value`` or ``key: value``, one pair of matching quotes stripped, lines
starting with a space or tab continue the previous value (joined with ``\\n``), a blank line ends
it, ``#`` and ``;`` start comments. What this module adds is the evidence: each value keeps the
``Line`` of its key (and its continuation lines), so a rule can cite ``ml2_conf.ini:23``.

Lookup follows ``oslo_config.cfg`` (10.x, read from the installed package):

- Section names: ``_normalize_group_name`` keeps ``DEFAULT`` as is and lower-cases every other
  name, so ``[ML2_Type_Geneve]`` and ``[ml2_type_geneve]`` are one section, and ``[default]`` is a
  group called ``default``, *not* ``DEFAULT``. Groups never fall back to ``[DEFAULT]``.
- Option names: an option is looked up under ``Opt.dest`` (``name.replace('-', '_')``), and file keys
  are compared verbatim (``_Namespace._get_file_value`` indexes the parsed dict as is). So ``get``
  accepts ``vni-ranges`` or ``vni_ranges`` and both find only a file key ``vni_ranges``: a file key
  written with dashes is never read by the service. ``IniFile.keys`` shows such keys as written.
- Single-valued options: the last file that sets the key wins, and within it the last occurrence
  (``values[-1]`` in ``_Namespace._get_value``). Multi-valued options (``MultiStrOpt``) get every
  occurrence of every file, in file order.
- Values are the text as written: oslo.config's ``$option`` interpolation (``lock_path =
  $state_path/lock``) needs the registered options and their defaults, which a parser cannot know.

Malformed lines: oslo.config refuses the whole file (``ConfigFileParseError``) and the service does
not start. ``parse_ini(..., strict=True)`` does the same (``ostriage.errors.ParseError`` with oslo's
message and the line). With ``strict=False`` the bad line is recorded in ``IniFile.errors`` and
skipped, and parsing resumes on the next line, so the rest of the file can still be analysed and
the error itself reported as a finding (the service would refuse this file).

>>> from ostriage.evidence import numbered
>>> ini = parse_ini(numbered('''[ML2_TYPE_GENEVE]
... vni_ranges = 1:16777215
... [ml2_type_geneve]
... vni_ranges = "1:65535"
... ''', "ml2_conf.ini"))
>>> v = ini.get("ml2_type_geneve", "vni-ranges")
>>> v.value, v.line.cite()
('1:65535', 'ml2_conf.ini:4')
>>> [x.value for x in ini.get_all("ml2_type_geneve", "vni_ranges")]
['1:16777215', '1:65535']
>>> bad = parse_ini(numbered("[DEFAULT]\\ndebug = true\\ngarbage\\nhost = x\\n", "n.conf"), strict=False)
>>> bad.get("DEFAULT", "host").value, [str(e) for e in bad.errors]
('x', ["n.conf:3: No ':' or '=' found in assignment: 'garbage'"])
"""

from __future__ import annotations

import os.path
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from oslo_config import iniparser

from ostriage.errors import ParseError
from ostriage.evidence import Line

__all__ = [
    "MAX_LINES",
    "MAX_SECTIONS",
    "ConfigArg",
    "IniFile",
    "IniValue",
    "config_args",
    "config_dir_files",
    "merge",
    "normalize_section",
    "option_key",
    "parse_ini",
]

# oslo_config.cfg.ConfigParser.error_no_section: raised when a key comes before any section header.
_NO_SECTION = "Section must be started before assignment"


def normalize_section(name: str) -> str:
    """Section name as oslo.config compares it (``oslo_config.cfg._normalize_group_name``).

    >>> normalize_section("DEFAULT"), normalize_section("Default"), normalize_section("OVS")
    ('DEFAULT', 'default', 'ovs')
    """
    return name if name == "DEFAULT" else name.lower()


def option_key(name: str) -> str:
    """Key under which oslo.config looks an option up in a file (``Opt.dest``).

    >>> option_key("vni-ranges")
    'vni_ranges'
    """
    return name.replace("-", "_")


@dataclass(frozen=True, slots=True)
class IniValue:
    """One assignment: its value (continuations joined with ``\\n``) and where it was written."""

    value: str
    line: Line
    section: str
    key: str
    continuation: tuple[Line, ...] = ()

    @property
    def lines(self) -> tuple[Line, ...]:
        """Every line the assignment spans, key line first."""
        return (self.line, *self.continuation)


@dataclass(frozen=True, slots=True)
class IniFile:
    """A parsed file, or several merged in oslo.config's order (``merge``).

    ``sections`` maps normalized section name → file key (as written) → every assignment, in order.
    """

    paths: tuple[str, ...]
    sections: Mapping[str, Mapping[str, tuple[IniValue, ...]]]
    errors: tuple[ParseError, ...] = ()

    def get(self, section: str, key: str) -> IniValue | None:
        """The value the service uses for a single-valued option: the last one set, or ``None``."""
        values = self.get_all(section, key)
        return values[-1] if values else None

    def get_all(self, section: str, key: str) -> tuple[IniValue, ...]:
        """Every value of a multi-valued option (``MultiStrOpt``), in the order oslo.config returns."""
        return self.sections.get(normalize_section(section), {}).get(option_key(key), ())

    def has_section(self, section: str) -> bool:
        return normalize_section(section) in self.sections

    def has_option(self, section: str, key: str) -> bool:
        return bool(self.get_all(section, key))

    def section_names(self) -> tuple[str, ...]:
        """Normalized section names, in first-seen order."""
        return tuple(self.sections)

    def keys(self, section: str) -> tuple[str, ...]:
        """File keys of a section exactly as written (including dashed keys oslo.config never reads)."""
        return tuple(self.sections.get(normalize_section(section), {}))


#: Beyond these a file is no OpenStack configuration (nova.conf with every sample comment has ~6,000 lines
#: and ~80 sections) and holding it would cost memory without bound: it is refused whole, strict or not.
MAX_LINES = 200_000
MAX_SECTIONS = 2_000


class _Collector(iniparser.BaseParser):
    """oslo.config's grammar, with the Line of every assignment kept.

    ``BaseParser`` only reports an assignment when it is flushed (at the next key, section, blank line
    or end of file), so the key's Line is remembered when ``_split_key_value`` sees it and the lines
    that follow are buffered until the flush: the first ``len(value)`` of them are the assignment.
    """

    def __init__(self, strict: bool) -> None:
        super().__init__()
        self._strict = strict
        self.current: Line | None = None
        self._pending: list[Line] | None = None
        self.section: str | None = None
        self.sections: dict[str, dict[str, list[IniValue]]] = {}
        self.errors: list[ParseError] = []

    def feed(self, lines: Iterable[Line]) -> Iterator[str]:
        for line in lines:
            self.current = line
            if line.number > MAX_LINES:
                raise ParseError(line.path, 0, f"more than {MAX_LINES:,} lines: too large for a configuration "
                                 "file, not read")
            if self._pending is not None:
                self._pending.append(line)
            yield line.text

    def drop_pending(self) -> None:
        self._pending = None

    def _split_key_value(self, line: str) -> tuple[str, list[str]]:
        key_value = super()._split_key_value(line)
        if self.current is not None:
            self._pending = [self.current]
        return key_value

    def new_section(self, section: str) -> None:
        if len(self.sections) >= MAX_SECTIONS and normalize_section(section) not in self.sections:
            where = self.current
            raise ParseError(where.path if where else "<input>", 0, f"more than {MAX_SECTIONS:,} sections: too "
                             "many for a configuration file, not read")
        self.sections.setdefault(normalize_section(section), {})
        self.section = section

    def assignment(self, key: str, value: list[str]) -> None:
        pending = self._pending
        self._pending = None
        # BaseParser only flushes a key that went through _split_key_value, which set _pending.
        assert pending, "assignment without a key line"
        if self.section is None:
            error = ParseError(pending[0].path, pending[0].number, _NO_SECTION, pending[0].text)
            if self._strict:
                raise error
            self.errors.append(error)
            return
        keys = self.sections.setdefault(normalize_section(self.section), {})
        keys.setdefault(key, []).append(
            IniValue("\n".join(value), pending[0], self.section, key, tuple(pending[1 : len(value)]))
        )


def parse_ini(lines: Iterable[Line], *, strict: bool = True) -> IniFile:
    """Parse one ini file. ``strict``: raise ``ParseError`` on the first malformed line (oslo.config's
    behaviour); otherwise record it in ``IniFile.errors``, skip it and go on."""
    collector = _Collector(strict)
    paths: list[str] = []

    def remember_path(stream: Iterable[Line]) -> Iterator[Line]:
        for line in stream:
            if not paths:
                paths.append(line.path)
            yield line

    texts = collector.feed(remember_path(lines))
    while True:
        try:
            collector.parse(texts)
            break
        except iniparser.ParseError as exc:
            where = collector.current
            error = ParseError(where.path if where else "<input>", where.number if where else exc.lineno,
                               exc.msg, exc.line)
            if strict:
                raise error from None
            # Every BaseParser error is raised after the previous assignment was flushed and before a
            # new one starts, so parsing can resume on the same iterator without losing state.
            collector.errors.append(error)
            collector.drop_pending()
    return IniFile(tuple(paths), _freeze(collector.sections), tuple(collector.errors))


def merge(files: Iterable[IniFile]) -> IniFile:
    """Files in the order oslo.config parses them (``--config-file`` order, then ``--config-dir``
    ``*.conf`` sorted): ``get`` then gives the value the service uses, each with its own file's Line.

    >>> from ostriage.evidence import numbered
    >>> a = parse_ini(numbered("[ovs]\\nbridge_mappings = physnet1:br-ex\\n", "neutron.conf"))
    >>> b = parse_ini(numbered("[OVS]\\nbridge_mappings = phynet2:br-ex\\n", "openvswitch_agent.ini"))
    >>> merge([a, b]).get("ovs", "bridge_mappings").line.cite()
    'openvswitch_agent.ini:2'
    """
    sections: dict[str, dict[str, list[IniValue]]] = {}
    paths: list[str] = []
    errors: list[ParseError] = []
    for ini in files:
        paths.extend(ini.paths)
        errors.extend(ini.errors)
        for name, keys in ini.sections.items():
            merged = sections.setdefault(name, {})
            for key, values in keys.items():
                merged.setdefault(key, []).extend(values)
    return IniFile(tuple(paths), _freeze(sections), tuple(errors))


def _freeze(sections: dict[str, dict[str, list[IniValue]]]) -> dict[str, dict[str, tuple[IniValue, ...]]]:
    return {name: {key: tuple(values) for key, values in keys.items()} for name, keys in sections.items()}


@dataclass(frozen=True, slots=True)
class ConfigArg:
    """One ``--config-file`` or ``--config-dir`` argument of a service's command line."""

    kind: Literal["file", "dir"]
    path: str


_CONFIG_OPTIONS: dict[str, Literal["file", "dir"]] = {"--config-file": "file", "--config-dir": "dir"}


def config_args(argv: Sequence[str]) -> tuple[ConfigArg, ...]:
    """The config files and directories a command line names, in the order oslo.config parses them.

    oslo.config parses each ``--config-file``/``--config-dir`` as argparse meets it (``ConfigFileAction``,
    ``ConfigDirAction``), so command-line order is precedence order. With no ``--config-file`` at all
    the service reads its default files instead (``find_config_files``): an empty result says so.

    >>> config_args(["/usr/bin/neutron-server", "--config-file=/etc/neutron/neutron.conf", "--config-file",
    ...              "/etc/neutron/plugins/ml2/ml2_conf.ini", "--config-dir", "/etc/neutron/conf.d"])
    ... # doctest: +NORMALIZE_WHITESPACE
    (ConfigArg(kind='file', path='/etc/neutron/neutron.conf'),
     ConfigArg(kind='file', path='/etc/neutron/plugins/ml2/ml2_conf.ini'),
     ConfigArg(kind='dir', path='/etc/neutron/conf.d'))
    """
    found: list[ConfigArg] = []
    args = iter(argv)
    for arg in args:
        option, eq, value = arg.partition("=")
        kind = _CONFIG_OPTIONS.get(option)
        if kind is None:
            continue
        if not eq:
            value = next(args, "")
        if value:
            found.append(ConfigArg(kind, value))
    return tuple(found)


def config_dir_files(paths: Iterable[str]) -> list[str]:
    """The files of a ``--config-dir`` oslo.config reads, in its order: ``sorted(glob(dir/*.conf))``
    (glob's ``*`` skips dot files).

    >>> config_dir_files(["/d/50-x.conf", "/d/.hidden.conf", "/d/10-y.conf", "/d/README", "/d/z.conf.bak"])
    ['/d/10-y.conf', '/d/50-x.conf']
    """
    return sorted(p for p in paths if (n := os.path.basename(p)).endswith(".conf") and not n.startswith("."))

