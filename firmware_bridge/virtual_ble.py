"""The virtual pump as a Bluetooth LE peripheral, served through bleak's ``backend=`` hook.

    with VirtualPeripheral(VirtualPump(recording)) as pump:  # e.g. simulated_pump(seed=1)
        client = BleakClient(pump.address, backend=VirtualPumpClient)
        devices = await BleakScanner.discover(backend=VirtualPumpScanner)

A ``VirtualPeripheral`` registers itself by address while its ``with`` block
runs; the backends find it there. It exposes the GATT service of
``ble_gatt.py``: the info characteristic returns the device-info frame, and
after ``start_notify`` on the samples characteristic every binary frame of the
session arrives as one notification, paced at real time x ``speed``.
``drop_link()`` breaks the connection the way a radio does (the client's
disconnected callback fires) and ``set_available`` controls whether it can
come back. The stream resumes where it stopped; ``lost_frames`` skips frames
as if they were sent while nobody listened.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError

from . import ble_gatt
from .virtual_pump import VirtualPump, check_speed

_PERIPHERALS: dict[str, VirtualPeripheral] = {}
_HANDLES = {
    ble_gatt.SAMPLES_CHAR_UUID: (3, ["notify"]),
    ble_gatt.INFO_CHAR_UUID: (5, ["read"]),
    ble_gatt.CONTROL_CHAR_UUID: (7, ["write"]),
}


class VirtualPeripheral:
    """A virtual pump reachable over bleak while registered.

    Args:
        pump: the device; must use the binary mode.
        address: Bluetooth address it answers to.
        name: advertised name.
        speed: 1 = real time, ``math.inf`` = notifications back to back.
        rssi: advertised signal strength, dBm.
    """

    def __init__(
        self,
        pump: VirtualPump,
        address: str = "F0:0D:00:00:00:01",
        name: str = "letdown-virtual",
        speed: float = math.inf,
        rssi: int = -55,
    ) -> None:
        if pump.mode != "binary":
            raise ValueError("a BLE peripheral sends binary frames: use mode='binary'")
        check_speed(speed)
        self.pump = pump
        self.address = address.upper()
        self.name = name
        self.speed = speed
        self.rssi = rssi
        self.available = True
        self.connections = 0
        self.tare_requests = 0
        self._packets: Iterator[tuple[float, bytes]] = iter(pump.packets())
        self._held: tuple[float, bytes] | None = None
        self._client: VirtualPumpClient | None = None
        self.finished = asyncio.Event()

    def __enter__(self) -> VirtualPeripheral:
        _PERIPHERALS[self.address] = self
        return self

    def __exit__(self, *exc: object) -> None:
        _PERIPHERALS.pop(self.address, None)

    def set_available(self, available: bool) -> None:
        """Whether the device answers connects and adverts (False = out of range)."""
        self.available = available

    def drop_link(self, lost_frames: int = 0, available: bool = True) -> None:
        """Break the current connection as a radio would.

        Args:
            lost_frames: frames the device sends into the void before a new
                connection listens again (the host sees a sequence gap).
            available: whether it can be reconnected right away.
        """
        self.available = available
        for _ in range(lost_frames):
            if self._held is None:
                next(self._packets, None)
            self._held = None
        client, self._client = self._client, None
        if client is not None:
            client.lose_link()

    def _attach(self, client: VirtualPumpClient) -> None:
        if not self.available:
            raise BleakDeviceNotFoundError(self.address, "virtual pump is out of range")
        self._client = client
        self.connections += 1

    def _detach(self, client: VirtualPumpClient) -> None:
        if self._client is client:
            self._client = None

    async def _stream(self, callback: NotifyCallback) -> None:
        """Notify every remaining frame, paced by the session clock."""
        loop = asyncio.get_running_loop()
        start, first_due = loop.time(), None
        while True:
            if self._held is None:  # held across a dropped link: it was never sent
                self._held = next(self._packets, None)
                if self._held is None:
                    self.finished.set()
                    return
            due_s, frame = self._held
            first_due = due_s if first_due is None else first_due
            wait = (due_s - first_due) / self.speed - (loop.time() - start)
            await asyncio.sleep(max(0.0, wait) if math.isfinite(wait) else 0.0)
            self._held = None
            callback(bytearray(frame))


def _max_write_size() -> int:
    return ble_gatt.PREFERRED_MTU - 3


def _services() -> BleakGATTServiceCollection:
    services = BleakGATTServiceCollection()
    service = BleakGATTService(None, 1, ble_gatt.SERVICE_UUID)
    services.add_service(service)
    for uuid, (handle, properties) in _HANDLES.items():
        services.add_characteristic(
            BleakGATTCharacteristic(None, handle, uuid, properties, _max_write_size, service)
        )
    return services


class VirtualPumpClient(BaseBleakClient):
    """bleak client backend that talks to a registered ``VirtualPeripheral``."""

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.pop("disconnected_callback", None),
            timeout=kwargs.pop("timeout", 10.0),
        )
        self.address = self.address.upper()
        self._peripheral: VirtualPeripheral | None = None
        self._task: asyncio.Task | None = None

    @property
    def name(self) -> str:
        """The peripheral's advertised name."""
        return self._device().name

    @property
    def mtu_size(self) -> int:
        """The negotiated MTU, bytes."""
        return ble_gatt.PREFERRED_MTU

    @property
    def is_connected(self) -> bool:
        """True while the link is up."""
        return self._peripheral is not None

    def _device(self) -> VirtualPeripheral:
        peripheral = _PERIPHERALS.get(self.address)
        if peripheral is None:
            raise BleakDeviceNotFoundError(self.address, "no virtual pump has this address")
        return peripheral

    def _connected(self) -> VirtualPeripheral:
        if self._peripheral is None:
            raise BleakError("Not connected")
        return self._peripheral

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect and discover the letdown service."""
        peripheral = self._device()
        peripheral._attach(self)
        self._peripheral = peripheral
        self.services = _services()

    async def disconnect(self) -> None:
        """Disconnect on request (no disconnected callback, as in bleak)."""
        peripheral, self._peripheral = self._peripheral, None
        self._stop_stream()
        if peripheral is not None:
            peripheral._detach(self)

    def lose_link(self) -> None:
        """The radio link broke: stop, then tell bleak's disconnected callback."""
        self._peripheral = None
        self._stop_stream()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    def _stop_stream(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to pair: the service is open."""

    async def unpair(self) -> None:
        """Nothing to unpair."""

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """The info characteristic: the device-info frame."""
        peripheral = self._connected()
        if characteristic.uuid != ble_gatt.INFO_CHAR_UUID:
            raise BleakError(f"characteristic {characteristic.uuid} cannot be read")
        return bytearray(peripheral.pump.info_frame())

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """The service has no descriptors."""
        raise BleakError("the virtual pump has no descriptors")

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        """The control characteristic: ``b"t"`` tares."""
        peripheral = self._connected()
        if characteristic.uuid != ble_gatt.CONTROL_CHAR_UUID:
            raise BleakError(f"characteristic {characteristic.uuid} cannot be written")
        if bytes(data) == ble_gatt.COMMAND_TARE:
            peripheral.tare_requests += 1

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        """The service has no descriptors."""
        raise BleakError("the virtual pump has no descriptors")

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Start the stream of frames on the samples characteristic."""
        peripheral = self._connected()
        if characteristic.uuid != ble_gatt.SAMPLES_CHAR_UUID:
            raise BleakError(f"characteristic {characteristic.uuid} does not notify")
        self._stop_stream()
        self._task = asyncio.get_running_loop().create_task(peripheral._stream(callback))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Stop the stream."""
        self._stop_stream()


class VirtualPumpScanner(BaseBleakScanner):
    """bleak scanner backend that sees every registered, available ``VirtualPeripheral``."""

    def __init__(
        self,
        detection_callback: Callable[..., Any] | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)

    async def start(self) -> None:
        """Start scanning; adverts arrive on the next loop turn (as from a radio)."""
        self.seen_devices = {}
        asyncio.get_running_loop().call_soon(self._advertise)

    async def stop(self) -> None:
        """Stop scanning."""

    def _advertise(self) -> None:
        for peripheral in list(_PERIPHERALS.values()):
            uuids = [ble_gatt.SERVICE_UUID]
            if not peripheral.available or not self.is_allowed_uuid(uuids):
                continue
            advert = AdvertisementData(
                local_name=peripheral.name,
                manufacturer_data={},
                service_data={},
                service_uuids=uuids,
                tx_power=None,
                rssi=peripheral.rssi,
                platform_data=(),
            )
            device = self.create_or_update_device(
                peripheral.address, peripheral.address, peripheral.name, None, advert
            )
            self.call_detection_callbacks(device, advert)
