"""``edit.set_option``: one option changes, every other byte stays, as oslo.config and systemd read the file."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ostriage.evidence import numbered
from ostriage.parsers.ini import IniFile, normalize_section, option_key, parse_ini
from ostriage.parsers.unit_files import parse_unit_file
from ostriage.remedy.edit import set_option

from .conftest import ML2, OVERRIDE, SEED, at

ML2_TEXT = at(SEED, ML2).read_text()
OVERRIDE_TEXT = at(SEED, OVERRIDE).read_text()
UNIT_TEXT = at(SEED, "/usr/lib/systemd/system/neutron-server.service").read_text()


def ini(text: str) -> IniFile:
    return parse_ini(numbered(text, "t.ini"))


def value(text: str, section: str, key: str) -> str | None:
    v = ini(text).get(section, key)
    return v.value if v is not None else None


def unit_value(text: str, section: str, key: str) -> str | None:
    found = [a.value for a in parse_unit_file(numbered(text)) if (a.section, a.key) == (section, key)]
    return found[-1] if found else None


def line_of(text: str, line: str) -> int:
    """1-based number of the one line of ``text`` that is exactly ``line``."""
    lines = text.split("\n")
    assert lines.count(line) == 1, f"{line!r} is not in the example exactly once"
    return lines.index(line) + 1


def changed_lines(old: str, new: str) -> list[tuple[int, str, str]]:
    a, b = old.split("\n"), new.split("\n")
    assert len(a) == len(b), "a line was added or removed"
    return [(n, x, y) for n, (x, y) in enumerate(zip(a, b, strict=True), 1) if x != y]


def inserted(old: str, new: str) -> tuple[int, list[str]]:
    """Where ``new`` has lines that ``old`` has not (one block), and which: everything else is identical."""
    a, b = old.split("\n"), new.split("\n")
    head = 0
    while head < len(a) and a[head] == b[head]:
        head += 1
    tail = len(b) - (len(a) - head)
    assert b[tail:] == a[head:], "more than one place changed"
    return head + 1, b[head:tail]


# -- the real example files (the seed incident's ml2_conf.ini, drop-in and unit file) -----------------------


def test_replaces_the_value_in_place_on_the_real_ml2_conf() -> None:
    n = line_of(ML2_TEXT, "vni_ranges = 1:16777215")
    new = set_option(ML2_TEXT, "ml2_type_geneve", "vni_ranges", "1:65535")
    assert changed_lines(ML2_TEXT, new) == [(n, "vni_ranges = 1:16777215", "vni_ranges = 1:65535")]
    assert value(new, "ml2_type_geneve", "vni_ranges") == "1:65535"


def test_removes_only_that_line_on_the_real_ml2_conf() -> None:
    new = set_option(ML2_TEXT, "ml2_type_geneve", "max_header_size", None)
    assert new == ML2_TEXT.replace("\nmax_header_size = 38\n", "\n", 1) != ML2_TEXT
    assert value(new, "ml2_type_geneve", "max_header_size") is None
    assert value(new, "ml2_type_geneve", "vni_ranges") == "1:16777215"


def test_adds_a_missing_key_after_the_sections_last_assignment() -> None:
    # [ml2_type_geneve] ends with max_header_size = 38; the blank line and the next section follow it
    after = line_of(ML2_TEXT, "max_header_size = 38")
    new = set_option(ML2_TEXT, "ml2_type_geneve", "vni_range_extra", "7")
    assert inserted(ML2_TEXT, new) == (after + 1, ["vni_range_extra = 7"])
    assert value(new, "ml2_type_geneve", "vni_range_extra") == "7"


def test_adds_to_a_section_without_assignments_right_after_its_header() -> None:
    text = "[ml2]\ntype_drivers = geneve\n\n[ml2_type_gre]\n# (list value)\n#tunnel_id_ranges =\n\n[ovn]\n"
    new = set_option(text, "ml2_type_gre", "tunnel_id_ranges", "1:1000")
    assert new == text.replace("[ml2_type_gre]\n", "[ml2_type_gre]\ntunnel_id_ranges = 1:1000\n")


def test_appends_a_missing_section() -> None:
    new = set_option(ML2_TEXT, "ml2_type_gre_new", "x", "1")
    blank = "" if ML2_TEXT.endswith("\n\n") else "\n"  # one blank line before it, not two
    assert new == ML2_TEXT + blank + "[ml2_type_gre_new]\nx = 1\n"
    assert set_option(OVERRIDE_TEXT, "Unit", "After", "x", "systemd") == OVERRIDE_TEXT + "\n[Unit]\nAfter=x\n"
    unterminated = "[ovn]\novn_l3_scheduler = leastloaded"
    assert set_option(unterminated, "ml2", "mechanism_drivers", "ovn") == (
        unterminated + "\n\n[ml2]\nmechanism_drivers = ovn")
    assert set_option("", "ml2", "mechanism_drivers", "ovn") == "[ml2]\nmechanism_drivers = ovn\n"


def test_systemd_drop_in_and_unit_of_the_example() -> None:
    assert "OOMScoreAdjust=-1000\n" in OVERRIDE_TEXT
    removed = set_option(OVERRIDE_TEXT, "Service", "OOMScoreAdjust", None, "systemd")
    assert removed == OVERRIDE_TEXT.replace("OOMScoreAdjust=-1000\n", "")
    n = line_of(OVERRIDE_TEXT, "MemoryMax=2G")
    assert changed_lines(OVERRIDE_TEXT, set_option(OVERRIDE_TEXT, "Service", "MemoryMax", "4G", "systemd")) == [
        (n, "MemoryMax=2G", "MemoryMax=4G")]
    added = set_option(removed, "Service", "OOMScoreAdjust", "0", "systemd")
    assert added == removed + "OOMScoreAdjust=0\n"
    n = line_of(UNIT_TEXT, "TimeoutStopSec=15")
    unit = set_option(UNIT_TEXT, "Service", "TimeoutStopSec", "90", "systemd")
    assert changed_lines(UNIT_TEXT, unit) == [(n, "TimeoutStopSec=15", "TimeoutStopSec=90")]


# -- spacing, continuations, section names -----------------------------------------------------------


@pytest.mark.parametrize(("line", "expected"), [
    ("vni_ranges = 1:16777215", "vni_ranges = 1:65535"),
    ("vni_ranges=1:16777215", "vni_ranges=1:65535"),
    ("vni_ranges   =\t1:16777215", "vni_ranges   =\t1:65535"),
    ("vni_ranges: 1:16777215", "vni_ranges: 1:65535"),
    ("vni_ranges :1:16777215", "vni_ranges :1:65535"),
    ("vni_ranges =", "vni_ranges = 1:65535"),
    ("vni_ranges = 1:16777215   ", "vni_ranges = 1:65535"),
])
def test_keeps_the_files_spacing_style(line: str, expected: str) -> None:
    text = f"[ml2_type_geneve]\n# c\n{line}\n\n[ovn]\n"
    out = set_option(text, "ml2_type_geneve", "vni_ranges", "1:65535")
    assert out == f"[ml2_type_geneve]\n# c\n{expected}\n\n[ovn]\n"


def test_oslo_indented_continuation_lines_belong_to_the_value() -> None:
    text = ("[ml2]\nmechanism_drivers = openvswitch,\n    l2population,\n\tovn\n"
            "extension_drivers = port_security\n")
    assert value(text, "ml2", "mechanism_drivers") == "openvswitch,\nl2population,\novn"
    new = set_option(text, "ml2", "mechanism_drivers", "ovn")
    assert new == "[ml2]\nmechanism_drivers = ovn\nextension_drivers = port_security\n"
    removed = set_option(text, "ml2", "mechanism_drivers", None)
    assert removed == "[ml2]\nextension_drivers = port_security\n"
    # an indented comment is a continuation too (oslo.config reads it into the value) ...
    assert set_option("[a]\nx = 1\n  # more\ny = 2\n", "a", "x", "3") == "[a]\nx = 3\ny = 2\n"
    # ... a comment at column 0 or a blank line ends the value and stays
    assert set_option("[a]\nx = 1\n# note\n\n  \ny = 2\n", "a", "x", "3") == "[a]\nx = 3\n# note\n\n  \ny = 2\n"


def test_systemd_backslash_continuations_with_comments_inside() -> None:
    text = ("[Service]\nExecStart=/usr/bin/neutron-server \\\n  --config-file /etc/neutron/neutron.conf \\\n"
            "# systemd skips this comment, the continuation goes on\n  --log-file /var/log/neutron/server.log\n"
            "MemoryMax=2G\n")
    assert unit_value(text, "Service", "ExecStart") == (
        "/usr/bin/neutron-server --config-file /etc/neutron/neutron.conf --log-file /var/log/neutron/server.log")
    new = set_option(text, "Service", "ExecStart", "/usr/bin/neutron-server", "systemd")
    assert new == "[Service]\nExecStart=/usr/bin/neutron-server\nMemoryMax=2G\n"
    # an escaped backslash does not continue the line
    assert set_option("[Service]\nEnvironment=A=\\\\\nMemoryMax=1G\n", "Service", "Environment", "B=1",
                      "systemd") == "[Service]\nEnvironment=B=1\nMemoryMax=1G\n"


def test_systemd_reads_indented_assignments() -> None:
    # systemd strips every line: an indented OOMScoreAdjust is in force and must be the one removed
    text = "[Service]\nMemoryMax=2G\n    OOMScoreAdjust=-1000\n"
    assert unit_value(text, "Service", "OOMScoreAdjust") == "-1000"
    assert set_option(text, "Service", "OOMScoreAdjust", None, "systemd") == "[Service]\nMemoryMax=2G\n"
    assert set_option(text, "Service", "OOMScoreAdjust", "0", "systemd") == (
        "[Service]\nMemoryMax=2G\n    OOMScoreAdjust=0\n")


def test_oslo_section_names_are_lower_cased_except_default() -> None:
    text = "[DEFAULT]\ndebug = false\n[default]\ndebug = true\n[ML2_Type_Geneve]\nvni_ranges = 1:16777215\n"
    new = set_option(text, "ml2_type_geneve", "vni_ranges", "1:65535")
    assert changed_lines(text, new) == [(6, "vni_ranges = 1:16777215", "vni_ranges = 1:65535")]
    # [default] is a group called "default", not DEFAULT
    new = set_option(text, "DEFAULT", "debug", "true")
    assert changed_lines(text, new) == [(2, "debug = false", "debug = true")]
    new = set_option(text, "default", "debug", "false")
    assert changed_lines(text, new) == [(4, "debug = true", "debug = false")]
    # the last of repeated sections (one group for oslo.config) takes the last assignment
    twice = "[ml2]\nx = 1\n[ovn]\ny = 2\n[ML2]\nz = 3\n"
    assert set_option(twice, "ml2", "x", "9") == "[ml2]\nx = 9\n[ovn]\ny = 2\n[ML2]\nz = 3\n"
    assert set_option(twice, "ml2", "w", "9") == twice + "w = 9\n"


def test_oslo_section_header_must_start_the_line() -> None:
    # oslo.config reads "  [ovn]" as a continuation of x's value, not as a section
    text = "[ml2]\nx = 1\n  [ovn]\n"
    assert value(text, "ml2", "x") == "1\n[ovn]"
    assert set_option(text, "ml2", "x", "2") == "[ml2]\nx = 2\n"


def test_systemd_section_names_are_case_sensitive() -> None:
    text = "[service]\nOOMScoreAdjust=-1000\n"
    assert set_option(text, "Service", "OOMScoreAdjust", None, "systemd") == text
    assert set_option(text, "Service", "OOMScoreAdjust", "0", "systemd") == text + "\n[Service]\nOOMScoreAdjust=0\n"


def test_oslo_file_keys_are_compared_verbatim() -> None:
    # oslo.config never reads a key written with dashes: editing it would change nothing in force
    text = "[ml2_type_geneve]\nvni_ranges = 1:16777215\nvni-ranges = 1:100\n"
    new = set_option(text, "ml2_type_geneve", "vni_ranges", "1:65535")
    assert changed_lines(text, new) == [(2, "vni_ranges = 1:16777215", "vni_ranges = 1:65535")]
    only_dashed = "[ml2_type_geneve]\nvni-ranges = 1:100\n"
    new = set_option(only_dashed, "ml2_type_geneve", "vni-ranges", "1:65535")
    assert new == only_dashed + "vni_ranges = 1:65535\n"
    assert value(new, "ml2_type_geneve", "vni_ranges") == "1:65535"


def test_removing_removes_every_assignment_in_the_section() -> None:
    # removing only the last would put the earlier -1000 back in force
    text = "[Service]\nOOMScoreAdjust=-1000\nMemoryMax=2G\nOOMScoreAdjust=-900\n[Install]\nOOMScoreAdjust=x\n"
    new = set_option(text, "Service", "OOMScoreAdjust", None, "systemd")
    assert new == "[Service]\nMemoryMax=2G\n[Install]\nOOMScoreAdjust=x\n"
    oslo = "[ml2]\nmechanism_drivers = ovn\n[ovn]\n[ML2]\nmechanism_drivers = openvswitch\n"
    assert set_option(oslo, "ml2", "mechanism_drivers", None) == "[ml2]\n[ovn]\n[ML2]\n"


@pytest.mark.parametrize(("args", "expected"), [
    (("vni_ranges", "1:65535"), "[ml2_type_geneve]\nvni_ranges = 1:65535"),
    (("max_header_size", "38"), "[ml2_type_geneve]\nvni_ranges = 1:16777215\nmax_header_size = 38"),
])
def test_a_missing_final_newline_stays_missing(args: tuple[str, str | None], expected: str) -> None:
    assert set_option("[ml2_type_geneve]\nvni_ranges = 1:16777215", "ml2_type_geneve", *args) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("[ml2_type_geneve]\nvni_ranges = 1:16777215", "[ml2_type_geneve]\n"),
    ("[DEFAULT]\n\nvni_ranges = 1:65535", "[DEFAULT]\n\n"),  # found by the property test below
    ("[DEFAULT]\r\nvni_ranges = 1\r\n  more", "[DEFAULT]\r\n"),
])
def test_removing_a_last_line_without_newline_takes_only_its_own_bytes(text: str, expected: str) -> None:
    """The line before keeps its newline: taking it would change a line the fix's diff should not show."""
    option = "ml2_type_geneve" if "geneve" in text else "DEFAULT"
    assert set_option(text, option, "vni_ranges", None) == expected


