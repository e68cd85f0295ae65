"""The one table of where each logical command's output comes from.

A *logical command* (``processes``, ``listening-sockets``, ``journal``...) names a piece of evidence
independently of how it was obtained. For each, this table lists

* the argv run on a live host (fixed, never through a shell, with a timeout), in order of
  preference: a later one is tried only when an earlier one could not run; and
* every file name sos has used for it across sos 3.x and 4.x, in order of preference: the first
  one present in the report wins (an empty file only when no variant has content).

Every variant carries the ``Format`` of its output, which tells the facts layer which parser
applies: ``ss -peaonmi``, ``netstat -neopa`` and ``lsof`` all answer "what listens on 9696", in
three layouts.

sos file names are sos's command lines "mangled" (``sos/report/plugins/__init__.py``,
``_mangle_command``): a leading ``/usr/bin/`` or ``/bin/`` is dropped, each run of characters
outside ``[A-Za-z0-9_./-]`` becomes ``_`` and ``/`` becomes ``.``; leading and trailing `` ._-``
are stripped (so ``systemctl show *service --all`` is ``systemctl_show_service_--all`` and
``--columns=_uuid`` is ``--columns__uuid``). Commands sos runs inside a container or through a
snap get a prefix (``podman_exec_<container>_ovn-sbctl_...``, ``microovn.ovn-sbctl_...``), hence
the glob variants. A variant without a ``/`` is one of sos's top-level symlinks (``ps``,
``installed-rpms``). Each comes after the names its target has had, so it is only used when the
target's name is one this table does not know (``installed-rpms`` points at a mangled shell
pipeline that changed over time); it carries the format sos has always given that link.

Live commands are chosen for a host that may be out of memory: output is streamed, never held
(see ``live``); the journal is bounded to the last ``JOURNAL_SINCE`` and at most
``JOURNAL_MAX_LINES`` of its newest lines, in ISO time so each line carries its year and offset;
``dmesg`` falls back to ``journalctl --dmesg`` where the kernel restricts it to root.

``FILE_AREAS`` lists the parts of a sosreport read as files (configs, logs, unit files); together
with the catalog, less ``EXTRACTION_EXCLUDED``, it decides what is unpacked from a tarball
(``extraction_areas``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "CATALOG",
    "EXTRACTION_EXCLUDED",
    "FILE_AREAS",
    "OVN_NB_TABLES",
    "OVN_SB_TABLES",
    "SOS_ONLY",
    "CommandSpec",
    "Format",
    "LiveVariant",
    "SosVariant",
    "extraction_areas",
    "lookup",
    "mangle",
]


class Format(StrEnum):
    """Layout of a command's output; the facts layer picks the parser from it."""

    #: ``journalctl`` default output: ``Feb 10 16:19:17 host ident[pid]: msg``; lines starting
    #: with ``-- `` are journalctl's own (``-- Logs begin at``, ``-- Reboot --``, ``--catalog`` text).
    JOURNAL_SHORT = "journal-short"
    #: ``journalctl -o short-iso``: ``2022-02-10T16:19:17+0000 host ident[pid]: msg``.
    JOURNAL_SHORT_ISO = "journal-short-iso"
    #: ``journalctl --all --output verbose`` (sos 3.x only): one multi-line record per entry.
    JOURNAL_VERBOSE = "journal-verbose"
    #: ``dmesg``: ``[ 3502.298345] msg`` (seconds since boot).
    DMESG = "dmesg"
    #: ``dmesg -T``: ``[Fri Nov 21 14:22:56 2025] msg`` (wall clock, drifts after suspend).
    DMESG_CTIME = "dmesg-ctime"
    #: ``systemctl show``: ``Key=Value`` lines, one block per unit, blocks separated by a blank line.
    SYSTEMCTL_SHOW = "systemctl-show"
    #: ``systemctl list-units`` table (``UNIT LOAD ACTIVE SUB DESCRIPTION``, ``●`` marks failed units).
    SYSTEMCTL_LIST_UNITS = "systemctl-list-units"
    #: ``systemctl list-unit-files`` table (``UNIT FILE STATE [VENDOR PRESET]``).
    SYSTEMCTL_LIST_UNIT_FILES = "systemctl-list-unit-files"
    #: ``ps auxwww``: ``USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND``.
    PS_AUX = "ps-aux"
    #: ``ps auxwwwm``: as ``ps-aux``, each process followed by its threads (rows with PID ``-``).
    PS_AUX_THREADS = "ps-aux-threads"
    #: ``ps auxfwww``: as ``ps-aux``, COMMAND prefixed by the forest drawing (``\\_ ``).
    PS_AUX_FOREST = "ps-aux-forest"
    #: ``ps axo pid,ppid,user,group,lwp,nlwp,start_time,comm,cgroup``.
    PS_CGROUP = "ps-cgroup"
    #: ``ss -peaonmi``: every socket, ``Netid State Recv-Q Send-Q Local Peer Process`` plus
    #: indented detail lines (timer, uid, ino, skmem).
    SS_ALL = "ss-peaonmi"
    #: ``ss -lntp``: listening TCP sockets, ``State Recv-Q Send-Q Local Peer Process``.
    SS_LISTEN_TCP = "ss-lntp"
    #: ``netstat -W -neopa`` (``-T`` on net-tools < 2): ``Proto Recv-Q Send-Q Local Foreign State
    #: User Inode PID/Program Timer``.
    NETSTAT = "netstat"
    #: ``lsof`` listing; ``+M``/``-P`` vary between variants, so ports may be names
    #: (``*:sunrpc[portmapper] (LISTEN)``) or numbers.
    LSOF = "lsof"
    #: ``ovs-vsctl show`` tree.
    OVS_VSCTL_SHOW = "ovs-vsctl-show"
    #: ``ovs-vsctl``/``ovn-sbctl list <Table>``: ``column : value`` records separated by blank lines.
    OVSDB_LIST = "ovsdb-list"
    #: ``ovn-sbctl show`` tree (``Chassis``/``Port_Binding``).
    OVN_SBCTL_SHOW = "ovn-sbctl-show"
    #: ``ovn-nbctl show`` tree: ``switch <uuid> (neutron-<network id>)`` per neutron network.
    OVN_NBCTL_SHOW = "ovn-nbctl-show"
    #: ``ls -l``-style listing (size is the 5th column).
    LS = "ls"
    #: ``free``: kibibytes.
    FREE = "free"
    #: ``free -m``: mebibytes.
    FREE_M = "free-m"
    #: ``date``: ``Thu Feb 10 16:19:17 UTC 2022`` (parsed by ``ostriage.parsers.date``).
    DATE = "date"
    #: ``timedatectl`` status (``Local time:``/``Universal time:``/``Time zone:`` lines).
    TIMEDATECTL = "timedatectl"
    #: ``uptime``: `` 16:19:19 up 17:41,  2 users,  load average: 3.58, 3.27, 2.58``.
    UPTIME = "uptime"
    #: ``dpkg -l`` table.
    DPKG_L = "dpkg-l"
    #: sos ``installed-rpms``: ``NAME-VERSION-RELEASE.ARCH  install date``, one per line.
    INSTALLED_RPMS = "installed-rpms"
    #: ``pip list`` table (``Package Version [Location Installer]``).
    PIP_LIST = "pip-list"
    #: ``docker ps -a`` / ``podman ps -a`` table (``CONTAINER ID  IMAGE  COMMAND  CREATED  STATUS  PORTS  NAMES``).
    CONTAINER_PS = "container-ps"
    #: ``docker inspect`` / ``podman inspect``: a JSON array of container (or image) objects.
    CONTAINER_INSPECT = "container-inspect"
    #: ``crictl ps -a`` table (``CONTAINER IMAGE CREATED STATE NAME ATTEMPT POD ID POD``).
    CRICTL_PS = "crictl-ps"
    #: ``crictl inspect <id>``: one CRI container status with the runtime's ``info``, JSON.
    CRICTL_INSPECT = "crictl-inspect"
    #: ``kubectl get -o json pods``: a ``List`` of pods, JSON.
    K8S_PODS_JSON = "k8s-pods-json"
    #: ``lxc list``: LXD's ``| NAME | STATE | ...`` table.
    LXC_LIST = "lxc-list"
    #: A container's own output (``kubectl logs``): each line may carry the runtime's time stamp and,
    #: under Juju's pebble, ``[service]`` before the service's own line.
    CONTAINER_LOG = "container-log"
    #: One item per line (``ovs-vsctl list-br``).
    LINES = "lines"
    #: Free text (``hostname``, ``uname -a``).
    TEXT = "text"


