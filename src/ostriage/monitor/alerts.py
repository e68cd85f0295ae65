"""Crash loops as Alertmanager alerts (API v2), with the diagnosis' story in the annotations.

One alert per workload in a crash loop, named ``OstriageCrashLoop``. Its labels identify it and let
Alertmanager's routes and inhibitions match it: ``instance`` (the host), ``service``/``unit``/
``container``/``engine`` (the workload, empty ones left out), ``severity``, and the root cause that
explains the loop as ``code`` and ``rule`` (``NEU001``, ``ml2-segment-range-too-large``). Its annotations
carry what a person needs: ``summary``, ``root_cause``, ``chain`` (root cause → what it caused),
``contributors``, ``fix`` (the remedy and its steps), ``evidence`` (``path:line`` and the line) and
``description`` (all of it as one text, for receivers that show only one field).

Alertmanager keeps an alert firing until its ``endsAt``; ``watch`` sends it again while the loop lasts
(as Prometheus does with its own alerts) and sends it once more with ``endsAt`` = now when the loop ends
or the explanation changes. The document given here is the redacted one (``report.document``), so no
secret reaches an alert.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ostriage.monitor.labels import LABELS, Target

__all__ = ["ALERT_NAME", "LoopInfo", "PostError", "crash_loop_alert", "explaining_story", "post_alerts",
           "resolved"]

ALERT_NAME = "OstriageCrashLoop"
#: Alertmanager stores annotations whole; receivers (mail, chat) show them: keep each readable
MAX_ANNOTATION = 4000
_EVIDENCE_LINES = 4


@dataclass(frozen=True, slots=True)
class LoopInfo:
    """A crash loop as ``watch`` saw it: the workload, why it counts as a loop, and when it started."""

    target: Target
    reason: str
    started: datetime


def _findings_about(doc: dict[str, Any], target: Target) -> list[dict[str, Any]]:
    out = []
    for f in doc.get("findings", []):
        data = f.get("data") or {}
        if (target.unit and target.unit in (f.get("subject"), data.get("unit"))) or (
                target.service and target.service in (f.get("subject"), data.get("service"))):
            out.append(f)
    return out


def explaining_story(doc: dict[str, Any], target: Target) -> dict[str, Any] | None:
    """The first (most important) root cause whose story contains a finding about the workload."""
    keys = {f["key"] for f in _findings_about(doc, target)}
    for story in doc.get("root_causes", []):
        if story["finding"] in keys or any(step["finding"] in keys for step in story.get("chain", [])):
            return dict(story)
    return None


def _cut(text: str) -> str:
    return text if len(text) <= MAX_ANNOTATION else text[:MAX_ANNOTATION - 1] + "…"


def _utc(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _step(s: dict[str, Any]) -> str:
    return f"{s['code']} {s['rule']}: {s['summary']}"


def crash_loop_alert(doc: dict[str, Any], loop: LoopInfo, *, instance: str, ends_at: datetime,
                     generator_url: str | None = None) -> dict[str, Any]:
    """The alert for one looping workload, explained by the diagnosis ``doc`` (schema v1)."""
    target = loop.target
    story = explaining_story(doc, target)
    own = _findings_about(doc, target)
    labels = {"alertname": ALERT_NAME, "instance": instance,
              **{k: v for k, v in zip(LABELS, target.values, strict=True) if v}}
    annotations: dict[str, str] = {}
    if story is not None:
        by_key = {f["key"]: f for f in doc.get("findings", [])}
        root = by_key.get(story["finding"], {})
        labels.update(severity=story["severity"], code=story["code"], rule=story["rule"])
        chain = [_step(story)] + ["→ " + _step(s) for s in story.get("chain", [])]
        annotations.update(
            summary=f"{target.name} is crash-looping on {instance}: {story['summary']}",
            root_cause=_step(story),
            chain="\n".join(chain),
        )
        if story.get("contributors"):
            annotations["contributors"] = "\n".join(f"{s['relation']}: {_step(s)}" for s in story["contributors"])
        remedy = root.get("remedy")
        if remedy:
            annotations["fix"] = "\n".join([remedy["title"], *(f"- {step}" for step in remedy.get("steps", []))])
        evidence = root.get("evidence", [])[:_EVIDENCE_LINES]
        if evidence:
            annotations["evidence"] = "\n".join(f"{e['path']}:{e['line']}  {e['text'].strip()}" for e in evidence)
    else:
        worst = own[0] if own else None  # findings are ordered worst first
        labels["severity"] = worst["severity"] if worst and worst["severity"] != "info" else "warning"
        annotations.update(
            summary=f"{target.name} is crash-looping on {instance}; ostriage found no root cause for it",
            root_cause="none found: run `ostriage diagnose` on the host, and read the service's own log",
            chain="\n".join(_step(f) for f in own) or "no finding about it yet",
        )
    annotations["loop"] = f"{loop.reason} (since {_utc(loop.started)})"
    annotations["description"] = "\n\n".join(
        f"{name.replace('_', ' ').capitalize()}:\n{annotations[name]}"
        for name in ("root_cause", "chain", "contributors", "fix", "evidence", "loop") if name in annotations)
    if doc.get("problems"):
        annotations["blind_spots"] = "\n".join(doc["problems"][:10])
    alert: dict[str, Any] = {
        "labels": labels,
        "annotations": {k: _cut(v) for k, v in annotations.items()},
        "startsAt": _utc(loop.started),
        "endsAt": _utc(ends_at),
    }
    if generator_url:
        alert["generatorURL"] = generator_url
    return alert


def resolved(alert: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The same alert, ended now: Alertmanager marks it resolved and tells the receivers that want it."""
    return {**alert, "endsAt": _utc(at)}


class PostError(Exception):
    """Alertmanager could not be reached or refused the alerts."""


def post_alerts(url: str, alerts: Sequence[dict[str, Any]], timeout: float = 5.0) -> None:
    """POST to ``<url>/api/v2/alerts``; user:password in the URL becomes HTTP basic authentication."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PostError(f"{url}: not an http(s) URL")
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    endpoint = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/api/v2/alerts", "", ""))
    request = urllib.request.Request(endpoint, data=json.dumps(list(alerts)).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json"})
    if parts.username is not None:
        credentials = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(4096)
    except urllib.error.HTTPError as exc:
        body = exc.read(300).decode("utf-8", "replace").strip()
        raise PostError(f"{endpoint}: HTTP {exc.code}" + (f": {body}" if body else "")) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise PostError(f"{endpoint}: {reason}") from None
