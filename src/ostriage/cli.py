"""The command line: parse arguments, call the layers, choose the exit code. Nothing else lives here.

Exit codes (every command): 64 bad usage, 66 a target that cannot be read at all, 70 an internal error
(a bug: please report it with the message), 73 the ``--output`` file cannot be written (nothing is), 130
interrupted (Ctrl-C), 143 terminated (SIGTERM), 129 hung up (SIGHUP) — each after removing its temporary
files (``interrupts``) — 141 the reader of standard output went away before the end (``| head``).
``--help`` lists them (``exit_codes``).
``diagnose``: 0 healthy, 1 warnings, 2 critical. ``lint``: 0 clean, 1 warnings (with ``--fail-on
warning``), 2 errors. ``predict``: 0 fits (or no budget), 1 at risk, 2 will OOM or cannot start. ``fix``: 0
nothing to change or applied and verified, 1 changes planned but not applied, 2 applied but failed (rolled back);
66 also when ``--apply`` refuses before writing anything, 74 a write failed midway and every file was
rolled back automatically, 75 a file is locked by another process (nothing written: try again), 71 a
write failed midway and the automatic rollback failed too (run ``fix --rollback``).
``metrics``: 0 once written (the host's health is a metric). ``watch``: 0 when stopped by SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import io
import json
import os
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import click

from ostriage import __version__, interrupts, progress
from ostriage.diagnosis import diagnose as run_diagnosis
from ostriage.errors import OstriageError, ParseError, UsageError
from ostriage.exit_codes import epilog
from ostriage.facts import collect
from ostriage.findings import Severity
from ostriage.knowledge.neutron_memory import Server
from ostriage.lint import run_checks
from ostriage.parsers.openstack_values import parse_tunnel_ranges
from ostriage.prediction import Overrides, Verdict, parse_bytes, parse_release, predict
from ostriage.remedy.apply import FixFailed, FixLocked, FixRollbackFailed
from ostriage.remedy.run import FixOptions, fix, proposed_fix, undo
from ostriage.report import FORMATS, render, to_document
from ostriage.report.lint import lint_document, lint_text
from ostriage.report.plan import fix_document, fix_text
from ostriage.report.prediction import prediction_document, prediction_text
from ostriage.report.redact import redact
from ostriage.sources import HostTree, SosReport, Source, open_target

__all__ = ["EXIT_INPUT", "EXIT_INTERNAL", "EXIT_OUTPUT", "EXIT_USAGE", "main"]

EXIT_USAGE = 64
EXIT_INPUT = 66
EXIT_INTERNAL = 70
EXIT_HALF_APPLIED = 71  # sysexits' EX_OSERR: fix failed midway and could not put the files back
EXIT_FIX_ROLLED_BACK = 74  # sysexits' EX_IOERR: fix failed midway, every file put back
EXIT_LOCKED = 75  # sysexits' EX_TEMPFAIL: a file is locked by another process, try again
EXIT_OUTPUT = 73  # sysexits' EX_CANTCREAT
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader closed the pipe before the end
_PREDICT_EXIT = {Verdict.FITS: 0, Verdict.NO_BUDGET: 0, Verdict.AT_RISK: 1, Verdict.WILL_OOM: 2,
                 Verdict.WILL_NOT_START: 2}


def _fail(message: str, code: int) -> None:
    # error messages quote files and command lines too: they are redacted like every other output
    click.echo(f"ostriage: error: {redact(message)}", err=True)
    sys.exit(code)


def _color(value: str) -> bool | None:
    return {"auto": None, "always": True, "never": False}[value]


def _source(target: str | None, root: str | None) -> Source:
    """TARGET, or ``--root``: a copy of a host's files (a sosreport directory is one too)."""
    if root is not None:
        if target is not None:
            raise UsageError("give a TARGET or --root, not both")
        try:
            return SosReport(root)
        except OstriageError:
            return HostTree(root)
    if target is not None and os.path.realpath(target) == "/":
        click.echo("ostriage: note: / is read as a copy of a host's files, as --root / would; without TARGET "
                   "ostriage reads this host live, the output of its commands included", err=True)
    return open_target(target)


class OutputError(OstriageError):
    """The ``--output`` file cannot be written."""