#: Live commands that do not say otherwise may take this long (seconds).
DEFAULT_TIMEOUT = 20.0
#: How far back the live journal goes, and how many of its newest lines are read at most: a crash
#: loop shows within hours, and 250,000 short lines stay below ~60 MiB even on a noisy host.
JOURNAL_SINCE = "-7d"
JOURNAL_MAX_LINES = 250_000
_JOURNAL_TIMEOUT = 180.0
_UNIT_NAME = re.compile(r"^[A-Za-z0-9_.@:\\-]+$")
#: a container id (hex, short or full) or name, a pod or namespace name: safe in an argv and a glob
_CONTAINER_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$")
#: engines whose CLI answers ``ps -a`` and ``inspect`` the docker way
CONTAINER_ENGINES = ("docker", "podman")


@dataclass(frozen=True, slots=True)
class SosVariant:
    """A file of a sosreport (root-relative; glob magic allowed) holding a command's output."""

    path: str
    format: Format
    note: str = ""


@dataclass(frozen=True, slots=True)
class LiveVariant:
    """A fixed argv run on a live host, without a shell, killed after ``timeout`` seconds."""

    argv: tuple[str, ...]
    format: Format
    timeout: float = DEFAULT_TIMEOUT
    note: str = ""
    #: Exit statuses that still mean "this is the answer" (``ls`` exits 2 when a path is missing).
    ok_exit: tuple[int, ...] = (0,)
    #: The program is often simply not there (a container engine on a host of packages): its absence is
    #: no problem to report.
    optional: bool = False

    def display(self) -> str:
        """How lines of this command are cited: ``$ ss -lntp``."""
        return "$ " + " ".join(self.argv)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A logical command: what it is, how to run it live, where sos put it."""

    name: str
    description: str
    live: tuple[LiveVariant, ...]
    sos: tuple[SosVariant, ...]


def mangle(command: str) -> str:
    """The file name sos gives a command's output (``_mangle_command`` in sos 3.x and 4.x).

    >>> mangle("systemctl show *service --all")
    'systemctl_show_service_--all'
    >>> mangle("ovn-sbctl --no-leader-only --columns=_uuid list MAC_Binding")
    'ovn-sbctl_--no-leader-only_--columns__uuid_list_MAC_Binding'
    >>> mangle("/usr/bin/pip3 list installed")
    'pip3_list_installed'
    >>> mangle("journalctl --no-pager --boot ")
    'journalctl_--no-pager_--boot'
    """
    name = re.sub(r"^/(usr/|)(bin|sbin)/", "", command)
    name = re.sub(r"[^\w\-./]+", "_", name)
    return name.replace("/", ".").strip(" ._-")


def _sos(plugin: str, command: str, fmt: Format, note: str = "") -> SosVariant:
    """A variant named after the command sos ran in ``plugin``, so the table reads as commands."""
    return SosVariant(f"sos_commands/{plugin}/{mangle(command)}", fmt, note)


def _live(
    *argv: str, fmt: Format, timeout: float = DEFAULT_TIMEOUT, note: str = "", ok_exit: tuple[int, ...] = (0,),
    optional: bool = False,
) -> LiveVariant:
    return LiveVariant(tuple(argv), fmt, timeout, note, ok_exit, optional)


_JOURNAL_LIVE = ("journalctl", "--no-pager", "--output=short-iso")


def _specs() -> Iterator[CommandSpec]:
    short = Format.JOURNAL_SHORT
    yield CommandSpec(
        "journal",
        "The system journal (all units), oldest first; the live one bounded to recent lines.",
        (
            _live(*_JOURNAL_LIVE, f"--since={JOURNAL_SINCE}", f"--lines={JOURNAL_MAX_LINES}",
                  fmt=Format.JOURNAL_SHORT_ISO, timeout=_JOURNAL_TIMEOUT),
        ),
        (
            _sos("logs", "journalctl --no-pager", short, "sos 3.9+: whole journal (tail-limited by size)"),
            SosVariant("sos_commands/logs/journalctl_--no-pager_--since_*", short, "--since / CoS plugin"),
            _sos("logs", "journalctl --no-pager --catalog --boot", short, "sos 3.9-4.4: this boot"),
            _sos("logs", "journalctl --no-pager --boot", short, "sos 3.x, 4.5+: this boot"),
            SosVariant("sos_commands/logs/journalctl_--no-pager_--catalog_--boot_--since_*", short),
            SosVariant("sos_commands/logs/journalctl_--no-pager_--boot_--since_*", short),
            _sos("logs", "journalctl --no-pager --all --boot --output verbose", Format.JOURNAL_VERBOSE,
                 "sos <= 3.8"),
        ),
    )
    yield CommandSpec(
        "journal-previous-boot",
        "The journal of the boot before the one running when evidence was taken.",
        (
            _live(*_JOURNAL_LIVE, "--boot=-1", f"--lines={JOURNAL_MAX_LINES}",
                  fmt=Format.JOURNAL_SHORT_ISO, timeout=_JOURNAL_TIMEOUT),
        ),
        (
            _sos("logs", "journalctl --no-pager --catalog --boot -1", short, "sos 3.9-4.4"),
            _sos("logs", "journalctl --no-pager --boot -1", short, "sos 4.5+"),
            SosVariant("sos_commands/logs/journalctl_--no-pager_--catalog_--boot_-1_--since_*", short),
            SosVariant("sos_commands/logs/journalctl_--no-pager_--boot_-1_--since_*", short),
        ),
    )
    yield CommandSpec(
        "dmesg",
        "The kernel ring buffer (OOM-killer records).",
        (
            _live("dmesg", fmt=Format.DMESG),
            _live(*_JOURNAL_LIVE, "--dmesg", fmt=Format.JOURNAL_SHORT_ISO,
                  note="when dmesg is restricted to root (kernel.dmesg_restrict=1)"),
        ),
        (
            _sos("kernel", "dmesg", Format.DMESG),
            _sos("kernel", "dmesg -T", Format.DMESG_CTIME, "sos 4.x"),
            _sos("general", "dmesg", Format.DMESG, "sos <= 3.2"),
        ),
    )
    yield CommandSpec(
        "systemctl-show-all",
        "Every loaded service's properties (MemoryMax, NRestarts, OOMScoreAdjust, ...).",
        (_live("systemctl", "show", "--no-pager", "--all", "*.service", fmt=Format.SYSTEMCTL_SHOW),),
        (
            _sos("systemd", "systemctl show *service --all", Format.SYSTEMCTL_SHOW),
            _sos("systemd", "systemctl show --all", Format.SYSTEMCTL_SHOW, "every unit, services included"),
        ),
    )
    yield CommandSpec(
        "systemctl-list-units",
        "Units and their load/active/sub states.",
        (_live("systemctl", "list-units", "--all", "--no-pager", fmt=Format.SYSTEMCTL_LIST_UNITS),),
        (
            _sos("systemd", "systemctl list-units --all", Format.SYSTEMCTL_LIST_UNITS, "sos 4.5+"),
            _sos("systemd", "systemctl list-units", Format.SYSTEMCTL_LIST_UNITS),
        ),
    )
    yield CommandSpec(
        "systemctl-list-unit-files",
        "Unit files and whether they are enabled.",
        (_live("systemctl", "list-unit-files", "--no-pager", fmt=Format.SYSTEMCTL_LIST_UNIT_FILES),),
        (_sos("systemd", "systemctl list-unit-files", Format.SYSTEMCTL_LIST_UNIT_FILES),),
    )
    yield CommandSpec(
        "processes",
        "Every process with its RSS and full command line.",
        (_live("ps", "auxwwwm", fmt=Format.PS_AUX_THREADS),),
        (
            _sos("process", "ps auxwwwm", Format.PS_AUX_THREADS, "sos 4.x (3.x also, not as root link)"),
            _sos("process", "ps auxwww", Format.PS_AUX, "sos 3.x"),
            SosVariant("ps", Format.PS_AUX_THREADS, "root symlink (ps auxwww in sos 3.x, found above)"),
            _sos("process", "ps auxfwww", Format.PS_AUX_FOREST, "sos 4.9+"),
        ),
    )
    yield CommandSpec(
        "process-cgroups",
        "Each process's cgroup (which systemd unit or container it belongs to).",
        (_live("ps", "axo", "pid,ppid,user,group,lwp,nlwp,start_time,comm,cgroup", fmt=Format.PS_CGROUP),),
        (_sos("process", "ps axo pid,ppid,user,group,lwp,nlwp,start_time,comm,cgroup", Format.PS_CGROUP),),
    )
    yield CommandSpec(
        "listening-sockets",
        "Who listens where (is anything on 9696?).",
        (_live("ss", "-lntp", fmt=Format.SS_LISTEN_TCP),),
        (
            _sos("networking", "ss -peaonmi", Format.SS_ALL, "only when the sock_diag modules were loaded"),
            _sos("networking", "netstat -W -neopa", Format.NETSTAT),
            _sos("networking", "netstat -T -neopa", Format.NETSTAT, "net-tools < 2"),
            SosVariant("netstat", Format.NETSTAT, "root symlink"),
            _sos("process", "lsof +M -n -l -c ''", Format.LSOF, "sos 4.x"),
            _sos("process", "lsof -b +M -n -l -c ''", Format.LSOF, "sos 3.6-3.9"),
            _sos("process", "lsof -b +M -n -l", Format.LSOF, "sos <= 3.5"),
            _sos("filesys", "lsof -b +M -n -l -P", Format.LSOF, "filesys plugin, lsof option"),
            SosVariant("lsof", Format.LSOF, "root symlink"),
        ),
    )
    yield CommandSpec(
        "ovs-vsctl-show",
        "Open vSwitch bridges, ports and controllers.",
        (_live("ovs-vsctl", "-t", "5", "show", fmt=Format.OVS_VSCTL_SHOW),),
        (
            _sos("openvswitch", "ovs-vsctl -t 5 show", Format.OVS_VSCTL_SHOW),
            _sos("openvswitch", "openstack-hypervisor.ovs-vsctl -t 5 show", Format.OVS_VSCTL_SHOW,
                 "sunbeam snap"),
        ),
    )
    yield CommandSpec(
        "ovs-vsctl-list-br",
        "Names of the Open vSwitch bridges (does br-ex exist?).",
        (_live("ovs-vsctl", "-t", "5", "list-br", fmt=Format.LINES),),
        (
            _sos("openvswitch", "ovs-vsctl -t 5 list-br", Format.LINES),
            _sos("openvswitch", "ovs-vsctl list-br", Format.LINES, "sos 3.x"),
            _sos("openvswitch", "openstack-hypervisor.ovs-vsctl -t 5 list-br", Format.LINES, "sunbeam snap"),
        ),
    )
    yield CommandSpec(
        "ovs-vsctl-list-open-vswitch",
        "The Open_vSwitch record (external_ids: ovn-remote, ovn-bridge-mappings, ...).",
        (_live("ovs-vsctl", "-t", "5", "list", "Open_vSwitch", fmt=Format.OVSDB_LIST),),
        (
            _sos("openvswitch", "ovs-vsctl -t 5 list Open_vSwitch", Format.OVSDB_LIST, "sos 4.x"),
            _sos("openvswitch", "ovs-vsctl list Open_vSwitch", Format.OVSDB_LIST, "sos 3.x"),
            _sos("openvswitch", "openstack-hypervisor.ovs-vsctl -t 5 list Open_vSwitch", Format.OVSDB_LIST,
                 "sunbeam snap"),
        ),
    )
    yield _ovn_show("ovn-sbctl", Format.OVN_SBCTL_SHOW, "The OVN Southbound chassis and port bindings.")
    yield _ovn_show("ovn-nbctl", Format.OVN_NBCTL_SHOW,
                    "The OVN Northbound logical switches (one per neutron network) and routers.")
    yield CommandSpec(
        "ovn-sb-mac-binding",
        "The OVN Southbound MAC_Binding table (grows without bound; neutron-server mirrors it).",
        (
            _live("ovn-sbctl", "--no-leader-only", "--timeout=30", "--columns=_uuid", "list", "MAC_Binding",
                  fmt=Format.OVSDB_LIST, timeout=45),
            _live("ovn-sbctl", "--timeout=30", "--columns=_uuid", "list", "MAC_Binding",
                  fmt=Format.OVSDB_LIST, timeout=45, note="ovn-sbctl without --no-leader-only"),
        ),
        _ovn_db("list MAC_Binding", Format.OVSDB_LIST) + _ovn_db("--columns=_uuid list MAC_Binding",
                                                                Format.OVSDB_LIST, since_nolo=True),
    )
    yield _db_listing("ovn-sb-db-listing", "ovnsb_db.db",
                      "``ls -l`` of the OVN Southbound database file (its size; sos copies only its tail).")
    yield _db_listing("ovn-nb-db-listing", "ovnnb_db.db", "``ls -l`` of the OVN Northbound database file (its size).")
    yield _cluster_status("ovnsb_db", "OVN_Southbound")
    yield _cluster_status("ovnnb_db", "OVN_Northbound")
    yield CommandSpec(
        "free",
        "Memory and swap totals.",
        (_live("free", fmt=Format.FREE),),
        (
            _sos("memory", "free", Format.FREE),
            SosVariant("free", Format.FREE, "root symlink"),
            _sos("memory", "free -m", Format.FREE_M),
        ),
    )
    yield CommandSpec(
        "date",
        "The host's clock in its own zone when the evidence was taken.",
        (_live("date", fmt=Format.DATE),),
        (
            _sos("date", "date", Format.DATE, "sos 3.6+; the root 'date' link is timedatectl in 4.x"),
            _sos("general", "date", Format.DATE, "sos <= 3.5"),
        ),
    )
    yield CommandSpec(
        "date-utc",
        "The host's clock in UTC (with ``date``, gives the UTC offset).",
        (_live("date", "--utc", fmt=Format.DATE),),
        (_sos("date", "date --utc", Format.DATE),),
    )
    yield CommandSpec(
        "timedatectl",
        "Clock, time zone and NTP synchronisation.",
        (_live("timedatectl", "--no-pager", "status", fmt=Format.TIMEDATECTL),),
        (_sos("systemd", "timedatectl", Format.TIMEDATECTL),),
    )
    yield CommandSpec(
        "uptime",
        "Time since boot and load averages.",
        (_live("uptime", fmt=Format.UPTIME),),
        (
            _sos("host", "uptime", Format.UPTIME),
            SosVariant("uptime", Format.UPTIME, "root symlink"),
            _sos("general", "uptime", Format.UPTIME, "sos <= 3.5"),
        ),
    )
    yield CommandSpec(
        "hostname",
        "The host's name.",
        (_live("hostname", fmt=Format.TEXT),),
        (
            _sos("host", "hostname", Format.TEXT),
            SosVariant("hostname", Format.TEXT, "root symlink"),
            _sos("general", "hostname", Format.TEXT, "sos <= 3.5"),
        ),
    )
    yield CommandSpec(
        "uname",
        "Kernel release and architecture.",
        (_live("uname", "-a", fmt=Format.TEXT),),
        (_sos("kernel", "uname -a", Format.TEXT), SosVariant("uname", Format.TEXT, "root symlink")),
    )
    yield CommandSpec(
        "installed-packages",
        "Installed distribution packages (OpenStack release, neutron version).",
        (
            _live("dpkg", "-l", fmt=Format.DPKG_L),
            _live("rpm", "--nodigest", "-qa", "--qf", "%-59{NVRA} %{INSTALLTIME:date}\\n",
                  fmt=Format.INSTALLED_RPMS, timeout=60),
        ),
        (
            _sos("dpkg", "dpkg -l", Format.DPKG_L),
            SosVariant("installed-debs", Format.DPKG_L, "root symlink"),
            SosVariant("installed-rpms", Format.INSTALLED_RPMS,
                       "root symlink; its target's name is a mangled shell pipeline that changed over time"),
        ),
    )
    yield CommandSpec(
        "pip-list",
        "Python packages installed with pip (source or container installs of OpenStack).",
        (
            _live("pip3", "list", fmt=Format.PIP_LIST, timeout=60),
            _live("pip", "list", fmt=Format.PIP_LIST, timeout=60),
        ),
        (
            _sos("python", "pip3 list installed", Format.PIP_LIST, "sos 4.x"),
            _sos("python", "pip list installed", Format.PIP_LIST, "sos 4.x"),
            SosVariant("sos_commands/python/*pip*_list_installed", Format.PIP_LIST, "pip outside /usr/bin"),
            SosVariant("sos_commands/python/*pip*_-v_list_installed", Format.PIP_LIST, "sos 4.8+"),
            _sos("python", "pip list", Format.PIP_LIST, "sos 3.x"),
        ),
    )


# Where ovn-central keeps its databases, by packaging (sos ovn_central plugin's own list).
_OVN_DB_DIRS = (
    "/var/lib/ovn",
    "/var/lib/openvswitch/ovn",
    "/etc/openvswitch",
    "/var/lib/openvswitch",
    "/var/lib/ovn/etc",
    "/usr/local/etc/openvswitch",
    "/var/snap/microovn/common/data/central/db",
)


def _ovn_show(tool: str, fmt: Format, description: str) -> CommandSpec:
    """``ovn-sbctl show`` / ``ovn-nbctl show``: live with and without ``--no-leader-only``, and sos's names."""
    return CommandSpec(
        f"{tool}-show",
        description,
        (
            _live(tool, "--no-leader-only", "--timeout=15", "show", fmt=fmt),
            _live(tool, "--timeout=15", "show", fmt=fmt, note=f"{tool} without --no-leader-only"),
        ),
        _ovn_db("show", fmt, tool=tool),
    )


