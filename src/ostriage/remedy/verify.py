"""Did the fix work? Watch the restarted units, the kernel's OOM killer and the API port for a while.

Stable means: every restarted unit stays ``active`` with the same main PID and restart counter for
the whole window, no new OOM kill is logged, and the API port answers HTTP (any status: a 401 from
keystone is an answer). Time and commands are injected so the logic is tested without a host.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Host", "Verdict", "live_host", "verify"]

#: seconds between two looks at the units
POLL_SECONDS = 2.0


@dataclass
class Verdict:
    ok: bool
    details: list[str] = field(default_factory=list)


@dataclass
class Host:
    """What verification needs from a host."""

    run: Callable[[Sequence[str]], str]
    http_answers: Callable[[str, int], bool]
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def _run(argv: Sequence[str]) -> str:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False).stdout


def _http_answers(host: str, port: int) -> bool:
    import http.client  # only a live fix --apply asks; diagnose imports this module and never does (ssl, email)

    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status > 0
    except OSError:
        return False
    finally:
        conn.close()


def live_host() -> Host:
    return Host(_run, _http_answers)


def _props(host: Host, unit: str) -> dict[str, str]:
    out = host.run(["systemctl", "show", unit, "-p", "ActiveState,SubState,NRestarts,MainPID"])
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _kills_in(text: str) -> int:
    return sum("Killed process" in line for line in text.splitlines())


def _ring_buffer_kills(host: Host) -> int | None:
    """Kills in the kernel's ring buffer, or ``None`` when it cannot be read. The ring buffer is what
    counts: a container's journal never receives the kernel's messages."""
    out = host.run(["dmesg"])
    return _kills_in(out) if out.strip() else None


def _journal_kills(host: Host, since: str) -> int:
    return _kills_in(host.run(["journalctl", "-k", "--no-pager", "-o", "cat", f"--since={since}"]))


def verify(host: Host, units: Sequence[str], port: int | None, seconds: float, since: str) -> Verdict:
    """Watch for ``seconds``; ``since`` is the journal time the restart happened (``@epoch`` form)."""
    verdict = Verdict(True)
    start = host.now()
    first = {u: _props(host, u) for u in units}
    ring_before = _ring_buffer_kills(host)
    answered = port is None
    while True:
        for unit in units:
            now = _props(host, unit)
            if now.get("ActiveState") not in ("active", "activating"):
                return Verdict(False, [f"{unit} is {now.get('ActiveState')}/{now.get('SubState')}"])
            if now.get("NRestarts") != first[unit].get("NRestarts") or now.get("MainPID") != first[unit].get("MainPID"):
                return Verdict(False, [f"{unit} restarted again (NRestarts {first[unit].get('NRestarts')} → "
                                       f"{now.get('NRestarts')}, main PID {first[unit].get('MainPID')} → "
                                       f"{now.get('MainPID')})"])
        ring = _ring_buffer_kills(host) if ring_before is not None else None
        kills = ring - ring_before if ring is not None and ring_before is not None else _journal_kills(host, since)
        if kills:
            return Verdict(False, [f"{kills} OOM kill(s) since the restart"])
        if not answered and port is not None:
            answered = host.http_answers("127.0.0.1", port)
        if host.now() - start >= seconds:
            break
        host.sleep(POLL_SECONDS)
    if not answered:
        return Verdict(False, [f"nothing answers HTTP on 127.0.0.1:{port} after {seconds:.0f} s"])
    verdict.details += [f"{', '.join(units)} stable for {seconds:.0f} s, no OOM kill"]
    if port is not None:
        verdict.details.append(f"port {port} answers HTTP")
    return verdict