def test_crlf_files_keep_crlf() -> None:
    text = "[Service]\r\nMemoryMax=2G\r\n"
    assert set_option(text, "Service", "MemoryMax", "4G", "systemd") == "[Service]\r\nMemoryMax=4G\r\n"
    assert set_option(text, "Service", "OOMScoreAdjust", "0", "systemd") == (
        "[Service]\r\nMemoryMax=2G\r\nOOMScoreAdjust=0\r\n")
    assert set_option(text, "Unit", "After", "x", "systemd") == "[Service]\r\nMemoryMax=2G\r\n\r\n[Unit]\r\nAfter=x\r\n"


def test_a_value_of_several_lines_is_refused() -> None:
    with pytest.raises(ValueError, match="one line"):
        set_option(ML2_TEXT, "ml2", "mechanism_drivers", "ovn\n[DEFAULT]\ndebug = true")


def test_setting_what_is_already_set_changes_nothing() -> None:
    once = set_option(ML2_TEXT, "ml2_type_geneve", "vni_ranges", "1:65535")
    assert set_option(once, "ml2_type_geneve", "vni_ranges", "1:65535") == once
    assert set_option(OVERRIDE_TEXT, "Service", "MemoryHigh", None, "systemd") == OVERRIDE_TEXT


# -- property: random files, read back by the real readers -------------------------------------------

