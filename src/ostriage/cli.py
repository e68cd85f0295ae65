"""The command line: parse arguments, call the layers, choose the exit code. Nothing else lives here.

Exit codes: 0 healthy, 1 warnings, 2 critical (the worst finding decides); 64 bad usage, 66 a target
that cannot be read at all, 70 an internal error (a bug: please report it with the message).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO

import click

from ostriage import __version__
from ostriage.diagnosis import diagnose as run_diagnosis
from ostriage.errors import OstriageError, UsageError
from ostriage.facts import collect
from ostriage.report import FORMATS, render, to_document
from ostriage.sources import open_target

__all__ = ["EXIT_INPUT", "EXIT_INTERNAL", "EXIT_USAGE", "main"]

EXIT_USAGE = 64
EXIT_INPUT = 66
EXIT_INTERNAL = 70


def _fail(message: str, code: int) -> None:
    click.echo(f"ostriage: error: {message}", err=True)
    sys.exit(code)


def _color(value: str) -> bool | None:
    return {"auto": None, "always": True, "never": False}[value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ostriage")
def cli() -> None:
    """Find why an OpenStack control plane is falling over, and fix it safely."""


@cli.command()
@click.argument("targets", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to this file instead of standard output.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
def diagnose(targets: tuple[str, ...], fmt: str, output: str | None, color: str) -> None:
    """Diagnose TARGET: a sosreport directory or tarball; the live host when none is given.

    Exit code: 0 healthy, 1 warnings, 2 critical.
    """
    docs: list[dict[str, Any]] = []
    for target in targets or (None,):
        with open_target(target) as source:
            docs.append(to_document(run_diagnosis(collect(source))))
    _write(output, lambda out: _render_all(docs, fmt, out, _color(color)))
    sys.exit(max(d["exit_code"] for d in docs))


def _render_all(docs: list[dict[str, Any]], fmt: str, out: TextIO, color: bool | None) -> None:
    if fmt == "json" and len(docs) > 1:
        import json
        json.dump({"schema_version": docs[0]["schema_version"], "reports": docs}, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    for doc in docs:
        render(doc, fmt, out, color=color)


def _write(output: str | None, write: Callable[[TextIO], None]) -> None:
    if output is None:
        write(sys.stdout)
        return
    import io
    import os
    import tempfile
    buffer = io.StringIO()
    write(buffer)
    # the report appears whole or not at all
    directory = os.path.dirname(os.path.abspath(output))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".ostriage-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(buffer.getvalue())
    os.replace(tmp, output)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="ostriage", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", EXIT_USAGE)
    except click.UsageError as exc:
        _fail(exc.format_message(), EXIT_USAGE)
    except click.ClickException as exc:
        _fail(exc.format_message(), EXIT_USAGE)
    except UsageError as exc:
        _fail(str(exc), EXIT_USAGE)
    except OstriageError as exc:
        _fail(str(exc), EXIT_INPUT)
    except OSError as exc:
        _fail(f"{exc.filename or ''}: {exc.strerror or exc}", EXIT_INPUT)
    except Exception as exc:
        _fail(f"internal error: {type(exc).__name__}: {exc} (please report this)", EXIT_INTERNAL)
