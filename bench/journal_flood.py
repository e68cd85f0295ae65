"""A sosreport's journal flooded with an OOM crash loop, for the flood checks of the bench and the tests.

``flood_journal(bundle, cycles)`` writes, before the journal's own lines, ``cycles`` rounds of a
neutron-server crash loop as a controller's journal (``journalctl --no-pager``, short format) holds them:

* the kernel's OOM kill: the trigger line, the ``oom-kill:`` summary naming the unit's memory cgroup, and
  the kill line (the formats of the seed incident's own dmesg);
* systemd's messages about the unit: the OOM notice, ``Main process exited, code=killed, status=9/KILL``,
  ``Failed with result 'oom-kill'``, ``Scheduled restart job, restart counter is at N``, ``Stopped`` and
  ``Started`` (systemd 252's wording, as in the seed's journal);
* neutron-server's own entry (``use_journal``) logging its tunnel ranges as it starts again.

That is 10 lines a round, spaced so that the loop ends a minute before the journal's own first line. The
output is deterministic.

    .venv/bin/python bench/journal_flood.py BUNDLE --cycles 250000
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path

JOURNAL = "sos_commands/logs/journalctl_--no-pager"
HOST = "ostlab-controller"
UNIT = "neutron-server.service"
#: lines written per round of the loop
LINES_PER_CYCLE = 10
_CGROUP = f"/system.slice/{UNIT}"


def _first_time(journal: Path, year: int) -> datetime:
    with journal.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                return datetime.strptime(f"{year} {line[:15]}", "%Y %b %d %H:%M:%S")
            except ValueError:
                continue
    raise SystemExit(f"{journal}: no dated line")


def flood_journal(bundle: Path, cycles: int, step: timedelta = timedelta(milliseconds=250),
                  year: int = 2026) -> int:
    """Write ``cycles`` rounds of the crash loop before ``bundle``'s journal lines; the number of lines added."""
    journal = bundle / JOURNAL
    own = journal.read_bytes()
    end = _first_time(journal, year) - timedelta(minutes=1)
    start = end - step * cycles
    with journal.open("wb") as out:
        for i in range(cycles):
            at = (start + step * i).strftime("%b %d %H:%M:%S")
            pid, restarted = 40_000 + 2 * i, 40_001 + 2 * i
            kernel, systemd = f"{at} {HOST} kernel: ", f"{at} {HOST} systemd[1]: "
            out.write(
                f"{kernel}uwsgi invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n"
                f"{kernel}oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                f"oom_memcg={_CGROUP},task_memcg={_CGROUP},task=uwsgi,pid={pid},uid=0\n"
                f"{kernel}Memory cgroup out of memory: Killed process {pid} (uwsgi) total-vm:1755208kB, "
                f"anon-rss:{1_300_000 + i % 4096}kB, file-rss:20888kB, shmem-rss:0kB, UID:0 pgtables:2692kB "
                "oom_score_adj:0\n"
                f"{systemd}{UNIT}: A process of this unit has been killed by the OOM killer.\n"
                f"{systemd}{UNIT}: Main process exited, code=killed, status=9/KILL\n"
                f"{systemd}{UNIT}: Failed with result 'oom-kill'.\n"
                f"{systemd}{UNIT}: Scheduled restart job, restart counter is at {i + 1}.\n"
                f"{systemd}Stopped {UNIT} - OpenStack Neutron Server (API under uWSGI).\n"
                f"{systemd}Started {UNIT} - OpenStack Neutron Server (API under uWSGI).\n"
                f"{at} {HOST} neutron-server[{restarted}]: geneve ID ranges: [(1, 16777215)]\n".encode())
        out.write(own)
    return cycles * LINES_PER_CYCLE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="a copy of a sosreport directory (its journal is rewritten)")
    parser.add_argument("--cycles", type=int, default=250_000)
    args = parser.parse_args()
    print(f"{flood_journal(args.bundle, args.cycles):,} lines added to {args.bundle / JOURNAL}")


if __name__ == "__main__":
    main()
