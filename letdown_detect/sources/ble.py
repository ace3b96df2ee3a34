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
from ..errors import ConfigError, DeviceError, ProtocolError
from ..model import SampleBlock
from . import Arrival, LinkLostError, LinkStats, SourceInfo
from ._decoding import DecodedStream

_ADDRESS = re.compile(
    r"([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\Z|[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}\Z"
)
_LOST = object()


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


class BleSource:
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
        self.target = target
        self.clock = clock
        self.backend = backend
        self.scanner_backend = scanner_backend
        self.char = char
        self.fmt = fmt
        self.scale = scale
        self.channel = channel
        self.scan_timeout_s = scan_timeout_s
        self.first_samples_s = first_samples_s
        self.idle_s = idle_s
        self.description = f"ble:{target}"
        self._stream = DecodedStream((channel,))
        self._client: Any = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()

    @property
    def stats(self) -> LinkStats:
        """Link counters over every connection so far."""
        return self._stream.stats

    async def open(self) -> SourceInfo:
        """Find and connect to the device, subscribe, and wait for the first samples.

        Raises:
            DeviceError: Bluetooth is off, the device is not found, or it refuses.
            ProtocolError: connected, but no decodable samples arrive.
        """
        from bleak import BleakClient
        from bleak.exc import BleakError

        await self.close()
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
        return await self._first_samples()

    async def read(self) -> Arrival | None:
        """The samples of the next notification (an empty block after ``idle_s``).

        Raises:
            LinkLostError: the BLE link dropped.
        """
        try:
            item = await asyncio.wait_for(self._queue.get(), self.idle_s)
        except asyncio.TimeoutError:
            return Arrival(self._stream.take(), self.clock.monotonic())
        if item is _LOST:
            raise LinkLostError("the BLE link dropped")
        data, host_s = item
        return Arrival(self._block(data, host_s), host_s)

    async def close(self) -> None:
        """Disconnect (safe to call twice)."""
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

    async def _first_samples(self) -> SourceInfo:
        if self.char is not None:
            return SourceInfo(channels=(self.channel,), device=f"BLE {self.target} {self.char}")
        deadline = self.clock.monotonic() + self.first_samples_s
        while not self._stream.has_samples and self.clock.monotonic() < deadline:
            try:
                item = await asyncio.wait_for(self._queue.get(), self.first_samples_s)
            except asyncio.TimeoutError:
                break
            if item is _LOST:
                await self.close()
                raise DeviceError(self.target, "the BLE link dropped while connecting")
            self._stream.feed(item[0])
        if not self._stream.has_samples:
            await self.close()
            raise ProtocolError(
                self.target,
                f"no sample frames arrived in {self.first_samples_s:g} s; a third-party device "
                "needs --char UUID --format STRUCT --factor F --channel K (a scale: --scale NAME)",
            )
        return self._stream.source_info(f"BLE device {self.target}")

    def _on_notify(self, *args: Any) -> None:
        # bleak calls (characteristic, data); the data is always last
        self._queue.put_nowait((bytes(args[-1]), self.clock.monotonic()))

    def _on_disconnect(self, client: Any) -> None:
        self._queue.put_nowait(_LOST)

    def _block(self, data: bytes, host_s: float) -> SampleBlock:
        if self.char is None:
            self._stream.feed(data)
            return self._stream.take()
        try:
            value = float(struct.unpack_from(self.fmt, data)[0]) * self.scale
        except (struct.error, TypeError, ValueError):
            value = np.nan
        # no device clock: the arrival time is the sample time
        return SampleBlock(np.array([host_s]), np.array([[value]]), (self.channel,))
