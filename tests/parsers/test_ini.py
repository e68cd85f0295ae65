"""ini parser: real neutron files of the ussuri sosreport, checked against oslo.config itself, plus every
grammar rule and error of oslo_config.iniparser.BaseParser."""

from __future__ import annotations

from pathlib import Path

import pytest
from oslo_config import cfg

from ostriage.errors import ParseError
from ostriage.evidence import Line, numbered
from ostriage.parsers.ini import (
    MAX_LINES,
    MAX_SECTIONS,
    ConfigArg,
    IniFile,
    config_args,
    config_dir_files,
    merge,
    normalize_section,
    parse_ini,
)


def _read(root: Path, rel: str) -> IniFile:
    with open(root / rel, encoding="utf-8", errors="replace") as handle:
        return parse_ini(numbered(handle, rel))


def test_real_neutron_conf(ussuri_sos: Path) -> None:
    ini = _read(ussuri_sos, "etc/neutron/neutron.conf")
    port = ini.get("DEFAULT", "bind_port")
    assert port is not None and port.value == "9696"
    assert port.line.path == "etc/neutron/neutron.conf"
    assert port.line.text == "bind_port = 9696"
    # Two spaces after '=' in the real file: oslo strips them.
    core = ini.get("DEFAULT", "core_plugin")
    assert core is not None and core.value == "neutron.plugins.ml2.plugin.Ml2Plugin"
    # sos masks secrets; the mask is the value.
    assert ini.get_all("DEFAULT", "transport_url")[0].value == "*********"
    # [QUOTAS] and [AGENT] are written upper-case: oslo lower-cases every group but DEFAULT.
    assert ini.has_section("quotas") and ini.has_section("QUOTAS")
    assert "QUOTAS" not in ini.section_names() and "quotas" in ini.section_names()
    root_helper = ini.get("agent", "root_helper")
    assert root_helper is not None and root_helper.section == "AGENT"
    assert root_helper.value == "sudo neutron-rootwrap /etc/neutron/rootwrap.conf"
    assert ini.errors == ()


def test_real_files_merged_like_the_agent_command_line(ussuri_sos: Path) -> None:
    # ps: neutron-openvswitch-agent --config-file=/etc/neutron/neutron.conf
    #     --config-file=/etc/neutron/plugins/ml2/openvswitch_agent.ini
    merged = merge([_read(ussuri_sos, "etc/neutron/neutron.conf"),
                    _read(ussuri_sos, "etc/neutron/plugins/ml2/openvswitch_agent.ini")])
    mapping = merged.get("ovs", "bridge_mappings")
    assert mapping is not None and mapping.value == "physnet1:br-data"
    assert mapping.line.path == "etc/neutron/plugins/ml2/openvswitch_agent.ini"
    # [AGENT] of neutron.conf and [agent] of the agent file are one group.
    assert merged.get("agent", "tunnel_types").value == "vxlan,gre"  # type: ignore[union-attr]
    assert merged.get("AGENT", "report_interval").value == "30"  # type: ignore[union-attr]
    assert merged.paths == ("etc/neutron/neutron.conf", "etc/neutron/plugins/ml2/openvswitch_agent.ini")


@pytest.mark.parametrize("files", [
    ["etc/neutron/neutron.conf"],
    ["etc/neutron/neutron.conf", "etc/neutron/plugins/ml2/openvswitch_agent.ini"],
    ["etc/neutron/neutron.conf", "etc/neutron/l3_agent.ini", "etc/neutron/fwaas_driver.ini"],
    ["etc/neutron/neutron.conf", "etc/neutron/dhcp_agent.ini"],
])
def test_values_equal_what_oslo_config_reads(ussuri_sos: Path, files: list[str]) -> None:
    merged = merge(_read(ussuri_sos, f) for f in files)
    conf = cfg.ConfigOpts()
    expected: dict[tuple[str, str], str] = {}
    for section in merged.section_names():
        for key in merged.keys(section):
            value = merged.get(section, key)
            assert value is not None
            if "$" in value.value:
                continue  # oslo.config expands $option references from registered options; we keep raw text
            opt = cfg.StrOpt(key)
            try:
                conf.register_opt(opt, group=None if section == "DEFAULT" else section)
            except (ValueError, cfg.DuplicateOptError):
                continue  # names oslo.config reserves for itself (config_file, ...)
            expected[(section, key)] = value.value
    conf(args=[f"--config-file={ussuri_sos / f}" for f in files], default_config_files=[],
         default_config_dirs=[])
    assert len(expected) >= 10
    for (section, key), text in expected.items():
        group = conf if section == "DEFAULT" else conf[section]
        assert group[key] == text, (section, key)


def test_normalization_is_oslo_config_s() -> None:
    for name in ("DEFAULT", "default", "Default", "OVS", "ml2_type_Geneve", "keystone_authtoken"):
        assert normalize_section(name) == cfg._normalize_group_name(name)


