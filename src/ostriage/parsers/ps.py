"""Processes from ``ps``: who runs, how big it is, which systemd unit owns it.

Sources (sos 4.x ``process`` plugin; the same commands run live):

- ``ps auxwwwm`` (``sos_commands/process/ps_auxwwwm``, root symlink ``ps``): BSD columns; ``m`` prints each
  process's threads right after it as lines whose PID, %MEM, VSZ, RSS and TTY are ``-`` (the process line
  then has STAT ``-``). Real lines from the ussuri fixture::

    USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
    neutron     1603  0.2  0.8 150604 131276 ?       -    Feb09   2:38 /usr/bin/python3 \
/usr/bin/neutron-openvswitch-agent --config-file=/etc/neutron/neutron.conf ...
    neutron        -  0.2    -      -     - -        Ss   Feb09   2:38 -

- ``ps auxfwww`` (``ps_auxfwww``) and ``ps aux``: the same columns, one line per process; ``f`` draws the
  tree into COMMAND (``  \\_ ``, ``  |   \\_ ``), removed here.
- ``ps axo pid,ppid,user,group,lwp,nlwp,start_time,comm,cgroup``
  (``ps_axo_pid_ppid_user_group_lwp_nlwp_start_time_comm_cgroup``): columns named by the header; ``COMMAND``
  here is ``comm`` (the 15-character kernel name), ``CGROUP`` the ``/proc/<pid>/cgroup`` entries joined with
  commas (``-`` for kernel threads). Real line (cgroup v1 + v2 hybrid, Ubuntu 20.04)::

    1603       1 neutron  neutron     1603    1 Feb09 /usr/bin/python 10:devices:/system.slice/\
neutron-openvswitch-agent.service,6:memory:/system.slice/neutron-openvswitch-agent.service,...,\
0::/system.slice/neutron-openvswitch-agent.service

  The unit comes from the unified (``0::``) entry, else ``name=systemd``, else ``memory``: the deepest path
  component ending in ``.service`` or ``.scope``. The memory cgroup (``memory`` controller, or the unified
  one on cgroup v2) is kept too: kernel OOM records name it (``oom_memcg=``).

Worker titles: neutron-lib ``BaseWorker.setproctitle`` renames workers ``neutron-server: api worker
(<parent command>)`` (``setproctitle = on``, the default) or ``neutron-server: api worker`` (``brief``);
agents rename themselves ``neutron-dhcp-agent (<command>)`` since 17.0.0 (Victoria; neutron commit
5ce0595803 "Set process name for agents", so not in the ussuri fixture). ``title`` parses both.
``program`` is the service a full command line runs: the title's name, else the script a Python
interpreter runs, else the executable's basename (``None`` when only ``comm`` is known).

>>> from ostriage.evidence import numbered
>>> aux = [
...     "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND",
...     "neutron    52816 97.1 59.8 11216464 9729572 ?    R    02:50  11:07 neutron-server: api worker "
...     "(/usr/bin/python3 /usr/bin/neutron-server --config-file=/etc/neutron/neutron.conf)",
... ]
>>> (p,) = parse_ps_aux(numbered(aux, "ps"))
>>> p.pid, p.rss_kb, p.mem_percent, p.program, p.title.role
(52816, 9729572, 59.8, 'neutron-server', 'api worker')
>>> axo = ["    PID    PPID USER     GROUP        LWP NLWP START COMMAND         CGROUP",
...        "  52816   52800 neutron  neutron    52816    1 02:50 neutron-server  "
...        "0::/system.slice/neutron-server.service"]
>>> (q,) = parse_ps_columns(numbered(axo, "ps_axo"))
>>> q.ppid, q.comm, q.unit, q.memory_cgroup
(52800, 'neutron-server', 'neutron-server.service', '/system.slice/neutron-server.service')
"""

from __future__ import annotations

import os.path
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from ostriage.evidence import Line

__all__ = [
    "CgroupInfo",
    "ProcessTitle",
    "PsProcess",
    "parse_cgroup",
    "parse_process_title",
    "parse_ps_aux",
    "parse_ps_columns",
    "program_of",
]


@dataclass(frozen=True, slots=True)
class ProcessTitle:
    """A title set with setproctitle: ``<name>: <role> (<parent>)`` or ``<name> (<parent>)``."""

    name: str
    role: str | None
    parent_command: str | None