def _write(output: str | None, write: Callable[[TextIO], object]) -> None:
    """Write to stdout, or to ``output`` whole or not at all (temporary file beside it, then rename).

    ``-`` is stdout; a device, a FIFO or anything under /dev or /proc (``/dev/stdout``, even when it is
    a redirected file) is written in place, never renamed over. A new file gets the usual mode (0666 less
    the umask), a replaced one keeps its mode; a symlink is followed.
    """
    if output is None or output == "-":
        try:
            write(sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly
            _silence_stdout()
            sys.exit(EXIT_BROKEN_PIPE)
        return
    buffer = io.StringIO()
    write(buffer)
    data = buffer.getvalue().encode("utf-8", "backslashreplace")
    path = os.path.realpath(output)
    try:
        if os.path.abspath(output).startswith(("/dev/", "/proc/")) or (
                os.path.exists(output) and not os.path.isfile(output)):
            with open(output, "wb") as device:
                device.write(data)
            return
        mode = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{output}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"{output}: cannot write ({exc.strerror or exc})") from None
        raise


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def _emit(fmt: str, document: Callable[[], Any], text: Callable[[], str]) -> None:
    """A command's result to stdout, as JSON or as text."""
    if fmt == "json":
        doc = document()
        _write(None, lambda out: _json(doc, out))
    else:
        rendered = text()
        _write(None, lambda out: out.write(rendered))


def _json(doc: Any, out: TextIO) -> None:
    json.dump(doc, out, indent=2, ensure_ascii=False)
    out.write("\n")


_OUTPUT = click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
                       help="Write to this file (atomically) instead of standard output.")
