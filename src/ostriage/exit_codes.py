"""Every exit code ostriage uses, as ``--help`` prints it (the README's list says the same; a test holds
them together)."""

from __future__ import annotations

__all__ = ["BY_COMMAND", "COMMON", "epilog"]

#: What each command's own codes mean.
BY_COMMAND = {
    "diagnose": ("0 healthy", "1 warnings", "2 critical"),
    "lint": ("0 clean", "1 warnings (with --fail-on warning)", "2 errors"),
    "predict": ("0 fits (or no budget known)", "1 at risk", "2 will OOM, or will not start"),
    "fix": ("0 nothing to change, or applied and verified", "1 changes planned but not applied",
            "2 applied but verification failed (rolled back)", "66 --apply refused before writing anything",
            "71 a write failed midway and so did the automatic rollback (run fix --rollback)",
            "74 a write failed midway; every file was rolled back automatically",
            "75 a file is locked by another process (nothing written; try again)"),
    "metrics": ("0 the metrics are written, whatever the diagnosis found (ostriage_diagnosis_status says that)",),
    "watch": ("0 stopped by SIGTERM or Ctrl-C (a clean stop for systemd, not 143 or 130)",),
}

#: Codes every command shares.
COMMON = (
    ("64", "bad usage"),
    ("66", "a target that cannot be read"),
    ("70", "internal error (a bug: please report it)"),
    ("73", "the --output file cannot be written (nothing is)"),
    ("129", "hung up (SIGHUP); temporary files removed"),
    ("130", "interrupted (Ctrl-C); temporary files removed"),
    ("141", "the reader of the output went away (| head)"),
    ("143", "terminated (SIGTERM); temporary files removed"),
)


def epilog(command: str | None = None) -> str:
    r"""The ``Exit codes`` section of one command's help, or of ``ostriage --help`` (every command's).

    ``\b`` keeps click from re-wrapping the lines.
    """
    own = [(command, BY_COMMAND[command])] if command in BY_COMMAND else [] if command else list(BY_COMMAND.items())
    lines = ["\b", "Exit codes:"]
    for name, codes in own:
        lines += [f"  {name + ':' if i == 0 else '':10}{code}" for i, code in enumerate(codes)]
    lines += [f"  {code:10}{what}" for code, what in COMMON]
    return "\n".join(lines)
