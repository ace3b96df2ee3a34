"""``letdown notify test``: send a test message to every configured target, report each."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``notify`` and its ``test`` action."""
    p = subparsers.add_parser(
        "notify",
        help="check notification targets",
        description="Check the notification targets of the config file and --notify URLs.",
    )
    actions = p.add_subparsers(dest="notify_action", metavar="ACTION", required=True)
    test = actions.add_parser(
        "test",
        help="send a test message to every target and report, per target, delivered or why not",
    )
    test.add_argument(
        "--notify",
        metavar="URL",
        action="append",
        default=[],
        dest="notify_urls",
        help="also try this apprise URL (repeatable)",
    )
    test.add_argument("--quiet", action="store_true", help="leave out the desktop notification")
    test.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Send one test message per target (in parallel); 0 when all were delivered, else 1."""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import datetime

    from ..config import config_path, load_config
    from ..errors import ConfigError
    from ..notify.delivery import Target
    from ..notify.live_options import notify_targets
    from ..notify.messages import probe_message
    from ..secrets import mask_secrets, url_secrets

    urls = notify_targets(load_config(), args.notify_urls, args.quiet)
    if not urls:
        raise ConfigError(
            "no notification targets: pass --notify URL or set urls = [...] under [notify] "
            f"in {config_path()}.",
            "notify.urls",
        )
    targets = [Target(url) for url in urls]
    message = probe_message(datetime.now().astimezone())
    with ThreadPoolExecutor(len(targets)) as pool:
        outcomes = list(pool.map(lambda target: target.send(message), targets))
    secrets = {s for url in urls for s in url_secrets(url)}
    for target, outcome in zip(targets, outcomes, strict=True):
        if outcome.ok:
            print(f"delivered  {target.name}")
        else:
            print(f"FAILED     {target.name}: {mask_secrets(str(outcome.reason), secrets)}")
    return 0 if all(o.ok for o in outcomes) else 1