SECTIONS = ["DEFAULT", "default", "ml2", "ML2", "ml2_type_geneve", "ML2_TYPE_GENEVE", "ovn"]
KEYS = ["vni_ranges", "vni-ranges", "mechanism_drivers", "x", "debug"]
VALUES = st.sampled_from(["1:65535", "1:16777215", "ovn", "a b", "", "x=y", "1:2,3:4", "# not a comment", "é"])
SEPARATORS = st.sampled_from([" = ", "=", " =", "= ", "  =\t", ": ", ":", " : "])
COMMENTS = st.sampled_from(["# comment", "#", "; semi", "#vni_ranges = 1:10", "# [ml2]"])


@st.composite
def oslo_files(draw: st.DrawFn) -> tuple[str, list[str]]:
    """An ini file oslo.config accepts, as text, and its comment lines."""
    lines: list[str] = [f"[{draw(st.sampled_from(SECTIONS))}]"]
    comments: list[str] = []
    for _ in range(draw(st.integers(0, 14))):
        kind = draw(st.sampled_from(["assign", "assign", "assign", "comment", "blank", "section"]))
        if kind == "assign":
            lines.append(f"{draw(st.sampled_from(KEYS))}{draw(SEPARATORS)}{draw(VALUES)}".rstrip())
            for _ in range(draw(st.integers(0, 2))):
                lines.append(draw(st.sampled_from(["  more", "\tmore,values", "    # part of the value"])))
        elif kind == "comment":
            lines.append(draw(COMMENTS))
            comments.append(lines[-1])
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", "   "])))
        else:
            lines.append(f"[{draw(st.sampled_from(SECTIONS))}]")
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    text = eol.join(lines) + draw(st.sampled_from([eol, ""]))
    return text, comments


