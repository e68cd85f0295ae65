"""A fix plan from a diagnosis: every file change as a unified diff with its reasons, and the commands.

The plan is built from the remedies of the findings (root causes first), never from anything else.
Safe edits are planned; unsafe ones only when asked (``include_unsafe``); display-only remedies become
manual steps. A tunnel range is sized against the segments in use (neutron's database, live) and the
plan says so when that cannot be known.
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ostriage.diagnosis import Diagnosis
from ostriage.facts.model import Facts
from ostriage.findings import Finding, FixSafety, IniEdit, UnitEdit
from ostriage.knowledge import neutron_options as opts
from ostriage.knowledge.services import SERVICES, service_for_unit
from ostriage.parsers.openstack_values import IdRange
from ostriage.remedy.allocations import AllocationCheck
from ostriage.remedy.edit import Dialect, set_option
from ostriage.rules._range_advice import InUse, networks_in_use, range_advice

__all__ = ["FileChange", "Plan", "build_plan"]

#: restart order: what others depend on first
_RESTART_ORDER = [u for s in SERVICES for u in s.units]

Reader = Callable[[str], str | None]
Checker = Callable[[str, str], AllocationCheck]


@dataclass
class FileChange:
    path: str
    old: str | None
    new: str
    reasons: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    safety: FixSafety = FixSafety.SAFE

    @property
    def diff(self) -> str:
        old = (self.old or "").splitlines(keepends=True)
        new = self.new.splitlines(keepends=True)
        label_old = self.path if self.old is not None else "/dev/null"
        return "".join(difflib.unified_diff(old, new, label_old, self.path))


@dataclass
class Plan:
    changes: list[FileChange] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    restart_units: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes


def _ordered(d: Diagnosis) -> list[Finding]:
    """Root causes, their chains and contributors first, then every other finding."""
    seen: dict[str, Finding] = {}
    for story in d.stories:
        for f in (story.root, *(s.finding for s in story.chain), *(s.finding for s in story.contributors)):
            seen.setdefault(f.key, f)
    for f in d.findings:
        seen.setdefault(f.key, f)
    return list(seen.values())


def _range_value(edit: IniEdit, facts: Facts, check: Checker | None, plan: Plan, keep_outside: bool) -> str:
    """The recommended range (``range_advice``), sized for the segments neutron's database shows in use when
    it can be read, and honest about the allocated segments a smaller range leaves outside."""
    tunnel = next((t for t, (sec, key) in opts.TUNNEL_OPTIONS.items()
                   if sec == edit.section and key == edit.key), None)
    assert tunnel is not None and edit.value is not None
    first = int(edit.value.split(":")[0])
    config = facts.configs.get("neutron-server")
    url = config.get("database", "connection") if config else None
    result = check(url.value, tunnel) if (check and url) else None
    if result is None or result.ids is None:
        why = result.how if result else ("no database access (a sosreport or a copy of a host's files)"
                                         if check is None else "no [database] connection in neutron's config")
        in_use = networks_in_use(facts, tunnel, why)
    else:
        in_use = InUse(len(result.ids), result.how, f"{tunnel} segments in use", ids=result.ids)
    advice = range_advice(facts, tunnel, (IdRange(first, first),), in_use=in_use)
    plan.reasoning += advice.reasoning
    if result is None or result.ids is None:
        plan.reasoning.append(
            "neutron keeps every allocated segment, even outside the new range, until its network is deleted (the "
            "start-up sync removes only unallocated IDs), so existing networks are not affected; check the count "
            f"with: SELECT COUNT(*), MAX(segmentation_id) FROM networksegments WHERE network_type='{tunnel}'")
        return advice.value
    value = advice.value
    outside = result.outside(advice.first, advice.last)
    if outside:
        shown = ", ".join(str(i) for i in outside[:10]) + (" ..." if len(outside) > 10 else "")
        if keep_outside:
            value += "".join(f",{a}:{b}" for a, b in _runs(outside))
            plan.reasoning.append(f"{len(outside)} segment(s) outside it ({shown}) are kept in the range one by one")
        else:
            plan.reasoning.append(
                f"{len(outside)} allocated segment(s) lie outside it ({shown}): neutron keeps them allocated and "
                "working, and frees them when their networks are deleted (use --keep-allocated to list them in "
                "the range instead)")
    return value


def _runs(ids: tuple[int, ...]) -> list[tuple[int, int]]:
    """Sorted IDs as (first, last) runs of consecutive ones: 70000..70500 is one range, not 501."""
    runs: list[tuple[int, int]] = []
    for i in ids:
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _override_path(unit: str) -> str:
    return f"/etc/systemd/system/{unit}.d/override.conf"


def _unit_target(edit: UnitEdit) -> tuple[str, str | None]:
    """The file to write, and the file its first contents come from when it does not exist yet.

    A drop-in under /etc or /run is edited where it is. Vendor files under /usr/lib and /lib are never
    edited: a setting of the unit file goes to the override ``systemctl edit`` writes (drop-ins come after
    the unit file); a setting of a vendor drop-in goes to a copy of it of the same name under /etc, which
    replaces it (systemd.unit(5)). The override would not do: drop-ins apply in file-name order, so a
    vendor ``zz-oom.conf`` would still win over ``override.conf``.
    """
    if edit.drop_in is None:
        return _override_path(edit.unit), None
    if edit.drop_in.startswith(("/etc/", "/run/")):
        return edit.drop_in, None
    return f"/etc/systemd/system/{edit.unit}.d/{posixpath.basename(edit.drop_in)}", edit.drop_in


def build_plan(d: Diagnosis, facts: Facts, read: Reader, *, check: Checker | None = None,
               include_unsafe: bool = False, keep_outside: bool = False) -> Plan:
    plan = Plan()
    files: dict[str, FileChange] = {}
    restarts: set[str] = set()
    planned: set[tuple[str, str, str]] = set()

    def change(path: str, finding: Finding, dialect: Dialect, section: str, key: str, value: str | None,
               reason: str, safety: FixSafety, start_from: str | None = None) -> None:
        if (path, section, key) in planned:
            return
        planned.add((path, section, key))
        fc = files.get(path)
        if fc is None:
            old = read(path)
            first = old if old is not None else (read(start_from) if start_from else None)
            fc = files[path] = FileChange(path, old, first if first is not None else "")
        fc.new = set_option(fc.new, section, key, value, dialect)
        fc.reasons.append(f"[{section}] {key} = {value if value is not None else '(removed)'}: {reason}")
        fc.findings.append(finding.key)
        if safety is FixSafety.UNSAFE:
            fc.safety = FixSafety.UNSAFE

    for finding in _ordered(d):
        remedy = finding.remedy
        if remedy is None:
            continue
        if remedy.safety is FixSafety.DISPLAY_ONLY or not (remedy.ini_edits or remedy.unit_edits):
            plan.manual += [f"{finding.code} {finding.rule}: {step}" for step in remedy.steps]
            continue
        if remedy.safety is FixSafety.UNSAFE and not include_unsafe:
            plan.skipped.append(f"{finding.code} {finding.rule}: {remedy.title} (unsafe: needs --unsafe)")
            continue
        for ini in remedy.ini_edits:
            value = ini.value
            if value is not None and (ini.section, ini.key) in opts.TUNNEL_OPTIONS.values():
                value = _range_value(ini, facts, check, plan, keep_outside)
            change(ini.path, finding, "oslo", ini.section, ini.key, value, ini.reason, remedy.safety)
        for ue in remedy.unit_edits:
            value = ue.value
            target, start_from = _unit_target(ue)
            if value is None and ue.drop_in is None:
                # set in the unit file (or nobody knows where): removing it from the override would change
                # nothing, so neutralise it there instead
                value = {"OOMScoreAdjust": "0", "MemoryMax": "infinity"}.get(ue.key)
            change(target, finding, "systemd", ue.section, ue.key, value, ue.reason, remedy.safety, start_from)
        restarts.update(remedy.restart_units)

    plan.changes = [fc for fc in files.values() if fc.new != (fc.old or "") or (fc.old is None and fc.new)]
    if not plan.changes:
        plan.reasoning.append("nothing to change: no finding calls for an edit")
        if facts.mount != "/":
            plan.reasoning.append(f"{facts.target} is a copy of {facts.mount} alone, with no incident in it: "
                                  f"`{facts.lint_command()}` says what to change before a restart")
        return plan
    units = _installed(restarts, facts)
    plan.restart_units = units
    if any(_is_unit_file(fc.path) for fc in plan.changes):
        plan.commands.append(["systemctl", "daemon-reload"])
    plan.commands += [["systemctl", "restart", u] for u in units]
    return plan


def _is_unit_file(path: str) -> bool:
    return path.startswith(("/etc/systemd/", "/run/systemd/")) and path.endswith((".conf", ".service"))


def _installed(units: Iterable[str], facts: Facts) -> list[str]:
    """Restart the unit this host really has for each service (``neutron-api`` vs ``neutron-server``)."""
    out: set[str] = set()
    for unit in units:
        if unit in facts.units or not facts.units:
            out.add(unit)
            continue
        service = service_for_unit(unit)
        present = [u for u in service.units if u in facts.units] if service else []
        out.add(present[0] if present else unit)
    return sorted(out, key=lambda u: (_RESTART_ORDER.index(u) if u in _RESTART_ORDER else len(_RESTART_ORDER), u))
