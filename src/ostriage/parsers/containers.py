"""Containers as their engines describe them: ``docker``/``podman`` ``ps -a`` and ``inspect``, ``crictl ps -a``
and ``crictl inspect``, ``kubectl get -o json pods``, ``lxc list``.

Sources, as sos names them (``sos/report/plugins/docker.py``, ``podman.py``, ``crio.py``, ``kubernetes.py``,
``lxd.py``): ``sos_commands/docker/docker_ps_-a``, ``sos_commands/docker/containers/docker_inspect_<id>``
(``sos_commands/docker/docker_inspect_<id>`` before sos 3.8, next to image inspects), the same for podman
(``sos_commands/podman/containers/podman_inspect_<id>``, ``users/<user>/`` for rootless ones),
``sos_commands/crio/crictl_ps_-a`` and ``crio/containers/crictl_inspect_<id>``,
``sos_commands/kubernetes/cluster-info/<namespace>/kubectl_get_-o_json_--namespace_<namespace>_pods``
(``k8s_kubectl_…`` for Canonical Kubernetes, ``microk8s_kubectl_…``), ``sos_commands/lxd/lxc_list_local``.
On a live host the same commands run (read-only, allow-listed: ``sources.catalog``).

Every record cites the line that names the container and, per field, the line that states it
(``lines["restart_count"]`` is the ``"RestartCount": 3`` line), so findings point at the engine's own words.
Times are kept as the engines print them, aware (UTC for docker and Kubernetes, the host's offset for
podman); the facts layer turns them into host-local time. Memory limits are bytes (``0``/absent: none).

>>> from ostriage.evidence import numbered
>>> table = [
...     "CONTAINER ID  IMAGE                                                   "
...     "   COMMAND      CREATED      STATUS                          PORTS       NAMES",
...     "3bc9b296a9d3  quay.io/openstack.kolla/neutron-server:2024.1-ubuntu-jam"
...     "my  kolla_start  2 weeks ago  Restarting (137) 3 seconds ago              neutron_server",
... ]
>>> (c,) = parse_container_ps(numbered(table), "podman")
>>> c.id, c.name, c.state, c.exit_code
('3bc9b296a9d3', 'neutron_server', 'restarting', 137)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ostriage.evidence import Line

__all__ = [
    "Container",
    "parse_container_inspect",
    "parse_container_ps",
    "parse_crictl_inspect",
    "parse_crictl_ps",
    "parse_k8s_pods",
    "parse_k8s_quantity",
    "parse_lxc_list",
]


@dataclass(frozen=True, slots=True)
class Container:
    """One container, with what its engine said about it (``None``: not said)."""

    engine: str
    name: str
    line: Line
    id: str | None = None
    image: str | None = None
    #: Kubernetes: ``namespace/pod``, and the pod's uid (its cgroups carry it)
    pod: str | None = None
    pod_uid: str | None = None
    #: ``running``, ``exited``, ``restarting``, ``created``, ``paused``, ``waiting`` (Kubernetes), ``stopped``
    state: str | None = None
    #: why it is in that state or last ended: ``OOMKilled``, ``CrashLoopBackOff``, ``Error``, ``Completed``
    reason: str | None = None
    exit_code: int | None = None
    oom_killed: bool | None = None
    restart_count: int | None = None
    restart_policy: str | None = None
    memory_limit: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    #: Kubernetes' record of the previous run (``lastState.terminated``), whose container had its own id
    last_id: str | None = None
    last_exit_code: int | None = None
    last_reason: str | None = None
    last_finished_at: datetime | None = None
    host_network: bool | None = None
    ready: bool | None = None
    health: str | None = None
    #: who runs it: ``kubernetes``, ``kolla``, ``tripleo`` (set by the facts layer from names and units)
    orchestrator: str | None = None
    #: the systemd unit that starts it (``tripleo_<name>.service``, Kolla's ``kolla-<name>-container.service``)
    unit: str | None = None
    #: bind mounts, ``(host source, container destination)``
    mounts: tuple[tuple[str, str], ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    lines: Mapping[str, Line] = field(default_factory=dict)

    @property
    def short_id(self) -> str | None:
        return self.id[:12] if self.id else None


# -- tables ---------------------------------------------------------------------------------------

_STATUS = re.compile(r"(?P<word>Up|Exited|Restarting|Created|Paused|Removing|Dead|Stopped|Configured|Initialized)"
                     r"(?: \((?P<code>-?\d+)\))?(?P<rest>.*)$")
_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting|starting)\)")
_STATE_WORDS = {"Up": "running", "Exited": "exited", "Restarting": "restarting", "Created": "created",
                "Paused": "paused", "Removing": "removing", "Dead": "dead", "Stopped": "stopped",
                "Configured": "created", "Initialized": "created"}


def _columns(header: str) -> list[tuple[str, int]]:
    """Column names and start offsets of a fixed-width table header (names are separated by 2+ spaces)."""
    return [(m.group(0), m.start()) for m in re.finditer(r"\S+(?: \S+)*", header)]


def _row(text: str, columns: list[tuple[str, int]]) -> dict[str, str]:
    """A row cut at the header's offsets; a value that overflows its column pushes the next cut to
    the next run of 2+ spaces (``docker ps`` truncates, ``podman ps`` does not)."""
    values: dict[str, str] = {}
    pos = 0
    for i, (name, _) in enumerate(columns):
        if i + 1 < len(columns):
            cut = columns[i + 1][1]
            if cut < pos:
                cut = pos
            elif cut < len(text) and text[cut - 1:cut] != " ":
                gap = re.compile(r" {2,}").search(text, cut)
                cut = gap.start() if gap else len(text)
            values[name] = text[pos:cut].strip()
            pos = cut
        else:
            values[name] = text[pos:].strip()
    return values


def _table(lines: Iterable[Line], header: str) -> Iterator[tuple[Line, dict[str, str]]]:
    """The rows of a fixed-width table, from the line that starts with ``header`` on."""
    columns: list[tuple[str, int]] | None = None
    for line in lines:
        if columns is None:
            if line.text.startswith(header):
                columns = _columns(line.text)
        elif line.text.strip():
            yield line, _row(line.text, columns)


def parse_container_ps(lines: Iterable[Line], engine: str) -> Iterator[Container]:
    """``docker ps -a`` / ``podman ps -a`` tables (``CONTAINER ID  IMAGE  COMMAND  CREATED  STATUS  PORTS  NAMES``)."""
    for line, row in _table(lines, "CONTAINER ID"):
        cid, name = row.get("CONTAINER ID", ""), row.get("NAMES", "")
        if not re.fullmatch(r"[0-9a-f]{12,64}", cid) or not name:
            continue
        status = _STATUS.match(row.get("STATUS", ""))
        health = _HEALTH.search(row.get("STATUS", ""))
        yield Container(
            engine, name.split(",")[0], line, id=cid, image=row.get("IMAGE") or None,
            state=_STATE_WORDS.get(status["word"]) if status else None,
            exit_code=int(status["code"]) if status and status["code"] is not None else None,
            health=health.group(1).removeprefix("health: ") if health else None,
            lines={"state": line},
        )


def parse_crictl_ps(lines: Iterable[Line]) -> Iterator[Container]:
    """``crictl ps -a``: ``CONTAINER IMAGE CREATED STATE NAME ATTEMPT POD ID [POD]`` (ATTEMPT is the
    restart count)."""
    for line, row in _table(lines, "CONTAINER"):
        cid, name = row.get("CONTAINER", ""), row.get("NAME", "")
        if not re.fullmatch(r"[0-9a-f]{12,64}", cid) or not name:
            continue
        attempt = row.get("ATTEMPT", "")
        state = row.get("STATE", "").lower() or None
        yield Container(
            "cri", name, line, id=cid, image=row.get("IMAGE") or None,
            pod=row.get("POD") or None, state=state, orchestrator="kubernetes",
            restart_count=int(attempt) if attempt.isdecimal() else None,
            lines={"state": line, "restart_count": line},
        )


def parse_lxc_list(lines: Iterable[Line]) -> Iterator[Container]:
    """``lxc list`` (LXD's table: ``| NAME | STATE | IPV4 | IPV6 | TYPE | SNAPSHOTS |``)."""
    names: list[str] | None = None
    for line in lines:
        if not line.text.startswith("|"):
            continue
        cells = [c.strip() for c in line.text.strip().strip("|").split("|")]
        if names is None:
            names = cells
            continue
        row = dict(zip(names, cells, strict=False))
        if row.get("NAME") and row.get("TYPE", "CONTAINER") == "CONTAINER":
            yield Container("lxc", row["NAME"], line, state=(row.get("STATE") or "").lower() or None,
                                  lines={"state": line})


# -- JSON -----------------------------------------------------------------------------------------

class _Located:
    """A JSON document with its lines: values are parsed with ``json``, cited by searching the text."""

    def __init__(self, lines: Iterable[Line]) -> None:
        self.lines = list(lines)

    def load(self) -> Any:
        try:
            return json.loads("\n".join(line.text for line in self.lines))
        except (ValueError, RecursionError):
            return None

    def find(self, start: int, *needles: str) -> tuple[int, Line] | None:
        """The line of the last of ``needles``, each searched from where the previous one was found."""
        index = start
        for needle in needles:
            index = next((i for i in range(index, len(self.lines)) if needle in self.lines[i].text), -1)
            if index < 0:
                return None
        return index, self.lines[index]


def _key(name: str, value: object) -> str:
    """``"Name": value`` as ``json.dumps`` (and docker, podman, kubectl) print it."""
    return f'"{name}": {json.dumps(value)}'


def _time(value: object) -> datetime | None:
    """RFC 3339 with nanoseconds (``2026-11-25T05:54:26.123456789Z``); the zero time is "never".

    >>> _time("2026-11-25T05:54:26.123456789Z").isoformat()
    '2026-11-25T05:54:26.123456+00:00'
    >>> _time("2023-01-10T10:39:34.183423744+01:00").utcoffset().seconds, _time("0001-01-01T00:00:00Z")
    (3600, None)
    """
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00")
    text = re.sub(r" ([+-]\d\d)(\d\d)$", r"\1:\2", text)  # podman's "2023-01-10 10:39:34 +0100 CET"
    text = re.sub(r" [A-Z]{2,5}$", "", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_container_inspect(lines: Iterable[Line], engine: str) -> Iterator[Container]:
    """``docker inspect`` / ``podman inspect`` of containers (a JSON array); image inspects are skipped.

    >>> from ostriage.evidence import numbered
    >>> doc = json.dumps([{"Id": "ab" * 32, "Name": "/neutron_server", "RestartCount": 2,
    ...                    "State": {"Status": "running", "OOMKilled": True, "ExitCode": 0,
    ...                              "StartedAt": "2026-11-25T05:54:26.1Z", "FinishedAt": "0001-01-01T00:00:00Z"},
    ...                    "HostConfig": {"NetworkMode": "host", "Memory": 2147483648,
    ...                                   "RestartPolicy": {"Name": "unless-stopped"}},
    ...                    "Config": {"Image": "kolla/neutron-server:2024.1"}}], indent=4)
    >>> (c,) = parse_container_inspect(numbered(doc, "docker_inspect_abab"), "docker")
    >>> c.name, c.restart_count, c.oom_killed, c.memory_limit, c.host_network, c.restart_policy
    ('neutron_server', 2, True, 2147483648, True, 'unless-stopped')
    >>> c.lines["restart_count"].text.strip(), c.started_at.isoformat()
    ('"RestartCount": 2,', '2026-11-25T05:54:26.100000+00:00')
    """
    doc = _Located(lines)
    data = doc.load()
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    cursor = 0
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("State"), dict) or not _str(item.get("Id")):
            continue  # an image, a volume, or not JSON at all
        cid = item["Id"]
        start = doc.find(cursor, _key("Id", cid))
        if start is None:
            continue
        cursor = start[0] + 1
        state, host, config = _dict(item["State"]), _dict(item.get("HostConfig")), _dict(item.get("Config"))
        name = (_str(item.get("Name")) or cid[:12]).lstrip("/")
        cited: dict[str, Line] = {"name": start[1]}
        for key, needles in (
            ("name", (_key("Name", item.get("Name")),)),
            ("restart_count", (_key("RestartCount", item.get("RestartCount")),)),
            ("oom_killed", ('"OOMKilled": ',)),
            ("state", ('"Status": ',)),
            ("exit_code", ('"ExitCode": ',)),
            ("started_at", ('"StartedAt": ',)),
            ("finished_at", ('"FinishedAt": ',)),
            ("memory_limit", ('"HostConfig": ', '"Memory": ')),
            ("restart_policy", ('"RestartPolicy": ', '"Name": ')),
            ("host_network", ('"NetworkMode": ',)),
        ):
            found = doc.find(start[0], *needles)
            if found is not None:
                cited[key] = found[1]
        memory = _int(host.get("Memory"))
        network = _str(host.get("NetworkMode"))
        health = _dict(state.get("Health") or state.get("Healthcheck")).get("Status")
        mounts = tuple((m["Source"], m["Destination"]) for m in item.get("Mounts") or ()
                       if isinstance(m, dict) and _str(m.get("Source")) and _str(m.get("Destination")))
        yield Container(
            engine, name, cited["name"], id=cid,
            image=_str(config.get("Image")) or _str(item.get("ImageName")) or _str(item.get("Image")),
            pod=_str(item.get("Pod")),
            state=_str(state.get("Status")),
            reason=_str(state.get("Error")),
            exit_code=_int(state.get("ExitCode")),
            oom_killed=state.get("OOMKilled") if isinstance(state.get("OOMKilled"), bool) else None,
            restart_count=_int(item.get("RestartCount")),
            restart_policy=_str(_dict(host.get("RestartPolicy")).get("Name")),
            memory_limit=memory if memory else None,
            started_at=_time(state.get("StartedAt")),
            finished_at=_time(state.get("FinishedAt")),
            host_network=network == "host" if network else None,
            health=_str(health),
            mounts=mounts,
            labels={k: v for k, v in _dict(config.get("Labels")).items() if isinstance(v, str)},
            lines=cited,
        )


def parse_crictl_inspect(lines: Iterable[Line]) -> Iterator[Container]:
    """``crictl inspect <id>`` (CRI ``ContainerStatus`` with the runtime's ``info``): the attempt is the
    restart count, the pod is named by the kubelet's labels."""
    doc = _Located(lines)
    data = doc.load()
    status = _dict(_dict(data).get("status"))
    cid = _str(status.get("id"))
    if cid is None:
        return
    start = doc.find(0, _key("id", cid))
    if start is None:
        return
    meta, labels = _dict(status.get("metadata")), _dict(status.get("labels"))
    info = _dict(_dict(data).get("info"))
    memory = _int(_dict(_dict(_dict(_dict(info.get("runtimeSpec")).get("linux")).get("resources"))
                        .get("memory")).get("limit"))
    namespace, pod = labels.get("io.kubernetes.pod.namespace"), labels.get("io.kubernetes.pod.name")
    cited = {"name": start[1]}
    for key, needle in (("restart_count", '"attempt": '), ("state", '"state": '), ("exit_code", '"exitCode": '),
                        ("memory_limit", '"limit": ')):
        found = doc.find(start[0], needle)
        if found is not None:
            cited[key] = found[1]
    state = (_str(status.get("state")) or "").removeprefix("CONTAINER_").lower() or None
    reason = _str(status.get("reason"))
    yield Container(
        "cri", _str(meta.get("name")) or cid[:12], start[1], id=cid,
        image=_str(_dict(status.get("image")).get("image")),
        pod=f"{namespace}/{pod}" if namespace and pod else pod, pod_uid=_str(labels.get("io.kubernetes.pod.uid")),
        state=state, reason=reason, exit_code=_int(status.get("exitCode")),
        oom_killed=reason == "OOMKilled" if reason else None,
        restart_count=_int(meta.get("attempt")),
        memory_limit=memory if memory else None,
        started_at=_time(status.get("startedAt")), finished_at=_time(status.get("finishedAt")),
        labels={k: v for k, v in labels.items() if isinstance(v, str)},
        orchestrator="kubernetes" if pod else None, lines=cited,
    )


_QUANTITY = re.compile(r"(?P<n>[0-9]+(?:\.[0-9]+)?)(?P<unit>Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E|m)?$")
_FACTORS = {"": 1, "m": 0.001, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
            "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def parse_k8s_quantity(text: str) -> int | None:
    """A Kubernetes resource quantity in bytes (``2Gi``, ``512M``, ``1e9`` is not accepted).

    >>> parse_k8s_quantity("2Gi"), parse_k8s_quantity("512M"), parse_k8s_quantity("lots")
    (2147483648, 512000000, None)
    """
    m = _QUANTITY.match(text.strip())
    if m is None or len(m["n"]) > 30:
        return None  # no memory limit has 30 digits: a damaged value, not a limit
    return int(Decimal(m["n"]) * Decimal(_FACTORS[m["unit"] or ""]))


def _pod_limits(spec: dict[str, Any]) -> dict[str, str]:
    limits: dict[str, str] = {}
    for container in spec.get("containers") or ():
        if isinstance(container, dict) and _str(container.get("name")):
            memory = _dict(_dict(container.get("resources")).get("limits")).get("memory")
            if isinstance(memory, str | int):
                limits[container["name"]] = str(memory)
    return limits


#: a Kubernetes containerID's scheme, and the engine it names
_RUNTIMES = {"containerd": "containerd", "cri-o": "cri-o", "docker": "docker"}


def parse_k8s_pods(lines: Iterable[Line]) -> Iterator[Container]:
    """Containers of ``kubectl get -o json pods`` (a ``List`` of pods, or one pod), one record per container
    status: restart count, current and last state (``OOMKilled`` is the last state's reason), readiness, the
    pod's ``hostNetwork`` and the container's ``resources.limits.memory``."""
    doc = _Located(lines)
    data = doc.load()
    pods = data.get("items") if isinstance(data, dict) and "items" in data else [data]
    cursor = 0
    for pod in pods if isinstance(pods, list) else ():
        meta, spec, status = (_dict(_dict(pod).get(k)) for k in ("metadata", "spec", "status"))
        uid, name = _str(meta.get("uid")), _str(meta.get("name"))
        if name is None:
            continue
        anchor = doc.find(cursor, _key("uid", uid)) if uid else doc.find(cursor, _key("name", name))
        if anchor is None:
            continue
        cursor = anchor[0] + 1
        namespace = _str(meta.get("namespace"))
        limits = _pod_limits(spec)
        host_network = spec.get("hostNetwork") is True
        for cs in status.get("containerStatuses") or ():
            if not isinstance(cs, dict) or not _str(cs.get("name")):
                continue
            cid = _str(cs.get("containerID"))
            here = doc.find(anchor[0], _key("containerID", cid) if cid else _key("name", cs["name"]))
            at = here[0] if here else anchor[0]
            cited = {"name": here[1] if here else anchor[1]}
            for key, needle in (("restart_count", '"restartCount": '), ("ready", '"ready": ')):
                found = doc.find(at, needle)
                if found is not None:
                    cited[key] = found[1]
            state_name, state = next(iter(_dict(cs.get("state")).items()), (None, {}))
            state = _dict(state)
            last = _dict(_dict(cs.get("lastState")).get("terminated"))
            if last:
                found = doc.find(at, '"lastState": ', '"reason": ')
                if found is not None:
                    cited["last_reason"] = found[1]
            limit = limits.get(cs["name"])
            if limit is not None:
                found = doc.find(anchor[0], '"containers": [', _key("name", cs["name"]), '"memory": ')
                if found is not None:
                    cited["memory_limit"] = found[1]
            reason = _str(state.get("reason"))
            scheme = cid.split("://", 1)[0] if cid and "://" in cid else None
            yield Container(
                _RUNTIMES.get(scheme or "", "cri"), cs["name"], cited["name"],
                id=cid.split("://", 1)[-1] if cid else None,
                image=_str(cs.get("image")),
                pod=f"{namespace}/{name}" if namespace else name, pod_uid=uid,
                state=state_name, reason=reason, exit_code=_int(state.get("exitCode")),
                oom_killed=(reason or _str(last.get("reason"))) == "OOMKilled" if (reason or last) else None,
                restart_count=_int(cs.get("restartCount")),
                restart_policy=_str(spec.get("restartPolicy")),
                memory_limit=parse_k8s_quantity(limit) if limit is not None else None,
                started_at=_time(state.get("startedAt")), finished_at=_time(state.get("finishedAt")),
                last_id=(_str(last.get("containerID")) or "").split("://", 1)[-1] or None,
                last_exit_code=_int(last.get("exitCode")), last_reason=_str(last.get("reason")),
                last_finished_at=_time(last.get("finishedAt")),
                host_network=host_network, ready=cs.get("ready") if isinstance(cs.get("ready"), bool) else None,
                orchestrator="kubernetes", lines=cited,
            )
