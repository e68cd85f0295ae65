"""Which files to scan, in which order, on how many CPUs; results merged as the line-by-line path orders them.

Service logs: every file of every log path of every service (``knowledge.services``; rotations from
``Source.log_files``), largest first, spread over the CPUs by a process pool when there is enough to read
(forked workers inherit the open files); results are merged back in the services' order, rotations oldest
first — the order ``facts`` always read them in. Kernel logs: the rotations of one log feed one parser, in
order (an OOM block may be cut by logrotate), so they are read in this process.

Progress goes to ``ostriage.progress``: the bytes read of all files, and which file.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from ostriage.knowledge.services import Service
from ostriage.parsers.kernel_oom import OomEvent, OomLineParser
from ostriage.parsers.packages import VersionBanner
from ostriage.progress import reporter
from ostriage.scan.blocks import Budget
from ostriage.scan.digest import EventDigest
from ostriage.scan.kernel import finish, scan_kernel_file
from ostriage.scan.oslo import OsloScan, scan_oslo
from ostriage.sources._tree import note
from ostriage.sources.base import LogFile, Source

__all__ = ["PARALLEL_MIN_BYTES", "KernelLogs", "ServiceLogs", "kernel_logs", "service_logs"]

#: below this many bytes of logs, forking workers costs more than it saves
PARALLEL_MIN_BYTES = 16 * 2**20


@dataclass(slots=True)
class ServiceLogs:
    """What the services' own logs say."""

    events: EventDigest = field(default_factory=EventDigest)
    banners: list[VersionBanner] = field(default_factory=list)
    #: pid (of those asked for) → the first service whose log has a record of it
    pids: dict[int, str] = field(default_factory=dict)
    #: services whose logs hold at least one record
    logging: set[str] = field(default_factory=set)
    #: log paths of services that the source could not give as files (read line by line instead)
    unscanned: list[tuple[Service, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Task:
    index: int
    service: str
    file: LogFile
    fd: int
    size: int


def service_logs(source: Source, services: Iterable[Service], pids: Iterable[int] = (),
                 budget: Budget | None = None) -> ServiceLogs:
    """Scan every log file of ``services``; ``pids`` are those whose service the logs should tell."""
    out = ServiceLogs()
    tasks: list[_Task] = []
    for service in services:
        for path in service.logs:
            files = source.log_files(path)
            if files is None:
                out.unscanned.append((service, path))
                continue
            for file in files:
                fd = source.open_log_file(file)
                if fd is not None:
                    tasks.append(_Task(len(tasks), service.name, file, fd, _size(fd)))
    wanted = frozenset(pids)
    try:
        results = _run(tasks, wanted, budget or Budget())
    finally:
        for task in tasks:
            os.close(task.fd)
    for task in tasks:
        scan = results[task.index]
        out.events.merge(scan.events)
        out.banners.extend(scan.banners)
        for pid in sorted(scan.pids):
            out.pids.setdefault(pid, task.service)
        if scan.has_records:
            out.logging.add(task.service)
        for problem in scan.problems:
            note(source.problems, task.file.shown, problem)
    return out


def _size(fd: int) -> int:
    return os.fstat(fd).st_size


# Set in each forked worker by ``_init``: the progress array and the shared decompression budget.
_worker: dict[str, Any] = {}


def _init(progress: Any, budget: Budget, pids: frozenset[int]) -> None:
    _worker.update(progress=progress, budget=budget, pids=pids)


def _scan(task: _Task) -> OsloScan:
    done = _worker["progress"]

    def tell(n: int) -> None:
        done[task.index] += n

    return scan_oslo(task.fd, task.file, task.service, _worker["pids"], _worker["budget"], tell)


def _run(tasks: list[_Task], pids: frozenset[int], budget: Budget) -> dict[int, OsloScan]:
    total = sum(t.size for t in tasks)
    progress = reporter()
    progress.start("reading logs", total)
    order = sorted(tasks, key=lambda t: -t.size)  # largest first: the last ones to finish are small
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    forks = "fork" in multiprocessing.get_all_start_methods()
    if cpus < 2 or len(tasks) < 2 or total < PARALLEL_MIN_BYTES or not forks:
        return _serial(order, pids, budget, total)
    context = multiprocessing.get_context("fork")
    done = context.Array("q", len(tasks), lock=False)
    budget = Budget(budget.max_file, budget.max_total, context.Value("q", budget.used))
    results: dict[int, OsloScan] = {}
    with ProcessPoolExecutor(min(cpus, len(tasks)), mp_context=context, initializer=_init,
                             initargs=(done, budget, pids)) as pool:
        running: dict[Future[OsloScan], _Task] = {pool.submit(_scan, t): t for t in order}
        while running:
            finished, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
            for future in finished:
                results[running.pop(future).index] = future.result()
            busy = [t for t in order if t.index not in results and 0 < done[t.index] < t.size]
            progress.update(sum(done), busy[0].file.shown if busy else "")
    return results


def _serial(order: list[_Task], pids: frozenset[int], budget: Budget, total: int) -> dict[int, OsloScan]:
    progress = reporter()
    read = 0
    results: dict[int, OsloScan] = {}
    for task in order:
        def tell(n: int, shown: str = task.file.shown) -> None:
            nonlocal read
            read += n
            progress.update(read, shown)

        results[task.index] = scan_oslo(task.fd, task.file, task.service, pids, budget, tell)
    return results


@dataclass(slots=True)
class KernelLogs:
    """How many lines the kernel logs had (their OOM events went to the sink)."""

    lines: int = 0
    #: kernel log paths the source could not give as files (read line by line instead)
    unscanned: list[str] = field(default_factory=list)


def kernel_logs(source: Source, paths: Iterable[str], year: int | None, sink: Callable[[OomEvent], None],
                budget: Budget | None = None) -> KernelLogs:
    """Feed each kernel log (its rotations oldest first, through one parser) to ``sink``."""
    out = KernelLogs()
    budget = budget or Budget()
    progress = reporter()
    for path in paths:
        files = source.log_files(path)
        if files is None:
            out.unscanned.append(path)
            continue
        parser = OomLineParser(year)
        for file in files:
            fd = source.open_log_file(file)
            if fd is None:
                continue
            try:
                size = _size(fd)
                progress.start("reading kernel logs", size)
                read = 0

                def tell(n: int, shown: str = file.shown) -> None:
                    nonlocal read
                    read += n
                    progress.update(read, shown)

                lines, problems = scan_kernel_file(fd, file, parser, sink, budget, tell)
            finally:
                os.close(fd)
            out.lines += lines
            for problem in problems:
                note(source.problems, file.shown, problem)
        finish(parser, sink)
    return out