def test_last_value_wins_and_multi_values_keep_every_line() -> None:
    text = ("[DEFAULT]\n"
            "service_plugins = router\n"
            "[ML2_TYPE_GENEVE]\n"
            "vni_ranges = 1:16777215\n"
            "max_header_size: 38\n"
            "[ml2_type_geneve]\n"
            "vni_ranges = '1:65535'\n")
    ini = parse_ini(numbered(text, "ml2_conf.ini"))
    winner = ini.get("ml2_type_geneve", "vni_ranges")
    assert winner is not None and (winner.value, winner.line.number, winner.section) == ("1:65535", 7,
                                                                                          "ml2_type_geneve")
    assert [(v.value, v.line.number) for v in ini.get_all("ML2_TYPE_GENEVE", "vni_ranges")] == [
        ("1:16777215", 4), ("1:65535", 7)]
    assert ini.get("ml2_type_geneve", "max_header_size").value == "38"  # type: ignore[union-attr]
    assert ini.has_option("DEFAULT", "service_plugins")
    assert not ini.has_option("ml2_type_geneve", "service_plugins")  # no fallback to [DEFAULT]
    assert ini.get("ml2_type_vxlan", "vni_ranges") is None


def test_default_section_is_case_sensitive_and_dashed_keys_are_not_read() -> None:
    ini = parse_ini(numbered("[default]\ndebug = true\n[ovs]\nbridge-mappings = physnet1:br-ex\n", "x.conf"))
    assert ini.get("DEFAULT", "debug") is None
    assert ini.get("default", "debug") is not None
    # oslo looks options up as Opt.dest (dashes → underscores) and compares file keys verbatim.
    assert ini.get("ovs", "bridge-mappings") is None
    assert ini.get("ovs", "bridge_mappings") is None
    assert ini.keys("ovs") == ("bridge-mappings",)


def test_continuation_lines_quotes_and_comments() -> None:
    text = ("[DEFAULT]\n"
            "# a comment = not a key\n"
            "; another comment\n"
            "api_paste_config = \"/etc/neutron/api-paste.ini\"\n"
            "multi = first\n"
            "   second\n"
            "\tthird\n"
            "\n"
            "   \n"
            "after = x\n"
            "empty =\n"
            "half = \"unbalanced\n")
    ini = parse_ini(numbered(text, "n.conf"))
    assert ini.get("DEFAULT", "api_paste_config").value == "/etc/neutron/api-paste.ini"  # type: ignore[union-attr]
    multi = ini.get("DEFAULT", "multi")
    assert multi is not None and multi.value == "first\nsecond\nthird"
    assert multi.line.number == 5 and [c.number for c in multi.continuation] == [6, 7]
    assert [x.number for x in multi.lines] == [5, 6, 7]
    assert ini.get("DEFAULT", "after").line.number == 10  # type: ignore[union-attr]
    assert ini.get("DEFAULT", "empty").value == ""  # type: ignore[union-attr]
    assert ini.get("DEFAULT", "half").value == '"unbalanced'  # type: ignore[union-attr]
    assert not ini.has_option("DEFAULT", "# a comment")


def test_equal_before_colon_splits_on_equal() -> None:
    ini = parse_ini(numbered("[ovn]\novn_nb_connection = tcp:10.0.0.10:6641\nurl: http://x=y\n", "ovn.ini"))
    assert ini.get("ovn", "ovn_nb_connection").value == "tcp:10.0.0.10:6641"  # type: ignore[union-attr]
    assert ini.get("ovn", "url").value == "http://x=y"  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "line", "message"), [
    ("[DEFAULT]\ngarbage\n", 2, "No ':' or '=' found in assignment"),
    ("  indented = first\n", 1, "Unexpected continuation line"),
    ("[DEFAULT\n", 1, "Invalid section (must end with ])"),
    ("[]\n", 1, "Empty section name"),
    ("[DEFAULT]\n= value\n", 2, "Key cannot be empty"),
    ("debug = true\n[DEFAULT]\n", 1, "Section must be started before assignment"),
])
def test_strict_errors_carry_oslo_s_message_and_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_ini(numbered(text, "bad.conf"))
    assert (info.value.path, info.value.line, info.value.message) == ("bad.conf", line, message)


def test_oslo_config_rejects_the_same_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("[DEFAULT]\ngarbage\n")
    with pytest.raises(cfg.ConfigFileParseError, match="No ':' or '=' found in assignment"):
        cfg.ConfigOpts()(args=[f"--config-file={bad}"], default_config_files=[], default_config_dirs=[])


def test_lenient_mode_records_errors_and_keeps_the_rest() -> None:
    text = ("orphan = 1\n"
            "[DEFAULT]\n"
            "debug = true\n"
            "garbage line\n"
            "[broken\n"
            "host = compute4\n"
            "= novalue\n"
            "[ml2_type_geneve]\n"
            "vni_ranges = 1:65535\n")
    ini = parse_ini(numbered(text, "n.conf"), strict=False)
    assert [(e.line, e.message) for e in ini.errors] == [
        (1, "Section must be started before assignment"),
        (4, "No ':' or '=' found in assignment"),
        (5, "Invalid section (must end with ])"),
        (7, "Key cannot be empty"),
    ]
    assert ini.get("DEFAULT", "debug").value == "true"  # type: ignore[union-attr]
    # "[broken" was refused, so host still belongs to [DEFAULT].
    assert ini.get("DEFAULT", "host").value == "compute4"  # type: ignore[union-attr]
    assert ini.get("ml2_type_geneve", "vni_ranges").line.number == 9  # type: ignore[union-attr]
    assert ini.get("DEFAULT", "orphan") is None