_ROOT = click.option("--root", type=click.Path(file_okay=False, exists=True), default=None,
                     help="A copy of a host's files (its /) instead of TARGET.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog=epilog())
@click.version_option(__version__, prog_name="ostriage")
def cli() -> None:
    """Find why an OpenStack control plane is falling over, and fix it safely.

    TARGET is a sosreport directory or tarball, a copy of a host's files, or a copy of /etc/neutron;
    without TARGET the live host is read (read-only).
    """


@cli.command(epilog=epilog("diagnose"))
@click.argument("targets", nargs=-1)
@_ROOT
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@_OUTPUT
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress line on the terminal while large logs are read.")
def diagnose(targets: tuple[str, ...], root: str | None, fmt: str, output: str | None, color: str,
             quiet: bool) -> None:
    """The causal story of what is wrong with TARGET (exit 0 healthy, 1 warnings, 2 critical)."""
    docs: list[dict[str, Any]] = []
    with progress.reporting(progress.for_stream(sys.stderr, quiet)):
        for target in targets or (None,):
            with _source(target, root) as source:
                read_whole = False
                while not read_whole:  # a tarball read while it was unpacked may have to be read again
                    facts = collect(source)
                    diagnosis = run_diagnosis(facts)
                    read_whole = source.finish()
                docs.append(to_document(diagnosis, proposed_fix(source, facts, diagnosis)))

    def write(out: TextIO) -> None:
        if fmt == "json" and len(docs) > 1:
            _json({"schema_version": docs[0]["schema_version"], "reports": docs}, out)
            return
        for doc in docs:
            render(doc, fmt, out, color=_color(color))

    _write(output, write)
    sys.exit(max(d["exit_code"] for d in docs))


@cli.command(name="predict", epilog=epilog("predict"))
@click.argument("target", required=False)
@_ROOT
@click.option("--vni-ranges", "--ranges", "ranges", help="Tunnel ranges, e.g. 1:16777215 (default: from TARGET).")
@click.option("--type", "tunnel_type", type=click.Choice(["geneve", "vxlan", "gre"]), default="geneve",
              show_default=True)
@click.option("--release", help="A series (2024.1, caracal) or a neutron version (24.0.1).")
@click.option("--server", type=click.Choice([s.value for s in Server]), help="eventlet neutron-server or uWSGI.")
@click.option("--api-workers", type=click.IntRange(min=0))
@click.option("--cpus", type=click.IntRange(min=1))
@click.option("--ram", help="The host's RAM, e.g. 64G.")
@click.option("--memory-max", help="neutron-server's MemoryMax, e.g. 2G.")
@click.option("--budget", help="Memory neutron may use (default: MemoryMax, else half the RAM).")
@click.option("--max-allowed-packet", help="The database's max_allowed_packet, e.g. 16M.")
@click.option("--first-start/--restart", "first_start", default=None,
              help="Empty allocation table (first start) or filled (restart); default: both considered.")
@click.option("--segment-range-plugin/--no-segment-range-plugin", default=None)
@click.option("--mac-bindings", type=click.IntRange(min=0),
              help="Rows of the OVN Southbound MAC_Binding table (default: what TARGET shows).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def predict_cmd(target: str | None, root: str | None, ranges: str | None, tunnel_type: str, release: str | None,
                server: str | None, api_workers: int | None, cpus: int | None, ram: str | None,
                memory_max: str | None, budget: str | None, max_allowed_packet: str | None,
                first_start: bool | None, segment_range_plugin: bool | None, mac_bindings: int | None,
                fmt: str) -> None:
    """Will this configuration OOM neutron-server? Its need, start-up time, a verdict and the recommended range.

    Exit 0 fits (or no budget known), 1 at risk, 2 will OOM or cannot start.
    """
    if ranges is not None:
        try:
            parse_tunnel_ranges(ranges, tunnel_type)  # type: ignore[arg-type]
        except ParseError as exc:
            raise UsageError(f"--vni-ranges: {exc.message}") from None
    overrides = Overrides(
        ranges=ranges, tunnel_type=tunnel_type,  # type: ignore[arg-type]
        release=parse_release(release) if release else None,
        server=Server(server) if server else None, api_workers=api_workers, cpus=cpus,
        ram=parse_bytes(ram) if ram else None, memory_max=parse_bytes(memory_max) if memory_max else None,
        budget=parse_bytes(budget) if budget else None,
        max_allowed_packet=parse_bytes(max_allowed_packet) if max_allowed_packet else None,
        first_start=first_start, segment_range_plugin=segment_range_plugin, mac_bindings=mac_bindings)
    if target is None and root is None and (ranges is not None or mac_bindings is not None):
        result = predict(None, overrides)  # flags only: the live host is not read
    else:
        with _source(target, root) as source:
            result = predict(collect(source), overrides)
    _emit(fmt, lambda: prediction_document(result), lambda: prediction_text(result))
    sys.exit(_PREDICT_EXIT[result.verdict])


@cli.command(epilog=epilog("lint"))
@click.argument("target", required=False)
@_ROOT
@click.option("--ram", help="The host's RAM when TARGET does not show it, e.g. 64G.")
@click.option("--cpus", type=click.IntRange(min=1), help="The host's CPUs when TARGET does not show them.")
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default="error", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def lint(target: str | None, root: str | None, ram: str | None, cpus: int | None, fail_on: str, fmt: str) -> None:
    """Static checks of neutron's configuration and units before a restart (exit 2 on errors)."""
    from ostriage.facts.model import Sized
    with _source(target, root) as source:
        facts = collect(source)
        label = source.label
    if ram:
        facts.mem_total = Sized(parse_bytes(ram), None)
    if cpus:
        facts.cpu_count = Sized(cpus, None)
    result = run_checks(facts)
    _emit(fmt, lambda: lint_document(result, label), lambda: lint_text(result, label))
    errors = any(f.severity is Severity.CRITICAL for f in result.findings) or bool(result.failures)
    warnings = any(f.severity is Severity.WARNING for f in result.findings)
    sys.exit(2 if errors else 1 if warnings and fail_on == "warning" else 0)


@cli.command(name="fix", epilog=epilog("fix"))
@click.argument("target", required=False)
@_ROOT
@click.option("--apply", is_flag=True, help="Make the changes (backup kept, verified, rolled back on failure).")
@click.option("--rollback", is_flag=True, help="Restore the files of the last applied fix.")
@click.option("--unsafe", is_flag=True, help="Also plan remedies marked unsafe (e.g. changing the mechanism driver).")
@click.option("--keep-allocated", is_flag=True,
              help="List allocated segments outside a shrunk range in the new range, one by one.")
@click.option("--verify-seconds", type=click.FloatRange(min=0), default=60.0, show_default=True)
@click.option("--backup-dir", type=click.Path(file_okay=False), default=None)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def fix_cmd(target: str | None, root: str | None, apply: bool, rollback: bool, unsafe: bool, keep_allocated: bool,
            verify_seconds: float, backup_dir: str | None, fmt: str) -> None:
    """Show (default) or apply a reviewed, reversible fix for what diagnose finds."""
    options = FixOptions(apply=apply, include_unsafe=unsafe, keep_outside=keep_allocated,
                         verify_seconds=verify_seconds, backup_dir=Path(backup_dir) if backup_dir else None,
                         root=Path(root) if root else None)
    with _source(target, root) as source:
        if rollback:
            backup, restored = undo(source, options)
            click.echo(redact(f"restored {len(restored)} file(s) from {backup}: {', '.join(restored)}"))
            click.echo(redact(f"backup set kept in {backup} (rolled back)") if backup.exists() else "backup set "
                       "removed: every file is back as it was (checksum, mode, owner): nothing of the fix is left in "
                       "the copy")
            sys.exit(0)
        result = fix(source, options)
        label = source.label
    _emit(fmt, lambda: fix_document(result, label), lambda: fix_text(result, label))
    if result.applied is None:
        sys.exit(1 if result.plan.changes else 0)
    sys.exit(0 if result.verdict is None or result.verdict.ok else 2)


@cli.command(name="metrics", epilog=epilog("metrics"))
@click.argument("target", required=False)
@_ROOT
@click.option("--textfile", type=click.Path(dir_okay=False), default=None,
              help="Write node_exporter's textfile-collector file atomically, e.g. "
                   "/var/lib/prometheus/node-exporter/ostriage.prom (default: standard output).")
def metrics_cmd(target: str | None, root: str | None, textfile: str | None) -> None:
    """The diagnosis as Prometheus metrics (text exposition format); exit 0 once they are written.

    The diagnosis' status is a metric (ostriage_diagnosis_status), not the exit code: a timer that runs
    this does not fail because the host is unwell.
    """
    from ostriage.monitor.exposition import render, write_textfile
    from ostriage.monitor.snapshot import take

    with _source(target, root) as source:
        snapshot = take(source)
    if textfile is None:
        text = render(snapshot.samples)
        _write(None, lambda out: out.write(text))
        return
    try:
        write_textfile(textfile, snapshot.samples)
    except OSError as exc:
        raise OutputError(f"{textfile}: cannot write ({exc.strerror or exc})") from None


def _listen_address(value: str) -> tuple[str, int] | None:
    if value == "none":
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--listen {value!r}: use HOST:PORT (e.g. 127.0.0.1:9891, [::1]:9891) or none")
    return host.strip("[]") or "0.0.0.0", int(port)


@cli.command(name="watch", epilog=epilog("watch"))
@click.option("--listen", default="127.0.0.1:9891", show_default=True,
              help="HOST:PORT serving /metrics and /diagnosis, or none.")
@click.option("--textfile", type=click.Path(dir_okay=False), default=None,
              help="Also write node_exporter's textfile-collector file after each diagnosis.")
@click.option("--alertmanager", "alertmanagers", multiple=True, metavar="URL",
              help="Alertmanager to push crash-loop alerts to (repeat for each member of a cluster).")
@click.option("--window", type=click.FloatRange(min=10), default=600, show_default=True,
              help="Seconds in which --kills or --restarts make a crash loop (and quiet ones end it).")
@click.option("--kills", type=click.IntRange(min=1), default=2, show_default=True,
              help="OOM kills of one workload in the window that make a crash loop.")
@click.option("--restarts", type=click.IntRange(min=1), default=2, show_default=True,
              help="Restarts of one unit in the window that make a crash loop.")
@click.option("--resend", type=click.FloatRange(min=5), default=60, show_default=True,
              help="Seconds between sends of a firing alert.")
@click.option("--rediagnose", type=click.FloatRange(min=10), default=300, show_default=True,
              help="Seconds between diagnoses while a loop goes on.")
@click.option("--refresh", type=click.FloatRange(min=0), default=3600, show_default=True,
              help="Seconds between diagnoses when nothing happens (0: never).")
@click.option("--instance", default=None, help="The instance label of pushed alerts (default: the host name).")
@click.option("--journal/--no-journal", default=True, show_default=True, help="Follow the systemd journal.")
@click.option("--kmsg/--no-kmsg", default=True, show_default=True, help="Follow the kernel log (/dev/kmsg).")
def watch_cmd(listen: str, textfile: str | None, alertmanagers: tuple[str, ...], window: float, kills: int,
              restarts: int, resend: float, rediagnose: float, refresh: float, instance: str | None,
              journal: bool, kmsg: bool) -> None:
    """Follow this host's journal and kernel log; diagnose crash loops as they start (read-only).

    Serves the diagnosis as Prometheus metrics and pushes each crash loop, with its root cause, chain
    and fix, to Alertmanager. Runs until SIGTERM or Ctrl-C (exit 0).
    """
    import logging
    import socket

    from ostriage.monitor.detector import LoopPolicy
    from ostriage.monitor.watch import Watch, WatchOptions

    if not journal and not kmsg:
        raise UsageError("nothing to follow: --no-journal and --no-kmsg together")
    logging.basicConfig(level=logging.INFO, format="ostriage watch: %(levelname)s %(message)s", stream=sys.stderr)
    options = WatchOptions(
        listen=_listen_address(listen), textfile=textfile, alertmanagers=alertmanagers,
        policy=LoopPolicy(window=window, kills=kills, restarts=restarts), resend=resend, rediagnose=rediagnose,
        refresh=refresh, journal=journal, kmsg=kmsg, instance=instance or socket.gethostname())
    try:
        Watch(options).run()
    except OSError as exc:
        if options.listen is not None and exc.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise UsageError(f"--listen {listen}: {exc.strerror}") from None
        raise


@cli.command(name="rules", epilog=epilog("rules"))
@click.argument("code", required=False)
def rules_cmd(code: str | None) -> None:
    """List every diagnosis rule and lint check, or print one's documentation (by code or name)."""
    from ostriage.lint import CHECKS
    from ostriage.rules import RULES
    every = [*RULES, *CHECKS]
    if code is None:
        for r in sorted(every, key=lambda r: r.code):
            click.echo(f"{r.code}  {r.name:35} {r.doc.strip().splitlines()[0]}")
        return
    found = next((r for r in every if code in (r.code, r.name)), None)
    if found is None:
        raise UsageError(f"no rule or check {code!r} (run `ostriage rules` for the list)")
    click.echo(f"{found.code} {found.name}\n")
    click.echo(inspect.cleandoc(found.doc))


def main(argv: list[str] | None = None) -> None:
    """Run one command, turn every error into one line and an exit code (``console.main`` is the console
    script: it routes signals first)."""
    # bytes that are not UTF-8 (in a file name, in a config the fix quotes) come through as surrogates:
    # shown escaped ("\udcff"), never an encoding error at the very end of the work
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    try:
        _dispatch(argv)
        code: int | str | None = 0
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt as exc:  # outside click's reach (the signal came as it finished)
        interrupts.exit_interrupted(exc)
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (`| head`): not an error of ours
        _silence_stdout()
    sys.exit(code)


def _dispatch(argv: list[str] | None) -> None:
    stdout = sys.stdout
    try:
        cli.main(args=argv, prog_name="ostriage", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        # click ends with 1 when its own writing (--help, --version, click.echo) meets a closed pipe, and
        # only then swaps sys.stdout for a wrapper that keeps the last flush quiet
        if sys.stdout is not stdout:
            sys.exit(EXIT_BROKEN_PIPE)
        raise
    except click.exceptions.Abort as exc:  # click's form of a KeyboardInterrupt: Ctrl-C, SIGTERM, SIGHUP
        interrupts.exit_interrupted(exc.__cause__ if isinstance(exc.__cause__, KeyboardInterrupt)
                                    else KeyboardInterrupt())
    except click.ClickException as exc:
        _fail(exc.format_message(), EXIT_USAGE)
    except UsageError as exc:
        _fail(str(exc), EXIT_USAGE)
    except OutputError as exc:
        _fail(str(exc), EXIT_OUTPUT)
    except FixLocked as exc:
        _fail(str(exc), EXIT_LOCKED)
    except FixFailed as exc:
        _fail(str(exc), EXIT_FIX_ROLLED_BACK)
    except FixRollbackFailed as exc:
        _fail(str(exc), EXIT_HALF_APPLIED)
    except OstriageError as exc:
        _fail(str(exc), EXIT_INPUT)
    except OSError as exc:
        _fail(f"{exc.filename}: {exc.strerror or exc}" if exc.filename else str(exc.strerror or exc), EXIT_INPUT)
    except Exception as exc:
        _fail(f"internal error: {type(exc).__name__}: {exc} (please report this)", EXIT_INTERNAL)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail again (Python's own advice)."""
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":  # python -m ostriage.cli
    interrupts.install()
    main()
