"""The user's TOML config file: where it lives, reading it, checking our sections.

The file is ``platformdirs.user_config_dir("letdown")/config.toml``; the
``LETDOWN_CONFIG`` environment variable names another one. A missing file means
"all defaults". Sections this module knows (``[notify]``, ``[mqtt]``) are
checked key by key and filled with defaults; ``[mood]`` is passed through
unchanged for its own module to check with ``check_section`` (inside
:func:`in_file`, so its errors name the file); any other section is a mistake
(with a "did you mean" hint). No error message quotes a secret: each goes
through ``secrets.mask_secrets`` with every secret the file holds.

Example::

    [notify]
    urls = ["ntfy://ntfy.sh/my-pump-topic"]
    min_interval_s = 30

    [mqtt]
    url = "mqtt://homeassistant.local"
    username = "letdown"
    password = "secret"
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

#: Environment variable that names the config file instead of the default place.
CONFIG_ENV = "LETDOWN_CONFIG"
#: Sections other modules check themselves (passed through by ``load_config``).
OTHER_SECTIONS = ("mood",)


@dataclass(frozen=True)
class Key:
    """One setting of a section: its default, the types it accepts and an extra check.

    ``check(value, key)`` returns the cleaned value or raises ``ConfigError``.
    """

    default: Any
    types: tuple[type, ...]
    what: str
    """Expected value in words, for error messages ("a number of seconds >= 0")."""
    check: Callable[[Any, str], Any] | None = None


def _non_negative(value: float, key: str) -> float:
    if value < 0:
        raise ConfigError(f"{key} must be a number of seconds >= 0, got {value!r}.", key)
    return float(value)


def _notify_urls(value: list[Any], key: str) -> list[str]:
    from .notify.urls import check_notify_url

    for i, url in enumerate(value):
        if not isinstance(url, str):
            raise ConfigError(f"{key}[{i}] must be a quoted URL string, got {url!r}.", key)
    return [check_notify_url(url, f"{key}[{i}]") for i, url in enumerate(value)]


def _mqtt_url(value: str, key: str) -> str:
    from .notify.urls import parse_mqtt_url

    parse_mqtt_url(value, key)
    return value


def _existing_file(value: str, key: str) -> str:
    path = Path(value).expanduser()
    if not path.is_file():
        raise ConfigError(f"{key} must name an existing file, got {value!r} (not found).", key)
    return str(path)


def _topic(value: str, key: str) -> str:
    if not value or any(c in value for c in "#+") or value.startswith("/") or value.endswith("/"):
        raise ConfigError(
            f"{key} must be an MQTT topic like 'letdown' (no '#', '+' or leading/trailing "
            f"'/'), got {value!r}.",
            key,
        )
    return value


#: The sections this module checks, key -> rule.
SECTIONS: dict[str, dict[str, Key]] = {
    "notify": {
        "urls": Key([], (list,), "a list of apprise URLs", _notify_urls),
        "min_interval_s": Key(30.0, (int, float), "a number of seconds >= 0", _non_negative),
        "summary": Key(False, (bool,), "true or false"),
        "include_mood": Key(False, (bool,), "true or false"),
        "include_link": Key(False, (bool,), "true or false"),
        "desktop": Key(True, (bool,), "true or false"),
        "bell": Key(True, (bool,), "true or false"),
    },
    "mqtt": {
        "url": Key(None, (str,), "a URL like mqtt://HOST[:PORT]", _mqtt_url),
        "username": Key(None, (str,), "a string"),
        "password": Key(None, (str,), "a string"),
        "tls": Key(False, (bool,), "true or false"),
        "ca_certs": Key(None, (str,), "the path of a CA certificate file", _existing_file),
        "base_topic": Key("letdown", (str,), "an MQTT topic", _topic),
        "discovery_prefix": Key("homeassistant", (str,), "an MQTT topic", _topic),
    },
}


def config_path() -> Path:
    """The config file in use: ``$LETDOWN_CONFIG`` or the per-user config folder."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("letdown")) / "config.toml"


