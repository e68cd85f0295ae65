"""A fuzz target per parser: whatever lines a host wrote, a parser returns records (or raises the error its
contract names, e.g. ``ParseError`` for a value neutron would refuse), never anything else, and every
record cites lines it was given.

Inputs are real lines of the example bundle (runs of consecutive lines, so that multi-line records such
as a kernel OOM block or a traceback are reached), mutated (cut anywhere, spliced, numbers made huge,
negative or zero, separators doubled or dropped, control characters and any Unicode inserted), mixed
with arbitrary text. Every typed accessor of a record is called too: a lazily parsed property must not
fail later in a rule either.

``make test`` runs each target briefly (``OSTRIAGE_FUZZ_EXAMPLES``, 25 by default); ``make fuzz`` runs
them for long (5,000 examples each). Hypothesis keeps what it finds in ``.hypothesis/`` and replays it
first on the next run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ostriage.errors import ParseError
from ostriage.evidence import Line
from ostriage.knowledge.log_signatures import match_signature
from ostriage.parsers import (
    cgroups,
    containers,
    date,
    ini,
    journal,
    kernel_oom,
    kmsg,
    meminfo,
    openstack_values,
    oslo_log,
    ovn_db,
    ovn_nb,
    ovs,
    packages,
    ps,
    sockets,
    systemctl_lists,
    systemctl_show,
    timestamps,
    unit_files,
    uptime,
)

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed-incident"
SCENARIOS = Path(__file__).resolve().parents[2] / "tests" / "scenarios"
MAC_BINDING = Path(__file__).resolve().parents[2] / "examples" / "mac-binding-growth"
FUZZ = settings(max_examples=int(os.environ.get("OSTRIAGE_FUZZ_EXAMPLES", "25")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


def _real(*paths: str, doc: tuple[ModuleType, ...] = (), limit: int = 4000) -> list[str]:
    """Lines of files of the example bundle and of the scenarios (the first ``limit`` of each), and the real
    sample lines the parsers' docstrings carry (formats the bundle lacks: ``ss``, ``rpm``, ``pip``)."""
    out: list[str] = [line for module in doc for line in _doc_lines(module)]
    for rel in paths:
        for root in (SEED, MAC_BINDING, *sorted(SCENARIOS.glob("*/sos"))):
            path = root / rel
            if path.is_file():
                out += path.read_text(errors="replace").splitlines()[:limit]
    assert out, f"no sample lines in {paths}"
    return out


def _doc_lines(module: ModuleType) -> list[str]:
    docs = [module.__doc__ or ""] + [inspect.getdoc(obj) or "" for _, obj in inspect.getmembers(module)
                                     if getattr(obj, "__module__", None) == module.__name__]
    return [re.sub(r"^(>>> |\.\.\. )", "", line.strip()) for d in docs for line in d.splitlines() if line.strip()]


# -- strategies --------------------------------------------------------------------------------------

_ANY_CHAR = st.characters(blacklist_categories=("Cs",), blacklist_characters="\n")
_TEXT = st.text(_ANY_CHAR, max_size=120)
_NUMBERS = st.sampled_from(["0", "-1", "-0", "18446744073709551615", "99999999999999999999999", "1e309", "nan",
                            "0x1f", "١٢٣", "9" * 400, "00000000000000000001", "2147483648", "-2147483649"])
_JUNK = st.one_of(_TEXT, _NUMBERS, st.sampled_from(["\x00", "\x1b[31m", "\r", "\t", "\u202e", "\ufffd", "=", ":",
                                                     "[", "]", "(", ")", "{", "}", ",", "'", '"', " " * 50,
                                                     "kB", "%", "/", "..", "\\"]))


@st.composite
def _mutated(draw: st.DrawFn, line: str) -> str:
    """``line`` with a few edits of the kinds broken logs show."""
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(line)))
        op = draw(st.sampled_from(["cut", "insert", "delete", "number", "double"]))
        if op == "cut":
            line = line[:at]
        elif op == "insert":
            line = line[:at] + draw(_JUNK) + line[at:]
        elif op == "delete":
            line = line[:at] + line[at + draw(st.integers(1, 20)):]
        elif op == "number":
            digits = [i for i, c in enumerate(line) if c.isdigit()]
            if digits:
                i = draw(st.sampled_from(digits))
                j = i
                while j < len(line) and line[j].isdigit():
                    j += 1
                line = line[:i] + draw(_NUMBERS) + line[j:]
        else:
            line = line[:at] + line[at:at + 40] * 2 + line[at + 40:]
    return line


