"""One way to keep secrets out of messages: mask passwords, tokens and ntfy topics.

Every message that may quote a URL or a config value goes through
:func:`mask_secrets` (``cli.main`` does it for every error, ``load_config`` for
every config mistake) or shows URLs through :func:`mask_url`. A secret is a
password, an API token, or an ntfy topic (on a public ntfy server the topic is
the password: whoever knows it reads the notifications).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MASK = "****"
#: Schemes masked by rule, not by apprise (apprise's own mqtt:// drops the port).
RULE_SCHEMES = frozenset({"mqtt", "mqtts"})
#: Schemes whose path segments are topics, secret like a password.
TOPIC_SCHEMES = frozenset({"ntfy", "ntfys"})
#: Config keys whose whole values are secret wherever they appear.
SECRET_KEYS = frozenset({"password", "token", "secret", "api_key"})
#: Config keys holding URLs, whose secret pieces (see :func:`url_secrets`) are secret.
URL_KEYS = frozenset({"url", "urls"})
#: Command-line options whose values may hold secrets.
SECRET_OPTIONS = ("--notify", "--mqtt")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.S)
_TOKENS = re.compile(r"[^/:@?&=#,;\s\"'\[\]{}]+")
#: Shorter pieces are too common to mask in free text (ports, "me", "on").
_MIN_SECRET = 3


def _mask_token(token: str) -> str:
    """A long token keeps its first two characters so two targets can be told apart."""
    return token[:2] + MASK if len(token) >= 8 else MASK


def _hide_userinfo(url: str) -> str:
    """Mask the password of ``scheme://user:password@host`` (a password may hold ``/``)."""
    match = _SCHEME.match(url)
    if not match or "@" not in match.group(2):
        return url
    userinfo, host = match.group(2).rsplit("@", 1)
    user, sep, _ = userinfo.partition(":")
    return f"{match.group(1)}://{user}{':' + MASK if sep else ''}@{host}"


def mask_url(url: str) -> str:
    """``url`` with passwords, tokens and ntfy topics masked, safe for any message.

    The service's own idea of what is secret (apprise's privacy mode) is used
    where apprise knows the URL; only the query options the user wrote are kept.

    >>> mask_url("json://me:hunter2@127.0.0.1:8080/hook")
    'json://me:****@127.0.0.1:8080/hook'
    >>> mask_url("ntfy://ntfy.sh/my-pump-topic")
    'ntfy://ntfy.sh/my****'
    """
    url = url.strip()
    match = _SCHEME.match(url)
    if not match:
        return _mask_token(url) if url else url
    scheme = match.group(1).lower()
    plugin = None
    if scheme not in RULE_SCHEMES:
        try:
            import apprise

            plugin = apprise.Apprise.instantiate(url)
        except Exception:  # any parse failure means "unknown": mask by rule
            plugin = None
    if plugin is None:
        masked = _hide_userinfo(url.split("?", 1)[0])
    else:
        private = urlsplit(plugin.url(privacy=True))
        wanted = {k for k, _ in parse_qsl(urlsplit(url).query)}
        query = "&".join(
            f"{k}={v}" for k, v in parse_qsl(private.query) if k in wanted and k != "password"
        )
        base = private._replace(query="").geturl()
        masked = f"{base}?{query}" if query else base
    if scheme in TOPIC_SCHEMES:
        parts = urlsplit(masked)
        topics = "/".join(_mask_token(t) if t else t for t in parts.path.split("/"))
        masked = parts._replace(path=topics).geturl()
    return masked


def url_secrets(url: str) -> set[str]:
    """The secret pieces of ``url``: what :func:`mask_url` hides (all of it when unparsable).

    >>> sorted(url_secrets("mqtt://ha:p/ss@10.0.0.2:1883"))
    ['p/ss']
    """
    url = str(url).strip()
    match = _SCHEME.match(url)
    shown = mask_url(url) if match else ""
    found = {t for t in _TOKENS.findall(url) if t not in shown}
    if match and "@" in match.group(2):  # a password may hold separators: take it whole
        userinfo = match.group(2).rsplit("@", 1)[0]
        if ":" in userinfo:
            found.add(userinfo.split(":", 1)[1])
    if not match:
        # not even SCHEME://: anything but a scheme-like word or a host name may be secret
        found |= {url}
    return {s for s in found if len(s) >= _MIN_SECRET}


def config_secrets(config: Mapping[str, Any]) -> set[str]:
    """Every secret in a config (as read from TOML, before any check).

    Values under keys named in :data:`SECRET_KEYS` count, whatever their type
    (a numeric password is a secret too); values under :data:`URL_KEYS`
    contribute their secret pieces, whatever their type.
    """
    found: set[str] = set()

    def walk(value: Any, kind: str | None) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                name = str(key).lower()
                walk(inner, "whole" if name in SECRET_KEYS else "url" if name in URL_KEYS else kind)
        elif isinstance(value, (list, tuple)):
            for inner in value:
                walk(inner, kind)
        elif kind is not None and value is not None and not isinstance(value, bool):
            text = str(value)
            found.update(url_secrets(text))
            if kind == "whole":
                found.add(text)

    walk(config, None)
    return {s for s in found if len(s) >= _MIN_SECRET}


def argv_secrets(argv: Iterable[str]) -> set[str]:
    """Secrets given on a command line (values of :data:`SECRET_OPTIONS`)."""
    found: set[str] = set()
    args = list(argv)
    for i, arg in enumerate(args):
        value = None
        for option in SECRET_OPTIONS:
            if arg == option and i + 1 < len(args):
                value = args[i + 1]
            elif arg.startswith(option + "="):
                value = arg.split("=", 1)[1]
        if value:
            found.update(url_secrets(value))
    return found


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret (3 characters or more) masked.

    >>> mask_secrets("bad port in mqtt://ha:hunter2@host:99999", {"hunter2"})
    'bad port in mqtt://ha:****@host:99999'
    """
    for secret in sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, MASK)
        quoted = repr(secret)[1:-1]  # as it appears inside a repr()
        if quoted != secret:
            text = text.replace(quoted, MASK)
    return text
