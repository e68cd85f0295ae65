"""``ostriage predict``: the memory model's answer for one deployment, with a verdict and a safe size.

Inputs come from a host (a live host, a sosreport, a copy of /etc/neutron) and/or from flags; a flag
always wins over what the host shows. The answer names every assumption the model had to make.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from ostriage.errors import ParseError, UsageError
from ostriage.facts.budget import Budget, neutron_budget
from ostriage.facts.deployment import model_inputs
from ostriage.facts.model import Facts
from ostriage.knowledge import neutron_options as opts
from ostriage.knowledge.memory_figure import Figure, figure
from ostriage.knowledge.neutron_memory import Estimate, Inputs, Server, estimate
from ostriage.knowledge.releases import NeutronRelease, first_of_series, parse_neutron_version
from ostriage.parsers.openstack_values import IdRange, TunnelType, parse_tunnel_ranges
from ostriage.parsers.unit_files import Percent, parse_size
from ostriage.rules._range_advice import RangeAdvice, advise_range, networks_in_use

__all__ = ["Overrides", "Prediction", "Verdict", "parse_bytes", "parse_release", "predict"]


class Verdict(Enum):
    FITS = "fits"
    AT_RISK = "at-risk"
    WILL_OOM = "will-oom"
    WILL_NOT_START = "will-not-start"
    NO_BUDGET = "no-budget"


@dataclass(frozen=True, slots=True)
class Overrides:
    """What the command line says; ``None`` leaves the host's value (or the model's span)."""

    ranges: str | None = None
    tunnel_type: TunnelType = "geneve"
    release: NeutronRelease | None = None
    server: Server | None = None
    api_workers: int | None = None
    cpus: int | None = None
    ram: int | None = None
    memory_max: int | None = None
    budget: int | None = None
    max_allowed_packet: int | None = None
    first_start: bool | None = None
    segment_range_plugin: bool | None = None
    #: rows of the OVN Southbound's MAC_Binding table (``--mac-bindings``)
    mac_bindings: int | None = None


@dataclass(frozen=True, slots=True)
class Prediction:
    """``inputs`` as known (``None`` where not), ``estimate`` over what is not known, ``need`` the leading
    figure (each unknown input assumed), ``advice`` the recommended range."""

    inputs: Inputs
    tunnel_type: str
    estimate: Estimate
    need: Figure
    budget: Budget | None
    verdict: Verdict
    advice: RangeAdvice
    source: str

    @property
    def largest_safe_ids(self) -> int | None:
        return self.advice.ceiling


def parse_bytes(text: str) -> int:
    """``2G``, ``512M``, ``64GiB`` or plain bytes.

    >>> parse_bytes("2G"), parse_bytes("64GiB"), parse_bytes("1048576")
    (2147483648, 68719476736, 1048576)
    """
    cleaned = text.strip().removesuffix("iB").removesuffix("B")
    try:
        size = parse_size(cleaned)
    except ValueError:
        raise UsageError(f"not a size: {text!r} (use e.g. 2G, 512M, 64GiB)") from None
    if size is None or isinstance(size, Percent):
        raise UsageError(f"not an absolute size: {text!r}")
    return size


def parse_release(text: str) -> NeutronRelease:
    """A series (``2024.1``, ``caracal``) or a neutron version (``24.0.1``).

    >>> str(parse_release("2024.1")), str(parse_release("29.0.0"))
    ('24.0.0', '29.0.0')
    """
    try:
        return first_of_series(text)
    except KeyError:
        release = parse_neutron_version(text)
        if release is None:
            raise UsageError(f"unknown release {text!r} (use a series like 2024.1 or a version like 24.0.1)") from None
        return release


def _ranges(facts: Facts | None, o: Overrides) -> tuple[tuple[IdRange, ...], TunnelType, str]:
    if o.ranges is not None:
        try:
            return parse_tunnel_ranges(o.ranges, o.tunnel_type), o.tunnel_type, "command line"
        except ParseError as exc:
            raise UsageError(f"--vni-ranges: {exc.message}") from None
    config = facts.configs.get("neutron-server") if facts else None
    if config is not None:
        found = opts.tunnel_ranges(config.ini)
        if found:
            chosen = max(found, key=lambda r: r.ids)
            where = chosen.line.cite() if chosen.line else "neutron's configuration"
            return chosen.ranges, chosen.tunnel_type, where
    if o.mac_bindings is not None:
        return (), o.tunnel_type, "none configured"
    raise UsageError("no tunnel range to predict: give --vni-ranges, or a target whose neutron config enables one")


def predict(facts: Facts | None, o: Overrides) -> Prediction:
    ranges, tunnel, where = _ranges(facts, o)
    base = model_inputs(facts, ranges) if facts is not None else Inputs(ranges=tuple((r.first, r.last) for r in ranges))
    inputs = replace(
        base,
        release=o.release or base.release,
        server=o.server or base.server,
        api_workers=o.api_workers if o.api_workers is not None else base.api_workers,
        cpu_count=o.cpus or base.cpu_count,
        ram_bytes=o.ram or base.ram_bytes,
        max_allowed_packet=o.max_allowed_packet or base.max_allowed_packet,
        first_start=o.first_start if o.first_start is not None else base.first_start,
        segment_range_plugin=o.segment_range_plugin if o.segment_range_plugin is not None
        else base.segment_range_plugin,
        mac_bindings=o.mac_bindings if o.mac_bindings is not None else base.mac_bindings,
    )
    budget = _budget(facts, o)
    need = figure(inputs)
    advice = advise_range(inputs, tunnel, ranges[0].first if ranges else 1, budget, networks_in_use(facts))
    return Prediction(inputs, tunnel, estimate(inputs), need, budget, _verdict(need, budget), advice, where)


def _verdict(need: Figure, budget: Budget | None) -> Verdict:
    """Over every value the unknown inputs can take: fits for all, for some (at risk), or for none."""
    if budget is None:
        return Verdict.WILL_NOT_START if not any(o.completes for o in need.outcomes) else Verdict.NO_BUDGET
    fits = need.fits(budget.bytes)
    if fits is True:
        return Verdict.FITS
    if fits is None:
        return Verdict.AT_RISK
    return Verdict.WILL_OOM if need.service > budget.bytes else Verdict.WILL_NOT_START


def _budget(facts: Facts | None, o: Overrides) -> Budget | None:
    if o.budget is not None:
        return Budget(o.budget, "--budget", None)
    if o.memory_max is not None:
        return Budget(o.memory_max, "--memory-max", None)
    return neutron_budget(facts, o.ram)
