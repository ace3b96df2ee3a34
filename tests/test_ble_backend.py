"""BLE sessions through bleak's own ``backend=`` hook, served by the virtual pump.

Real bleak code paths (BleakClient, BleakScanner, GATT lookups, the
disconnected callback); only the radio is virtual.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import numpy as np
import pytest
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason

from firmware_bridge.virtual_ble import VirtualPeripheral, VirtualPumpClient, VirtualPumpScanner
from firmware_bridge.virtual_pump import VirtualPump
from letdown_detect.clock import ScaledClock
from letdown_detect.commands.scan import scan
from letdown_detect.errors import DeviceError
from letdown_detect.live import LiveSession, SystemClock
from letdown_detect.pipeline import detect_recording
from letdown_detect.recording import read_recording
from letdown_detect.sinks.base import Sink
from letdown_detect.sinks.recorder import RecorderSink
from letdown_detect.sources import open_source
from letdown_detect.sources.simulate import SimConfig, simulate_session

pytestmark = pytest.mark.timeout(90)
SPEED = 20.0
SEED = 3  # a 90 s session with a letdown at 24 s
TRUTH = simulate_session(SimConfig(duration_s=90.0), SEED).recording
SENT = TRUTH.data["weight_g"].to_numpy().astype(np.float32).astype(float)


class Watch(Sink):
    """Keeps the last status; drops the radio link once, at ``drop_at_s``."""

    def __init__(self, peripheral=None, drop_at_s=None, away_s=0.0) -> None:
        self.peripheral, self.drop_at_s, self.away_s = peripheral, drop_at_s, away_s
        self.last = None

    async def on_status(self, e) -> None:
        status = self.last = e.status
        if self.drop_at_s is not None and status.t_s >= self.drop_at_s:
            self.drop_at_s = None
            self.peripheral.drop_link(lost_frames=20, available=False)
            asyncio.get_running_loop().call_later(
                self.away_s / SPEED, self.peripheral.set_available, True
            )


def _session(target: str, csv, watch: Watch, duration_s: float, **source_kw):
    clock = ScaledClock(SystemClock(), SPEED)
    source = open_source(f"ble:{target}", clock=clock, backend=VirtualPumpClient, **source_kw)
    session = LiveSession(
        source, [RecorderSink(csv), watch], clock=clock, duration_s=duration_s, backoff_s=(1, 2)
    )
    return asyncio.run(session.run())


def test_a_session_over_ble_gives_the_pumps_samples_and_events(tmp_path) -> None:
    watch = Watch()
    with VirtualPeripheral(VirtualPump(TRUTH), speed=SPEED) as pump:
        summary = _session(pump.address, tmp_path / "b.csv", watch, duration_s=80.0)
    rec = read_recording(tmp_path / "b.csv")
    got = rec.data["weight_g"].to_numpy()
    np.testing.assert_array_equal(got, SENT[: got.size])
    assert got.size > 0.9 * np.searchsorted(TRUTH.data["t_s"], 75.0)
    assert (watch.last.lost_frames, watch.last.crc_errors, watch.last.reconnects) == (0, 0, 0)
    assert rec.meta.device == "letdown virtual pump"
    assert len(summary.letdowns) == 1
    assert [e.to_dict() for e in detect_recording(rec)] == [e.to_dict() for e in summary.letdowns]


def test_found_by_name_through_the_scanner_backend(tmp_path) -> None:
    with VirtualPeripheral(VirtualPump(TRUTH), speed=SPEED, name="letdown-kitchen") as pump:
        _session(
            "letdown-kitchen",
            tmp_path / "n.csv",
            Watch(),
            duration_s=10.0,
            scanner_backend=VirtualPumpScanner,
        )
        assert pump.connections == 1
    assert len(read_recording(tmp_path / "n.csv").data) > 100


def test_a_dropped_link_reconnects_counts_lost_frames_and_keeps_the_letdown(tmp_path) -> None:
    with VirtualPeripheral(VirtualPump(TRUTH), speed=SPEED) as pump:
        watch = Watch(pump, drop_at_s=35.0, away_s=5.0)
        summary = _session(pump.address, tmp_path / "d.csv", watch, duration_s=60.0)
        assert pump.connections == 2
    assert watch.last.reconnects == 1
    assert watch.last.lost_frames == 20, "frames sent while nobody listened are counted"
    got = read_recording(tmp_path / "d.csv").data["weight_g"].to_numpy()
    assert np.isin(got, SENT).all()
    assert len(summary.letdowns) == 1 and summary.letdowns[0].onset_s < 35.0


def test_scan_lists_the_virtual_pump_marked_as_ours() -> None:
    with VirtualPeripheral(VirtualPump(TRUTH), address="F0:0D:00:00:00:07", rssi=-40):
        found = asyncio.run(scan(0.2, backend=VirtualPumpScanner))
    assert [(d.address, d.name, d.rssi_dbm, d.ours) for d in found] == [
        ("F0:0D:00:00:00:07", "letdown-virtual", -40, True)
    ]


def test_an_absent_device_is_one_clear_sentence() -> None:
    source = open_source("ble:F0:0D:00:00:00:99", clock=SystemClock(), backend=VirtualPumpClient)
    with pytest.raises(DeviceError) as error:
        asyncio.run(source.open())
    assert str(error.value) == (
        "F0:0D:00:00:00:99: no Bluetooth LE device with this address is in range; "
        "is it switched on? `letdown scan` lists what is around"
    )


def test_an_unknown_name_is_one_clear_sentence() -> None:
    source = open_source(
        "ble:my-pump",
        clock=SystemClock(),
        backend=VirtualPumpClient,
        scanner_backend=VirtualPumpScanner,
        scan_timeout_s=0.2,
    )
    with pytest.raises(DeviceError, match=r"^my-pump: no Bluetooth LE device with this name"):
        asyncio.run(source.open())


class BluetoothOffClient(VirtualPumpClient):
    async def connect(self, pair: bool, **kwargs: Any) -> None:
        raise BleakBluetoothNotAvailableError(
            "Bluetooth is powered off", BleakBluetoothNotAvailableReason.POWERED_OFF
        )


def test_bluetooth_off_is_one_clear_sentence() -> None:
    source = open_source("ble:F0:0D:00:00:00:01", clock=SystemClock(), backend=BluetoothOffClient)
    with pytest.raises(DeviceError, match="Bluetooth is off or there is no adapter"):
        asyncio.run(source.open())


SCALE_SERVICE = "0000181d-0000-1000-8000-00805f9b34fb"  # the standard Weight Scale service
WEIGHT_CHAR = "00002a9d-0000-1000-8000-00805f9b34fb"


class KitchenScaleClient(VirtualPumpClient):
    """A third-party scale: notifies int16 weights in units of 0.1 g, one per notification."""

    readings = (1000, 1003, 1010, 1020)

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        services = BleakGATTServiceCollection()
        service = BleakGATTService(None, 1, SCALE_SERVICE)
        services.add_service(service)
        services.add_characteristic(
            BleakGATTCharacteristic(None, 3, WEIGHT_CHAR, ["notify"], lambda: 20, service)
        )
        self.services = services
        self._peripheral = object()

    async def start_notify(self, characteristic, callback, **kwargs: Any) -> None:
        async def notify() -> None:
            for reading in self.readings:
                await asyncio.sleep(0.01)
                callback(bytearray(struct.pack("<h", reading)))

        self._task = asyncio.get_running_loop().create_task(notify())


def test_a_third_party_device_notifying_plain_numbers(tmp_path) -> None:
    clock = SystemClock()

    async def scenario() -> list[float]:
        source = open_source(
            "ble:AA:BB:CC:DD:EE:FF",
            clock=clock,
            backend=KitchenScaleClient,
            char=WEIGHT_CHAR,
            fmt="<h",
            scale=0.1,
            channel="weight_g",
        )
        info = await source.open()
        assert info.channels == ("weight_g",)
        values: list[float] = []
        while len(values) < 4:
            arrival = await source.read()
            values.extend(arrival.block.values[:, 0])
        await source.close()
        return values

    assert asyncio.run(scenario()) == pytest.approx([100.0, 100.3, 101.0, 102.0])