@dataclass(frozen=True, slots=True)
class CgroupInfo:
    """A process's cgroup membership, as ``ps -o cgroup`` prints it."""

    raw: str
    entries: tuple[tuple[str, str], ...]  # (controllers, path); "" is the unified (v2) hierarchy
    unit: str | None
    memory_cgroup: str | None


@dataclass(frozen=True, slots=True)
class PsProcess:
    """One process; fields a given ``ps`` format does not print are ``None``."""

    pid: int
    line: Line
    ppid: int | None = None
    user: str | None = None
    group: str | None = None
    cpu_percent: float | None = None
    mem_percent: float | None = None
    vsz_kb: int | None = None
    rss_kb: int | None = None
    tty: str | None = None
    stat: str | None = None
    start: str | None = None
    time: str | None = None
    command: str | None = None
    comm: str | None = None
    threads: int | None = None
    cgroup: CgroupInfo | None = None
    title: ProcessTitle | None = None
    program: str | None = None

    @property
    def unit(self) -> str | None:
        return self.cgroup.unit if self.cgroup else None

    @property
    def memory_cgroup(self) -> str | None:
        return self.cgroup.memory_cgroup if self.cgroup else None


_WORKER_TITLE = re.compile(r"(?P<name>[\w.@-]+): (?P<role>[^()]+?)(?: \((?P<parent>.*)\))?$")
_AGENT_TITLE = re.compile(r"(?P<name>[\w.@-]+) \((?P<parent>/.*)\)$")
_PYTHON = re.compile(r"python[\d.]*$")


def parse_process_title(command: str) -> ProcessTitle | None:
    """The setproctitle title of a command line, or ``None`` for a plain command.

    >>> parse_process_title("neutron-server: rpc worker (/usr/bin/python3 /usr/bin/neutron-server)")
    ... # doctest: +NORMALIZE_WHITESPACE
    ProcessTitle(name='neutron-server', role='rpc worker',
                 parent_command='/usr/bin/python3 /usr/bin/neutron-server')
    >>> parse_process_title("neutron-dhcp-agent (/usr/bin/python3 /usr/bin/neutron-dhcp-agent)").role is None
    True
    >>> parse_process_title("/usr/bin/python3 /usr/bin/neutron-server --config-file a") is None
    True
    """
    if command.startswith(("/", "[")):
        return None
    match = _WORKER_TITLE.match(command)
    if match is not None:
        return ProcessTitle(match["name"], match["role"], match["parent"])
    match = _AGENT_TITLE.match(command)
    if match is not None:
        return ProcessTitle(match["name"], None, match["parent"])
    return None


def program_of(command: str) -> str | None:
    """The program a command line runs (a title's name, a Python script, or the executable).

    >>> program_of("/usr/bin/python3 -u /usr/bin/neutron-server --config-file x")
    'neutron-server'
    >>> program_of("/usr/sbin/ovs-vswitchd unix:/var/run/openvswitch/db.sock"), program_of("[kthreadd]")
    ('ovs-vswitchd', 'kthreadd')
    """
    title = parse_process_title(command)
    if title is not None:
        return title.name
    argv = command.split()
    if not argv:
        return None
    if argv[0].startswith("[") and argv[0].endswith("]"):
        return command.strip()[1:-1]
    exe = os.path.basename(argv[0])
    if _PYTHON.match(exe):
        script = next((a for a in argv[1:] if not a.startswith("-")), None)
        if script is not None:
            return os.path.basename(script)
    return exe


def _unit_of(path: str) -> str | None:
    for part in reversed(path.split("/")):
        if part.endswith((".service", ".scope")):
            return part
    return None


def parse_cgroup(raw: str) -> CgroupInfo | None:
    """The ``cgroup`` column (``hierarchy:controllers:path`` entries joined with ``,``; ``-`` for none).

    >>> c = parse_cgroup("12:pids:/system.slice/x.service,3:cpu,cpuacct:/system.slice/x.service,"
    ...                  "11:memory:/system.slice/neutron-server.service")
    >>> c.entries[1]
    ('cpu,cpuacct', '/system.slice/x.service')
    >>> c.unit, c.memory_cgroup
    ('neutron-server.service', '/system.slice/neutron-server.service')
    """
    if raw in ("", "-"):
        return None
    entries: list[tuple[str, str]] = []
    # Controller lists contain commas too ("3:cpu,cpuacct:/"): an entry starts only at "<digits>:".
    for entry in re.split(r",(?=\d+:)", raw):
        parts = entry.split(":", 2)
        if len(parts) == 3 and parts[0].isdecimal():
            entries.append((parts[1], parts[2]))
    if not entries:
        return None
    by_controller: dict[str, str] = {}
    for controllers, path in entries:
        for controller in controllers.split(",") if controllers else [""]:
            by_controller.setdefault(controller, path)
    unit = None
    for key in ("", "name=systemd", "memory"):
        if key in by_controller and (unit := _unit_of(by_controller[key])) is not None:
            break
    memory = by_controller.get("memory", by_controller.get(""))
    return CgroupInfo(raw, tuple(entries), unit, memory)