def lines_of(samples: list[str], max_size: int = 60) -> st.SearchStrategy[list[Line]]:
    """A run of consecutive sample lines, some mutated, some replaced by junk, numbered as one file."""

    @st.composite
    def build(draw: st.DrawFn) -> list[Line]:
        start = draw(st.integers(0, len(samples) - 1))
        run = samples[start:start + draw(st.integers(0, max_size))]
        texts: list[str] = []
        for text in run:
            kind = draw(st.integers(0, 9))
            if kind < 6:
                texts.append(text)
            elif kind < 9:
                texts.append(draw(_mutated(text)))
            else:
                texts.append(draw(_TEXT))
        texts += draw(st.lists(st.one_of(_TEXT, st.sampled_from(samples).flatmap(_mutated)), max_size=5))
        return [Line("fuzzed", n, t) for n, t in enumerate(texts, 1)]

    return build()


def texts_of(samples: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(samples), st.sampled_from(samples).flatmap(_mutated), _TEXT)


# -- what every target checks --------------------------------------------------------------------------


def touch(value: Any, given_lines: set[Line], depth: int = 0) -> None:
    """Walk a parser's result: call every property, and check every ``Line`` in it was one of the input."""
    if depth > 12 or value is None or isinstance(value, str | int | float | bool | bytes | timedelta):
        return
    if isinstance(value, Line):
        assert value in given_lines, f"{value} was not given to the parser"
        return
    if isinstance(value, dict):
        for k, v in value.items():
            touch(k, given_lines, depth + 1)
            touch(v, given_lines, depth + 1)
        return
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            touch(item, given_lines, depth + 1)
        return
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            touch(getattr(value, f.name), given_lines, depth + 1)
    for cls in type(value).__mro__:
        for name, member in vars(cls).items():
            if isinstance(member, property) and not name.startswith("_"):
                touch(getattr(value, name), given_lines, depth + 1)


def run(parse: Callable[[list[Line]], Any], lines: list[Line], *allowed: type[BaseException]) -> Any:
    """``parse(lines)`` consumed whole (generators included) and walked; ``allowed`` errors are its contract."""
    try:
        result = parse(lines)
        if isinstance(result, Iterator):
            result = list(result)
    except allowed:
        return None
    touch(result, set(lines))
    return result


def texts(lines: Iterable[Line]) -> list[str]:
    return [line.text for line in lines]


# -- one target per parser ------------------------------------------------------------------------------

KERNEL = _real("sos_commands/kernel/dmesg", "var/log/kern.log", doc=(kernel_oom,))
JOURNAL = _real("sos_commands/logs/journalctl_--no-pager", "sos_commands/logs/journalctl_--no-pager_--boot",
                doc=(journal, timestamps), limit=2000)
OSLO = _real("var/log/neutron/neutron-server.log", "var/log/nova/nova-api.log",
             "var/log/neutron/neutron-openvswitch-agent.log", doc=(oslo_log,), limit=3000)
INI = _real("etc/neutron/neutron.conf", "etc/neutron/plugins/ml2/ml2_conf.ini", "etc/nova/nova.conf",
            "etc/neutron/plugins/ml2/openvswitch_agent.ini", doc=(ini,))
UNITS = _real("usr/lib/systemd/system/neutron-server.service",
              "etc/systemd/system/neutron-server.service.d/override.conf", doc=(unit_files,))
SHOW = _real("sos_commands/systemd/systemctl_show_service_--all", doc=(systemctl_show,), limit=3000)
PS = _real("ps", "sos_commands/process/ps_auxwwwm", "sos_commands/process/ps_auxwww", doc=(ps,))
SOCKETS = _real("netstat", "lsof", "sos_commands/networking/netstat_-W_-neopa", doc=(sockets,))
OVS = _real("sos_commands/openvswitch/ovs-vsctl_-t_5_show", "sos_commands/openvswitch/ovs-vsctl_-t_5_list-br",
            "sos_commands/openvswitch/ovs-vsctl_-t_5_list_Open_vSwitch", doc=(ovs, ovn_nb))
