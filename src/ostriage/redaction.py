"""Secret redaction: the one function every string passes through before it leaves ostriage.

Every output is built from strings that went through ``redact`` (one string) or ``redact_tree`` (a JSON-like
document): the diagnosis document every format renders (text, JSON, Markdown, HTML), lint and predict
reports, ``fix`` plans with their diffs, the manifests of backup sets, and every message on standard error.
Redaction runs on whole strings before any renderer escapes, truncates or wraps them, so no format and no
display width can show a part of a secret that the full string hides.

What is masked, in configs, logs, journals, kernel messages, command lines and unit files:

- options and variables named like a secret (``*password*``, ``*passwd*``, ``*secret*``, ``MYSQL_PWD``,
  ``*_api_key``, ``X-Auth-Key``), in ini form (the value runs to the end of the line, as oslo.config reads
  it), ``key=value``/``key: value`` log dumps, quoted JSON/dict forms, systemd's ``Environment=`` (quoted
  assignments included) and ``--os-password VALUE`` flags;
- tokens: options and headers named ``*token`` (keystone's ``admin_token``, ``X-Auth-Token``,
  ``X-Subject-Token``, ``OS_TOKEN``) and signatures (``temp_url_sig``); in free text only values that look
  like a token (eight or more token characters with a digit), so ``validating token: Failed`` stays readable;
- ``Authorization:`` header values (``Bearer``/``Basic``/... credentials), ``Bearer <token>`` anywhere, and
  keystone fernet tokens (``gAAAAA...``) wherever they appear;
- passwords on command lines: ``mysql -pPASS`` (the MySQL/MariaDB client family), ``--password VALUE``,
  ``--password=VALUE``, ``sshpass -p PASS``, ``curl -u user:PASS``;
- credentials inside URLs (``mysql+pymysql://neutron:PASS@db/neutron``, ``rabbit://u:P@h1,u:P@h2``);
- PEM private keys and PGP private key blocks (multi-line, in a diff, or on one line with ``\\n`` escapes),
  and any long run of base64 on its own (a line of a key quoted out of context).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["MASK", "redact", "redact_tree"]

MASK = "***"

# option and variable names whose value is a secret whatever it looks like
_SECRET_KEY = (r"[\w.-]*(?:password|passwd|secret|mysql_pwd)[\w.-]*"
               r"|[\w.-]*(?<![a-z])(?:api|access|auth)[_-]?key")
# names of tokens and signatures: ``admin_token``, ``X-Auth-Token``, ``OS_TOKEN``, ``temp_url_sig`` name one
# whatever its value looks like (a token cut short by a display width or a line cap included); a bare
# ``token`` is also a word of messages (``validating token: 503``)
_NAMED_TOKEN_KEY = r"[\w.-]*[_.-](?:token|sig|signature)"
_TOKEN_KEY = rf"(?:{_NAMED_TOKEN_KEY}|token|signature)"
_ANY_KEY = rf"(?:{_SECRET_KEY}|{_TOKEN_KEY})"
# a free-text value that looks like a token, not like a word of a message: eight or more token
# characters, one of them a digit
_TOKEN_VALUE = r"(?=[\w\-.~+/=]*\d)[\w\-.~+/=]{8,}"
# Quoted values are searched for their closing quote this far at most: a hostile line of 64 KiB full of
# unclosed quotes must cost linear time, not quadratic (a longer secret is still masked up to a blank).
_LONGEST = 4096
# a quoted value (group ``q`` is its quote), escaped quotes inside included
_QUOTED_VALUE = rf"""(?P<q>["'])(?:\\.|(?!(?P=q))[^\\\n]){{0,{_LONGEST}}}(?P=q)"""
# where a command's arguments end: its line, a pipe, a list separator
_ARGS = r"[^\n|;&]{0,1024}?"

Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]


def _quoted_mask(m: re.Match[str]) -> str:
    """``pre`` and the mask, inside the quotes the value had: ``password='***'``."""
    quote = m["q"] or ""
    return f"{m['pre']}{quote}{MASK}{quote}"


def _key_block(m: re.Match[str]) -> str:
    """A private key block with every run of key material masked and its lines (and a diff's ``+``/``-``
    prefixes) kept, so a multi-line key in a diff stays a diff."""
    body = _KEY_MATERIAL.sub(lambda k: (k["lead"] or "") + MASK, m["body"])
    return m["begin"] + body + m["end"]


# a run of a key's base64, after the diff marker of its line or a JSON/log "\n" escape, kept
_KEY_MATERIAL = re.compile(r"(?m)(?P<lead>^[+-]|\\n)?[A-Za-z0-9+/=]{8,}")


def _blob(m: re.Match[str]) -> str:
    """A long base64 run is key material only when it mixes cases and digits (hex digests do not)."""
    run = m[0]
    mixed = re.search(r"[a-z]", run) and re.search(r"[A-Z]", run) and re.search(r"\d", run)
    return MASK if mixed else run


_MASKED = rf"\g<pre>{MASK}"

_RULES: tuple[Rule, ...] = (
    # -----BEGIN RSA PRIVATE KEY----- ... -----END RSA PRIVATE KEY----- (or the end of the text when cut)
    (re.compile(r"(?s)(?P<begin>-----BEGIN (?P<kind>[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----)(?P<body>.*?)"
                r"(?P<end>-----END (?P=kind)-----|\Z)"), _key_block),
    # user:password@ in URLs; the user part may follow "://" or "," (several hosts in one transport_url); a
    # password holding "@" runs to the last "@" before the host
    (re.compile(r"(?P<pre>(?:://|,)[^:/@\s,]*:)[^\s/,]*(?=@)"), _MASKED),
    # Authorization: Bearer xyz / Basic xyz / anything: a quoted credential runs to its closing quote
    (re.compile(r"""(?i)(?P<pre>\bauthorization["']?\s*[:=]\s*(?P<q>["'])?"""
                r"""(?:(?:bearer|basic|token|negotiate|digest|aws4-hmac-sha256)\s+)?+)(?!\*\*\*)"""
                rf"""(?(q)(?:\\.|(?!(?P=q))[^\\\n]){{1,{_LONGEST}}}(?=(?P=q))|[^\s"',;]+)"""), _MASKED),
    # an ini line "key = value": oslo.config's value is everything after the separator, spaces and commas
    # included; a unified diff's "+" or "-" may come first
    (re.compile(rf"(?im)^(?P<pre>[+-]?[ \t]*(?:{_ANY_KEY})[ \t]*[=:][ \t]*)(?=\S).+$"), _MASKED),
    # a secret option without its separator (a typo neutron refuses, quoted in a parse error):
    # "password hunter2", at the start of a line or of a quoted string
    (re.compile(rf"(?im)(?P<pre>^[+-]?[ \t]*(?:{_SECRET_KEY})[ \t]+)(?![=:\s])\S.*$"), _MASKED),
    (re.compile(rf"""(?i)(?P<pre>(?P<q0>["'])[ \t]*(?:{_SECRET_KEY})[ \t]+)(?![=:\s])[^"'\n]+(?=(?P=q0))"""),
     _MASKED),
    # quoted keys: 'password': 'x', "X-Auth-Token": "x"
    (re.compile(rf"""(?i)(?P<pre>["'](?:{_ANY_KEY})["']\s*:\s*){_QUOTED_VALUE}"""), _quoted_mask),
    # systemd's quoted assignments: Environment="OS_PASSWORD=two words" 'OS_TOKEN=x'
    (re.compile(rf"""(?i)(?P<q>["'])(?P<pre>(?:{_ANY_KEY})=)(?:\\.|(?!(?P=q))[^\\\n]){{0,{_LONGEST}}}(?P=q)"""),
     lambda m: f"{m['q']}{m['pre']}{MASK}{m['q']}"),
    # command-line flags: --os-password VALUE, --os-token VALUE, --password VALUE
    (re.compile(rf"""(?i)(?P<pre>(?<![\w-])--?(?:{_ANY_KEY})[ \t]+)(?!-)[^\s'"]+"""), _MASKED),
    # the MySQL/MariaDB clients take their password glued to -p: mysql -uroot -pS3cret neutron
    (re.compile(rf"""(?i)(?P<pre>\b(?:mysql\w*|mariadb[\w-]*|mysqldump|mysqladmin|mariabackup|xtrabackup|"""
                rf"""innobackupex)\b{_ARGS}\s-p)[^\s'"]+"""), _MASKED),
    # sshpass -p PASS; curl -u user:PASS, --user user:PASS
    (re.compile(rf"(?P<pre>\bsshpass\b{_ARGS}\s-p[ \t]*)[^\s'\"]+"), _MASKED),
    (re.compile(rf"""(?P<pre>\bcurl\b{_ARGS}\s(?:-u|--user)[ \t=]*['"]?[^\s:'"]*:)[^\s'"]+"""), _MASKED),
    # log "key = value", "key: value", "key='value'": a quoted value runs to its closing quote, a bare one
    # to the next blank or separator; after a bare "token", only a value that looks like one
    (re.compile(rf"""(?i)(?P<pre>(?<![/\w.-])(?:{_SECRET_KEY})\s*[=:]\s*)(?:{_QUOTED_VALUE}|[^\s,;'"]+)"""),
     _quoted_mask),
    # a named token's value: it holds no "&" (base64, hex), so a query string's next parameter stays
    (re.compile(rf"""(?i)(?P<pre>(?<![/\w.-])(?:{_NAMED_TOKEN_KEY})["']?\s*[=:]\s*)"""
                rf"""(?:{_QUOTED_VALUE}|(?![{{\[])[^\s,;'"&]+)"""), _quoted_mask),
    (re.compile(rf"""(?i)(?P<pre>(?<![/\w.-])(?:token|signature)["']?\s*[=:]\s*)(?:{_QUOTED_VALUE}|{_TOKEN_VALUE})"""),
     _quoted_mask),
    # Bearer <token> anywhere (a curl command line, a proxy's log), whatever is left of it
    (re.compile(r"""(?i)(?P<pre>\bbearer\s+)[^\s"',;]+"""), _MASKED),
    # keystone fernet tokens: URL-safe base64 of 0x80 and a timestamp, so always "gAAAAA"
    (re.compile(r"(?<![\w-])gAAAAA[\w-]{20,}={0,2}"), MASK),
    # key material out of context: a long run of base64 (each line of a PEM body is 64 characters)
    (re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{60,}={0,2}(?![A-Za-z0-9+/=])"), _blob),
)

# every rule above needs one of these (a key name, "@" of a URL, "-p" of a client, a token's prefix) or a
# long base64 run
_NEEDLES = ("pass", "secret", "pwd", "key", "token", "sig", "auth", "bearer", "gaaaaa", "@", "-p", "curl")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{60}")
#: passes of the rules over one string at most (two in practice: one that masks, one that finds nothing more)
_MOST_PASSES = 8


def _maybe_secret(text: str) -> bool:
    lowered = text.lower()
    return any(n in lowered for n in _NEEDLES) or (len(text) >= 60 and _BASE64_RUN.search(text) is not None)


def redact(text: str) -> str:
    """Mask secrets in one string (idempotent: redacting twice changes nothing more).

    >>> redact("connection = mysql+pymysql://neutron:s3cr3t@10.0.0.11/neutron")
    'connection = mysql+pymysql://neutron:***@10.0.0.11/neutron'
    >>> redact("transport_url = rabbit://openstack:p1@h1:5672,openstack:p2@h2:5672/")
    'transport_url = rabbit://openstack:***@h1:5672,openstack:***@h2:5672/'
    >>> redact("memcache_secret_key = abc")
    'memcache_secret_key = ***'
    >>> redact("password = correct horse, battery staple")
    'password = ***'
    >>> redact('{"auth": {"password": "hunter2"}}')
    '{"auth": {"password": "***"}}'
    >>> redact("Authenticating with username=neutron, password='hunter 2', project=service")
    "Authenticating with username=neutron, password='***', project=service"
    >>> redact("openstack --os-username admin --os-password hunter2 server list")
    'openstack --os-username admin --os-password *** server list'
    >>> redact("No ':' or '=' found in assignment: 'password hunter2'")
    "No ':' or '=' found in assignment: 'password ***'"
    >>> redact('curl -H "X-Auth-Token: gAAAAABlZ3kx0dHXs9c8vJ2yQ" -H "Authorization: Bearer eyJhbGciOi.x1"')
    'curl -H "X-Auth-Token: ***" -H "Authorization: Bearer ***"'
    >>> redact("admin_token = ADMIN"), redact("mysql -uroot -pS3cret neutron")
    ('admin_token = ***', 'mysql -uroot -p*** neutron')
    >>> redact("Environment=OS_TOKEN=0123456789abcdef MYSQL_PWD=x")
    'Environment=OS_TOKEN=*** MYSQL_PWD=***'
    >>> redact("vni_ranges = 1:16777215"), redact("auth_type = password")
    ('vni_ranges = 1:16777215', 'auth_type = password')
    >>> redact("Bad response code while validating token: 503"), redact("token_cache_time = 300")
    ('Bad response code while validating token: 503', 'token_cache_time = 300')
    """
    if not _maybe_secret(text):  # most strings: a quick look instead of every rule
        return text
    # A mask can give a rule the context it looks for ("Aa-PASSWD 0" with its base64 run masked reads as the
    # flag "-PASSWD 0"): the rules run again until they change nothing, so redacting twice changes nothing more.
    for _ in range(_MOST_PASSES):
        masked = text
        for pattern, replacement in _RULES:
            masked = pattern.sub(replacement, masked)
        if masked == text:
            break
        text = masked
    return text


def redact_tree(value: Any) -> Any:
    """Redact every string inside a JSON-like tree (dicts, lists, strings), keys included."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_tree(k): redact_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(v) for v in value]
    return value
