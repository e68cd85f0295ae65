"""The redaction corpus: one secret of every kind planted in every kind of evidence of a copy of the example
bundle, and not one of them in any output of any command, in any format.

Each planted secret carries a tag ``LEAK<site><kind>`` so that a leak says where it came from and what it
was. Kinds: an ``X-Auth-Token`` header with a fernet token, ``Authorization: Bearer``, keystone's
``admin_token``, a bare fernet token, ``mysql -p<password>``, ``--password <password>``, a private key
(a PEM block, or on one line with ``\\n`` escapes), ``Environment=OS_TOKEN=``, credentials in a URL and a
plain ``password``. Sites: neutron's ML2 config (next to the lines ``fix`` changes, so its diff shows them)
and neutron.conf, oslo logs (inside the lines NOV001 and OVS001 cite, one secret straddling the text
renderer's 240-column cut), the kernel log (on the OOM kill line NEU001 cites), the journal, ``ps``, the
unit file, its drop-in (next to the line ``fix`` changes) and ``systemctl show``.

The test proves that it can fail: the same commands run once with the redactor's rules switched off must
show the secrets of every site that some output quotes (the others are planted for the day a rule cites
them, and for ``lint``'s and ``fix``'s own readings of the files).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from ostriage import redaction as redact_module

Ostriage = Any  # the ``ostriage`` fixture of conftest.py

KINDS = "abcdefghij"
TAG = re.compile(r"LEAK(\d\d)([a-j])")
# a base64 body for key material: mixed case and digits, as a real key's
BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0"


def tag(site: int, kind: str) -> str:
    return f"LEAK{site:02d}{kind}x7Q9"


def free_text(site: int) -> str:
    """Every kind, as log lines and command lines carry them (one line, ``\\n`` escapes in the key)."""
    t = {k: tag(site, k) for k in KINDS}
    return (f'REQ: curl -g -i -X GET http://controller:9696/v2.0/ports -H "X-Auth-Token: gAAAAABn{t["a"]}ZmVybmV0dG9r" '
            f'-H "Authorization: Bearer eyJ{t["b"]}.c2lnbmF0dXJl" admin_token={t["c"]} '
            f"token gAAAAABn{t['d']}ZmVybmV0dG9rZW4 cmd: mysql -uroot -p{t['e']} neutron; "
            f"neutron-db-manage --password {t['f']} upgrade; key: "
            f'"-----BEGIN RSA PRIVATE KEY-----\\n{BODY}{t["g"]}\\n-----END RSA PRIVATE KEY-----" '
            f"Environment=OS_TOKEN={t['h']} url=http://admin:{t['i']}@controller:5000/v3 password={t['j']}")


def ini_lines(site: int) -> list[str]:
    """Every kind as an ini file holds it (key material in comments: an ini value is one line). In the ML2
    config the diff's context starts in the middle of the key: its body line is masked out of context."""
    t = {k: tag(site, k) for k in KINDS}
    return [f"admin_token = {t['c']}",
            f"connection = mysql+pymysql://neutron:{t['i']}@controller/neutron",
            f"password = {t['j']}",
            "# -----BEGIN PRIVATE KEY-----",
            f"# {BODY}{t['g']}",
            "# -----END PRIVATE KEY-----",
            f"# {free_text(site)}"]


def unit_lines(site: int) -> list[str]:
    t = {k: tag(site, k) for k in KINDS}
    return [f"Environment=OS_TOKEN={t['h']}",
            f'Environment="OS_PASSWORD={t["j"]} two words" "OS_AUTH_URL=http://admin:{t["i"]}@keystone:5000/v3"',
            f"ExecStartPre=/usr/bin/mysql -uroot -p{t['e']} -e 'select 1'",
            f"# {free_text(site)}"]


def insert_after(path: Path, anchor: str, lines: list[str]) -> None:
    text = path.read_text()
    assert anchor in text, f"{anchor!r} not in {path}"
    path.write_text(text.replace(anchor, anchor + "".join(f"{x}\n" for x in lines), 1))


def edit_line(path: Path, number: int, edit: Any) -> None:
    lines = path.read_text().split("\n")
    lines[number - 1] = edit(lines[number - 1])
    path.write_text("\n".join(lines))


#: site number -> (what it is, whether some output quotes it)
SITES = {
    1: ("ML2 config, next to the lines fix changes", True),
    2: ("neutron.conf", False),
    3: ("nova-api log, inside the line NOV001 cites (straddling column 240)", True),
    4: ("OVS agent log, on the line OVS001 cites", True),
    5: ("kernel log, on the OOM kill line NEU001 cites", True),
    6: ("journal", False),
    7: ("ps command line", False),
    8: ("unit file", False),
    9: ("drop-in, next to the line fix changes", True),
    10: ("systemctl show", False),
}


