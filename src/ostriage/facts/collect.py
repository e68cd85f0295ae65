"""``collect(source) -> Facts``: run the parsers over every place the evidence may live.

Each part is isolated: evidence that is absent is noted in ``Facts.missing``, a part that fails is
noted in ``Facts.problems`` with what failed, and the rest is still collected. All times are the
host's local wall-clock time, naive, as the logs print them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta

from ostriage.evidence import Line
from ostriage.facts._configs import mysql_config, service_configs, uwsgi_config
from ostriage.facts._container_logs import pod_log_events
from ostriage.facts._container_paths import container_paths
from ostriage.facts._journal import JournalReader, unit_of_journal
from ostriage.facts._logs import scan_service_logs
from ostriage.facts._modified import modified_files
from ostriage.facts._oom import OomDigest, align_boot_time, not_after
from ostriage.facts._units import assemble_units
from ostriage.facts.model import Facts, Sized
from ostriage.facts.ovn_db import ovn_databases
from ostriage.facts.where import (
    collect_containers,
    container_of,
    foreign_owners,
    from_conmon,
    from_kernel,
    place_services,
    wrapper_units,
)
from ostriage.knowledge.releases import parse_neutron_version
from ostriage.knowledge.services import SERVICES, Service
from ostriage.parsers.journal import UnitEventKind, parse_journal_text
from ostriage.parsers.kernel_oom import OomEvent, parse_oom_events
from ostriage.parsers.meminfo import parse_free, parse_meminfo
from ostriage.parsers.ovn_nb import neutron_switches
from ostriage.parsers.ovs import open_vswitch, parse_list_br, parse_ovs_vsctl_show
from ostriage.parsers.packages import (
    Package,
    VersionBanner,
    neutron_package,
    parse_dpkg_list,
    parse_pip_list,
    parse_rpm_list,
)
from ostriage.parsers.ps import PsProcess, parse_ps_aux, parse_ps_columns
from ostriage.parsers.sockets import Listener, parse_lsof, parse_netstat, parse_ss
from ostriage.parsers.systemctl_lists import ListedUnit, parse_list_unit_files, parse_list_units
from ostriage.parsers.systemctl_show import UnitProperties, parse_systemctl_show
from ostriage.parsers.uptime import parse_proc_uptime, parse_uptime
from ostriage.scan.run import kernel_logs
from ostriage.sources.base import Problem, Source
from ostriage.sources.catalog import Format

__all__ = ["collect"]

# syslog-style kernel logs, oldest rotation first; several may hold the same record (merged later)
KERNEL_LOGS = ("/var/log/kern.log", "/var/log/messages", "/var/log/syslog")
_JOURNALS = ("journal", "journal-previous-boot")


#: how the tables of ss (with and without the Netid column), netstat and lsof start
_SOCKET_HEADERS = ("Netid", "State", "Proto", "COMMAND")


class _Collector:
    def __init__(self, source: Source) -> None:
        self.source = source
        collected = source.collected_at()
        self.collected = collected  # with its UTC offset, to place file times on the host's clock
        self.facts = Facts(target=source.label, kind=source.kind, mount=source.mount,
                           collected_at=collected.replace(tzinfo=None) if collected else None)
        self.utc_offset: timedelta | None = collected.utcoffset() if collected else None
        self.year = self.facts.collected_at.year if self.facts.collected_at else None
        # kills and journal entries are aggregated as they stream: a flood costs a bounded digest, not a list
        self.kills = OomDigest(self.facts.collected_at)
        self.journal_read = JournalReader(self.kills)
        self.unit_events = self.journal_read.units
        self.properties: list[UnitProperties] = []
        self.listed: dict[str, ListedUnit] = {}
        self.unit_files: dict[str, Line] = {}
        self.banners: list[VersionBanner] = []
        self.packages: list[Package] = []
        #: the kernel's events and the boot time when it is known only to the minute (``uptime``)
        self._approximate: tuple[OomDigest, datetime] | None = None

    def guarded(self, what: str, part: Callable[[], None]) -> None:
        """Run one part; a parser bug costs that part only, and is reported by name."""
        try:
            part()
        except Exception as exc:
            self.facts.problems.append(Problem(what, f"could not be analysed: {type(exc).__name__}: {exc}"))

    # -- parts -----------------------------------------------------------------------------------
    def hostname(self) -> None:
        out = self.source.command("hostname")
        if out is not None:
            self.facts.hostname = next((ln.text.strip() for ln in out.lines if ln.text.strip()), None)

    def journal(self) -> None:
        for name in _JOURNALS:
            out = self.source.command(name)
            if out is None:
                continue
            if out.format not in (Format.JOURNAL_SHORT, Format.JOURNAL_SHORT_ISO):
                self.facts.problems.append(Problem(out.origin, f"journal format {out.format} is not read"))
                continue
            self.journal_read.read(parse_journal_text(out.lines, year=self.year))
            if "--boot" not in out.origin:
                break  # the whole journal (sos) or its last days (live) hold the previous boot already
        # sos collects some units' journals apart, each with its own size limit: lines the whole
        # journal lost to its limit may be there (those it has are not counted twice)
        for out in self.source.command_all("journal-units"):
            self.journal_read.read(parse_journal_text(out.lines, year=self.year), unit_of_journal(out.origin),
                                   dedupe=True)
        self.journal_read.finish()
        if not self.journal_read:
            self.facts.missing.append("journal")
        units = self.journal_read.units
        if units.forgotten:
            self.facts.problems.append(Problem(
                "journal", f"{units.forgotten:,} messages of systemd about {units.forgotten_units:,} units with few "
                "messages each were not kept (more units than are held at once)"))

    def kernel(self) -> None:
        seen = [0]

        def counted(lines: Iterable[Line]) -> Iterator[Line]:
            for line in lines:
                if not line.text.startswith("-- "):  # journalctl's "-- No entries --"
                    seen[0] += 1
                yield line

        digest = self.kills  # the journal's kills are in already
        dmesg = self.source.command("dmesg")
        if dmesg is not None:
            for event in parse_oom_events(counted(dmesg.lines), year=self.year):
                digest.add(event)
        scanned = kernel_logs(self.source, KERNEL_LOGS, self.year, digest.add)
        seen[0] += scanned.lines
        for path in scanned.unscanned:
            for event in parse_oom_events(counted(self.source.read_log(path)), year=self.year):
                digest.add(event)
        boot, approximate = self._boot_time()
        if boot is not None and approximate:
            listed = digest.listed()
            aligned = align_boot_time(boot, listed, self.unit_events)
            if aligned == boot:
                # no unit's notice placed the kills (a container's may, once known): at least none of them
                # can have happened after the evidence was taken
                aligned = not_after(boot, listed, self.facts.collected_at)
                self._approximate = (digest, aligned)
            boot = aligned
        self.facts.oom_events = digest.events(boot)
        self.facts.oom_unlisted = digest.unlisted()
        if self.facts.oom_unlisted:
            counted_kills = len(digest.best) + sum(s.count for s in digest.summaries.values())
            self.facts.problems.append(Problem(
                "kernel logs", f"{counted_kills:,} OOM kills: the first {len(digest.best):,} are listed one by one, "
                f"the other {counted_kills - len(digest.best):,} are counted per victim (the last and the largest "
                "of each kept)" + ("; past 100,000 kills, copies of one kill in several logs may be counted twice"
                                   if digest.upper_bound else "")))
        if not seen[0] and not self.journal_read.kernel_entries:
            # no kernel line at all: "no OOM kill" would mean nothing
            self.facts.missing.append(
                "kernel log (dmesg, kern.log, messages, syslog, journal): OOM kills cannot be seen")

    def _boot_time(self) -> tuple[datetime | None, bool]:
        """Collection time minus uptime, and whether it is only to the minute (``uptime``'s output)."""
        if self.facts.collected_at is None:
            return None, False
        proc = self.source.read_lines("/proc/uptime")
        up = parse_proc_uptime(proc) if proc is not None else None
        approximate = False
        if up is None:
            out = self.source.command("uptime")
            up = parse_uptime(out.lines) if out is not None else None
            approximate = True
        try:
            return (self.facts.collected_at - up, approximate) if up is not None else (None, False)
        except OverflowError:  # an uptime longer than the calendar before the collection: no boot time
            return None, False

    def systemctl(self) -> None:
        out = self.source.command("systemctl-show-all")
        if out is None:
            self.facts.missing.append("systemctl show")
        else:
            self.properties = list(parse_systemctl_show(out.lines))
        listed = self.source.command("systemctl-list-units")
        if listed is not None:
            self.listed = {u.name: u for u in parse_list_units(listed.lines)}
        files = self.source.command("systemctl-list-unit-files")
        if files is not None:
            # installed is not deployed: only a unit file set to start says the host runs the service
            self.unit_files = {u.name: u.line for u in parse_list_unit_files(files.lines)
                               if u.state in ("enabled", "enabled-runtime", "linked", "linked-runtime")}

    def processes(self) -> None:
        out = self.source.command("processes")
        procs: dict[int, PsProcess] = {}
        if out is not None:
            procs = {p.pid: p for p in parse_ps_aux(out.lines)}
        cgroups = self.source.command("process-cgroups")
        if cgroups is not None:
            for p in parse_ps_columns(cgroups.lines):
                known = procs.get(p.pid)
                if known is None:
                    procs[p.pid] = p
                elif p.cgroup is not None:
                    procs[p.pid] = replace(known, cgroup=p.cgroup)
        if not procs:
            self.facts.missing.append("process list")
        self.facts.processes = list(procs.values())

    def containers(self) -> None:
        self.facts.containers = collect_containers(self.source, self.utc_offset, self.facts.processes)
        from_conmon(self.facts.processes, self.facts.containers)

    def cgroups(self) -> None:
        paths = [p for e in self.facts.oom_events for p in (e.task_memcg, e.oom_memcg) if p]
        host_units = {p.id for p in self.properties if p.id and p.load_state != "not-found"}
        self.facts.foreign_cgroups = foreign_owners(paths, self.facts.processes, host_units)
        from_kernel([(owner, e.citation) for e in self.facts.oom_events for path in (e.task_memcg, e.oom_memcg)
                     if path and (owner := self.facts.foreign_cgroups.get(path)) is not None], self.facts.containers)

    def units(self) -> None:
        named = {u for e in self.facts.oom_events if (u := self.facts.host_unit(e))}
        self.facts.units = assemble_units(self.source, self.properties, self.unit_events, named, self.listed,
                                          set(self.unit_files), self.unit_events.omitted())
        self.facts.containers = wrapper_units(self.facts.containers, self.facts.units)
        self._realign_container_kills()

    def _realign_container_kills(self) -> None:
        """A boot time known only to the minute, refined again now that the units starting containers are known:
        a kill in such a container is followed by its unit's restart as a host unit's kill is by its own."""
        if self._approximate is None:
            return
        digest, boot = self._approximate
        starters = {path: c.unit for path, owner in self.facts.foreign_cgroups.items()
                    if (c := container_of(self.facts.containers, owner)) is not None and c.unit}
        if not starters:
            return

        def unit_of(e: OomEvent) -> str | None:
            return next((starters[p] for p in (e.task_memcg, e.oom_memcg) if p in starters), None)

        refined = align_boot_time(boot, digest.listed(), self.unit_events, unit_of,
                                  frozenset({UnitEventKind.SUCCEEDED, UnitEventKind.RESTART_SCHEDULED}))
        if refined != boot:
            self.facts.oom_events = digest.events(refined)

    def where(self) -> None:
        loaded: dict[str, Line | None] = {name: line for name, line in self.unit_files.items()}
        for name, state in self.facts.units.items():
            props = state.properties
            if props is not None and props.load_state == "not-found":
                continue
            if props is not None or state.files or state.listed is not None or state.events or name in self.unit_files:
                loaded[name] = (props.line_for("Id") if props else None) or loaded.get(name)
        private = {name for name, state in self.facts.units.items()
                   if (setting := state.setting("PrivateNetwork")) is not None
                   and setting.value.lower() in ("yes", "true", "1", "on")}
        self.facts.placements = place_services(
            processes=self.facts.processes, containers=self.facts.containers, loaded_units=loaded,
            unit_private_network=private, listeners=self.facts.listeners,
            logged=set(self.facts.log_pids.values()) | self.facts.logging_services)

    def listeners(self) -> None:
        out = self.source.command("listening-sockets")
        if out is None:
            self.facts.missing.append("listening sockets")
            return
        parsers: dict[str, Callable[[Iterable[Line]], Iterator[Listener]]] = {
            Format.SS_ALL: parse_ss, Format.SS_LISTEN_TCP: parse_ss,
            Format.NETSTAT: parse_netstat, Format.LSOF: parse_lsof}
        lines = list(out.lines)
        listeners = list(parsers[out.format](lines))
        # ss, netstat and lsof all print a header: without one (an empty file, a failed command, garbage)
        # "no listener" would mean "no data", not "nothing listens"
        if not listeners and not any(line.text.lstrip().startswith(_SOCKET_HEADERS) for line in lines):
            self.facts.missing.append(f"listening sockets ({out.origin} holds no socket table)")
            return
        self.facts.listeners = listeners
        self.facts.listeners_origin = out.origin

    def configs(self) -> None:
        self.facts.configs = service_configs(self.source, SERVICES, self.facts.processes, self.facts.units,
                                             self.facts.problems, self.facts.placements, self.facts.missing)
        extra = (uwsgi_config(self.source, self.facts.processes, self.facts.units, self.facts.problems,
                              self.facts.placements),
                 mysql_config(self.source, self.facts.problems))
        self.facts.configs.update({c.service: c for c in extra if c is not None})

    def modified(self) -> None:
        self.facts.modified = modified_files(self.source, self.collected, self.facts.configs,
                                             self.facts.units.values())

    def logs(self) -> None:
        # a kernel OOM record names a pid: the logs tell whose it was (victims, and the tasks of the tables)
        wanted = {e.victim_pid for e in self.facts.oom_events if e.victim_pid is not None}
        wanted.update(t.pid for e in self.facts.oom_events for t in e.tasks)
        found = scan_service_logs(self.source, self._services_where_they_log(), wanted)
        self.banners = found.banners
        self.facts.log_pids.update(found.pids)
        self.facts.logging_services.update(found.logging)
        digest = found.events
        self.banners += pod_log_events(self.source, self.facts.containers, digest.add)
        digest.merge(self.journal_read.events)
        for pid in sorted(wanted - self.facts.log_pids.keys()):
            if (service := self.journal_read.pid_service(pid)) is not None:
                self.facts.log_pids[pid] = service
        self.facts.logging_services |= self.journal_read.services
        self.facts.log_events = sorted(digest.events(), key=lambda e: e.timestamp or datetime.min)
        self.facts.log_event_counts = digest.counts()
        self.facts.log_events_left_out = digest.left_out
        if digest.left_out:
            self.facts.problems.append(Problem(
                "service logs", f"{digest.left_out:,} signature matches counted but not listed: the first and last "
                "8 of each kind are kept (a log repeating one line is counted, not held)"))

    def _services_where_they_log(self) -> list[Service]:
        """The services with their logs where this host keeps them: a container's or machine's own log paths
        translated to the host's (Kolla's ``kolla_logs`` volume, an nspawn machine's root)."""
        services = []
        for service in SERVICES:
            paths = container_paths(self.source, self.facts.placement(service.name), self.facts.processes)
            extra = [h for log in service.logs
                     if paths is not None and (h := paths.host(log)) and h not in service.logs]
            services.append(replace(service, logs=(*service.logs, *extra)) if extra else service)
        return services

    def ovs(self) -> None:
        show = self.source.command("ovs-vsctl-show")
        if show is not None:
            self.facts.ovs = parse_ovs_vsctl_show(show.lines)
            self.facts.ovs_bridges = {b.name: b.line for b in self.facts.ovs.bridges}
        list_br = self.source.command("ovs-vsctl-list-br")
        if list_br is not None:
            names = {b.name: b.line for b in parse_list_br(list_br.lines)}
            self.facts.ovs_bridges = names | (self.facts.ovs_bridges or {})
        record = self.source.command("ovs-vsctl-list-open-vswitch")
        if record is not None:
            self.facts.open_vswitch = open_vswitch(record.lines)
        nb = self.source.command("ovn-nbctl-show")
        if nb is not None:
            switches = list(neutron_switches(nb.lines))
            self.facts.neutron_networks = Sized(len(switches), switches[-1] if switches else None)

    def memory(self) -> None:
        lines = self.source.read_lines("/proc/meminfo")
        meminfo = parse_meminfo(lines) if lines is not None else None
        if meminfo is not None and meminfo.mem_total:
            self.facts.mem_total = Sized(meminfo.mem_total, meminfo.line("MemTotal"))
        else:
            free = self.source.command("free")
            parsed = parse_free(free.lines, "m" if free.format is Format.FREE_M else "k") if free else None
            if parsed and parsed.mem and parsed.mem.total:
                self.facts.mem_total = Sized(parsed.mem.total, parsed.mem.line)
            else:
                self.facts.missing.append("memory size (/proc/meminfo, free)")
        cpus = self.source.read_lines("/proc/cpuinfo")
        processors = [ln for ln in cpus if ln.text.startswith("processor")] if cpus is not None else []
        if processors:
            self.facts.cpu_count = Sized(len(processors), processors[-1])

    def release(self) -> None:
        packages: list[Package] = []
        out = self.source.command("installed-packages")
        if out is not None:
            parse = parse_rpm_list if out.format is Format.INSTALLED_RPMS else parse_dpkg_list
            packages += parse(out.lines)
        self.packages = packages
        found = neutron_package(packages)
        if found is None:
            # a venv or container install: only pip knows (and a live `pip list` is slow, so only then)
            pip = self.source.command("pip-list")
            found = neutron_package(parse_pip_list(pip.lines)) if pip is not None else None
        version, line = (found.version, found.line) if found else (None, None)
        if found is None and self.banners:
            version, line = self.banners[-1].version, self.banners[-1].line
        if version is not None:
            self.facts.release, self.facts.release_line = parse_neutron_version(version), line

    def ovn(self) -> None:
        self.facts.ovn_db = ovn_databases(self.source, self.packages, self.facts.processes)


def collect(source: Source) -> Facts:
    c = _Collector(source)
    # Commands' outputs before logs: a tarball is read while it is unpacked, and sos puts var/ last
    c.guarded("hostname", c.hostname)
    c.guarded("systemctl show", c.systemctl)
    c.guarded("process list", c.processes)
    c.guarded("containers", c.containers)
    c.guarded("listening sockets", c.listeners)
    c.guarded("journal", c.journal)
    c.guarded("kernel log", c.kernel)
    c.guarded("cgroups of OOM kills", c.cgroups)
    c.guarded("systemd units", c.units)
    c.guarded("where services run", c.where)
    c.guarded("OpenStack configuration", c.configs)
    c.guarded("configuration times", c.modified)
    c.guarded("OpenStack logs", c.logs)
    c.guarded("where services run", c.where)
    c.guarded("Open vSwitch", c.ovs)
    c.guarded("memory", c.memory)
    c.guarded("neutron release", c.release)
    c.guarded("OVN databases", c.ovn)
    c.facts.problems[:0] = source.problems
    if source.mount != "/":
        # a configuration alone shows no incident: "healthy" here says nothing of what the next start will do
        c.facts.missing.insert(0, f"what ran: {source.label} is a copy of {source.mount} alone; "
                                  f"`{c.facts.lint_command()}` checks it before a restart")
    return c.facts