def _ovn_db(command: str, fmt: Format, *, since_nolo: bool = False, tool: str = "ovn-sbctl") -> tuple[SosVariant, ...]:
    """ovn-sbctl (or ovn-nbctl) variants: with ``--no-leader-only`` (sos 4.5+) first, then without
    (older sos); each also as run inside a container or the microovn snap (prefixed names)."""
    nolo = mangle(f"{tool} --no-leader-only {command}")
    plain = mangle(f"{tool} {command}")
    names = (nolo,) if since_nolo else (nolo, plain)
    exact = tuple(SosVariant(f"sos_commands/ovn_central/{n}", fmt) for n in names)
    prefixed = tuple(
        SosVariant(f"sos_commands/ovn_central/*[._]{n}", fmt, "container or snap") for n in names
    )
    return exact + prefixed


# Where ovsdb-server's control sockets are, by packaging (sos ovn_central: Debian/Ubuntu, Red Hat, MicroOVN).
_OVN_CTL_DIRS = ("/var/run/ovn", "/var/run/openvswitch", "/var/snap/microovn/common/run/ovn")
#: Tables whose rows are counted (``ovn-sb-list:<T>``/``ovn-nb-list:<T>``); the ones with options are listed whole.
OVN_SB_TABLES = ("MAC_Binding", "FDB", "Port_Binding", "Datapath_Binding", "Chassis", "Chassis_Private",
                 "Encap", "Multicast_Group", "IGMP_Group", "Service_Monitor", "Static_MAC_Binding",
                 "Load_Balancer", "Address_Set", "Port_Group", "DNS", "HA_Chassis_Group")
