"""``letdown scan``: list Bluetooth LE devices nearby, letdown pumps and supported scales marked."""

from __future__ import annotations

import argparse
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
    scale: str | None = None
    """``--scale`` name of a supported Bluetooth scale, if it is one."""
    model: str | None = None
    """The scale's maker and model, e.g. ``Acaia Lunar``."""
    battery_pct: int | None = None
    """Battery charge when the advert reports it (Battery Service data), percent."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``letdown scan`` to the CLI."""
    p = subparsers.add_parser(
        "scan",
        help="list Bluetooth LE devices nearby (letdown pumps marked)",
        description="Scan for Bluetooth LE devices; those running the letdown firmware "
        "are marked with '*', supported scales with 's' (and their --scale name). Use the "
        "address or name with `letdown live --ble` (and --scale NAME for a scale).",
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
    from ..sources.scales import recognise
    from ..sources.scales.base import BATTERY_SERVICE_UUID

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
    found = []
    for device, adv in seen.values():
        name = adv.local_name or device.name
        ours = service in (u.lower() for u in adv.service_uuids)
        scale = None if ours else recognise(name, adv.service_uuids, adv.manufacturer_data)
        battery = adv.service_data.get(BATTERY_SERVICE_UUID)
        found.append(
            FoundDevice(
                address=device.address,
                name=name,
                rssi_dbm=adv.rssi,
                ours=ours,
                scale=None if scale is None else scale.name,
                model=None if scale is None else scale.model(name),
                battery_pct=battery[0] if scale is not None and battery else None,
            )
        )
    return sorted(found, key=lambda d: (not d.ours, d.scale is None, -(d.rssi_dbm or -999)))


def describe(d: FoundDevice) -> str:
    """One line: mark, address, name, RSSI, and for a scale its model, battery and --scale name."""
    rssi = "" if d.rssi_dbm is None else f"{d.rssi_dbm} dBm"
    mark = "*" if d.ours else "s" if d.scale else " "
    line = f"{mark} {d.address}\t{d.name or '(no name)'}\t{rssi}"
    if d.scale is not None:
        battery = "" if d.battery_pct is None else f", battery {d.battery_pct}%"
        line += f"\t{d.model}{battery}: letdown live --scale {d.scale}"
    return line.rstrip()


def run(args: argparse.Namespace) -> int:
    """Print one device per line: mark, address, name, RSSI."""
    import asyncio

    found = asyncio.run(scan(args.timeout))
    if not found:
        print("No Bluetooth LE devices found. Is the pump switched on and near?")
    for d in found:
        print(describe(d))
    return 0
