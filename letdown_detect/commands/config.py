"""``letdown config path`` and ``letdown config show``: where the config file is, what it says."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``config`` with its ``path`` and ``show`` actions."""
    p = subparsers.add_parser(
        "config",
        help="where the config file is and what it says",
        description="The TOML config file ($LETDOWN_CONFIG overrides its place).",
    )
    actions = p.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    actions.add_parser("path", help="print the config file's path").set_defaults(func=run)
    actions.add_parser(
        "show", help="print the settings in use (defaults filled in, secrets masked)"
    ).set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the path, or the checked settings as TOML."""
    from ..config import config_path, load_config

    if args.config_action == "path":
        print(config_path())
        return 0
    from ..mood.live_options import mood_settings

    loaded = load_config()
    config = _masked({**loaded, "mood": mood_settings(loaded)})
    tables = {k: v for k, v in config.items() if isinstance(v, dict)}
    for key, value in config.items():
        if key not in tables:
            print(f"{key} = {_toml(value)}")
    for name, table in tables.items():
        print(f"\n[{name}]")
        for key, value in table.items():
            if value is not None:  # TOML has no null: an unset option is left out
                print(f"{key} = {_toml(value)}")
    return 0


def _masked(config: dict[str, Any]) -> dict[str, Any]:
    from ..notify.urls import parse_mqtt_url
    from ..secrets import MASK, mask_url

    out = dict(config)
    out["notify"] = {**config["notify"], "urls": [mask_url(u) for u in config["notify"]["urls"]]}
    mqtt = out["mqtt"] = dict(config["mqtt"])
    if mqtt["url"]:
        mqtt["url"] = str(parse_mqtt_url(mqtt["url"], "mqtt.url"))  # no password in it
    if mqtt["password"] is not None:
        mqtt["password"] = MASK
    return out


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    return repr(value)
