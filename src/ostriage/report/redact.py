"""Secret redaction, applied to every string of a report before it is rendered.

Covers what OpenStack hosts leak in configs, logs and command lines: ``*password*``/``*passwd*``/
``*secret*`` options (``memcache_secret_key``, ``metadata_proxy_shared_secret``), and the credentials
inside URLs (``connection = mysql+pymysql://neutron:PASS@db/neutron``, ``transport_url =
rabbit://u:P@h1,u:P@h2``), in ini form (the value runs to the end of the line, as oslo.config reads it),
``key=value`` and ``key='value'`` log dumps, quoted JSON/dict forms and ``--os-password VALUE`` flags.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MASK", "redact", "redact_tree"]

MASK = "***"

_SECRET_KEY = r"[\w.-]*(?:password|passwd|secret)[\w.-]*"
# an ini line "key = value": oslo.config's value is everything after the separator, spaces and commas included
_INI = re.compile(rf"(?im)^(\s*{_SECRET_KEY}\s*[=:][ \t]*)(?=\S)(.+)$")
# a secret option without its separator (a typo neutron refuses, quoted in a parse error): "password hunter2",
# at the start of a line or of a quoted string
_BARE = re.compile(rf"""(?im)(^[ \t]*{_SECRET_KEY}[ \t]+)(?![=:\s])\S.*$""")
_BARE_QUOTED = re.compile(rf"""(?i)((["'])[ \t]*{_SECRET_KEY}[ \t]+)(?![=:\s])[^"'\n]+(?=\2)""")
# log "key = value", "key: value", "key='value'": a quoted value runs to its closing quote, a bare one
# to the next blank or separator
_ASSIGN = re.compile(rf"""(?i)((?<![/\w.-]){_SECRET_KEY}\s*[=:]\s*)"""
                     r"""(?:(["'])(?:\\.|(?!\2)[^\\])*\2|(?!\*\*\*)[^\s,;'"]+)""")
# quoted keys: 'password': 'x', "password": "x" (escaped quotes inside the value included)
_QUOTED = re.compile(rf"""(?i)(["']{_SECRET_KEY}["']\s*:\s*)(["'])(?:\\.|(?!\2)[^\\])*\2""")
# command-line flags: --os-password VALUE
_FLAG = re.compile(r"""(?i)((?<![\w-])--?[\w-]*(?:password|passwd|secret)[\w-]*[ \t]+)(?!-)(?!\*\*\*)[^\s'"]+""")
# user:password@ in URLs; the user part may follow "://" or "," (several hosts in one transport_url)
_URL_CREDS = re.compile(r"((?:://|,)[^:/@\s,]*:)([^@\s/]+)(@)")


def _masked(m: re.Match[str]) -> str:
    quote = m[2] or ""
    return f"{m[1]}{quote}{MASK}{quote}"


def redact(text: str) -> str:
    """Mask secrets in one string.

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
    >>> redact("vni_ranges = 1:16777215"), redact("auth_type = password")
    ('vni_ranges = 1:16777215', 'auth_type = password')
    """
    text = _URL_CREDS.sub(rf"\g<1>{MASK}\g<3>", text)
    text = _INI.sub(rf"\g<1>{MASK}", text)
    text = _BARE.sub(rf"\g<1>{MASK}", text)
    text = _BARE_QUOTED.sub(rf"\g<1>{MASK}", text)
    text = _QUOTED.sub(_masked, text)
    text = _FLAG.sub(rf"\g<1>{MASK}", text)
    return _ASSIGN.sub(_masked, text)


def redact_tree(value: Any) -> Any:
    """Redact every string inside a JSON-like tree (dicts, lists, strings)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(v) for v in value]
    return value
