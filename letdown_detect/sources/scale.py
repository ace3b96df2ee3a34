"""Bluetooth kitchen and coffee scales as a weight source, by name (``--scale acaia``).

One connection path for every scale: find it (by address, by advertised name,
or the first one nearby that its adapter recognises), connect through bleak
(``backend=`` and ``scanner_backend=`` pass straight through, so tests plug
in a virtual scale), subscribe, send the adapter's init messages, keep it
streaming with its heartbeat, and turn each notification into ``weight_g``
samples. Samples are stamped with their arrival time: scale notifications
come in bursts of 2-4 a few ms apart, which the detector is built for. The
scales' own timers are stopwatches the parent can stop or reset with a
button, so they are decoded (``Reading.scale_time_s``) but not used as the
clock. A scale that goes quiet for ``silence_s`` counts as a lost link, so the
live session reports it and reconnects.

It is a :class:`~letdown_detect.sources.device.DeviceSource`: it supplies the
connection (find, connect, subscribe, initialise, heartbeat), the notifications
received and the disconnect; the first-samples wait and idle reads are the
base's, shared with the serial and BLE sources, and so is the session's
reconnect loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

import numpy as np

from ..clock import Clock
from ..errors import ConfigError, DeviceError
from ..model import SampleBlock
from . import Arrival, LinkLostError, SourceInfo
from .ble import LOST, connect_error, looks_like_address, next_notification
from .device import DeviceSource
from .scales import SCALES
from .scales import adapter as scale_adapter

CHANNELS = ("weight_g",)
#: Spacing given to several weights decoded from one notification, s.
_SAME_NOTIFICATION_S = 1e-3


class ScaleSource(DeviceSource):
    """Read a Bluetooth scale's weight.

    Args:
        target: the scale's registry name (``acaia``, ``bookoo``, ``decent``,
            ``felicita``, ``weight-service``).
        clock: gives the host time of each notification and paces heartbeats.
        ble: the scale's address or advertised name (``None``: the first one nearby).
        backend: bleak client backend class (``None``: the platform's).
        scanner_backend: bleak scanner backend class.
        tare: tare once when the session first connects.
        scan_timeout_s: how long to look for the scale, s.
        first_samples_s: how long ``open`` waits for the first weight, s.
        idle_s: ``read`` returns an empty block after this long without notifications, s.
        silence_s: no weight for this long counts as a lost link, s.
    """

    def __init__(
        self,
        target: str,
        *,
        clock: Clock,
        ble: str | None = None,
        backend: type | None = None,
        scanner_backend: type | None = None,
        tare: bool = False,
        scan_timeout_s: float = 10.0,
        first_samples_s: float = 5.0,
        idle_s: float = 0.5,
        silence_s: float = 3.0,
    ) -> None:
        super().__init__(
            clock=clock, channel=CHANNELS[0], first_samples_s=first_samples_s, idle_s=idle_s
        )
        self.adapter = scale_adapter(target)
        if tare and self.adapter.tare_command is None:
            raise ConfigError(
                f"--tare: a {self.adapter.name} scale takes no tare command over Bluetooth; "
                "zero it with its own button before the session",
                "tare",
            )
        self.target = target
        self.ble = ble
        self.backend = backend
        self.scanner_backend = scanner_backend
        self.tare_at_start = tare
        self.scan_timeout_s = scan_timeout_s
        self.silence_s = silence_s
        self.description = f"scale:{self.adapter.name}" + (f" {ble}" if ble else "")
        #: Last battery charge the scale reported, percent.
        self.battery_pct: int | None = None
        #: Buttons pressed on the scale, by name.
        self.buttons: Counter[str] = Counter()
        #: Notifications with undecodable bytes.
        self.garbage_notifications = 0
        #: Tare commands sent, over every connection.
        self.tares_sent = 0
        self.device: str = self.adapter.model(None)
        self._unit = "g"
        self._client: Any = None
        self._write_uuid: str | None = None
        self._tares_this_link = 0
        self._heartbeat: asyncio.Task | None = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._pending: list[tuple[float, float]] = []
        self._last_weight_host_s: float | None = None
        self._tared = False
        self._found: str | None = None
        self._carry = b""

    async def _connect(self) -> None:
        """Find the scale, connect, subscribe, initialise, start its heartbeat (and tare)."""
        from bleak import BleakClient
        from bleak.exc import BleakError

        self._queue = asyncio.Queue()
        try:
            device = await self._find()
            client = BleakClient(device, self._on_disconnect, backend=self.backend)
            await client.connect()
            self._client = client
            notify_uuid, self._write_uuid = self._characteristics(client)
            await client.start_notify(notify_uuid, self._on_notify)
            for message in self.adapter.init_messages:
                await self._write(message)
        except DeviceError:
            await self.close()
            raise
        except (BleakError, asyncio.TimeoutError, OSError) as exc:
            await self.close()
            raise connect_error(self._where(), exc) from None
        self._tares_this_link = 0
        if self.adapter.heartbeat_s is not None and self.adapter.heartbeat:
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat())
        if self.tare_at_start and not self._tared:
            self._tared = True
            await self.tare()

    async def _receive(self, timeout_s: float) -> tuple[bytes, float] | None:
        return await next_notification(
            self._queue, timeout_s, "the Bluetooth link to the scale dropped"
        )

    async def _disconnect(self) -> None:
        """Stop the heartbeat and disconnect (safe to call twice)."""
        task, self._heartbeat = self._heartbeat, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()
        self._last_weight_host_s = None
        self._carry = b""

    def _where(self) -> str:
        return self.ble or self._found or self.adapter.name

    def _silence_hint(self) -> str:
        return f"; is --scale {self.adapter.name} the right kind? (supported: {', '.join(SCALES)})"

    def _source_info(self) -> SourceInfo:
        return SourceInfo(
            channels=CHANNELS,
            sample_rate_hz=self.adapter.rate_hz,
            device=self.device,
            device_time=True,
        )

    async def read(self) -> Arrival | None:
        """The weights that arrived (an empty block after ``idle_s``).

        Raises:
            LinkLostError: the link dropped, or the scale sent no weight for ``silence_s``.
        """
        arrival = await super().read()
        last = self._last_weight_host_s
        now = self.clock.monotonic()
        if not len(arrival.block) and last is not None and now - last > self.silence_s:
            raise LinkLostError(f"the scale sent no weight for {now - last:.1f} s")
        return arrival

    @property
    def can_tare(self) -> bool:
        """The scale takes a tare command over Bluetooth (the ``t`` key works)."""
        return self.adapter.tare_command is not None

    async def tare(self) -> None:
        """Send the scale's tare command (the ``t`` key, ``--tare``); no-op for scales without."""
        from bleak.exc import BleakError

        if self.adapter.tare_command is None or self._client is None:
            return
        try:
            await self._write(self.adapter.tare_command(self._tares_this_link))
        except (BleakError, OSError):  # the link is going; the disconnect callback says so
            return
        self._tares_this_link += 1
        self.tares_sent += 1

    # --- helpers --------------------------------------------------------

    async def _find(self) -> Any:
        if self.ble is not None and looks_like_address(self.ble):
            return self.ble
        if self._found is not None:  # a reconnect: the same scale, straight by its address
            return self._found
        from bleak import BleakScanner

        wanted = self.ble

        def match(device: Any, adv: Any) -> bool:
            name = adv.local_name or device.name
            if wanted is not None:
                return name == wanted
            return self.adapter.matches(name, adv.service_uuids, adv.manufacturer_data)

        device = await BleakScanner.find_device_by_filter(
            match, timeout=self.scan_timeout_s, backend=self.scanner_backend
        )
        if device is None:
            what = (
                f"Bluetooth LE scale named {wanted!r}" if wanted else f"{self.adapter.vendor} scale"
            )
            raise DeviceError(
                wanted or self.adapter.name,
                f"no {what} answered within {self.scan_timeout_s:g} s; "
                "is it switched on, awake and not connected to a phone app? "
                "`letdown scan` lists what is around",
            )
        self.device = self.adapter.model(device.name)
        self._found = device.address
        return device

    def _characteristics(self, client: Any) -> tuple[str, str | None]:
        if client.services.get_characteristic(self.adapter.notify_uuid) is not None:
            return self.adapter.notify_uuid, self.adapter.write_uuid
        raise DeviceError(
            self.ble or self.adapter.name,
            f"this device has no {self.adapter.vendor} weight characteristic "
            f"({self.adapter.notify_uuid}); is it the right --scale?",
        )

    async def _write(self, data: bytes) -> None:
        if self._client is None or self._write_uuid is None:
            return
        await self._client.write_gatt_char(self._write_uuid, data, response=False)

    async def _beat(self) -> None:
        from bleak.exc import BleakError

        while True:
            await self.clock.sleep(self.adapter.heartbeat_s or 1.0)
            for message in self.adapter.heartbeat:
                # a failed write means the link is going: the disconnect callback says so
                with contextlib.suppress(BleakError, OSError):
                    await self._write(message)

    def _feed(self, data: bytes, host_s: float) -> None:
        readings = self.adapter.decode(self._carry + data, self._unit)
        self._carry = b"".join(r.remainder for r in readings)
        weights = [r.weight_g for r in readings if r.weight_g is not None]
        for reading in readings:
            if reading.garbage_bytes:
                self.stats.bytes_discarded += reading.garbage_bytes
                self.garbage_notifications += 1
            if reading.unit is not None:
                self._unit = reading.unit
            if reading.battery_pct is not None:
                self.battery_pct = reading.battery_pct
            if reading.button is not None:
                self.buttons[reading.button] += 1
        for i, grams in enumerate(weights):
            self._pending.append((host_s - (len(weights) - 1 - i) * _SAME_NOTIFICATION_S, grams))
        if weights:
            self._last_weight_host_s = host_s

    def _has_samples(self) -> bool:
        return bool(self._pending)

    def _take(self) -> SampleBlock:
        pending, self._pending = self._pending, []
        if not pending:
            return SampleBlock(np.empty(0), np.empty((0, 1)), CHANNELS)
        t, grams = np.array(pending).T
        return SampleBlock(t, grams[:, None], CHANNELS)

    def _on_notify(self, *args: Any) -> None:
        # bleak calls (characteristic, data); the data is always last
        self._queue.put_nowait((bytes(args[-1]), self.clock.monotonic()))

    def _on_disconnect(self, client: Any) -> None:
        self._queue.put_nowait(LOST)
