"""Target URLs: check apprise and MQTT URLs given by the user, and mask their secrets.

A URL may hold a password or an API token, so nothing here puts a raw URL in a
message: errors name the key and the scheme, logs use ``mask_url`` (from
``letdown_detect.secrets``, the one masking function).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..secrets import mask_url

__all__ = ["MqttTarget", "check_notify_url", "mask_url", "parse_mqtt_url"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$")
#: MQTT schemes and their default ports; ``mqtts`` turns TLS on.
MQTT_PORTS = {"mqtt": 1883, "mqtts": 8883}


def _schemes() -> list[str]:
    from apprise.manager_plugins import NotificationManager

    return sorted(NotificationManager().schemas())


def check_notify_url(url: str, key: str) -> str:
    """Check that ``url`` is an apprise URL this machine can send to.

    Args:
        url: e.g. ``ntfy://ntfy.sh/my-topic`` or ``pover://USER@TOKEN``.
        key: where the URL came from, for the message (``notify.urls[0]``, ``--notify``).

    Returns:
        The URL with surrounding whitespace removed.

    Raises:
        ConfigError: malformed, unknown scheme, or not valid for its service.
    """
    url = url.strip()
    match = _SCHEME.match(url)
    if not match:
        raise ConfigError(
            f"{key}: expected an apprise URL such as ntfy://ntfy.sh/TOPIC, got "
            f"{mask_url(url)!r} (no SCHEME:// part).",
            key,
        )
    scheme = match.group(1).lower()
    schemes = _schemes()
    if scheme not in schemes:
        close = difflib.get_close_matches(scheme, schemes, n=1)
        hint = f"did you mean '{close[0]}://'?" if close else "see https://appriseit.com."
        raise ConfigError(
            f"{key}: unknown notification scheme '{scheme}://'; use an apprise URL such as "
            f"ntfy://ntfy.sh/TOPIC ({hint})",
            key,
        )
    import apprise
    from apprise.manager_plugins import NotificationManager

    if apprise.Apprise.instantiate(url) is None:
        if not NotificationManager()[scheme].enabled:
            problem = "is not available on this machine (a library it needs is missing)"
        else:
            problem = "is missing a part its service needs (host, topic, user or token)"
        raise ConfigError(
            f"{key}: this '{scheme}://' URL {problem}; check it against the apprise "
            f"documentation for {scheme}://.",
            key,
        )
    return url


@dataclass(frozen=True)
class MqttTarget:
    """Where and how to reach an MQTT broker."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def parse_mqtt_url(url: str, key: str, tls: bool = False) -> MqttTarget:
    """Split ``mqtt://[USER[:PASSWORD]@]HOST[:PORT]`` (or ``mqtts://`` for TLS).

    Args:
        url: the broker URL.
        key: where it came from, for the message (``mqtt.url``, ``--mqtt``).
        tls: use TLS even for ``mqtt://`` (the config file's ``tls = true``);
            the default port is then 8883.

    Raises:
        ConfigError: another scheme, no host, or a bad port.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in MQTT_PORTS:
        raise ConfigError(
            f"{key}: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT], got {mask_url(url)!r}.",
            key,
        )
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or port == -1 or (parts.path not in ("", "/")):
        hint = (
            " (a '/' or '@' in the password must be written %2F or %40; better, set "
            "[mqtt] password in the config file)"
            if "@" in url
            else ""
        )
        raise ConfigError(
            f"{key}: expected mqtt://HOST[:PORT] with a port from 1 to 65535 and no path, "
            f"got {mask_url(url)!r}{hint}.",
            key,
        )
    tls = tls or parts.scheme == "mqtts"
    return MqttTarget(
        host=parts.hostname,
        port=port or MQTT_PORTS["mqtts" if tls else "mqtt"],
        tls=tls,
        username=parts.username,
        password=parts.password,
    )