OVN_NB_TABLES = ("Logical_Switch", "Logical_Switch_Port", "Logical_Router", "Logical_Router_Port", "ACL",
                 "NAT", "Load_Balancer", "Logical_Router_Static_Route", "Address_Set", "Port_Group",
                 "DHCP_Options", "DNS", "NB_Global")
_WHOLE_RECORDS = ("Logical_Router", "Logical_Switch", "NB_Global")


def _db_listing(name: str, db_file: str, description: str) -> CommandSpec:
    """``ls -l`` of an OVN database file wherever the packaging keeps it (sos: ``ls -lan``, then ``ls -alZ``)."""
    return CommandSpec(
        name,
        description,
        (
            _live("ls", "-ln", *(f"{d}/{db_file}" for d in _OVN_DB_DIRS), fmt=Format.LS, ok_exit=(0, 2),
                  note="lists whichever of the candidate paths exist; ls exits 2 for the others"),
        ),
        (
            SosVariant(f"sos_commands/ovn_central/ls_-alZ_*{db_file}", Format.LS, "sos 4.6+"),
            SosVariant(f"sos_commands/ovn_central/ls_-lan_*{db_file}", Format.LS, "sos 4.5"),
        ),
    )


def _cluster_status(ctl: str, db: str) -> CommandSpec:
    """``ovs-appctl -t <ctl> cluster/status <db>``: raft role, term, log, leader changes (clustered DBs)."""
    return CommandSpec(
        f"{ctl.removesuffix('_db').replace('ovn', 'ovn-')}-cluster-status",
        f"Raft status of the {db} ovsdb-server (clustered databases only).",
        tuple(_live("ovs-appctl", "-t", f"{d}/{ctl}.ctl", "cluster/status", db, fmt=Format.TEXT, timeout=15)
              for d in _OVN_CTL_DIRS),
        (*(SosVariant(f"sos_commands/ovn_central/{mangle(f'ovs-appctl -t {d}/{ctl}.ctl cluster/status {db}')}",
                      Format.TEXT, "sos 4.3+") for d in _OVN_CTL_DIRS),
         SosVariant(f"sos_commands/ovn_central/*ovs-appctl_-t_*{ctl}.ctl_cluster.status_{db}", Format.TEXT,
                    "container or snap")),
    )


