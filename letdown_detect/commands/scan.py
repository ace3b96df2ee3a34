"""``letdown scan``: list Bluetooth LE devices nearby, letdown pumps marked."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass


@dataclass(frozen=True)
class FoundDevice:
    """A device seen while scanning."""

    address: str
    """Address to pass to ``letdown live --ble``."""
    name: str | None
    """Advertised name, if any."""
    rssi_dbm: int | None
    """Signal strength, dBm."""
    ours: bool
    """True when it advertises the letdown firmware's service."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``letdown scan`` to the CLI."""
    p = subparsers.add_parser(
        "scan",
        help="list Bluetooth LE devices nearby (letdown pumps marked)",
        description="Scan for Bluetooth LE devices; those running the letdown firmware "
        "are marked with '*'. Use the address or name with `letdown live --ble`.",
    )
    p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="scan time, s")
    p.set_defaults(func=run)


async def scan(timeout_s: float, backend: type | None = None) -> list[FoundDevice]:
    """Scan for ``timeout_s`` seconds; ours first, then by signal strength.

    Args:
        timeout_s: how long to listen for adverts, s.
        backend: a bleak scanner backend class (``None``: the platform's).

    Raises:
        DeviceError: Bluetooth is off or there is no adapter.
    """
    from bleak import BleakScanner
    from bleak.exc import BleakBluetoothNotAvailableError, BleakError

    from firmware_bridge import ble_gatt

    from ..errors import DeviceError

    try:
        seen = await BleakScanner.discover(timeout_s, return_adv=True, backend=backend)
    except BleakBluetoothNotAvailableError as exc:
        raise DeviceError("bluetooth", f"Bluetooth is off or there is no adapter ({exc})") from None
    except (BleakError, OSError) as exc:
        raise DeviceError(
            "bluetooth",
            f"cannot scan; is Bluetooth switched on and its system service running? ({exc})",
        ) from None
    service = ble_gatt.SERVICE_UUID.lower()
    found = [
        FoundDevice(
            address=device.address,
            name=adv.local_name or device.name,
            rssi_dbm=adv.rssi,
            ours=service in (u.lower() for u in adv.service_uuids),
        )
        for device, adv in seen.values()
    ]
    return sorted(found, key=lambda d: (not d.ours, -(d.rssi_dbm or -999)))


def run(args: argparse.Namespace) -> int:
    """Print one device per line: mark, address, name, RSSI."""
    found = asyncio.run(scan(args.timeout))
    if not found:
        print("No Bluetooth LE devices found. Is the pump switched on and near?")
    for d in found:
        rssi = "" if d.rssi_dbm is None else f"{d.rssi_dbm} dBm"
        print(f"{'*' if d.ours else ' '} {d.address}\t{d.name or '(no name)'}\t{rssi}".rstrip())
    return 0