def effective(f: IniFile) -> dict[tuple[str, str], str]:
    """The value in force of every (section, file key as written), dashed keys included."""
    return {(section, key): values[-1].value for section, keys in f.sections.items() for key, values in keys.items()}


def comment_lines(text: str) -> list[str]:
    return [line.rstrip("\r") for line in text.split("\n") if line[:1] in ("#", ";")]


def physical_lines(text: str) -> list[str]:
    """Each line with its own newline (the last may have none)."""
    return re.findall(r"[^\n]*\n|[^\n]+\Z", text)


def oslo_option_lines(text: str, section: str, key: str) -> set[int]:
    """Numbers of the lines oslo.config reads as the option's assignments (continuation lines included)."""
    return {line.number for v in ini(text).get_all(section, key) for line in v.lines}


def systemd_setting_lines(text: str, section: str, key: str) -> set[int]:
    """Numbers of the lines of the setting's assignments: systemd continues one past a line ending in an
    odd number of backslashes, and skips comment lines inside such a continuation."""
    lines = physical_lines(text)
    numbers: set[int] = set()
    for a in parse_unit_file(numbered(text)):
        if (a.section, a.key) != (section, key):
            continue
        n = a.line.number
        numbers.add(n)
        while n < len(lines):
            body = lines[n - 1].rstrip("\r\n")
            if lines[n - 1].strip()[:1] not in ("#", ";") and (len(body) - len(body.rstrip("\\"))) % 2 == 0:
                break
            n += 1
            numbers.add(n)
    return numbers


