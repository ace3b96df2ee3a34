"""``letdown emulate serial``: a virtual pump on a pseudo-terminal, no hardware needed."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``letdown emulate`` to the CLI."""
    p = subparsers.add_parser(
        "emulate",
        help="stream a simulated pump session on a virtual serial port",
        description="Open a pseudo-terminal, print its path as the first line on stdout, and "
        "stream a simulated session in the wire protocol (firmware_bridge/PROTOCOL.md) until "
        "the session ends or Ctrl-C. Point `letdown live --serial PATH` at it.",
    )
    p.add_argument("transport", choices=["serial"], help="only `serial` (a pty) for now")
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="1 = real time (default), 10 = ten times faster, inf = as fast as read",
    )
    p.add_argument("--seed", type=int, default=0, help="simulator seed (default 0)")
    p.add_argument(
        "--kind",
        default="weight_g",
        choices=["weight_g", "volume_ml", "flow_ml_s", "pressure_pa"],
        help="sensor channel kind (default weight_g)",
    )
    p.add_argument("--mode", choices=["binary", "text"], default="binary", help="wire mode")
    p.add_argument("--double", action="store_true", help="double pumping: left and right")
    p.add_argument("--duration", type=float, default=900.0, help="session length, s")
    p.add_argument("--rate", type=float, default=20.0, help="sample rate, Hz (default 20)")
    p.add_argument(
        "--faults",
        default="",
        metavar="SPEC",
        help="inject damage per packet, e.g. garbage=0.05,drop=0.01,flip=0.01",
    )
    p.add_argument("--boot-ms", type=int, default=5000, help="device clock at the start, ms")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve the virtual pump until the session ends, Ctrl-C or SIGTERM."""
    import os
    import signal
    import sys

    from firmware_bridge.virtual_pump import Faults, PumpSettingError, check_speed

    from ..errors import ConfigError, DeviceError
    from ..sources.simulated import simulated_pump

    try:
        check_speed(args.speed)
        faults = Faults.parse(args.faults)
    except PumpSettingError as exc:
        raise ConfigError(str(exc), exc.key) from None
    if not hasattr(os, "openpty"):
        raise DeviceError(
            "pty", "a virtual serial port needs a pseudo-terminal (Linux or macOS); none here"
        )
    from firmware_bridge.virtual_serial import open_pty, serve

    pump = simulated_pump(
        kind=args.kind,
        seed=args.seed,
        double=args.double,
        duration_s=args.duration,
        sample_rate_hz=args.rate,
        mode=args.mode,
        faults=faults,
        fault_seed=args.seed,
        boot_ms=args.boot_ms,
    )
    pty = open_pty()

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        print(pty.path, flush=True)
        print(
            f"letdown: virtual pump ({args.mode}, {', '.join(pump.channels)}, "
            f"{args.duration:g} s at x{args.speed:g}) on {pty.path}; Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        serve(pump, pty, speed=args.speed)
        print("letdown: session finished", file=sys.stderr)
    except KeyboardInterrupt:
        print("letdown: virtual pump stopped", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, previous)
        pty.close()
    return 0
