"""Records of the kernel's ``/dev/kmsg`` interface (Documentation/ABI/testing/dev-kmsg).

Each ``read()`` of ``/dev/kmsg`` returns exactly one record: a prefix of comma-separated fields
(``priority,sequence,timestamp_us,flag``, then optional ``key=value`` fields such as ``caller=T123``
on kernels built with ``CONFIG_PRINTK_CALLER``), a ``;``, the message (non-printable bytes escaped as
``\\xNN``, so one record is one line), a newline, and then zero or more dictionary lines that start
with a space (``" SUBSYSTEM=pci"``). ``priority`` is ``facility << 3 | level``; ``timestamp_us`` is
microseconds since boot on the same clock as ``dmesg``'s ``[ 3502.298345]``.

A real record of the lab's seed incident (kernel 6.18)::

    3,48211,6269624869,-;Memory cgroup out of memory: Killed process 29283 (uwsgi) total-vm:2147412kB, ...

>>> r = parse_kmsg_record(b"3,48211,6269624869,-;Memory cgroup out of memory: Killed process 29283 (uwsgi)\\n")
>>> r.level, r.facility, r.sequence, r.seconds, r.message
(3, 0, 48211, 6269.624869, 'Memory cgroup out of memory: Killed process 29283 (uwsgi)')
>>> parse_kmsg_record(b"6,339,5140900,-,caller=T1;Linux version 6.18.44\\n SUBSYSTEM=x\\n").message
'Linux version 6.18.44'
>>> parse_kmsg_record(b"not a record") is None
True
>>> parse_kmsg_record(b"3,1," + b"9" * 400 + b",-;too far\\n") is None
True
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KmsgRecord", "parse_kmsg_record"]


@dataclass(frozen=True, slots=True)
class KmsgRecord:
    level: int
    facility: int
    sequence: int
    usec: int
    message: str

    @property
    def seconds(self) -> float:
        """Seconds since boot, as ``dmesg`` prints them."""
        return self.usec / 1e6


_U64_MAX = (1 << 64) - 1


def _u64(field: bytes) -> int | None:
    """The kernel writes each number as an unsigned 64-bit decimal; ``int()`` would also take signs, spaces,
    underscores and numbers no float (``seconds``) can hold."""
    if not field.isdigit() or len(field) > 20:  # bytes.isdigit() is ASCII digits only
        return None
    value = int(field)
    return value if value <= _U64_MAX else None


def parse_kmsg_record(data: bytes) -> KmsgRecord | None:
    """One record as ``read()`` returns it; ``None`` for anything that is not one (never raises)."""
    head, sep, rest = data.partition(b";")
    if not sep:
        return None
    fields = head.split(b",")
    if len(fields) < 4:
        return None
    priority, sequence, usec = (_u64(f) for f in fields[:3])
    if priority is None or sequence is None or usec is None:
        return None
    message = rest.split(b"\n", 1)[0]
    return KmsgRecord(priority & 7, priority >> 3, sequence, usec, message.decode("utf-8", "replace"))