OVN_DB = _real("sos_commands/ovn_central/ovn-sbctl_--no-leader-only_list_MAC_Binding",
               "sos_commands/ovn_central/ovn-nbctl_--no-leader-only_list_Logical_Router",
               "sos_commands/ovn_central/ls_-alZ_.var.lib.ovn.ovnsb_db.db",
               "sos_commands/ovn_central/ovs-appctl_-t_.var.run.ovn.ovnsb_db.ctl_cluster.status_OVN_Southbound",
               doc=(ovn_db,), limit=2000)
MEM = _real("proc/meminfo", "free", "sos_commands/memory/free_-m", "sos_commands/memory/free", doc=(meminfo,))
PACKAGES = _real("installed-debs", "sos_commands/dpkg/dpkg_-l", doc=(packages,), limit=800)
MISC = _real("date", "uptime", "proc/uptime", "sos_commands/date/date", "sos_commands/date/date_--utc",
             "sos_commands/systemd/timedatectl", "sos_commands/host/uptime", doc=(date, uptime))


@FUZZ
@given(lines=lines_of(KERNEL), year=st.none() | st.integers(1, 9999))
def test_kernel_oom(lines: list[Line], year: int | None) -> None:
    run(lambda ls: kernel_oom.parse_oom_events(ls, year=year), lines)  # its units: from its properties


@FUZZ
@given(lines=lines_of(JOURNAL + KERNEL), year=st.none() | st.integers(1, 9999))
def test_journal_text_and_its_unit_events(lines: list[Line], year: int | None) -> None:
    entries = run(lambda ls: journal.parse_journal_text(ls, year=year), lines)
    run(lambda _: journal.unit_events(entries), lines)
    run(lambda _: kernel_oom.oom_events_from_journal(entries), lines)


_JSON_KEYS = st.sampled_from(["__REALTIME_TIMESTAMP", "_HOSTNAME", "SYSLOG_IDENTIFIER", "_PID", "UNIT", "MESSAGE",
                              "_BOOT_ID", "__MONOTONIC_TIMESTAMP", "_SYSTEMD_UNIT", "PRIORITY"])
_JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _TEXT, _NUMBERS,
                         st.lists(st.integers(-10, 300), max_size=20), st.lists(_TEXT, max_size=3),
                         st.dictionaries(_TEXT, _TEXT, max_size=2))


@FUZZ
@given(rows=st.lists(st.dictionaries(_JSON_KEYS, _JSON_VALUES, max_size=10), max_size=20),
       raw=st.lists(_TEXT, max_size=3), offset=st.integers(-50000, 50000))
def test_journal_json(rows: list[dict[str, Any]], raw: list[str], offset: int) -> None:
    import json

    body = [json.dumps(r) for r in rows] + ["{" + r for r in raw]
    lines = [Line("fuzzed", n, t) for n, t in enumerate(body, 1)]
    entries = run(lambda ls: journal.parse_journal_json(ls, utc_offset=timedelta(seconds=offset)), lines)
    run(lambda _: journal.unit_events(entries), lines)


@FUZZ
@given(lines=lines_of(OSLO), cap=st.integers(0, 50))
def test_oslo_log_and_its_signatures(lines: list[Line], cap: int) -> None:
    records = run(lambda ls: oslo_log.parse_oslo_log(ls, max_continuation=cap), lines)
    for r in records:
        match_signature(r.message)
        if r.exception is not None:
            match_signature(r.exception.message)
        touch(packages.parse_version_banner(r), set(lines))


@FUZZ
@given(lines=lines_of(INI))
def test_ini(lines: list[Line]) -> None:
    parsed = run(lambda ls: ini.parse_ini(ls, strict=False), lines)
    run(lambda ls: ini.parse_ini(ls, strict=True), lines, ParseError)
    run(lambda _: ini.merge([parsed, parsed]), lines)
    for section in parsed.sections:
        ini.normalize_section(section)


@FUZZ
@given(argv=st.lists(st.one_of(st.sampled_from(["--config-file", "--config-dir", "--config-file=", "--config-dir=/d",
                                                 "--config-file=/etc/neutron/neutron.conf"]), _TEXT), max_size=8),
       paths=st.lists(_TEXT, max_size=8))
def test_ini_command_lines(argv: list[str], paths: list[str]) -> None:
    ini.config_args(argv)
    ini.config_dir_files(paths)
    for word in argv:
        ini.option_key(word)


@FUZZ
@given(value=texts_of([*INI, "1:16777215", "1:65535,70000:70010", "physnet1:1000:2999,physnet2", "a:br-a,b:br-b",
                       "*", "geneve,vxlan"]), tunnel=st.sampled_from(["geneve", "vxlan", "gre"]),
       low=st.none() | st.integers(-5, 5), high=st.none() | st.integers(-5, 100))