def _int(text: str) -> int | None:
    return int(text) if text.isdecimal() else None


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


_FOREST = re.compile(r"^[ |]*\\_ ")


def _with_command(process: PsProcess, command: str) -> PsProcess:
    command = _FOREST.sub("", command, count=1)
    return replace(process, command=command, title=parse_process_title(command), program=program_of(command))


def parse_ps_aux(lines: Iterable[Line]) -> Iterator[PsProcess]:
    """``ps aux`` / ``auxwww`` / ``auxfwww`` / ``auxwwwm`` (threads folded into ``threads`` and ``stat``)."""
    current: PsProcess | None = None
    for line in lines:
        fields = line.text.split(None, 10)
        if len(fields) < 10 or fields[0] == "USER":
            continue
        if fields[1] == "-":
            # A thread line of "ps m": the first one carries the main thread's state.
            if current is not None:
                current = replace(current, threads=(current.threads or 0) + 1,
                                  stat=current.stat if current.stat not in (None, "-") else fields[7])
            continue
        pid = _int(fields[1])
        if pid is None:
            continue
        if current is not None:
            yield current
        current = _with_command(
            PsProcess(pid, line, user=fields[0], cpu_percent=_float(fields[2]), mem_percent=_float(fields[3]),
                      vsz_kb=_int(fields[4]), rss_kb=_int(fields[5]), tty=fields[6], stat=fields[7],
                      start=fields[8], time=fields[9]),
            fields[10] if len(fields) > 10 else "",
        )
    if current is not None:
        yield current


# procps headers of the columns that may contain spaces: comm and args/cmd.
_SPACED = {"COMMAND", "CMD", "ARGS"}


def parse_ps_columns(lines: Iterable[Line]) -> Iterator[PsProcess]:
    """``ps axo <columns>`` / ``ps -eo <columns>`` with a header, e.g. sos's
    ``pid,ppid,user,group,lwp,nlwp,start_time,comm,cgroup``.

    ``COMMAND`` is read as ``comm`` (what sos asks for; ``args`` would print the same header),
    ``CMD``/``ARGS`` as the full command line. Every other column is one word, so columns are matched
    from both ends and the spaced one gets what is left in the middle.
    """
    header: list[str] | None = None
    for line in lines:
        fields = line.text.split()
        if not fields:
            continue
        if header is None:
            if "PID" in fields:
                header = fields
            continue
        spaced = next((i for i, name in enumerate(header) if name in _SPACED), None)
        if spaced is None:
            if len(fields) != len(header):
                continue
            values = dict(zip(header, fields, strict=True))
        else:
            after = len(header) - spaced - 1
            if len(fields) < len(header) - 1:
                continue
            values = dict(zip(header[:spaced], fields[:spaced], strict=True))
            if after:
                values.update(zip(header[spaced + 1 :], fields[-after:], strict=True))
            middle = fields[spaced : len(fields) - after]
            values[header[spaced]] = " ".join(middle)
        pid = _int(values.get("PID", ""))
        if pid is None:
            continue
        process = PsProcess(
            pid, line, ppid=_int(values.get("PPID", "")), user=values.get("USER"), group=values.get("GROUP"),
            cpu_percent=_float(values.get("%CPU", "")), mem_percent=_float(values.get("%MEM", "")),
            vsz_kb=_int(values.get("VSZ", "")), rss_kb=_int(values.get("RSS", "")),
            tty=values.get("TTY", values.get("TT")), stat=values.get("STAT", values.get("S")),
            start=values.get("START", values.get("STARTED")), time=values.get("TIME"),
            comm=values.get("COMMAND"), threads=_int(values.get("NLWP", "")),
            cgroup=parse_cgroup(values.get("CGROUP", "")),
        )
        full = values.get("CMD", values.get("ARGS"))
        # Without the full command line there is no program: comm is cut at 15 characters and is often
        # just the interpreter ("/usr/bin/python"); join with "ps aux" on pid for it.
        yield _with_command(process, full) if full is not None else process
