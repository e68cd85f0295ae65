"""The ``ostriage`` console script: signals are routed before the command line's modules are imported, so
a Ctrl-C (or SIGTERM, SIGHUP) in the first quarter second, while they load, ends the run with one line and
its exit code, not a traceback; and a tarball target starts unpacking in a child meanwhile (``unpack_ahead``)."""

from __future__ import annotations

import sys

from ostriage import interrupts


def main() -> None:
    interrupts.install()
    try:
        from ostriage import unpack_ahead

        unpack_ahead.begin(sys.argv[1:])
        from ostriage.cli import main as run
    except KeyboardInterrupt as exc:
        interrupts.exit_interrupted(exc)
    run()