def test_openstack_values(value: str, tunnel: str, low: int | None, high: int | None) -> None:
    v = openstack_values
    for parse in (v.parse_bool, v.parse_list, v.parse_network_vlan_ranges, v.parse_mappings, v.parse_flat_networks,
                  lambda x: v.parse_int(x, low, high),
                  lambda x: v.parse_mappings(x, unique_values=False)):
        with contextlib.suppress(v.OptionValueError):
            parse(value)
    with contextlib.suppress(v.OptionValueError):
        v.distinct_ids(v.parse_tunnel_ranges(value, tunnel))  # type: ignore[arg-type]


@FUZZ
@given(lines=lines_of(UNITS), names=st.lists(_TEXT, max_size=6), size=texts_of(
    ["2G", "1.5K", "infinity", "50%", "500‰", "1min 30s", "100ms", "5", "1h 2min 3s 4ms 5us"]))
def test_unit_files(lines: list[Line], names: list[str], size: str) -> None:
    run(lambda ls: unit_files.parse_unit_file(ls), lines)
    unit_files.drop_in_order([f"/etc/systemd/system/x.service.d/{n}" for n in names])
    for parse in (unit_files.parse_size, unit_files.parse_timespan):
        with contextlib.suppress(ValueError):
            parse(size)


@FUZZ
@given(lines=lines_of(SHOW))
def test_systemctl_show(lines: list[Line]) -> None:
    run(lambda ls: systemctl_show.parse_systemctl_show(ls), lines)


@FUZZ
@given(lines=lines_of(PS), command=texts_of([x.split(None, 10)[-1] for x in PS if x.strip()]))
def test_ps(lines: list[Line], command: str) -> None:
    run(lambda ls: ps.parse_ps_aux(ls), lines)
    run(lambda ls: ps.parse_ps_columns(ls), lines)
    ps.parse_process_title(command)
    ps.program_of(command)
    ps.parse_cgroup(command)


@FUZZ
@given(lines=lines_of(SOCKETS))
def test_sockets(lines: list[Line]) -> None:
    for parse in (sockets.parse_ss, sockets.parse_netstat, sockets.parse_lsof):
        run(parse, lines)


@FUZZ
@given(lines=lines_of(OVS), text=texts_of([*OVS, '{a="1", b=x}', '["a", "b"]', "{}", "[]"]))
def test_ovs_and_ovn(lines: list[Line], text: str) -> None:
    run(ovs.parse_ovs_vsctl_show, lines)
    run(ovs.parse_list_br, lines)
    run(ovs.parse_ovsdb_list, lines)
    run(ovs.open_vswitch, lines)
    run(ovn_nb.neutron_switches, lines)
    ovs.parse_ovsdb_map(text)
    ovs.parse_ovsdb_value(text)


@FUZZ
@given(lines=lines_of(OVN_DB), column=st.sampled_from(["options", "external_ids", "mac", ""]))
def test_ovn_databases(lines: list[Line], column: str) -> None:
    run(ovn_db.count_records, lines)
    run(lambda ls: ovn_db.list_options(ls, column), lines)
    run(ovn_db.parse_ls_sizes, lines)
    run(ovn_db.parse_cluster_status, lines)


@FUZZ
@given(lines=lines_of(MEM), unit=st.sampled_from(["b", "k", "m", "g", "t"]))
def test_meminfo_and_free(lines: list[Line], unit: str) -> None:
    run(meminfo.parse_meminfo, lines)
    run(lambda ls: meminfo.parse_free(ls, unit), lines)  # type: ignore[arg-type]


@FUZZ
@given(lines=lines_of(PACKAGES))
def test_packages(lines: list[Line]) -> None:
    for parse in (packages.parse_dpkg_list, packages.parse_rpm_list, packages.parse_pip_list):
        found = run(parse, lines)
        touch(packages.neutron_package(found), set(lines))


@FUZZ
@given(lines=lines_of(MISC + JOURNAL[:200]), text=texts_of(MISC + JOURNAL[:200] + KERNEL[:200]),
       year=st.none() | st.integers(1, 9999))