def test_binary_garbage_and_huge_lines_do_not_crash() -> None:
    lines = ["[DEFAULT]", "a = 1", "\x00\x01\x02\xff", "b = " + "x" * 1_000_000, "\x00 = \x00", "c = 3"]
    ini = parse_ini(numbered(lines, "blob"), strict=False)
    assert len(ini.get("DEFAULT", "b").value) == 1_000_000  # type: ignore[union-attr]
    assert ini.get("DEFAULT", "c").value == "3"  # type: ignore[union-attr]
    assert ini.get("DEFAULT", "\x00").value == "\x00"  # type: ignore[union-attr]
    assert [e.line for e in ini.errors] == [3]


@pytest.mark.parametrize("strict", [True, False])
def test_a_file_past_the_limits_is_refused_whole(strict: bool) -> None:
    many_sections = [f"[s{i}]\nk = v" for i in range(MAX_SECTIONS + 1)]
    with pytest.raises(ParseError, match=f"more than {MAX_SECTIONS:,} sections") as sections:
        parse_ini(numbered("\n".join(many_sections), "neutron.conf"), strict=strict)
    assert sections.value.path == "neutron.conf"
    many_lines = ["[DEFAULT]"] + ["# a comment"] * MAX_LINES
    with pytest.raises(ParseError, match=f"more than {MAX_LINES:,} lines"):
        parse_ini(numbered(many_lines, "neutron.conf"), strict=strict)


def test_the_limits_leave_room_for_real_files() -> None:
    # a section repeated any number of times is one section; the largest real files are far below both limits
    repeated = "\n".join(f"[DEFAULT]\nk{i} = v" for i in range(MAX_SECTIONS * 2))
    assert parse_ini(numbered(repeated, "n.conf")).get("DEFAULT", f"k{MAX_SECTIONS * 2 - 1}") is not None
    at_limit = "\n".join(f"[s{i}]\nk = v" for i in range(MAX_SECTIONS))
    assert len(parse_ini(numbered(at_limit, "n.conf")).section_names()) == MAX_SECTIONS


def test_empty_input() -> None:
    ini = parse_ini(iter(()))
    assert ini.paths == () and ini.section_names() == () and ini.get("DEFAULT", "x") is None


def test_merge_keeps_each_file_s_errors_and_order() -> None:
    a = parse_ini(numbered("[DEFAULT]\nworkers = 2\n", "a.conf"))
    b = parse_ini(numbered("[DEFAULT]\nworkers = 8\noops\n", "b.conf"), strict=False)
    merged = merge([a, b])
    assert merged.get("DEFAULT", "api_workers") is None
    assert [v.line.cite() for v in merged.get_all("DEFAULT", "workers")] == ["a.conf:2", "b.conf:2"]
    assert merged.get("DEFAULT", "workers").value == "8"  # type: ignore[union-attr]
    assert [e.path for e in merged.errors] == ["b.conf"]
    assert merge([b, a]).get("DEFAULT", "workers").line == Line("a.conf", 2, "workers = 2")  # type: ignore[union-attr]


def test_config_args_of_a_real_agent_command_line(ussuri_sos: Path) -> None:
    ps = (ussuri_sos / "sos_commands/process/ps_auxwwwm").read_text().splitlines()
    (l3_agent,) = [line for line in ps if line.split()[1:2] == ["1591"]]
    assert config_args(l3_agent.split()) == (
        ConfigArg("file", "/etc/neutron/neutron.conf"),
        ConfigArg("file", "/etc/neutron/l3_agent.ini"),
        ConfigArg("file", "/etc/neutron/fwaas_driver.ini"),
    )


def test_config_args_both_spellings_and_dirs() -> None:
    argv = ["/usr/bin/neutron-server", "--config-file", "/etc/neutron/neutron.conf",
            "--config-dir=/etc/neutron/conf.d/common", "--log-file=/var/log/neutron/server.log",
            "--config-file=/etc/neutron/plugins/ml2/ml2_conf.ini", "--config-file"]
    assert config_args(argv) == (
        ConfigArg("file", "/etc/neutron/neutron.conf"),
        ConfigArg("dir", "/etc/neutron/conf.d/common"),
        ConfigArg("file", "/etc/neutron/plugins/ml2/ml2_conf.ini"),
    )
    assert config_args(["/usr/bin/neutron-server"]) == ()


def test_config_dir_files_match_oslo_glob_order(tmp_path: Path) -> None:
    names = ["50-vni.conf", "10-base.conf", ".hidden.conf", "README", "z.conf.dpkg-old", "9-late.conf"]
    for name in names:
        (tmp_path / name).write_text("[DEFAULT]\n")
    import glob

    assert config_dir_files(str(tmp_path / n) for n in names) == sorted(glob.glob(str(tmp_path / "*.conf")))
