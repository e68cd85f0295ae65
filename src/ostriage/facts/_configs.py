"""The ini files each OpenStack service really reads, merged the way oslo.config merges them.

The service's own command line decides (``--config-file``/``--config-dir`` in order, from the running
process or the unit's ``ExecStart``); only when neither is known are the distribution defaults used,
and the ``how`` of the result says which it was.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Iterable, Mapping

from ostriage.errors import ParseError
from ostriage.facts._container_paths import PathMap, container_paths
from ostriage.facts.model import ConfigSet, UnitState
from ostriage.facts.where import Placement
from ostriage.knowledge.services import Service
from ostriage.parsers.ini import IniFile, config_args, config_dir_files, merge, parse_ini
from ostriage.parsers.ps import PsProcess
from ostriage.sources.base import Problem, Source

__all__ = ["service_configs"]


def _argv(service: Service, processes: Iterable[PsProcess], units: dict[str, UnitState]) -> tuple[list[str], str]:
    for p in processes:
        if p.command and (p.program == service.name or p.program in service.comms):
            # a worker's setproctitle title keeps the parent's command line in parentheses
            argv = (p.title.parent_command if p.title and p.title.parent_command else p.command).split()
            if config_args(argv):
                return argv, f"command line of pid {p.pid}"
    for unit in service.units:
        state = units.get(unit)
        setting = state.setting("ExecStart") if state else None
        if setting and setting.values:
            try:
                return shlex.split(setting.values[-1].lstrip("-@+!:")), f"ExecStart of {unit}"
            except ValueError:
                continue
    return [], ""


def _files(source: Source, service: Service, argv: list[str], paths: PathMap | None = None) -> list[str]:
    files: list[str] = []
    for arg in config_args(argv):
        path = arg.path if paths is None else paths.host(arg.path)
        if path is None:
            continue  # inside a container, not visible from this host
        if arg.kind == "file":
            files.append(path)
        else:
            files += config_dir_files(source.glob(posixpath.join(path, "*.conf")))
    return files


def _read(source: Source, path: str, problems: list[Problem]) -> IniFile | None:
    lines = source.read_lines(path)
    if lines is None:
        return None
    try:
        ini = parse_ini(lines, strict=False)
    except ParseError as exc:  # only a file over the parser's size limits is refused whole
        problems.append(Problem(path, exc.message))
        return None
    problems.extend(Problem(e.path, f"line {e.line}: {e.message} (line ignored)") for e in ini.errors)
    return ini


def service_configs(source: Source, services: Iterable[Service], processes: list[PsProcess],
                    units: dict[str, UnitState], problems: list[Problem],
                    placements: Mapping[str, Placement] | None = None,
                    missing: list[str] | None = None) -> dict[str, ConfigSet]:
    """Each service's merged configuration. A service in a container or another machine reads its own
    paths: they are translated to the host's (``_container_paths``), and a file the host cannot see is
    not replaced by the host's file of the same name."""
    configs: dict[str, ConfigSet] = {}
    for service in services:
        if not service.default_configs:
            continue
        argv, origin = _argv(service, processes, units)
        paths = container_paths(source, (placements or {}).get(service.name), processes, service.default_configs)
        files = _files(source, service, argv, paths)
        how = f"--config-file/--config-dir from the {origin}"
        if not files:
            files, how = list(service.default_configs), "distribution default files"
            if paths is not None:
                files = [h for f in files if (h := paths.host(f)) is not None]
        if paths is not None:
            how += f", {paths.label}"
        parsed: list[IniFile] = []
        read: list[str] = []
        for path in dict.fromkeys(files):
            ini = _read(source, path, problems)
            if ini is not None:
                parsed.append(ini)
                read.append(path)
        if parsed:
            configs[service.name] = ConfigSet(service.name, merge(parsed), tuple(read), how)
        elif paths is not None and missing is not None:
            # the service runs here, but where its configuration is cannot be read from this evidence
            missing.append(f"configuration of {service.name}: in {paths.label}"
                           + (f" (looked for {', '.join(dict.fromkeys(files))})" if files else ""))
    return configs


#: MySQL/MariaDB option files, in the order the server reads them (later ones win)
MYSQL_OPTION_FILES = ("/etc/my.cnf", "/etc/mysql/my.cnf", "/etc/mysql/mariadb.cnf")
MYSQL_OPTION_DIRS = ("/etc/my.cnf.d", "/etc/mysql/conf.d", "/etc/mysql/mariadb.conf.d", "/etc/mysql/mysql.conf.d")
#: where distributions put the uWSGI configuration of neutron's API
UWSGI_INIS = ("/etc/neutron/neutron-api-uwsgi.ini", "/etc/neutron/api-uwsgi.ini", "/etc/neutron/neutron-uwsgi.ini")


def uwsgi_config(source: Source, processes: list[PsProcess], units: dict[str, UnitState],
                 problems: list[Problem], placements: Mapping[str, Placement] | None = None) -> ConfigSet | None:
    """neutron's uWSGI ini: the ``--ini`` of a uwsgi process or unit serving neutron, else the usual paths;
    in a container, where the host keeps them."""
    commands = [p.command for p in processes if p.program in ("uwsgi", "uwsgi-core") and p.command]
    for unit in ("neutron-api.service", "neutron-server.service"):
        state = units.get(unit)
        setting = state.setting("ExecStart") if state else None
        if setting is not None:
            commands += list(setting.values)
    named = [argv[i + 1] for c in commands for argv in [c.split()] for i, a in enumerate(argv[:-1])
             if a in ("--ini", "--yaml") and "neutron" in argv[i + 1]]
    paths = container_paths(source, (placements or {}).get("neutron-server"), processes, UWSGI_INIS)
    candidates = [*named, *UWSGI_INIS]
    if paths is not None:
        candidates = [h for c in candidates if (h := paths.host(c)) is not None]
    for path in dict.fromkeys(candidates):
        ini = _read(source, path, problems)
        if ini is not None:
            return ConfigSet("neutron-api-uwsgi", ini, (path,), "uWSGI --ini of neutron's API")
    return None


def mysql_config(source: Source, problems: list[Problem]) -> ConfigSet | None:
    """The database server's option files (for ``max_allowed_packet``), when they are on this host."""
    files = [p for p in MYSQL_OPTION_FILES if source.glob(p)]
    for directory in MYSQL_OPTION_DIRS:
        files += sorted(source.glob(posixpath.join(directory, "*.cnf")))
    # option files are ini-like but also hold "!includedir" lines and bare flags: read leniently, quietly
    parsed = [ini for path in files if (ini := _read(source, path, [])) is not None]
    if not parsed:
        return None
    return ConfigSet("mysql", merge(parsed), tuple(files), "MySQL/MariaDB option files")