def test_dates_timestamps_and_uptime(lines: list[Line], text: str, year: int | None) -> None:
    stamp = date.parse_date(text)
    date.collection_time(stamp, date.parse_date(text[::-1]))
    date.collection_time(stamp, stamp)
    date.parse_timedatectl(texts(lines))
    date.parse_sos_log_time(text)
    timestamps.parse_prefix(text, year)
    timestamps.parse_systemd_timestamp(text)
    parser = timestamps.PrefixParser(year)
    for line in lines:
        parser.parse(line.text)
    run(uptime.parse_proc_uptime, lines)
    run(uptime.parse_uptime, lines)


DATA = Path(__file__).resolve().parents[1] / "data"
CONTAINERS = [line for path in sorted((DATA / "insights-core").glob("*_inspect_*"))
              for line in path.read_text().splitlines()] + _doc_lines(containers)
UNIT_TABLES = _real("sos_commands/systemd/systemctl_list-units", "sos_commands/systemd/systemctl_list-unit-files",
                    doc=(systemctl_lists,), limit=1500)
CGROUP_PATHS = sorted({path for line in _real("sos_commands/process/ps_axo_pid_ppid_user_group_lwp_nlwp_start_time_"
                                              "comm_cgroup", "sos_commands/kernel/dmesg", doc=(cgroups,))
                       for path in re.findall(r"/[\w.@:\\/-]+", line)})


@FUZZ
@given(lines=lines_of(CONTAINERS, max_size=200), engine=st.sampled_from(["docker", "podman"]))
def test_containers(lines: list[Line], engine: str) -> None:
    run(lambda ls: containers.parse_container_inspect(ls, engine), lines)
    run(lambda ls: containers.parse_container_ps(ls, engine), lines)
    run(containers.parse_crictl_inspect, lines)
    run(containers.parse_crictl_ps, lines)
    run(containers.parse_k8s_pods, lines)
    run(containers.parse_lxc_list, lines)
    for line in lines:
        containers.parse_k8s_quantity(line.text)


@FUZZ
@given(lines=lines_of(UNIT_TABLES), paths=st.lists(texts_of(CGROUP_PATHS), max_size=10))
def test_unit_tables_and_cgroups(lines: list[Line], paths: list[str]) -> None:
    run(systemctl_lists.parse_list_units, lines)
    run(systemctl_lists.parse_list_unit_files, lines)
    for path in paths:
        touch(cgroups.classify_cgroup(path), set())
        cgroups.unescape_unit(path)


def _as_kmsg_record(n: int, line: str) -> str:
    """A dmesg line as ``/dev/kmsg`` hands it over: ``[ 6241.181046] text`` -> ``6,n,6241181046,-;text``."""
    m = re.match(r"\[\s*(\d+)\.(\d{6})\] ?(.*)", line)
    return f"{n % 8},{n},{m[1]}{m[2]},-;{m[3]}" if m else line


KMSG = [_as_kmsg_record(n, line) for n, line in enumerate(KERNEL)]


@FUZZ
@given(records=st.lists(texts_of(KMSG), max_size=10), raw=st.binary(max_size=300))
def test_kmsg(records: list[str], raw: bytes) -> None:
    for data in [*(r.encode("utf-8", "surrogatepass") for r in records), raw, b"\n".join(r.encode() for r in KMSG[:3])]:
        record = kmsg.parse_kmsg_record(data)
        touch(record, set())
        assert record is None or "\n" not in record.message


def test_every_parser_module_has_a_target() -> None:
    """A new parser gets a fuzz target here (the modules this file imports are the list)."""
    parsers = {p.stem for p in (Path(ini.__file__).parent).glob("*.py") if p.stem != "__init__"}
    targeted = {m.__name__.rsplit(".", 1)[-1] for m in (cgroups, containers, date, ini, journal, kernel_oom, kmsg,
                                                        meminfo, openstack_values, oslo_log, ovn_db, ovn_nb, ovs,
                                                        packages, ps, sockets, systemctl_lists, systemctl_show,
                                                        timestamps, unit_files, uptime)}
    assert parsers == targeted


@pytest.mark.parametrize("samples", [KERNEL, JOURNAL, OSLO, INI, UNITS, SHOW, PS, SOCKETS, OVS, MEM, PACKAGES, MISC],
                         ids=["kernel", "journal", "oslo", "ini", "units", "show", "ps", "sockets", "ovs", "mem",
                              "packages", "misc"])
def test_the_seed_lines_are_real_lines(samples: list[str]) -> None:
    """The corpus the targets mutate is the recorded incident's own files, not empty or invented."""
    assert len(samples) >= 3