def _ovn_table(tool: str, table: str) -> CommandSpec:
    """``ovn-sb-list:<T>`` / ``ovn-nb-list:<T>``: one table's records (live: only their UUIDs, unless
    the table's options are read), as sos lists every table of the schema."""
    columns = () if table in _WHOLE_RECORDS else ("--columns=_uuid",)
    return CommandSpec(
        f"{'ovn-sb' if tool == 'ovn-sbctl' else 'ovn-nb'}-list:{table}",
        f"The {table} table of the OVN {'Southbound' if tool == 'ovn-sbctl' else 'Northbound'} database.",
        (
            _live(tool, "--no-leader-only", "--timeout=30", *columns, "list", table, fmt=Format.OVSDB_LIST,
                  timeout=45),
            _live(tool, "--timeout=30", *columns, "list", table, fmt=Format.OVSDB_LIST, timeout=45,
                  note=f"{tool} without --no-leader-only"),
        ),
        _ovn_db(f"list {table}", Format.OVSDB_LIST, tool=tool),
    )


def _journal_unit(unit: str) -> CommandSpec:
    """``journal-unit:<unit>``: one unit's journal; sos collects a few, in the plugin of the
    service (``openvswitch/journalctl_--no-pager_--unit_ovs-vswitchd``), naming units without
    their ``.service`` suffix."""
    names = dict.fromkeys((unit.removesuffix(".service"), unit))
    bases = [mangle(f"journalctl --no-pager --unit {name}") for name in names]
    return CommandSpec(
        f"journal-unit:{unit}",
        f"The journal of {unit} alone.",
        (
            _live(*_JOURNAL_LIVE, f"--unit={unit}", f"--since={JOURNAL_SINCE}",
                  f"--lines={JOURNAL_MAX_LINES}", fmt=Format.JOURNAL_SHORT_ISO, timeout=_JOURNAL_TIMEOUT),
        ),
        tuple(SosVariant(f"sos_commands/*/{base}", Format.JOURNAL_SHORT) for base in bases)
        + tuple(SosVariant(f"sos_commands/*/{base}_--since_*", Format.JOURNAL_SHORT) for base in bases),
    )


