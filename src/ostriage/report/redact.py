"""Secret redaction, applied to every string of a report before it is rendered.

Covers what OpenStack hosts leak in configs and logs: ``*password*``/``*passwd*``/``*secret*``
options (``memcache_secret_key``, ``metadata_proxy_shared_secret``), and the credentials inside
URLs (``connection = mysql+pymysql://neutron:PASS@db/neutron``, ``transport_url = rabbit://u:P@h1,u:P@h2``),
in ini form, ``key=value`` log dumps and quoted JSON/dict forms.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MASK", "redact", "redact_tree"]

MASK = "***"

_SECRET_KEY = r"[\w.-]*(?:password|passwd|secret)[\w.-]*"
# ini / log "key = value" and "key: value" forms; the value runs to end of line or the next separator
_ASSIGN = re.compile(rf"(?i)((?<![/\w.-]){_SECRET_KEY}\s*[=:]\s*)(?!\*\*\*)([^\s,;'\"]+)")
# quoted forms: 'password': 'x', "password": "x"
_QUOTED = re.compile(rf"""(?i)(["']{_SECRET_KEY}["']\s*:\s*["'])([^"']*)(["'])""")
# user:password@ in URLs; the user part may follow "://" or "," (several hosts in one transport_url)
_URL_CREDS = re.compile(r"((?:://|,)[^:/@\s,]*:)([^@\s/]+)(@)")


def redact(text: str) -> str:
    """Mask secrets in one string.

    >>> redact("connection = mysql+pymysql://neutron:s3cr3t@10.0.0.11/neutron")
    'connection = mysql+pymysql://neutron:***@10.0.0.11/neutron'
    >>> redact("transport_url = rabbit://openstack:p1@h1:5672,openstack:p2@h2:5672/")
    'transport_url = rabbit://openstack:***@h1:5672,openstack:***@h2:5672/'
    >>> redact("memcache_secret_key = abc")
    'memcache_secret_key = ***'
    >>> redact('{"auth": {"password": "hunter2"}}')
    '{"auth": {"password": "***"}}'
    >>> redact("vni_ranges = 1:16777215")
    'vni_ranges = 1:16777215'
    """
    text = _URL_CREDS.sub(rf"\g<1>{MASK}\g<3>", text)
    text = _QUOTED.sub(rf"\g<1>{MASK}\g<3>", text)
    return _ASSIGN.sub(rf"\g<1>{MASK}", text)


def redact_tree(value: Any) -> Any:
    """Redact every string inside a JSON-like tree (dicts, lists, strings)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(v) for v in value]
    return value
