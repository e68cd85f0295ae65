"""ostriage on the hostile-bundle corpus (built by ``build_corpus.py`` at test time): every bundle is read to
the end, within a minute, with no traceback and no internal error, the damage is named under "could not
read", nothing is written outside the temporary directory, and the incident is still found where its
evidence survived the attack."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .build_corpus import CORPUS, Bundle

Ostriage = Callable[..., Any]
#: a bundle that takes longer than this hangs (a FIFO opened for reading, a device read to its end)
DEADLINE = 120


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def clean(run: Any, bundle: Bundle) -> None:
    assert run.code in bundle.codes, f"exit {run.code}: {run.err}"
    assert "Traceback" not in run.out + run.err and "internal error" not in run.err, run.err
    if run.err:
        assert run.err.startswith("ostriage: error: ") and run.err.count("\n") == 1, run.err


@pytest.mark.parametrize("bundle", CORPUS, ids=[b.name for b in CORPUS])
def test_hostile_bundle(bundle: Bundle, tmp_path: Path, ostriage: Ostriage) -> None:
    if bundle.needs_root and os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    target = bundle.make(tmp_path)
    with deadline(DEADLINE):
        run = ostriage("diagnose", target, "--format", "json")
    clean(run, bundle)
    for path in bundle.must_not_exist:
        assert not os.path.lexists(path), f"{path} was written by the bundle"
    if run.code == 66:
        said = run.err
    else:
        doc = json.loads(run.out)
        assert doc["rule_failures"] == []
        assert not [p for p in doc["problems"] if "could not be analysed" in p], doc["problems"]
        said = "\n".join(doc["problems"])
        found = {f["code"] for f in doc["findings"]}
        assert set(bundle.finds) <= found, f"the incident is lost: {sorted(found)}"
        if not bundle.finds:
            assert found == set(), f"findings from no evidence: {sorted(found)}"
    for text in bundle.says:
        assert text in said, f"{text!r} not said; problems: {said}"
    if run.code == 66 or target.is_file():
        return  # an archive's attacks are on the unpacking, which every command shares
    with deadline(DEADLINE):
        for args in (("diagnose",), ("diagnose", "--format", "html"), ("lint", "--format", "json"), ("fix",),
                     ("predict",)):
            again = ostriage(*args, target)
            # predict without a range to predict is told to give one (64), as on any bundle without neutron
            codes = (0, 1, 2, 64) if args[0] == "predict" else (0, 1, 2)
            clean(again, Bundle(bundle.name, bundle.make, codes=codes))
            if args[0] == "lint":
                assert json.loads(again.out)["check_failures"] == []
            if again.code == 64:
                assert "no tunnel range to predict" in again.err
