"""``letdown live``: watch a pumping session as it happens.

With no source it runs the embedded simulator through the full live pipeline,
so a newcomer sees the product work with no hardware.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

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