def plant(root: Path, doc: dict[str, Any]) -> None:
    ml2 = root / "etc/neutron/plugins/ml2/ml2_conf.ini"
    insert_after(ml2, "vni_ranges = 1:16777215\n", ini_lines(1)[:3])
    insert_after(ml2, "tenant_network_types = geneve\n", ini_lines(1)[3:])
    conf = root / "etc/neutron/neutron.conf"
    conf.write_text(conf.read_text() + "\n[keystone_authtoken]\n" + "".join(f"{x}\n" for x in ini_lines(2)))

    def cited(code: str) -> tuple[Path, int]:
        finding = next(f for f in doc["findings"] if f["code"] == code)
        return root / finding["evidence"][0]["path"], finding["evidence"][0]["line"]

    # inside the line, before the error: the text renderer cuts evidence at 240 columns, mid-secret
    path, number = cited("NOV001")

    def straddle(line: str) -> str:
        cut = line.index("ConnectFailure: ") + len("ConnectFailure: ")
        secrets = free_text(3)
        pad = "x" * (240 - 8 - cut - 1 - secrets.index("gAAAAAB"))  # the cut falls 8 characters into the token
        return f"{line[:cut]}{pad} {secrets} {line[cut:]}"

    edit_line(path, number, straddle)
    path, number = cited("OVS001")
    edit_line(path, number, lambda line: f"{line} {free_text(4)}")
    neu = next(f for f in doc["findings"] if f["code"] == "NEU001")
    kill = next(e for e in neu["evidence"] if "Killed process" in e["text"])
    edit_line(root / kill["path"], kill["line"], lambda line: f"{line} {free_text(5)}")
    journal = root / "sos_commands/logs/journalctl_--no-pager"
    journal.write_text(journal.read_text() + "Nov 25 05:54:30 ostlab-controller sudo[3000]: root : TTY=pts/0 ; "
                       f"PWD=/root ; USER=root ; COMMAND={free_text(6)}\n")
    ps = root / "ps"
    ps.write_text(ps.read_text() + f"root 3001 0.0 0.0 1000 100 ? S 05:54 0:00 {free_text(7)}\n")
    insert_after(root / "usr/lib/systemd/system/neutron-server.service", "[Service]\n", unit_lines(8))
    insert_after(root / "etc/systemd/system/neutron-server.service.d/override.conf", "MemoryMax=2G\n",
                 unit_lines(9))
    show = root / "sos_commands/systemd/systemctl_show_service_--all"
    insert_after(show, "Id=neutron-server.service\n", [f"Environment=OS_TOKEN={tag(10, 'h')} "
                                                       f"OS_PASSWORD={tag(10, 'j')}"])


@pytest.fixture(scope="module")
def corpus(seed_module_copy: Path, seed_doc: dict[str, Any]) -> Path:
    plant(seed_module_copy, seed_doc)
    return seed_module_copy


def outputs(root: Path, ostriage: Ostriage, scratch: Path) -> dict[str, str]:
    """What every command prints in every format (stdout and stderr), and what fix --apply writes."""
    out: dict[str, str] = {}
    for command, formats in (("diagnose", ("text", "json", "markdown", "html")), ("lint", ("text", "json")),
                             ("predict", ("text", "json")), ("fix", ("text", "json"))):
        for fmt in formats:
            run = ostriage(command, root, "--format", fmt)
            out[f"{command} --format {fmt}"] = run.out + run.err
    copy = Path(shutil.copytree(root, scratch / "applied", symlinks=True))
    run = ostriage("fix", "--root", copy, "--apply")
    assert run.code == 0, run.err
    out["fix --apply"] = run.out + run.err
    (manifest,) = (copy / "var/backups/ostriage").glob("*/manifest.json")
    out["backup manifest"] = manifest.read_text()
    run = ostriage("fix", "--root", copy, "--rollback")
    out["fix --rollback"] = run.out + run.err
    shutil.rmtree(copy)
    return out


def leaks(texts: dict[str, str]) -> dict[str, set[tuple[int, str]]]:
    return {name: found for name, text in texts.items() if (found := {(int(s), k) for s, k in TAG.findall(text)})}


def test_the_corpus_reaches_the_outputs_when_nothing_is_redacted(corpus: Path, ostriage: Ostriage, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: with every rule of the one redactor switched off, the secrets of every site some output
    quotes do show, every kind of them (so the real run below can fail)."""
    monkeypatch.setattr(redact_module, "_RULES", ())
    shown = set().union(*leaks(outputs(corpus, ostriage, tmp_path)).values())
    for site, (what, quoted) in SITES.items():
        kinds = {k for s, k in shown if s == site}
        if quoted:
            assert kinds == set(KINDS), f"site {site} ({what}): only {sorted(kinds)} reach an output"


def test_no_secret_in_any_output(corpus: Path, ostriage: Ostriage, tmp_path: Path) -> None:
    texts = outputs(corpus, ostriage, tmp_path)
    assert leaks(texts) == {}
    # the outputs are the real ones, not error messages: the diagnosis still finds the incident
    assert "NEU001" in texts["diagnose --format text"] and "NOV001" in texts["diagnose --format json"]
    assert "vni_ranges = 1:65535" in texts["fix --format text"]


def test_the_text_report_cuts_evidence_mid_secret_and_shows_none_of_it(corpus: Path, ostriage: Ostriage) -> None:
    """Site 3's first secret starts before column 240 and ends after it: the text report shows the start of
    the line up to the cut, with the secret already masked, never the start of the secret."""
    text = ostriage("diagnose", corpus).out
    flat = " ".join(text.split())  # rich wraps long evidence lines
    shown = re.findall(r"xxxx REQ: (.*?…)", flat)
    assert shown and all(x.startswith('curl -g -i -X GET http://controller:9696/v2.0/ports -H "X-Auth-Token: ***"')
                         for x in shown), shown
    assert "gAAAAAB" not in text and "LEAK" not in text