def _unit_journal_files() -> CommandSpec:
    """Every per-unit journal a sosreport holds (each plugin collects its units': ``openvswitch/
    journalctl_--no-pager_--unit_ovs-vswitchd``); a live host's whole journal already has them."""
    return CommandSpec(
        "journal-units",
        "The per-unit journals sos collected, each file one unit's.",
        (),
        (SosVariant("sos_commands/*/journalctl_--no-pager_--unit_*", Format.JOURNAL_SHORT),),
    )


def _container_specs() -> Iterator[CommandSpec]:
    """Container engines and Kubernetes (sos's docker, podman, crio, kubernetes and lxd plugins)."""
    for engine in CONTAINER_ENGINES:
        yield CommandSpec(
            f"{engine}-ps",
            f"Every {engine} container, running or not (id, image, status, name).",
            (_live(engine, "ps", "-a", fmt=Format.CONTAINER_PS, optional=True),),
            (_sos(engine, f"{engine} ps -a", Format.CONTAINER_PS),
             _sos(engine, f"{engine} ps", Format.CONTAINER_PS, "running containers only")),
        )
        yield CommandSpec(
            f"{engine}-inspect",
            f"Every {engine} container's inspect record (state, restart count, limits), one file each.",
            (),  # live, each container is inspected by id (container-inspect:<engine>:<id>)
            (SosVariant(f"sos_commands/{engine}/containers/{engine}_inspect_*", Format.CONTAINER_INSPECT, "sos 3.8+"),
             SosVariant(f"sos_commands/{engine}/users/*/containers/{engine}_inspect_*", Format.CONTAINER_INSPECT,
                        "rootless, sos 4.11+ allusers"),
             SosVariant(f"sos_commands/{engine}/{engine}_inspect_*", Format.CONTAINER_INSPECT,
                        "sos <= 3.7, with image inspects")),
        )
    yield CommandSpec(
        "crictl-ps",
        "Every CRI container (Kubernetes), with its restart attempt and pod.",
        (_live("crictl", "ps", "-a", fmt=Format.CRICTL_PS, optional=True),),
        (_sos("crio", "crictl ps -a", Format.CRICTL_PS), _sos("crio", "crictl ps", Format.CRICTL_PS)),
    )
    yield CommandSpec(
        "crictl-inspect",
        "Every CRI container's status record, one file each.",
        (),
        (SosVariant("sos_commands/crio/containers/crictl_inspect_*", Format.CRICTL_INSPECT),),
    )
    kubectl = ("get", "pods", "--all-namespaces", "-o", "json")
    yield CommandSpec(
        "k8s-pods",
        "Kubernetes pods (containers' restarts, last state, readiness, memory limits, hostNetwork).",
        (_live("kubectl", *kubectl, fmt=Format.K8S_PODS_JSON, timeout=60, optional=True),
         _live("k8s", "kubectl", *kubectl, fmt=Format.K8S_PODS_JSON, timeout=60, optional=True,
               note="Canonical Kubernetes"),
         _live("microk8s", "kubectl", *kubectl, fmt=Format.K8S_PODS_JSON, timeout=60, optional=True,
               note="MicroK8s")),
        (SosVariant("sos_commands/kubernetes/cluster-info/*/*kubectl*_get_-o_json_--namespace_*_pods",
                    Format.K8S_PODS_JSON, "per namespace, kubernetes.all, sos 4.7+"),
         SosVariant("sos_commands/kubernetes/pods/*kubectl*_get_-o_json_--namespace_*_pods", Format.K8S_PODS_JSON,
                    "per namespace, kubernetes.all, sos 3.x-4.6"),
         SosVariant("sos_commands/kubernetes/*kubectl*_get_-o_json_pods", Format.K8S_PODS_JSON)),
    )
    yield CommandSpec(
        "lxc-list",
        "LXD containers and their state.",
        (_live("lxc", "list", "local:", fmt=Format.LXC_LIST, optional=True),),
        (_sos("lxd", "lxc list local: --all-projects", Format.LXC_LIST, "sos 4.5+"),
         _sos("lxd", "lxc list local:", Format.LXC_LIST), _sos("lxd", "lxc list", Format.LXC_LIST, "sos 3.x")),
    )


