"""Virtual Bluetooth scales (Acaia, Bookoo, Decent, Felicita, SIG Weight Scale) for ``backend=``.

    with VirtualScale("acaia", weights) as scale:
        client = BleakClient(scale.address, backend=VirtualScaleClient)

Each one speaks its scale's protocol byte for byte, with the encoders of
``letdown_detect.sources.scales``: an Acaia streams only after the
identification and notification request and goes quiet without heartbeats;
a Decent wants its keep-alive; Acaia and Felicita report the battery and the
unit, and can switch to ounces mid-session; Acaia and Decent report button
presses. Weights come from a simulated session (its ``t_s`` and ``weight_g``),
played at the scale's rate on a session clock that runs while nobody is
connected (samples sent into the void are lost, as with a real scale), in
bursts of 2-4 notifications a few ms apart, as phones and PCs see them.
``drop_link``, ``go_silent`` and ``set_available`` break things on purpose;
``writes`` keeps every command received.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError

from firmware_bridge.virtual_pump import check_speed
from letdown_detect.sources.scales import acaia, bookoo, decent, felicita, weight_service
from letdown_detect.sources.scales.base import BATTERY_SERVICE_UUID, G_PER_OZ

_SCALES: dict[str, VirtualScale] = {}
#: Payload of one notification at BLE's default MTU (23 - 3), bytes.
NOTIFY_BYTES = 20
#: How often a scale advertises, host seconds.
ADVERT_S = 0.05


@dataclass(frozen=True)
class _Protocol:
    """How one kind of scale talks: GATT layout, what it waits for, what it sends."""

    service: str
    notify: str
    write: str | None
    name: str
    weight: Callable[[VirtualScale, float], bytes]
    status: Callable[[VirtualScale], bytes | None] = lambda scale: None
    button: Callable[[str], bytes | None] = lambda name: None
    needs: tuple[bytes, ...] = ()
    """Commands it must receive before streaming."""
    heartbeat: bytes | None = None
    """The keep-alive it waits for, if any."""
    heartbeat_timeout_s: float = 5.0
    tare: Callable[[bytes], bool] = lambda data: False
    byte_stream: bool = False
    """Frames are a byte stream cut into 20-byte notifications (a UART-over-BLE bridge),
    so a frame can span two notifications."""


def _acaia_weight(scale: VirtualScale, grams: float) -> bytes:
    shown = grams / G_PER_OZ if scale.ounces else grams
    return acaia.weight_frame(shown, decimals=2 if scale.ounces else 1)


PROTOCOLS: dict[str, _Protocol] = {
    "acaia": _Protocol(
        service=acaia.SERVICE_UUID,
        notify=acaia.NOTIFY_UUID,
        write=acaia.WRITE_UUID,
        name="LUNAR-0A1B2C",
        weight=_acaia_weight,
        status=lambda s: acaia.settings_frame(s.battery_pct, s.ounces),
        button=lambda name: acaia.button_frame(0) if name == "tare" else None,
        needs=(acaia.IDENTIFY, acaia.NOTIFICATION_REQUEST),
        heartbeat=acaia.HEARTBEAT,
        tare=lambda data: data == acaia.TARE,
        byte_stream=True,
    ),
    "bookoo": _Protocol(
        service=bookoo.SERVICE_UUID,
        notify=bookoo.NOTIFY_UUID,
        write=bookoo.WRITE_UUID,
        name="BOOKOO_SC 232759",
        weight=lambda s, g: bookoo.weight_frame(g, round(s.now_s() * 1000), s.battery_pct),
        tare=lambda data: data == bookoo.TARE,
    ),
    "decent": _Protocol(
        service=decent.SERVICE_UUID,
        notify=decent.NOTIFY_UUID,
        write=decent.WRITE_UUID,
        name="Decent Scale",
        weight=lambda s, g: decent.weight_frame(g, timer_s=s.now_s() % 3600),
        button=lambda name: decent.button_frame(1) if name == "tare" else None,
        heartbeat=decent.KEEP_ALIVE,
        tare=lambda data: (
            len(data) == 7 and data[:3] == b"\x03\x0f\xfd" and data == decent.tare(data[3])
        ),
    ),
    "felicita": _Protocol(
        service=felicita.SERVICE_UUID,
        notify=felicita.DATA_UUID,
        write=felicita.DATA_UUID,
        name="FELICITA",
        weight=lambda s, g: felicita.weight_frame(
            g / G_PER_OZ if s.ounces else g, s.ounces, s.battery_pct
        ),
        tare=lambda data: data == felicita.TARE,
    ),
    "weight-service": _Protocol(
        service=weight_service.SERVICE_UUID,
        notify=weight_service.MEASUREMENT_UUID,
        write=None,
        name="Kitchen Scale",
        weight=lambda s, g: weight_service.measurement(max(0.0, g), imperial=s.ounces),
    ),
}


class VirtualScale:
    """A virtual scale reachable over bleak while registered (inside its ``with`` block).

    Args:
        kind: ``acaia``, ``bookoo``, ``decent``, ``felicita`` or ``weight-service``.
        t_s: sample times of the weight session, s.
        weight_g: the weight on the scale at those times, g.
        address: Bluetooth address it answers to.
        name: advertised name (default: the kind's usual one).
        speed: session seconds per second (1 = real time).
        rate_hz: notification rate, Hz (default: 10; 5 for the Weight Scale Service).
        rssi: advertised signal strength, dBm.
        battery_pct: battery it reports, percent.
        seed: seed of the burst sizes.
    """

    def __init__(
        self,
        kind: str,
        t_s: np.ndarray,
        weight_g: np.ndarray,
        address: str = "C0:FF:EE:00:00:01",
        name: str | None = None,
        speed: float = 1.0,
        rate_hz: float | None = None,
        rssi: int = -60,
        battery_pct: int = 80,
        seed: int = 0,
    ) -> None:
        check_speed(speed)
        if not math.isfinite(speed):
            raise ValueError("a virtual scale plays in (scaled) real time: give a finite speed")
        self.kind = kind
        self.protocol = PROTOCOLS[kind]
        self.address = address.upper()
        self.name = name or self.protocol.name
        self.speed = speed
        self.rate_hz = rate_hz or (5.0 if kind == "weight-service" else 10.0)
        self.rssi = rssi
        self.battery_pct = battery_pct
        step = max(1, round(1.0 / self.rate_hz / float(np.median(np.diff(t_s)))))
        self.t_s = np.asarray(t_s, dtype=float)[::step]
        self.weight_g = np.asarray(weight_g, dtype=float)[::step]
        self.available = True
        self.silent = False
        self.ounces = False
        self.connections = 0
        self.writes: list[bytes] = []
        self.tares = 0
        self.heartbeats = 0
        self.notifications = 0
        self.offset_g = 0.0
        self.finished = asyncio.Event()
        self._rng = np.random.default_rng(seed)
        self._t0: float | None = None
        self._heard: set[bytes] = set()
        self._last_heartbeat_s = 0.0
        self._client: VirtualScaleClient | None = None
        self._buttons: list[str] = []
        self._unit_switch_at_s: float | None = None
        self._drop_at: tuple[float, float] | None = None

    def __enter__(self) -> VirtualScale:
        _SCALES[self.address] = self
        return self

    def __exit__(self, *exc: object) -> None:
        _SCALES.pop(self.address, None)

    # --- what a test can do to it -----------------------------------------

    def now_s(self) -> float:
        """Session time on the scale's clock, s (0 until the first connection)."""
        if self._t0 is None:
            return 0.0
        return (asyncio.get_running_loop().time() - self._t0) * self.speed

    def set_available(self, available: bool) -> None:
        """Whether it answers connects and adverts (False = out of range)."""
        self.available = available

    def drop_link(self, available: bool = True) -> None:
        """Break the current connection as a radio would."""
        self.available = available
        client, self._client = self._client, None
        if client is not None:
            client.lose_link()

    def go_silent(self) -> None:
        """Stay connected but stop notifying, until the next connection."""
        self.silent = True

    def press(self, button: str) -> None:
        """Press a button on the scale (``tare`` zeroes it, as the real one does)."""
        self._buttons.append(button)

    def drop_link_at(self, t_s: float, away_s: float) -> None:
        """Break the link at session time ``t_s`` and stay out of range for ``away_s``."""
        self._drop_at = (t_s, away_s)

    def switch_to_ounces_at(self, t_s: float) -> None:
        """Switch the display unit to ounces at session time ``t_s``."""
        self._unit_switch_at_s = t_s

    # --- the peripheral ---------------------------------------------------

    def _attach(self, client: VirtualScaleClient) -> None:
        if not self.available:
            raise BleakDeviceNotFoundError(self.address, "virtual scale is out of range")
        if self._t0 is None:
            self._t0 = asyncio.get_running_loop().time()
        self._client = client
        self.connections += 1
        self.silent = False
        self._heard = set()
        self._last_heartbeat_s = self.now_s()

    def _detach(self, client: VirtualScaleClient) -> None:
        if self._client is client:
            self._client = None

    def _receive(self, data: bytes) -> None:
        self.writes.append(data)
        self._heard.add(data)
        if data == self.protocol.heartbeat:
            self.heartbeats += 1
            self._last_heartbeat_s = self.now_s()
        if self.protocol.tare(data):
            self._zero()

    def _zero(self) -> None:
        self.tares += 1
        self.offset_g = self._gross(self.now_s())

    def _gross(self, t_s: float) -> float:
        i = int(np.searchsorted(self.t_s, t_s, side="right")) - 1
        return float(self.weight_g[max(0, min(i, self.weight_g.size - 1))])

    def _streaming(self) -> bool:
        if self.silent or not all(m in self._heard for m in self.protocol.needs):
            return False
        if self.protocol.heartbeat is None:
            return True
        return self.now_s() - self._last_heartbeat_s <= self.protocol.heartbeat_timeout_s

    async def _stream(self, callback: NotifyCallback) -> None:
        """Notify weights in bursts of 2-4, paced by the session clock, until the session ends."""
        sent_status_s = -math.inf
        while True:
            now = self.now_s()
            i = int(np.searchsorted(self.t_s, now, side="right"))
            if i >= self.t_s.size:
                self.finished.set()
                return
            burst = int(self._rng.integers(2, 5))
            last = min(i + burst, self.t_s.size) - 1
            await asyncio.sleep(max(0.0, (self.t_s[last] - now) / self.speed))
            if self._unit_switch_at_s is not None and self.now_s() >= self._unit_switch_at_s:
                self.ounces, self._unit_switch_at_s = True, None
                sent_status_s = -math.inf  # the scale says so at once
            if self._drop_at is not None and self.now_s() >= self._drop_at[0]:
                away_s, self._drop_at = self._drop_at[1], None
                asyncio.get_running_loop().call_later(away_s / self.speed, self.set_available, True)
                self.drop_link(available=False)
                return
            if not self._streaming():
                continue
            packets = [
                self.protocol.weight(self, self.weight_g[k] - self.offset_g)
                for k in range(i, last + 1)
            ]
            if self.now_s() - sent_status_s >= 1.0:
                sent_status_s = self.now_s()
                status = self.protocol.status(self)
                packets = ([status] if status else []) + packets
            while self._buttons:
                name = self._buttons.pop(0)
                if name == "tare":
                    self._zero()
                press = self.protocol.button(name)
                if press:
                    packets.append(press)
            if self.protocol.byte_stream:
                joined = b"".join(packets)
                packets = [
                    joined[k : k + NOTIFY_BYTES] for k in range(0, len(joined), NOTIFY_BYTES)
                ]
            for packet in packets:
                callback(bytearray(packet))
                self.notifications += 1
                await asyncio.sleep(0.003 / self.speed)  # a burst: a few ms apart


def _services(protocol: _Protocol) -> BleakGATTServiceCollection:
    services = BleakGATTServiceCollection()
    service = BleakGATTService(None, 1, protocol.service)
    services.add_service(service)
    if protocol.write is not None and protocol.write != protocol.notify:
        chars = [(protocol.notify, ["notify"]), (protocol.write, ["write-without-response"])]
    elif protocol.write is not None:
        chars = [(protocol.notify, ["notify", "write-without-response"])]
    else:
        chars = [(protocol.notify, ["indicate"])]
    for handle, (uuid, props) in enumerate(chars, start=3):
        services.add_characteristic(
            BleakGATTCharacteristic(None, handle * 2, uuid, props, lambda: 20, service)
        )
    return services


class VirtualScaleClient(BaseBleakClient):
    """bleak client backend that talks to a registered ``VirtualScale``."""

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.pop("disconnected_callback", None),
            timeout=kwargs.pop("timeout", 10.0),
        )
        self.address = self.address.upper()
        self._scale: VirtualScale | None = None
        self._task: asyncio.Task | None = None

    @property
    def name(self) -> str:
        """The scale's advertised name."""
        return self._device().name

    @property
    def mtu_size(self) -> int:
        """The MTU, bytes (BLE's default)."""
        return 23

    @property
    def is_connected(self) -> bool:
        """True while the link is up."""
        return self._scale is not None

    def _device(self) -> VirtualScale:
        scale = _SCALES.get(self.address)
        if scale is None:
            raise BleakDeviceNotFoundError(self.address, "no virtual scale has this address")
        return scale

    def _connected(self) -> VirtualScale:
        if self._scale is None:
            raise BleakError("Not connected")
        return self._scale

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect and discover the scale's service."""
        scale = self._device()
        scale._attach(self)
        self._scale = scale
        self.services = _services(scale.protocol)

    async def disconnect(self) -> None:
        """Disconnect on request (no disconnected callback, as in bleak)."""
        scale, self._scale = self._scale, None
        self._stop_stream()
        if scale is not None:
            scale._detach(self)

    def lose_link(self) -> None:
        """The radio link broke: stop, then tell bleak's disconnected callback."""
        self._scale = None
        self._stop_stream()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    def _stop_stream(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to pair."""

    async def unpair(self) -> None:
        """Nothing to unpair."""

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Scales have nothing to read."""
        raise BleakError(f"characteristic {characteristic.uuid} cannot be read")

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """No descriptors."""
        raise BleakError("the virtual scale has no descriptors")

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        """A command to the scale (identification, heartbeat, tare...)."""
        scale = self._connected()
        if characteristic.uuid != scale.protocol.write:
            raise BleakError(f"characteristic {characteristic.uuid} cannot be written")
        scale._receive(bytes(data))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        """No descriptors."""
        raise BleakError("the virtual scale has no descriptors")

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Start the stream of weights."""
        scale = self._connected()
        if characteristic.uuid != scale.protocol.notify:
            raise BleakError(f"characteristic {characteristic.uuid} does not notify")
        self._stop_stream()
        self._task = asyncio.get_running_loop().create_task(scale._stream(callback))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Stop the stream."""
        self._stop_stream()


class VirtualScaleScanner(BaseBleakScanner):
    """bleak scanner backend that sees every registered, available ``VirtualScale``."""

    def __init__(
        self,
        detection_callback: Callable[..., Any] | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._scanning = False

    async def start(self) -> None:
        """Start scanning; adverts arrive from the next loop turn on, every ``ADVERT_S``."""
        self.seen_devices = {}
        self._scanning = True
        asyncio.get_running_loop().call_soon(self._advertise)

    async def stop(self) -> None:
        """Stop scanning."""
        self._scanning = False

    def _advertise(self) -> None:
        if not self._scanning:
            return
        asyncio.get_running_loop().call_later(ADVERT_S, self._advertise)
        for scale in list(_SCALES.values()):
            uuids = [scale.protocol.service]
            if not scale.available or not self.is_allowed_uuid(uuids):
                continue
            service_data = {}
            if scale.kind == "weight-service":  # the SIG way to say the battery charge
                service_data[BATTERY_SERVICE_UUID] = bytes([scale.battery_pct])
            advert = AdvertisementData(
                local_name=scale.name,
                manufacturer_data={},
                service_data=service_data,
                service_uuids=uuids,
                tx_power=None,
                rssi=scale.rssi,
                platform_data=(),
            )
            device = self.create_or_update_device(
                scale.address, scale.address, scale.name, None, advert
            )
            self.call_detection_callbacks(device, advert)
