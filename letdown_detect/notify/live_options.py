"""``letdown live`` options for notifications and MQTT, and the sinks they ask for.

The command line adds to the config file: ``--notify`` URLs join ``[notify]
urls``; ``--mqtt`` replaces ``[mqtt] url`` (login and TLS settings still come
from the file unless the URL carries them). The MQTT password comes from the
URL, else ``$LETDOWN_MQTT_PASSWORD``, else ``[mqtt] password``; one given in
``--mqtt`` works but is warned about: every local user can read a command line.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # at run time only when sinks are built: `letdown detect` never loads them
    from ..sinks.base import Sink

#: Environment variable holding the MQTT password (instead of the command line).
MQTT_PASSWORD_ENV = "LETDOWN_MQTT_PASSWORD"


def add_live_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--notify URL`` (repeatable), ``--quiet`` and ``--mqtt URL`` to ``parser``."""
    group = parser.add_argument_group("notifications and home automation")
    group.add_argument(
        "--notify",
        metavar="URL",
        action="append",
        default=[],
        dest="notify_urls",
        help="send 'Letdown detected' to this apprise URL, e.g. ntfy://ntfy.sh/TOPIC, "
        "pover://USER@TOKEN, hassio://HOST/ACCESS_TOKEN (repeatable; adds to the config file)",
    )
    group.add_argument(
        "--quiet",
        action="store_true",
        help="no desktop notification and no terminal bell",
    )
    group.add_argument(
        "--mqtt",
        metavar="URL",
        default=None,
        help="publish state and letdowns for Home Assistant to mqtt://[USER@]HOST[:PORT] "
        f"(mqtts:// for TLS); the password goes in ${MQTT_PASSWORD_ENV} or [mqtt] password",
    )


def notify_targets(config: dict[str, Any], cli_urls: list[str], quiet: bool) -> list[str]:
    """Every apprise URL to send to: the config file's, the command line's, the desktop.

    Args:
        config: ``load_config()`` output.
        cli_urls: ``--notify`` values (checked here).
        quiet: leave the desktop out.

    Raises:
        ConfigError: a ``--notify`` URL is malformed or of an unknown scheme.
    """
    from .desktop import desktop_url
    from .urls import check_notify_url

    urls = list(config["notify"]["urls"])
    for url in cli_urls:
        checked = check_notify_url(url, "--notify")
        if checked not in urls:
            urls.append(checked)
    desktop = desktop_url() if config["notify"]["desktop"] and not quiet else None
    if desktop:
        urls.append(desktop)
    return urls


def sinks_from_options(
    args: argparse.Namespace,
    config: dict[str, Any] | None = None,
    *,
    mood_url: str | None = None,
    mood_page: bool = False,
    clock: Any = None,
) -> list[Sink]:
    """The notification and MQTT sinks that the options and the config file ask for.

    Args:
        args: parsed options from a parser given ``add_live_options``.
        config: ``load_config()`` output (read from the config file when None).
        mood_url: the mood page to link in notifications (the composition root
            passes it only when a phone can open it and links are allowed).
        mood_page: a mood page runs (messages without a link point to this computer).
        clock: the session's clock.

    Returns:
        Zero, one or two sinks (a ``NotifySink``, an ``MqttSink``).

    Raises:
        ConfigError: a bad option or config value, naming it.
    """
    from ..config import load_config
    from .desktop import bell_stream

    config = load_config() if config is None else config
    notify, mqtt = config["notify"], config["mqtt"]
    sinks: list[Sink] = []
    urls = notify_targets(config, args.notify_urls, args.quiet)
    bell = bell_stream() if notify["bell"] and not args.quiet else None
    if urls or bell is not None:
        from .apprise_sink import NotifySink

        sinks.append(
            NotifySink(
                urls,
                min_interval_s=notify["min_interval_s"],
                summary=notify["summary"],
                include_mood=notify["include_mood"],
                bell=bell,
                mood_url=mood_url,
                mood_page=mood_page,
                clock=clock,
            )
        )
    url, key = (args.mqtt, "--mqtt") if args.mqtt else (mqtt["url"], "mqtt.url")
    if url:
        from .mqtt_sink import MqttSink
        from .urls import parse_mqtt_url

        target = parse_mqtt_url(url, key, tls=mqtt["tls"])
        if args.mqtt and target.password is not None:
            print(
                "letdown: warning: the password in --mqtt can be read by every user of this "
                f"machine (ps, /proc/PID/cmdline); set ${MQTT_PASSWORD_ENV} or [mqtt] password "
                "in the config file instead",
                file=sys.stderr,
            )
        password = target.password
        if password is None:
            password = os.environ.get(MQTT_PASSWORD_ENV) or mqtt["password"]
        target = replace(
            target,
            username=target.username if target.username is not None else mqtt["username"],
            password=password,
        )
        sinks.append(
            MqttSink(
                target,
                base_topic=mqtt["base_topic"],
                discovery_prefix=mqtt["discovery_prefix"],
                ca_certs=mqtt["ca_certs"],
                include_mood=notify["include_mood"],
                mood_url=mood_url,
            )
        )
    return sinks