def assert_everything_else_byte_for_byte(text: str, out: str, section: str, value: str | None,
                                         own: Callable[[str], set[int]]) -> None:
    """Outside the lines the reader attributes to the option, ``out`` is ``text`` byte for byte, except that
    a new section's header (after a blank line) may end it, and the file's last line gains a newline when a
    line is added after it."""
    eol = "\r\n" if text.split("\n", 1)[0].endswith("\r") else "\n"
    want = [line for n, line in enumerate(physical_lines(text), 1) if n not in own(text)]
    got = [line for n, line in enumerate(physical_lines(out), 1) if n not in own(out)]
    if value is not None and want and not want[-1].endswith("\n") and got[: len(want)] != want:
        want[-1] += eol
    assert got[: len(want)] == want
    assert got[len(want):] in ([], [f"[{section}]{eol}"], [eol, f"[{section}]{eol}"])


@given(oslo_files(), st.sampled_from([*SECTIONS, "new_section"]), st.sampled_from([*KEYS, "new_key"]),
       st.one_of(st.none(), VALUES.filter(lambda v: v.strip() == v and v[:1] not in "\"'")))
def test_property_oslo_one_option_changes_and_nothing_else(
        file: tuple[str, Sequence[str]], section: str, key: str, new_value: str | None) -> None:
    text, comments = file
    before = effective(ini(text))
    out = set_option(text, section, key, new_value, "oslo")
    after_file = ini(out)
    after = effective(after_file)
    target = (normalize_section(section), option_key(key))
    got = after_file.get(section, key)
    assert (got.value if got else None) == new_value
    others_before = {k: v for k, v in before.items() if k != target}
    others_after = {k: v for k, v in after.items() if k != target}
    assert others_after == others_before
    assert comment_lines(out) == comment_lines(text) == [c for c in comments]
    assert_everything_else_byte_for_byte(text, out, section, new_value,
                                         lambda t: oslo_option_lines(t, section, key))
    assert set_option(out, section, key, new_value, "oslo") == out  # idempotent


