"""OVN-specific configuration that makes neutron refuse to start."""

from __future__ import annotations

from collections.abc import Iterator

from ostriage.errors import ParseError
from ostriage.facts.model import Facts
from ostriage.findings import Citation, Finding, FixSafety, IniEdit, Remedy, Severity
from ostriage.knowledge import neutron_options as opts
from ostriage.knowledge.services import service_by_name
from ostriage.rules._common import NEUTRON_EXITS_AT_START, deployed, host_path, when
from ostriage.rules._registry import rule


@rule("OVN001", "ovn-geneve-header-too-small")
def ovn_geneve_header_too_small(facts: Facts) -> Iterator[Finding]:
    """OVN with Geneve and `[ml2_type_geneve] max_header_size` below 38: neutron exits at start.

    What it does:
        With `ovn` in `mechanism_drivers` and `geneve` in `type_drivers`, reads `max_header_size`
        (default 30, neutron-lib's GENEVE_ENCAP_MIN_OVERHEAD) and neutron's own CRITICAL
        `Geneve max_header_size set too low for OVN (30 vs 38)`.
    Why is this bad:
        The OVN mechanism driver raises SystemExit(1) in initialize() (neutron 19.0.0+): neutron-server
        never starts, systemd restarts it in a loop, the API port never opens.
    Evidence:
        The `max_header_size` line (or its absence: the default applies), the mechanism/type driver
        lines and neutron's CRITICAL log line.
    False positives:
        None known: the check is neutron's own.
    Remedy:
        Set `[ml2_type_geneve] max_header_size = 38` and restart neutron-server.
    Fix safety:
        safe: 38 is what OVN needs and what the install guide and devstack set.
    References:
        neutron/plugins/ml2/drivers/ovn/mech_driver/mech_driver.py OVN_MIN_GENEVE_MAX_HEADER_SIZE.
    """
    config = facts.configs.get("neutron-server")
    logged = facts.events("neutron.ovn-geneve-header-too-small")
    if config is None:
        return
    mech = opts.mechanism_drivers(config.ini)
    types = opts.type_drivers(config.ini)
    try:
        header = opts.max_header_size(config.ini)
    except ParseError:
        return
    configured = "ovn" in mech.value and "geneve" in types.value and header.value < opts.OVN_MIN_GENEVE_HEADER
    if not logged and not (configured and deployed(facts, service_by_name("neutron-server"))):
        return
    evidence: list[Citation] = []
    if header.line is not None:
        evidence.append(Citation(header.line))
    elif mech.line is not None:
        evidence.append(Citation(mech.line, f"max_header_size not set: default {header.value} applies"))
    if logged:
        note = f"neutron exited {len(logged)} time(s), last {when(logged[-1].timestamp)}"
        evidence.append(Citation(logged[-1].line, note))
    path = host_path(header.line.path if header.line else config.files[-1])
    yield ovn_geneve_header_too_small.finding(
        subject="ml2_type_geneve.max_header_size",
        severity=Severity.CRITICAL,
        summary=(f"[ml2_type_geneve] max_header_size = {header.value} is below OVN's minimum "
                 f"{opts.OVN_MIN_GENEVE_HEADER}: neutron-server exits at start"),
        explanation=("The OVN mechanism driver checks the Geneve header size when it initialises and exits with "
                     "'Geneve max_header_size set too low for OVN' when it is below 38 bytes, before the API "
                     "port is opened; systemd keeps restarting it."),
        evidence=tuple(evidence),
        remedy=Remedy(
            title=f"set [ml2_type_geneve] max_header_size = {opts.OVN_MIN_GENEVE_HEADER}",
            steps=(f"set [ml2_type_geneve] max_header_size = {opts.OVN_MIN_GENEVE_HEADER} in {path}",
                   "restart neutron-server"),
            ini_edits=(IniEdit(path, "ml2_type_geneve", "max_header_size", str(opts.OVN_MIN_GENEVE_HEADER),
                               "OVN needs 38 bytes of Geneve options", old_value=str(header.value)),),
            restart_units=("neutron-server.service",),
            safety=FixSafety.SAFE,
        ),
        links=NEUTRON_EXITS_AT_START,
        data={"max_header_size": header.value, "minimum": opts.OVN_MIN_GENEVE_HEADER},
    )
