"""Unit files and drop-ins with systemd's semantics, on the ussuri sosreport's real files and the
override ``systemctl edit neutron-server`` writes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ostriage.evidence import Line, numbered
from ostriage.parsers.unit_files import (
    Percent,
    drop_in_order,
    effective_settings,
    parse_size,
    parse_timespan,
    parse_unit_file,
)


def lines_of(root: Path, relative: str) -> list[Line]:
    return list(numbered((root / relative).read_text(), relative))


def test_real_unit_file(ussuri_sos: Path) -> None:
    name = "etc/systemd/system/jujud-machine-1.service"
    found = [(a.section, a.key, a.value, a.line.number) for a in parse_unit_file(lines_of(ussuri_sos, name))]
    assert found == [
        ("Unit", "Description", "juju agent for machine-1", 2),
        ("Unit", "After", "syslog.target", 3),
        ("Unit", "After", "network.target", 4),
        ("Unit", "After", "systemd-user-sessions.service", 5),
        ("Service", "LimitNOFILE", "64000", 8),
        ("Service", "ExecStart", "/etc/systemd/system/jujud-machine-1-exec-start.sh", 9),
        ("Service", "Restart", "on-failure", 10),
        ("Service", "TimeoutSec", "300", 11),
        ("Install", "WantedBy", "multi-user.target", 14),
    ]


def test_real_fragment_with_real_drop_in(ussuri_sos: Path) -> None:
    unit = lines_of(ussuri_sos, "etc/systemd/system/snap.lxd.daemon.service")
    drop_in = lines_of(ussuri_sos, "etc/systemd/system/nova-compute.service.d/99-mount.conf")
    settings = effective_settings(unit, [drop_in])
    after = settings["Unit", "After"]
    assert after.values == (
        "snap-lxd-22358.mount network.target snapd.apparmor.service", "var-lib-nova-instances.mount",
    )
    assert after.line.cite() == "etc/systemd/system/nova-compute.service.d/99-mount.conf:3"
    assert settings["Service", "EnvironmentFile"].value == "-/etc/environment"
    assert settings["Unit", "Description"].line.number == 3  # line 2 is a comment


def test_real_drop_in_with_comment_header_and_condition(ussuri_sos: Path) -> None:
    name = "etc/systemd/system/sshd-keygen@.service.d/disable-sshd-keygen-if-cloud-init-active.conf"
    (a,) = parse_unit_file(lines_of(ussuri_sos, name))
    assert (a.section, a.key, a.line.number) == ("Unit", "ConditionPathExists", 7)
    assert a.value == "!/run/systemd/generator.early/multi-user.target.wants/cloud-init.target"


UNIT = """\
[Unit]
Description=OpenStack Neutron Server
After=mysql.service

[Service]
User=neutron
ExecStart=/etc/init.d/neutron-server systemd-start
Environment=A=1
Restart=on-failure
MemoryMax=8G
"""

OVERRIDE = """\
### Editing /etc/systemd/system/neutron-server.service.d/override.conf
[Service]
OOMScoreAdjust=-1000
; the lab limit
MemoryMax=2G
Environment=B=2
ExecStart=
ExecStart=/usr/bin/neutron-server \\
    --config-file=/etc/neutron/neutron.conf \\
# a comment inside a continued line is dropped
    --config-file=/etc/neutron/plugins/ml2/ml2_conf.ini