def read_raw(file: Path) -> dict[str, Any]:
    """The TOML file as read, unchecked; ``{}`` when it does not exist.

    Raises:
        ConfigError: the file cannot be read or parsed.
    """
    if not file.exists():
        return {}
    try:
        with file.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML ({exc}); fix the syntax there.") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            f"{file}: cannot read the config file ({reason}); make it a readable "
            f"UTF-8 TOML file or point {CONFIG_ENV} at one.",
        ) from None
    except RecursionError:
        raise ConfigError(f"{file}: not valid TOML (nested too deep).") from None


def file_secrets(path: str | Path | None = None) -> set[str]:
    """Every secret the config file holds (nothing when it cannot be read)."""
    from .secrets import config_secrets

    try:
        return config_secrets(read_raw(Path(path) if path is not None else config_path()))
    except ConfigError:
        return set()


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """Read and check the config file; a missing file gives the defaults.

    Args:
        path: the TOML file; default ``config_path()``.

    Returns:
        A dict of sections. Known sections are complete (defaults filled in);
        the sections in :data:`OTHER_SECTIONS` are passed through as read.

    Raises:
        ConfigError: the file cannot be read or parsed, or a section or key is
            unknown or has the wrong type; the message names the file, the key
            and the fix, and quotes no secret.
    """
    from .secrets import config_secrets, mask_secrets

    file = Path(path) if path is not None else config_path()
    raw = read_raw(file)
    try:
        return _checked(file, raw)
    except ConfigError as exc:
        raise ConfigError(mask_secrets(str(exc), config_secrets(raw)), exc.key) from None


def _checked(file: Path, raw: dict[str, Any]) -> dict[str, Any]:
    known = [*SECTIONS, *OTHER_SECTIONS]
    for name, value in raw.items():
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = (
                f"did you mean [{close[0]}]?" if close else f"known sections: {', '.join(known)}."
            )
            what = "section" if isinstance(value, dict) else "setting"
            raise ConfigError(f"{file}: [{name}] is not a {what} of letdown's config; {hint}", name)
    out = dict(raw)
    for name, keys in SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{file}: [{name}] must be a table, got {table!r}.", name)
        try:
            out[name] = check_section(name, table, keys)
        except ConfigError as exc:
            raise ConfigError(f"{file}: {exc}", exc.key) from None
    for name in OTHER_SECTIONS:
        if not isinstance(raw.get(name, {}), dict):
            raise ConfigError(f"{file}: [{name}] must be a table.", name)
    return out


def in_file(check: Callable[[], Any], path: str | Path | None = None) -> Any:
    """Run ``check()`` (a section check of another module); its errors name the file.

    Raises:
        ConfigError: from ``check``, prefixed with the config file and with no secret.
    """
    from .secrets import mask_secrets

    try:
        return check()
    except ConfigError as exc:
        file = Path(path) if path is not None else config_path()
        raise ConfigError(mask_secrets(f"{file}: {exc}", file_secrets(file)), exc.key) from None


def check_section(name: str, table: Mapping[str, Any], keys: Mapping[str, Key]) -> dict[str, Any]:
    """Check one section against its rules and fill in the defaults.

    Other modules use this for their own sections (e.g. ``[mood]``).

    Args:
        name: the section name, used in messages as ``name.key``.
        table: the section as read from TOML.
        keys: the rules, setting name -> ``Key``.

    Returns:
        A new dict with every key of ``keys``.

    Raises:
        ConfigError: an unknown key (with a "did you mean" hint) or a bad value.
    """
    for key in table:
        if key not in keys:
            close = difflib.get_close_matches(key, list(keys), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(keys)}."
            raise ConfigError(f"{name}.{key} is not a setting of [{name}]; {hint}", f"{name}.{key}")
    out: dict[str, Any] = {}
    for key, rule in keys.items():
        full = f"{name}.{key}"
        if key not in table:
            out[key] = list(rule.default) if isinstance(rule.default, list) else rule.default
            continue
        value = table[key]
        # bool is an int in Python; a number setting must not accept true/false.
        if not isinstance(value, rule.types) or (
            isinstance(value, bool) and bool not in rule.types
        ):
            raise ConfigError(f"{full} must be {rule.what}, got {value!r}.", full)
        out[key] = rule.check(value, full) if rule.check else value
    return out
