"""The journal is read as it streams into bounded aggregates: a flooded journal is counted, not held, and
says the same as the lines it holds; per-unit journals add only what the whole journal lost to its limit."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ostriage.diagnosis import diagnose
from ostriage.evidence import Line, numbered
from ostriage.facts import collect
from ostriage.facts._journal import HEAD, MAX_UNITS, TAIL, JournalReader, UnitEventLog, unit_of_journal
from ostriage.facts._oom import OomDigest
from ostriage.facts.model import Facts
from ostriage.parsers.journal import UnitEvent, UnitEventKind, parse_journal_text, unit_events
from ostriage.rules._common import kills_by_victim
from ostriage.sources import SosReport

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-incident"
sys.path.insert(0, str(ROOT / "bench"))
from journal_flood import JOURNAL, flood_journal  # noqa: E402  the flood the bench measures, smaller

UNIT = "neutron-server.service"
CYCLES = 2_000


def _kills(facts: Facts) -> int:
    return sum(g.count for g in kills_by_victim(facts) if g.victim.unit == UNIT)


def test_a_flooded_journal_is_counted_not_held(seed_copy: Path) -> None:
    bundle = seed_copy
    added = flood_journal(bundle, CYCLES)
    with SosReport(SEED) as source:
        before = collect(source)
    with SosReport(bundle) as source:
        after = collect(source)
    unit = after.units[UNIT]
    assert len(unit.events) == HEAD + TAIL
    assert unit.omitted is not None
    # every message about the unit is either kept or counted
    kinds = (UnitEventKind.RESTART_SCHEDULED, UnitEventKind.OOM_KILL, UnitEventKind.STARTED)
    for kind in kinds:
        had = sum(e.kind is kind for e in before.units[UNIT].events)
        kept = sum(e.kind is kind for e in unit.events)
        assert kept + unit.omitted.counts.get(kind, 0) == had + CYCLES, kind
    # the first messages and the last ones are kept: the loop's start and the incident's own end
    assert unit.events[0].line.number == 4
    last = before.units[UNIT].events[-1].line
    assert (unit.events[-1].line.text, unit.events[-1].line.number) == (last.text, last.number + added)
    assert _kills(after) == _kills(before) + CYCLES
    assert after.event_count("neutron.tunnel-ranges", "neutron-server") == (
        before.event_count("neutron.tunnel-ranges", "neutron-server") + CYCLES)
    # the same story, told with the flood's numbers
    was, now = diagnose(before), diagnose(after)
    assert [s.root.key for s in now.stories] == [s.root.key for s in was.stories]
    (loop,) = [f for f in now.findings if f.rule == "unit-crash-looping-while-active" and f.subject == UNIT]
    restarted = sum(e.kind is UnitEventKind.RESTART_SCHEDULED for e in before.units[UNIT].events) + CYCLES
    assert f"restarted {restarted} times" in loop.summary
    assert loop.data["exits"] == sum(e.kind is UnitEventKind.MAIN_EXITED for e in before.units[UNIT].events) + CYCLES


def _reader(*files: tuple[list[str], str | None, bool]) -> JournalReader:
    reader = JournalReader(OomDigest(None))
    for lines, unit, dedupe in files:
        reader.read(parse_journal_text(numbered(lines, "j"), year=2026), unit, dedupe)
    reader.finish()
    return reader


def _restart(second: int, counter: int) -> str:
    return (f"Nov 25 05:53:{second:02d} ostlab-controller systemd[1]: {UNIT}: Scheduled restart job, "
            f"restart counter is at {counter}.")


def test_a_unit_journal_adds_only_what_the_whole_journal_lost() -> None:
    # sos keeps the newest lines of the whole journal: it starts in the middle of second 16
    whole = [_restart(16, 2), _restart(20, 3), _restart(26, 4)]
    own = [_restart(10, 1), _restart(10, 1),  # before it: new (twice in the same second: two restarts)
           _restart(16, 9),                   # its first second, a line it does not have: new
           _restart(16, 2), _restart(20, 3),  # lines it has: not counted again
           _restart(30, 5)]                   # after its end: new
    reader = _reader((whole, None, False), (own, "neutron-server", True))
    assert [e.counter for e in reader.units] == [2, 3, 4, 1, 1, 9, 5]
    # another unit's journal is not checked against this one's: the same times hold other lines
    other = [_restart(10, 3).replace(UNIT, "ovs-vswitchd.service")]
    assert [e.counter for e in _reader((whole, None, False), (own, "neutron-server", True),
                                       (other, "ovs-vswitchd", True)).units][-1] == 3


def test_per_unit_journal_files_name_their_unit() -> None:
    assert unit_of_journal("sos_commands/openvswitch/journalctl_--no-pager_--unit_ovs-vswitchd") == "ovs-vswitchd"
    assert unit_of_journal("sos_commands/tripleo/journalctl_--no-pager_--unit_tripleo_neutron_api_--since_-3d") == (
        "tripleo_neutron_api")
    assert unit_of_journal("sos_commands/logs/journalctl_--no-pager") is None


def test_units_with_few_messages_make_room_for_a_looping_one() -> None:
    lines = []
    for n in range(3 * MAX_UNITS):
        lines += [f"Nov 25 06:{n // 60 % 60:02d}:{n % 60:02d} ctl systemd[1]: Started session-{n}.scope - "
                  f"Session {n} of User root.",
                  f"Nov 25 06:{n // 60 % 60:02d}:{n % 60:02d} ctl systemd[1]: session-{n}.scope: "
                  "Deactivated successfully."]
        if n % 10 == 0:
            lines.append(f"Nov 25 06:{n // 60 % 60:02d}:{n % 60:02d} ctl systemd[1]: cron-sync.service: "
                         "Main process exited, code=exited, status=1/FAILURE")
    reader = _reader((lines, None, False))
    units = {e.unit for e in reader.units}
    assert "cron-sync.service" in units
    assert len(units) <= MAX_UNITS + 1
    assert reader.units.forgotten > 0
    looping = [e for e in reader.units if e.unit == "cron-sync.service"]
    assert len(looping) == min(3 * MAX_UNITS // 10 + 1, HEAD + TAIL)



def test_units_named_only_by_description_make_room_beside_named_ones() -> None:
    """Before systemd 250 a text journal names some units only by description (Ubuntu 20.04's did): both
    kinds are forgotten together when a flood of them needs room."""
    lines = []
    for n in range(MAX_UNITS + 10):
        stamp = f"Nov 25 06:{n // 60 % 60:02d}:{n % 60:02d} ctl systemd[1]:"
        lines.append(f"{stamp} Started Session {n} of user root." if n % 2 else
                     f"{stamp} mnt-{n}.mount: Succeeded.")
    reader = _reader((lines, None, False))
    assert reader.units.forgotten > 0
    assert sum(1 for _ in reader.units) <= MAX_UNITS


_KINDS = [UnitEventKind.STARTED, UnitEventKind.RESTART_SCHEDULED, UnitEventKind.MAIN_EXITED]


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), max_size=HEAD + TAIL + 300))
def test_each_unit_keeps_its_first_and_last_messages(items: list[tuple[int, int]]) -> None:
    log = UnitEventLog()
    events = [UnitEvent(_KINDS[k], f"u{u}.service", None, None, None, 1, Line("j", n, "x"))
              for n, (u, k) in enumerate(items, 1)]
    for e in events:
        log.add(e)
    kept = list(log)
    omitted = log.omitted()
    for u in range(4):
        mine = [e for e in events if e.unit == f"u{u}.service"]
        expected = mine if len(mine) <= HEAD + TAIL else mine[:HEAD] + mine[-TAIL:]
        assert [e for e in kept if e.unit == f"u{u}.service"] == expected
        left = omitted.get((f"u{u}.service", None))
        counted = sum(left.counts.values()) if left else 0
        assert counted == len(mine) - len(expected)
    assert [e.line.number for e in kept] == sorted(e.line.number for e in kept)


def test_the_streamed_messages_are_those_of_the_parser() -> None:
    journal = (SEED / JOURNAL).read_text().splitlines()
    reader = _reader((journal, None, False))
    assert list(reader.units) == list(unit_events(parse_journal_text(numbered(journal, "j"), year=2026)))