"""


def test_override_semantics() -> None:
    settings = effective_settings(
        numbered(UNIT, "/lib/systemd/system/neutron-server.service"),
        [numbered(OVERRIDE, "/etc/systemd/system/neutron-server.service.d/override.conf")],
    )
    memory = settings["Service", "MemoryMax"]
    assert (memory.value, parse_size(memory.value), memory.line.number) == ("2G", 2 << 30, 5)
    assert memory.line.path.endswith("override.conf")
    assert settings["Service", "OOMScoreAdjust"].value == "-1000"
    exec_start = settings["Service", "ExecStart"]
    assert exec_start.values == (
        "/usr/bin/neutron-server --config-file=/etc/neutron/neutron.conf "
        "--config-file=/etc/neutron/plugins/ml2/ml2_conf.ini",
    )
    assert [a.line.number for a in exec_start.assignments] == [7, 8]  # the reset, then the new value
    assert settings["Service", "Environment"].values == ("A=1", "B=2")
    assert settings["Service", "User"].line.path == "/lib/systemd/system/neutron-server.service"
    assert settings["Unit", "After"].value == "mysql.service"


def test_reset_without_new_value_empties_the_list() -> None:
    settings = effective_settings(numbered(UNIT), [numbered("[Service]\nEnvironment=\n")])
    env = settings["Service", "Environment"]
    assert env.values == () and env.value == "" and env.line.number == 2


def test_later_drop_in_wins_for_scalars() -> None:
    settings = effective_settings(numbered(UNIT), [numbered("[Service]\nMemoryMax=2G", "10-a.conf"),
                                                   numbered("[Service]\nMemoryMax=infinity", "20-b.conf")])
    assert settings["Service", "MemoryMax"].value == "infinity"
    assert settings["Service", "MemoryMax"].line.path == "20-b.conf"


def test_lenient_like_systemd() -> None:
    text = "Key=outside section\n[Service]\nno equals sign\n=no key\n  Restart = always  \n\x00\ufffd\n[E]\n"
    found = [(a.section, a.key, a.value) for a in parse_unit_file(numbered(text))]
    assert found == [("Service", "Restart", "always")]


def test_continuation_at_end_of_file() -> None:
    (a,) = parse_unit_file(numbered("[Service]\nExecStart=/bin/true \\\n  --x \\"))
    assert (a.value, a.line.number) == ("/bin/true --x", 2)


@pytest.mark.parametrize(
    ("paths", "order"),
    [
        (
            ["/lib/systemd/system/neutron-server.service.d/override.conf",
             "/etc/systemd/system/neutron-server.service.d/override.conf",
             "/run/systemd/system/neutron-server.service.d/50-limit.conf",
             "/usr/lib/systemd/system/neutron-server.service.d/99-zz.conf"],
            ["/run/systemd/system/neutron-server.service.d/50-limit.conf",
             "/usr/lib/systemd/system/neutron-server.service.d/99-zz.conf",
             "/etc/systemd/system/neutron-server.service.d/override.conf"],  # by file name: "o" > "9"
        ),
        (
            ["/usr/lib/systemd/system/service.d/10-timeout-abort.conf",
             "/usr/lib/systemd/system/neutron-.service.d/10-timeout-abort.conf",
             "/etc/systemd/system/neutron-server.service.d/README",
             "etc/systemd/system/neutron-server.service.d/override.conf"],
            ["/usr/lib/systemd/system/neutron-.service.d/10-timeout-abort.conf",
             "etc/systemd/system/neutron-server.service.d/override.conf"],
        ),
        (
            ["/usr/lib/systemd/system/user@.service.d/timeout.conf",
             "/etc/systemd/system/user@1000.service.d/timeout.conf",
             "/srv/elsewhere/user@1000.service.d/timeout.conf"],
            ["/etc/systemd/system/user@1000.service.d/timeout.conf"],
        ),
        (
            ["/run/systemd/system.control/neutron-server.service.d/50-MemoryMax.conf",
             "/etc/systemd/system/neutron-server.service.d/50-MemoryMax.conf"],
            ["/run/systemd/system.control/neutron-server.service.d/50-MemoryMax.conf"],
        ),
    ],
)
def test_drop_in_order(paths: list[str], order: list[str]) -> None:
    assert drop_in_order(paths) == order


@pytest.mark.parametrize(
    ("text", "value"),
    [("2G", 2 << 30), ("512M", 512 << 20), ("1.5K", 1536), ("4096", 4096), ("1T", 1 << 40), ("10B", 10),
     ("1G 512M", (1 << 30) + (512 << 20)), (" 2G ", 2 << 30), ("infinity", None), ("50%", Percent(50.0)),
     ("250‰", Percent(25.0)), ("0", 0)],
)
def test_parse_size(text: str, value: int | Percent | None) -> None:
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "2GB", "G", "-1G", "2X", "1.2.3G", "max"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("100ms", timedelta(milliseconds=100)), ("5s", timedelta(seconds=5)),
     ("1min 30s", timedelta(seconds=90)), ("1min30s", timedelta(seconds=90)), ("0", timedelta(0)),
     ("90", timedelta(seconds=90)),
     ("2h 30min", timedelta(hours=2, minutes=30)), ("1d", timedelta(days=1)), ("1w", timedelta(weeks=1)),
     ("500us", timedelta(microseconds=500)), ("1.5s", timedelta(seconds=1.5)), ("infinity", None)],
)
def test_parse_timespan(text: str, value: timedelta | None) -> None:
    assert parse_timespan(text) == value


@pytest.mark.parametrize("text", ["", "5 parsecs", "s", "1min x", "[not set]"])
def test_parse_timespan_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timespan(text)


def test_percent_of_ram() -> None:
    assert Percent(50).of(16 << 30) == 8 << 30
