"""``letdown ports``: list serial ports, USB devices (where pumps live) first."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``letdown ports`` to the CLI."""
    p = subparsers.add_parser(
        "ports",
        help="list serial ports (USB first) for `letdown live --serial PORT`",
        description="List serial ports, USB devices first. Built-in ports without a USB "
        "id (e.g. /dev/ttyS0) are listed last: a pump is almost never one of them.",
    )
    p.add_argument("--all", action="store_true", help="also list ports without a USB id")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one port per line: device, USB id, description."""
    from serial.tools.list_ports import comports

    ports = sorted(comports(), key=lambda p: (p.vid is None, p.device))
    shown = [p for p in ports if args.all or p.vid is not None]
    if not shown:
        print(
            "No USB serial ports found. Plug in the pump's board (a data cable, not a "
            "charge-only one); `letdown ports --all` lists built-in ports too."
        )
        return 0
    for port in shown:
        usb = f"USB {port.vid:04x}:{port.pid:04x}" if port.vid is not None else "built-in"
        description = port.description if port.description not in (None, "n/a") else ""
        print(f"{port.device}\t{usb}\t{description}".rstrip())
    return 0