def _container_inspect(engine: str, ref: str) -> CommandSpec:
    """``container-inspect:<engine>:<id>``: one container's inspect record, named as sos names it."""
    name = mangle(f"{engine} inspect {ref}")
    return CommandSpec(
        f"container-inspect:{engine}:{ref}",
        f"The {engine} inspect record of container {ref}.",
        (_live(engine, "container", "inspect", ref, fmt=Format.CONTAINER_INSPECT, optional=True),),
        (SosVariant(f"sos_commands/{engine}/containers/{name}", Format.CONTAINER_INSPECT),
         SosVariant(f"sos_commands/{engine}/{name}", Format.CONTAINER_INSPECT)),
    )


def _pod_log(namespace: str, pod: str, container: str) -> CommandSpec:
    """``pod-log:<namespace>/<pod>/<container>``: ``kubectl logs`` of one container, where sos's kubernetes
    plugin puts it with ``podlogs`` (``k8s_``/``microk8s_`` prefixed for snap-packaged Kubernetes)."""
    return CommandSpec(
        f"pod-log:{namespace}/{pod}/{container}",
        f"The log of container {container} of pod {namespace}/{pod}.",
        (_live("kubectl", f"--namespace={namespace}", "logs", pod, "-c", container, "--since=24h",
               fmt=Format.CONTAINER_LOG, timeout=60),),
        (SosVariant(f"sos_commands/kubernetes/cluster-info/{namespace}/podlogs/{pod}/"
                    f"*kubectl*_--namespace_{namespace}_logs_{pod}_-c_{container}", Format.CONTAINER_LOG),
         SosVariant(f"sos_commands/kubernetes/pods/*kubectl*_--namespace_{namespace}_logs_{pod}", Format.CONTAINER_LOG,
                    "sos 3.x-4.6: the pod's default container only")),
    )


CATALOG: Mapping[str, CommandSpec] = MappingProxyType(
    {spec.name: spec for spec in (*_specs(), _unit_journal_files(), *_container_specs())})

#: Evidence a sosreport splits over many files that a live host gives otherwise: the whole journal holds
#: every unit's, and containers are inspected one by one (``container-inspect:<engine>:<id>``).
SOS_ONLY = frozenset({"journal-units", "docker-inspect", "podman-inspect", "crictl-inspect"})

