"""``letdown live``: watch a pumping session as it happens.

With no source it runs the embedded simulator through the full live pipeline,
so a newcomer sees the product work with no hardware.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..clock import Clock
    from ..sources import Source

#: Modules that add their own options (their sinks are built in ``compose.py``).
PLUGINS = ("letdown_detect.notify.live_options", "letdown_detect.mood.live_options")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``letdown live`` to the CLI."""
    p = subparsers.add_parser(
        "live",
        help="watch a pumping session live (serial, BLE, replay or the built-in simulator)",
        description="Watch a pumping session live: flow, volume and each letdown as it "
        "happens, recorded as it streams. With no source, a simulated session runs. "
        "Keys: f or space = I feel a letdown now, t = tare a --scale, q = stop (Ctrl-C also "
        "stops cleanly).",
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--serial", metavar="PORT", help="USB serial port, e.g. /dev/ttyACM0 or COM3"
    )
    source.add_argument("--ble", metavar="ADDR_OR_NAME", help="Bluetooth LE address or name")
    source.add_argument("--replay", metavar="REC.csv", type=Path, help="replay a recording")
    p.add_argument("--baud", type=int, default=115200, help="serial speed (default 115200)")
    p.add_argument("--char", metavar="UUID", help="BLE: characteristic of a third-party device")
    p.add_argument(
        "--format", dest="fmt", metavar="STRUCT", default="<f", help="BLE --char: struct format"
    )
    p.add_argument("--factor", type=float, default=1.0, help="BLE --char: factor to the unit")
    p.add_argument(
        "--scale",
        metavar="NAME",
        help="a Bluetooth scale by name: acaia, bookoo, decent, felicita, weight-service "
        "(with --ble ADDR_OR_NAME to pick one, or alone to take the one nearby)",
    )
    p.add_argument("--tare", action="store_true", help="--scale: tare the scale when it connects")
    p.add_argument(
        "--channel",
        default="weight_g",
        help="sensor channel kind when the device does not announce it, and the "
        "simulator's sensor (weight_g, volume_ml, flow_ml_s, pressure_pa)",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=None,
        help="X times real time (default 1): replay and simulator play that fast; with "
        "--serial/--ble the device is an emulator running that fast (letdown emulate --speed)",
    )
    p.add_argument("--seed", type=int, default=None, help="simulator seed (default: random)")
    p.add_argument("--double", action="store_true", help="simulator: double pumping")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds of session")
    record = p.add_mutually_exclusive_group()
    record.add_argument(
        "--record", metavar="DIR", type=Path, help="folder for the recording (default: per session)"
    )
    record.add_argument("--no-record", action="store_true", help="do not write a recording")
    p.add_argument(
        "--json", action="store_true", help="print event JSON lines instead of the live view"
    )
    for name in PLUGINS:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).add_live_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the session (built by :func:`letdown_detect.compose.compose_live`)."""
    from ..compose import compose_live, configure_logging
    from ..live import run_live

    configure_logging(None)  # what building the session says goes to stderr
    composed = compose_live(args)
    configure_logging(composed.log_handler)  # then into the live view, if there is one
    run_live(composed.session)
    return 0


def build_source(args: argparse.Namespace, clock: Clock) -> Source:
    """The source the options name (the simulator when none)."""
    from ..errors import ConfigError
    from ..sources import open_source

    if args.scale is not None:
        return _scale_source(args, clock)
    if args.char and not args.ble:
        raise ConfigError("--char, --format and --factor only apply to --ble", "char")
    speed = 1.0 if args.speed is None else args.speed
    if args.serial:
        return open_source(
            f"serial:{args.serial}", clock=clock, baud=args.baud, channel=args.channel
        )
    if args.ble:
        return open_source(
            f"ble:{args.ble}",
            clock=clock,
            char=args.char,
            fmt=args.fmt,
            scale=args.factor,
            channel=args.channel,
        )
    if args.replay:
        return open_source(f"replay:{args.replay}", clock=clock, speed=speed)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(2), "big")
    return open_source(
        "sim:",
        clock=clock,
        speed=speed,
        seed=seed,
        kind=args.channel,
        double=args.double,
        duration_s=args.duration or 900.0,
    )


def _scale_source(args: argparse.Namespace, clock: Clock) -> Source:
    """``--scale NAME`` (with ``--ble`` to pick one); the old numeric ``--scale F`` is refused."""
    from ..errors import ConfigError
    from ..sources import open_source
    from ..sources.scales import SCALES

    names = ", ".join(SCALES)
    try:
        factor = float(args.scale)
    except ValueError:
        factor = None
    if factor is not None:
        raise ConfigError(
            f"use --factor {args.scale} for a raw characteristic; --scale names a scale: {names}",
            "scale",
        )
    if args.serial or args.replay or args.char:
        raise ConfigError(
            "--scale goes with --ble only (not --serial, --replay or --char)", "scale"
        )
    return open_source(f"scale:{args.scale}", clock=clock, ble=args.ble, tare=args.tare)


def recording_path(folder: Path | None, now: datetime) -> Path:
    """``DIR/<UTC stamp>.csv``; default DIR is a per-session folder in the user data dir."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    if folder is None:
        from platformdirs import user_data_dir

        folder = Path(user_data_dir("letdown")) / "sessions" / stamp
    return folder / f"{stamp}.csv"