UNIT_SECTIONS = ["Service", "Unit", "service"]
UNIT_KEYS = ["MemoryMax", "OOMScoreAdjust", "ExecStart", "Environment"]
UNIT_VALUES = st.sampled_from(["2G", "-1000", "/usr/bin/x --flag", "", "A=1 B=2", "infinity"])


@st.composite
def unit_files(draw: st.DrawFn) -> str:
    lines: list[str] = []
    if draw(st.booleans()):
        lines.append("# Managed by Ansible")
    lines.append(f"[{draw(st.sampled_from(UNIT_SECTIONS))}]")
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["assign", "assign", "assign", "comment", "blank", "section"]))
        if kind == "assign":
            indent = draw(st.sampled_from(["", "", "  "]))
            line = f"{indent}{draw(st.sampled_from(UNIT_KEYS))}{draw(st.sampled_from(['=', ' = ']))}{draw(UNIT_VALUES)}"
            for _ in range(draw(st.integers(0, 2))):
                lines.append(line + " \\")
                if draw(st.booleans()):
                    lines.append(draw(st.sampled_from(["# inside", ";inside"])))
                line = draw(st.sampled_from(["  --more", "\tmore=1"]))
            lines.append(line)
        elif kind == "comment":
            lines.append(draw(st.sampled_from(["# c", "; c", "#OOMScoreAdjust=-1000"])))
        elif kind == "blank":
            lines.append("")
        else:
            lines.append(f"[{draw(st.sampled_from(UNIT_SECTIONS))}]")
    return "\n".join(lines) + draw(st.sampled_from(["\n", ""]))


def unit_effective(text: str) -> dict[tuple[str, str], str]:
    return {(a.section, a.key): a.value for a in parse_unit_file(numbered(text))}


@given(unit_files(), st.sampled_from([*UNIT_SECTIONS, "Install"]), st.sampled_from([*UNIT_KEYS, "RestartSec"]),
       st.one_of(st.none(), UNIT_VALUES.filter(lambda v: v.strip() == v)))
def test_property_systemd_one_setting_changes_and_nothing_else(
        text: str, section: str, key: str, new_value: str | None) -> None:
    before = unit_effective(text)
    out = set_option(text, section, key, new_value, "systemd")
    after = unit_effective(out)
    assert after.get((section, key)) == new_value
    assert {k: v for k, v in after.items() if k != (section, key)} == {
        k: v for k, v in before.items() if k != (section, key)}
    assert_everything_else_byte_for_byte(text, out, section, new_value,
                                         lambda t: systemd_setting_lines(t, section, key))
    assert set_option(out, section, key, new_value, "systemd") == out


# -- the same class of bug in the readers: a missing final newline must change nothing they read ---------


@given(oslo_files())
def test_property_oslo_reads_a_file_the_same_without_its_final_newline(file: tuple[str, Sequence[str]]) -> None:
    text, _ = file
    bare = text.removesuffix("\n").removesuffix("\r")
    assert effective(ini(bare)) == effective(ini(bare + ("\r\n" if "\r\n" in text else "\n")))


@given(unit_files())
def test_property_systemd_reads_a_file_the_same_without_its_final_newline(text: str) -> None:
    bare = text.removesuffix("\n")
    assert list(parse_unit_file(numbered(bare))) == list(parse_unit_file(numbered(bare + "\n")))
