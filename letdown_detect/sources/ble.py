"""Bluetooth LE pumps through bleak.

By default it speaks our firmware's GATT service (``firmware_bridge/ble_gatt.py``):
it reads the device-info characteristic and subscribes to the sample
frames. For a third-party device that notifies plain numbers, name the
characteristic (``char``), its ``struct`` format, a scale factor and the
channel: each notification is then one sample stamped with its arrival time.

``backend`` and ``scanner_backend`` go straight to bleak's ``backend=`` hook,
so tests (and unusual radios) plug in their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import struct
from typing import Any

import numpy as np

from ..clock import Clock
from ..errors import ConfigError, DeviceError
from ..model import SampleBlock
from . import LinkLostError, SourceInfo
from .device import DeviceSource

_ADDRESS = re.compile(
    r"([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\Z|[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}\Z"
)
#: Put on a notification queue by bleak's disconnect callback: the link dropped.
LOST = object()


async def next_notification(
    queue: asyncio.Queue, timeout_s: float, lost: str
) -> tuple[bytes, float] | None:
    """The next ``(bytes, host_s)`` a notify callback queued, ``None`` after ``timeout_s``.

    Raises:
        LinkLostError: the disconnect callback queued :data:`LOST` (message ``lost``).
    """
    try:
        item = await asyncio.wait_for(queue.get(), timeout_s)
    except asyncio.TimeoutError:
        return None
    if item is LOST:
        raise LinkLostError(lost)
    return item


def looks_like_address(target: str) -> bool:
    """True for a MAC address (Linux, Windows) or a CoreBluetooth UUID (macOS).

    >>> looks_like_address("AA:BB:CC:DD:EE:FF"), looks_like_address("LetdownPump")
    (True, False)
    """
    return bool(_ADDRESS.match(target))


def connect_error(target: str, exc: BaseException) -> DeviceError:
    """One sentence for a Bluetooth LE connection that failed with ``exc`` (a bleak error)."""
    from bleak.exc import BleakBluetoothNotAvailableError, BleakDeviceNotFoundError

    if isinstance(exc, BleakBluetoothNotAvailableError):
        return DeviceError(target, f"Bluetooth is off or there is no adapter ({exc}); switch it on")
    if isinstance(exc, BleakDeviceNotFoundError):
        return DeviceError(
            target,
            "no Bluetooth LE device with this address is in range; is it switched on? "
            "`letdown scan` lists what is around",
        )
    return DeviceError(target, f"cannot connect over Bluetooth LE ({exc})")


class BleSource(DeviceSource):
    """Read a pump over Bluetooth LE.

    Args:
        target: device address, or its advertised name (found by scanning).
        clock: gives the host time of each notification.
        backend: bleak client backend class (``None``: the platform's).
        scanner_backend: bleak scanner backend class, used to find a device by name.
        char: characteristic UUID of a third-party device notifying plain numbers
            (``None``: our firmware's service).
        fmt: ``struct`` format of one notification of ``char``, e.g. ``<h``.
        scale: factor from the notified number to the channel's unit.
        channel: channel name of ``char``'s samples (``weight_g``...), also assumed
            for our firmware until it announces its channels.
        scan_timeout_s: how long to look for a device by name, s.
        first_samples_s: how long ``open`` waits for the first samples, s.
        idle_s: ``read`` returns an empty block after this long without samples, s.
    """

    def __init__(
        self,
        target: str,
        *,
        clock: Clock,
        backend: type | None = None,
        scanner_backend: type | None = None,
        char: str | None = None,
        fmt: str = "<f",
        scale: float = 1.0,
        channel: str = "weight_g",
        scan_timeout_s: float = 10.0,
        first_samples_s: float = 5.0,
        idle_s: float = 0.5,
    ) -> None:
        if char is not None:
            try:
                struct.calcsize(fmt)
            except struct.error:
                raise ConfigError(
                    f"--format {fmt!r} is not a Python struct format; expected e.g. '<h' or '<f'",
                    "format",
                ) from None
        super().__init__(
            clock=clock, channel=channel, first_samples_s=first_samples_s, idle_s=idle_s
        )
        self.target = target
        self.backend = backend
        self.scanner_backend = scanner_backend
        self.char = char
        self.fmt = fmt
        self.scale = scale
        self.scan_timeout_s = scan_timeout_s
        self.description = f"ble:{target}"
        self._client: Any = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._plain: list[tuple[float, float]] = []  # (host_s, value) from ``char``

    async def _connect(self) -> None:
        """Find and connect to the device and subscribe (``open`` then waits for samples).

        Raises:
            DeviceError: Bluetooth is off, the device is not found, or it refuses.
        """
        from bleak import BleakClient
        from bleak.exc import BleakError

        self._queue = asyncio.Queue()
        try:
            device = await self._find()
            client = BleakClient(device, self._on_disconnect, backend=self.backend)
            await client.connect()
            self._client = client
            if self.char is None:
                from firmware_bridge import ble_gatt

                self._stream.announce(await client.read_gatt_char(ble_gatt.INFO_CHAR_UUID))
                await client.start_notify(ble_gatt.SAMPLES_CHAR_UUID, self._on_notify)
            else:
                await client.start_notify(self.char, self._on_notify)
        except DeviceError:
            await self.close()
            raise
        except (BleakError, asyncio.TimeoutError, OSError) as exc:
            await self.close()
            raise connect_error(self.target, exc) from None

    async def _receive(self, timeout_s: float) -> tuple[bytes, float] | None:
        return await next_notification(self._queue, timeout_s, "the BLE link dropped")

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()

    async def _find(self) -> Any:
        if looks_like_address(self.target):
            return self.target
        from bleak import BleakScanner

        device = await BleakScanner.find_device_by_name(
            self.target, timeout=self.scan_timeout_s, backend=self.scanner_backend
        )
        if device is None:
            raise DeviceError(
                self.target,
                f"no Bluetooth LE device with this name answered within {self.scan_timeout_s:g} s; "
                "is it switched on and in range? `letdown scan` lists what is around",
            )
        return device

    def _first_samples_needed(self) -> bool:
        return self.char is None  # a third-party device's channel is given, not announced

    def _silence_hint(self) -> str:
        return (
            "; a third-party device needs --char UUID --format STRUCT --factor F --channel K"
            " (a scale: --scale NAME)"
        )

    def _source_info(self) -> SourceInfo:
        if self.char is not None:
            return SourceInfo(channels=(self.channel,), device=f"BLE {self.target} {self.char}")
        return self._stream.source_info(f"BLE device {self.target}")

    def _on_notify(self, *args: Any) -> None:
        # bleak calls (characteristic, data); the data is always last
        self._queue.put_nowait((bytes(args[-1]), self.clock.monotonic()))

    def _on_disconnect(self, client: Any) -> None:
        self._queue.put_nowait(LOST)

    def _feed(self, data: bytes, host_s: float) -> None:
        if self.char is None:
            self._stream.feed(data)
            return
        try:
            value = float(struct.unpack_from(self.fmt, data)[0]) * self.scale
        except (struct.error, TypeError, ValueError):
            value = np.nan
        # no device clock: the arrival time is the sample time
        self._plain.append((host_s, value))

    def _has_samples(self) -> bool:
        return bool(self._plain) if self.char is not None else self._stream.has_samples

    def _take(self) -> SampleBlock:
        if self.char is None:
            return self._stream.take()
        plain, self._plain = self._plain, []
        t = np.array([p[0] for p in plain], dtype=float)
        return SampleBlock(t, np.array([[p[1]] for p in plain]).reshape(-1, 1), (self.channel,))