#: Parts of a sosreport read as files, root-relative; a directory means all below it, glob magic
#: is matched against the path or any of its parent directories.
FILE_AREAS: tuple[str, ...] = (
    # sos itself: markers, version, collection time
    "version.txt", "sos_logs", "sos_reports/manifest.json", "environment",
    # sos 4.x keeps the tail of an output over --log-size here, linked from sos_commands (``<name>.tailed``)
    "sos_strings/ovn_central/ovn-*ctl_*",
    # configs and their containerised (TripleO puppet-generated) copies
    "etc/neutron", "etc/nova", "etc/keystone", "etc/placement", "etc/apache2", "etc/httpd",
    "var/lib/config-data/puppet-generated/neutron", "var/lib/config-data/puppet-generated/nova*",
    "etc/os-release", "etc/lsb-release", "etc/redhat-release", "etc/debian_version", "etc/hostname",
    "etc/sysctl.conf", "etc/sysctl.d",
    # the database's option files (max_allowed_packet bounds what neutron's start-up may ask of it)
    "etc/my.cnf", "etc/my.cnf.d", "etc/mysql",
    # Debian's alternatives: links only (/etc/mysql/my.cnf leads through one)
    "etc/alternatives",
    # systemd units and drop-ins (lib is a symlink to usr/lib on merged-/usr systems)
    "etc/systemd", "lib/systemd", "usr/lib/systemd", "usr/local/lib/systemd", "run/systemd",
    # logs
    "var/log/neutron", "var/log/nova", "var/log/keystone", "var/log/openvswitch", "var/log/ovn",
    "var/log/containers", "var/log/apache2", "var/log/httpd",
    "var/log/kolla/neutron", "var/log/kolla/nova", "var/log/kolla/keystone", "var/log/kolla/openvswitch",
    "var/log/kern.log*", "var/log/syslog*", "var/log/messages*", "var/log/dmesg*",
    # kernel and memory state (nothing reads sys/: a full sos report has tens of thousands of files there)
    "proc/meminfo", "proc/cpuinfo", "proc/uptime",
    "sos_commands/release",
    # containerised deployments: Kolla's per-service configs and its kolla_logs volume (docker, podman),
    # TripleO's kolla config files, the kubelet's pod logs
    "etc/kolla", "var/log/pods", "var/lib/kolla/config_files",
    *(f"var/lib/{engine}/volumes/kolla_logs/_data/{service}" for engine in ("docker", "containers/storage")
      for service in ("neutron", "nova")),
)


#: Inside those areas, what is not unpacked: per-interface, per-namespace and per-bridge outputs
#: that no fact reads. They are most of the files of a network node's report (thousands with
#: hundreds of routers), and writing them would cost more than everything else together.
EXTRACTION_EXCLUDED: tuple[str, ...] = (
    "sos_commands/networking/ethtool_*",
    "sos_commands/networking/ip_netns_exec_*",
    "sos_commands/networking/namespaces",
    "sos_commands/networking/tc_*",
    "sos_commands/openvswitch/ovs-appctl_*",
    "sos_commands/openvswitch/ovs-dpctl_*",
    "sos_commands/openvswitch/ovs-ofctl_*",
    # Kubernetes resources no fact reads (the pods and their logs are read); secrets are not wanted anyway
    *(f"sos_commands/kubernetes/cluster-info/*/*kubectl*_{r}" for r in (
        "clusterrolebindings", "clusterroles", "configmaps", "endpoints", "events", "secrets", "serviceaccounts",
        "statefulsets", "replicasets", "deployments", "services", "pvc")),
    "sos_commands/kubernetes/cluster-info/*/pvc",
)


def lookup(name: str) -> CommandSpec:
    """The spec of a logical command; ``journal-unit:<unit>`` is built for any valid unit name.

    >>> lookup("processes").live[0].argv
    ('ps', 'auxwwwm')
    >>> lookup("journal-unit:ovs-vswitchd").sos[0].path
    'sos_commands/*/journalctl_--no-pager_--unit_ovs-vswitchd'
    >>> lookup("journal-unit:--help")
    Traceback (most recent call last):
    ...
    KeyError: "not a systemd unit name: '--help'"
    """
    if name.startswith("journal-unit:"):
        unit = name.removeprefix("journal-unit:")
        # The unit lands in an argv and in a glob: keep it to systemd's own unit-name alphabet and
        # never let it look like an option.
        if not _UNIT_NAME.match(unit) or unit.startswith("-"):
            raise KeyError(f"not a systemd unit name: {unit!r}")
        return _journal_unit(unit)
    if name.startswith("container-inspect:"):
        engine, _, ref = name.removeprefix("container-inspect:").partition(":")
        if engine not in CONTAINER_ENGINES or not _CONTAINER_REF.match(ref):
            raise KeyError(f"not a container reference: {name!r}")
        return _container_inspect(engine, ref)
    if name.startswith("pod-log:"):
        parts = name.removeprefix("pod-log:").split("/")
        if len(parts) != 3 or not all(_CONTAINER_REF.match(p) for p in parts):
            raise KeyError(f"not a pod container: {name!r}")
        return _pod_log(*parts)
    tool, _, table = name.partition("-list:")
    if table and tool in ("ovn-sb", "ovn-nb"):
        if table not in (OVN_SB_TABLES if tool == "ovn-sb" else OVN_NB_TABLES):
            raise KeyError(f"not an OVN table ostriage reads: {table!r}")
        return _ovn_table(f"{tool}ctl", table)
    return CATALOG[name]


def extraction_areas() -> tuple[str, ...]:
    """What to unpack from a sosreport tarball: ``FILE_AREAS``, every top-level symlink the
    catalog names, and the whole ``sos_commands/<plugin>`` directory of every plugin it names
    (so that a symlink's target, or a name this table does not know yet, is there too), less
    ``EXTRACTION_EXCLUDED``.

    >>> "sos_commands/process" in extraction_areas() and "ps" in extraction_areas()
    True
    """
    # A unit's journal may be in any plugin's directory: take those files wherever they are.
    areas = dict.fromkeys((*FILE_AREAS, "sos_commands/*/journalctl_--no-pager_--unit_*"))
    for spec in CATALOG.values():
        for variant in spec.sos:
            parts = variant.path.split("/")
            if len(parts) == 1:
                areas[variant.path] = None
            elif parts[0] == "sos_commands":
                areas[variant.path if _has_magic(parts[1]) else f"sos_commands/{parts[1]}"] = None
    return tuple(areas)


def _has_magic(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")
