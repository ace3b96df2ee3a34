"""Firmware logic under CPython with small fakes of MicroPython's hardware modules.

The fakes stand in for what a board provides (``machine``, ``micropython``,
``bluetooth`` and the ``time.ticks_*`` functions); everything above them is the
firmware's own code, and its bytes go through the host decoder. A last test
compiles every firmware file with ``mpy-cross``, and one drives the virtual BLE
peripheral (the same GATT service) through bleak's ``backend=`` hook.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import os
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

import firmware_bridge
from firmware_bridge import DeviceInfo, SampleFrame, StatusFrame, StreamDecoder, ble_gatt, protocol

FIRMWARE = Path(firmware_bridge.__file__).parent / "firmware"
FIRMWARE_MODULES = ("config", "hx711", "sampler", "usb_link", "ble_link", "main")
TICKS_PERIOD = 2**30  # ticks_ms wraps here on most MicroPython ports


class FakeClock:
    """MicroPython's ``time.ticks_*`` on a clock the test moves."""

    def __init__(self, start_ms: int) -> None:
        self.now_ms = start_ms

    def ticks_ms(self) -> int:
        return self.now_ms % TICKS_PERIOD

    @staticmethod
    def ticks_diff(a: int, b: int) -> int:
        return (a - b + TICKS_PERIOD // 2) % TICKS_PERIOD - TICKS_PERIOD // 2

    @staticmethod
    def ticks_add(a: int, delta: int) -> int:
        return (a + delta) % TICKS_PERIOD

    def sleep_ms(self, ms: int) -> None:
        self.now_ms += ms


class FakeHX711Chip:
    """The chip behind two pins: shifts a 24-bit conversion out on SCK rising edges.

    ``continuous``: a new conversion of the same load is ready right after each
    read (the chip's 80 SPS outpaces the firmware's reads).
    """

    def __init__(self) -> None:
        self.dout_level = 1
        self.pulses = 0
        self.continuous = False
        self._bits = 0

    def convert(self, counts: int) -> None:
        """A conversion is ready: DOUT goes low."""
        self._bits, self.pulses, self.dout_level = counts & 0xFFFFFF, 0, 0

    def rising_edge(self) -> None:
        self.pulses += 1
        if self.pulses <= 24:
            self.dout_level = (self._bits >> (24 - self.pulses)) & 1
        elif self.continuous and self.pulses == 25:
            self.convert(self._bits)
        else:
            self.dout_level = 1  # busy until the next conversion


def _fake_machine(chips: dict[tuple[int, int], FakeHX711Chip], adc_levels: dict[int, int]):
    machine = types.ModuleType("machine")
    sck_of = {sck: chip for (_, sck), chip in chips.items()}
    dout_of = {dout: chip for (dout, _), chip in chips.items()}

    class Pin:
        IN, OUT, PULL_UP = 0, 1, 2

        def __init__(self, pin_id: int, mode: int | None = None, pull: int | None = None):
            self.id, self.level = pin_id, 0

        def value(self, level: int | None = None):
            if level is None:
                chip = dout_of.get(self.id)
                return chip.dout_level if chip else self.level
            if level and not self.level and self.id in sck_of:
                sck_of[self.id].rising_edge()
            self.level = level
            return None

    class ADC:
        def __init__(self, pin: Pin) -> None:
            self.pin_id = pin.id

        def read_u16(self) -> int:
            return adc_levels[self.pin_id]

    class Timer:
        PERIODIC = 1
        started: ClassVar[list] = []

        def __init__(self, timer_id: int) -> None:
            self.id, self.callback = timer_id, None

        def init(self, freq: float, mode: int, callback) -> None:
            self.freq, self.callback = freq, callback
            Timer.started.append(self)

        def deinit(self) -> None:
            self.callback = None

    machine.Pin, machine.ADC, machine.Timer = Pin, ADC, Timer
    machine.disable_irq = lambda: 1
    machine.enable_irq = lambda state: None
    return machine


def _fake_micropython():
    micropython = types.ModuleType("micropython")
    micropython.const = lambda value: value
    micropython.queue = []
    micropython.schedule = lambda fn, arg: micropython.queue.append((fn, arg))
    return micropython


class FakeBLE:
    """``bluetooth.BLE`` as the firmware uses it; records what a central would see."""

    def __init__(self) -> None:
        self.values: dict[int, bytes] = {}
        self.notified: list[tuple[int, int, bytes]] = []
        self.adverts: list[tuple[bytes, bytes]] = []
        self.config_calls: dict[str, object] = {}
        self.services = None
        self.handler = None

    def active(self, on: bool) -> None:
        self.on = on

    def config(self, **kwargs) -> None:
        self.config_calls.update(kwargs)

    def irq(self, handler) -> None:
        self.handler = handler

    def gatts_register_services(self, services):
        self.services = services
        return ((3, 5, 7),)

    def gatts_set_buffer(self, handle: int, size: int) -> None:
        self.values[handle] = b""

    def gatts_write(self, handle: int, data: bytes) -> None:
        self.values[handle] = bytes(data)

    def gatts_read(self, handle: int) -> bytes:
        return self.values[handle]

    def gatts_notify(self, conn: int, handle: int, data: bytes) -> None:
        assert len(data) <= ble_gatt.PREFERRED_MTU - 3, "a frame must fit one notification"
        self.notified.append((conn, handle, bytes(data)))

    def gap_advertise(self, interval_us: int, adv_data: bytes, resp_data: bytes) -> None:
        self.adverts.append((adv_data, resp_data))

    # what a central does
    def central_connects(self, conn: int) -> None:
        self.handler(1, (conn, 0, b"\x00" * 6))

    def central_writes(self, conn: int, handle: int, data: bytes) -> None:
        self.values[handle] = data
        self.handler(3, (conn, handle))


def _fake_bluetooth():
    bluetooth = types.ModuleType("bluetooth")

    class UUID:
        def __init__(self, text: str) -> None:
            self.text = text

        def __bytes__(self) -> bytes:
            return bytes.fromhex(self.text.replace("-", ""))[::-1]  # little-endian on air

        def __eq__(self, other: object) -> bool:
            return isinstance(other, UUID) and other.text == self.text

    bluetooth.UUID = UUID
    bluetooth.BLE = FakeBLE
    return bluetooth


@pytest.fixture
def board(monkeypatch):
    """Fresh firmware modules on a fake board; returns a namespace to drive it."""
    chips = {(16, 17): FakeHX711Chip(), (18, 19): FakeHX711Chip()}
    adc_levels = {34: 0, 35: 0}
    clock = FakeClock(start_ms=TICKS_PERIOD - 1500)  # ticks_ms wraps 1.5 s in
    fakes = {
        "machine": _fake_machine(chips, adc_levels),
        "micropython": _fake_micropython(),
        "bluetooth": _fake_bluetooth(),
        "protocol": protocol,
        "ble_gatt": ble_gatt,
    }
    for name, module in fakes.items():
        monkeypatch.setitem(sys.modules, name, module)
    for name in ("ticks_ms", "ticks_diff", "ticks_add", "sleep_ms"):
        monkeypatch.setattr(time, name, getattr(clock, name), raising=False)
    monkeypatch.syspath_prepend(str(FIRMWARE))
    for name in FIRMWARE_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    modules = {name: importlib.import_module(name) for name in FIRMWARE_MODULES}
    yield types.SimpleNamespace(chips=chips, adc=adc_levels, clock=clock, fakes=fakes, **modules)
    for name in FIRMWARE_MODULES:
        sys.modules.pop(name, None)


def _config(board, **overrides):
    settings = {k: v for k, v in vars(board.config).items() if k.isupper()}
    settings.update(overrides)
    return types.SimpleNamespace(**settings)


def _run(board, device, seconds: float, on_tick=None) -> None:
    """Let the timer fire at the configured rate and the main loop run, ``seconds`` long."""
    timer = board.fakes["machine"].Timer.started[-1]
    period_ms = round(1000 / timer.freq)
    queue = board.fakes["micropython"].queue
    for i in range(round(seconds * 1000 / period_ms)):
        if on_tick:
            on_tick(i)
        timer.callback(timer)
        while queue:
            fn, arg = queue.pop(0)
            fn(arg)
        device.step(time.ticks_ms())
        board.clock.sleep_ms(period_ms)


@pytest.mark.parametrize("counts", [0, 1, 123456, -1, -8388608, 8388607])
def test_hx711_reads_signed_24_bit_counts(board, counts):
    chip = board.chips[(16, 17)]
    hx = board.hx711.HX711(16, 17)
    assert hx.read_raw() is None  # no conversion yet
    chip.convert(counts)
    assert hx.is_ready()
    assert hx.read_raw() == counts
    assert chip.pulses == 25  # 24 bits + 1 pulse: gain 128 again
    assert not hx.is_ready()


def test_tare_and_scale_give_grams(board):
    chip = board.chips[(16, 17)]
    cell = board.sampler.LoadCell(board.hx711.HX711(16, 17), grams_per_count=0.01)
    original = cell.read_counts

    def ready_then_read():
        chip.convert(5000)
        return original()

    cell.read_counts = ready_then_read
    assert board.sampler.tare(cell, samples=5)
    assert cell.offset == 5000
    chip.convert(5000 + 12_345)
    assert cell.read() == pytest.approx(123.45)


def test_tare_gives_up_when_the_sensor_never_answers(board):
    cell = board.sampler.LoadCell(board.hx711.HX711(16, 17), grams_per_count=0.01)
    assert not board.sampler.tare(cell, samples=5, timeout_ms=50)
    assert cell.offset == 0


def test_sampler_ring_buffer_counts_misses_and_overruns(board):
    chip = board.chips[(16, 17)]
    cell = board.sampler.LoadCell(board.hx711.HX711(16, 17), grams_per_count=1.0)
    sampler = board.sampler.Sampler([cell], rate_hz=20, capacity=4, timer_id=0)
    sampler.start()
    for i in range(6):
        if i != 2:
            chip.convert(100 + i)
        sampler._sample(1000 + 50 * i)
    assert (sampler.available(), sampler.overruns, sampler.misses) == (4, 2, 1)
    ticks, values = sampler.take(3)
    assert ticks == [1000, 1050, 1100]
    assert values[:2] == [100.0, 101.0] and np.isnan(values[2])
    assert sampler.take(10) == ([1150], [103.0])
    assert sampler.available() == 0


def test_usb_binary_stream_decodes_to_the_sensor_values(board):
    chip = board.chips[(16, 17)]
    cfg = _config(board, LINKS=("usb",), SENSOR="hx711")
    out = io.BytesIO()
    read_fd, write_fd = os.pipe()
    device = _device(board, cfg, [board.usb_link.UsbLink("binary", out, os.fdopen(read_fd, "rb"))])
    counts = [int(c) for c in np.random.default_rng(1).integers(-50_000, 50_000, 80)]
    _run(board, device, 4.0, on_tick=lambda i: chip.convert(counts[i]))
    os.close(write_fd)
    items = StreamDecoder().feed(out.getvalue())
    info = items[0]
    assert info == DeviceInfo(("weight_g",), 20.0, {"g_per_ml": 1.03}, "letdown-fw 1.0", 1)
    status = next(i for i in items if isinstance(i, StatusFrame))
    assert status.battery_pct is None and status.error_code == protocol.ERROR_NONE
    frames = [i for i in items if isinstance(i, SampleFrame)]
    values = np.concatenate([f.values[:, 0] for f in frames])
    expected = np.float32(np.array(counts) * cfg.GRAMS_PER_COUNT[0])
    np.testing.assert_array_equal(values, expected)
    times = np.concatenate([f.t_device_s for f in frames])
    np.testing.assert_allclose(np.diff(times), 0.05)  # steady across the ticks_ms wrap
    assert max(len(f.t_device_s) for f in frames) == cfg.SAMPLES_PER_FRAME


def test_usb_text_mode_and_tare_command(board):
    chip = board.chips[(16, 17)]
    cfg = _config(board, LINKS=("usb",), USB_MODE="text")
    out = io.BytesIO()
    read_fd, write_fd = os.pipe()
    link = board.usb_link.UsbLink("text", out, os.fdopen(read_fd, "rb"))
    device = _device(board, cfg, [link])
    chip.continuous = True
    _run(board, device, 1.0, on_tick=lambda i: chip.convert(4200 + i))
    assert not device.tared
    os.write(write_fd, b"t")  # the host asks for a tare
    _run(board, device, 1.0, on_tick=lambda i: chip.convert(4200))
    os.close(write_fd)
    assert device.tared
    frames = [i for i in StreamDecoder().feed(out.getvalue()) if isinstance(i, SampleFrame)]
    values = np.concatenate([f.values[:, 0] for f in frames])
    np.testing.assert_allclose(values[:20], (4200 + np.arange(20)) / 420.0, atol=0.0005)
    assert values[-1] == 0.0  # after the tare, the same load reads zero


def test_ble_link_advertises_the_service_and_notifies_frames(board):
    cfg = _config(board, SENSOR="pressure", DOUBLE=True, PA_PER_COUNT=(0.5, 0.25))
    ble = FakeBLE()
    link = board.ble_link.BleLink("letdown-test", ble)
    adv, resp = ble.adverts[0]
    assert len(adv) <= 31 and len(resp) <= 31
    assert bytes.fromhex(ble_gatt.SERVICE_UUID.replace("-", ""))[::-1] in adv
    assert resp.endswith(b"letdown-test")
    assert ble.config_calls["mtu"] == ble_gatt.PREFERRED_MTU
    device = _device(board, cfg, [link])
    ble.central_connects(conn=1)
    ticks = iter(range(10_000))

    def ramp(_: int) -> None:
        i = next(ticks)
        board.adc[34], board.adc[35] = 1000 + i, 2000 + 2 * i

    _run(board, device, 1.0, on_tick=ramp)  # samples 0-19, not tared
    ble.central_writes(1, 7, ble_gatt.COMMAND_TARE)  # tare during sample 20
    _run(board, device, 5.0, on_tick=ramp)  # past the next announcement (every 5 s)
    assert device.tared
    info = StreamDecoder().feed(ble.values[5])  # what a central reads from the info char
    assert info[0].channels == ("pressure_pa_left", "pressure_pa_right")
    decoder = StreamDecoder()
    items = [item for _, _, data in ble.notified for item in decoder.feed(data)]
    values = np.vstack([i.values for i in items if isinstance(i, SampleFrame)])
    i = np.arange(len(values))
    np.testing.assert_allclose(values[:21, 0], (1000 + i[:21]) * 0.5)
    np.testing.assert_allclose(values[:21, 1], (2000 + 2 * i[:21]) * 0.25)
    np.testing.assert_allclose(values[21:, 0], (i[21:] - 20) * 0.5)
    np.testing.assert_allclose(values[21:, 1], 2 * (i[21:] - 20) * 0.25)
    assert decoder.stats.lost_frames == 0 and decoder.stats.crc_errors == 0
    status = [i for i in items if isinstance(i, StatusFrame)]
    assert not status[0].tare_done and status[-1].tare_done


def test_build_wires_the_configured_board(board):
    cfg = _config(board, BOARD="rp2", SENSOR="pressure", DOUBLE=True, LINKS=())
    device = board.main.build(cfg)
    assert device.channels == ("pressure_pa_left", "pressure_pa_right")
    assert device.calibration == {"pa_per_ml": cfg.PA_PER_ML}
    assert device.sampler.timer_id == -1 and device.sampler.k == 2


def _device(board, cfg, links):
    device = board.main.build(_config(board, **{**vars(cfg), "LINKS": ()}))
    device.links = links
    device.sampler.start()
    return device


def test_every_firmware_file_compiles_with_mpy_cross(tmp_path):
    sources = [*sorted(FIRMWARE.glob("*.py")), FIRMWARE.parent / "protocol.py"]
    sources.append(FIRMWARE.parent / "ble_gatt.py")
    assert {p.stem for p in sources} >= {*FIRMWARE_MODULES, "protocol", "ble_gatt"}
    for source in sources:
        result = subprocess.run(
            [sys.executable, "-m", "mpy_cross", "-o", str(tmp_path / f"{source.stem}.mpy"),
             str(source)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, f"{source.name}: {result.stderr}"
        assert (tmp_path / f"{source.stem}.mpy").stat().st_size > 0


def test_mpy_cross_rejects_syntax_micropython_lacks(tmp_path):
    """The check has teeth: CPython-only syntax fails it."""
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\nprint(f'{x=}')\nmatch x:\n    case 1:\n        pass\n")
    result = subprocess.run(
        [sys.executable, "-m", "mpy_cross", "-o", str(tmp_path / "bad.mpy"), str(bad)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0


@pytest.mark.timeout(30)
def test_virtual_ble_peripheral_serves_the_simulated_session_through_bleak():
    from bleak import BleakClient, BleakScanner

    from firmware_bridge.virtual_ble import (
        VirtualPeripheral,
        VirtualPumpClient,
        VirtualPumpScanner,
    )
    from letdown_detect.sources.simulated import simulated_pump

    pump = simulated_pump(kind="weight_g", seed=2, duration_s=120, double=True)
    truth = pump.recording.data[["weight_g_left", "weight_g_right"]].to_numpy(np.float32)

    async def session() -> tuple[list, StreamDecoder, int]:
        with VirtualPeripheral(pump) as peripheral:
            found = await BleakScanner.find_device_by_name(
                "letdown-virtual", timeout=5, backend=VirtualPumpScanner
            )
            decoder, items, drops = StreamDecoder(), [], []
            client = BleakClient(found, lambda c: drops.append(c), backend=VirtualPumpClient)
            async with client:
                items += decoder.feed(await client.read_gatt_char(ble_gatt.INFO_CHAR_UUID))
                await client.start_notify(
                    ble_gatt.SAMPLES_CHAR_UUID, lambda _, data: items.extend(decoder.feed(data))
                )
                while sum(len(i.values) for i in items if isinstance(i, SampleFrame)) < 500:
                    await asyncio.sleep(0)
                peripheral.drop_link(lost_frames=3)
                assert drops and not client.is_connected
            async with BleakClient(found.address, backend=VirtualPumpClient) as again:
                await again.start_notify(
                    ble_gatt.SAMPLES_CHAR_UUID, lambda _, data: items.extend(decoder.feed(data))
                )
                await asyncio.wait_for(peripheral.finished.wait(), 20)
            return items, decoder, peripheral.connections

    items, decoder, connections = asyncio.run(session())
    assert isinstance(items[0], DeviceInfo) and items[0].channels == (
        "weight_g_left",
        "weight_g_right",
    )
    values = np.vstack([i.values for i in items if isinstance(i, SampleFrame)])
    assert connections == 2
    assert decoder.stats.lost_frames >= 3 and decoder.stats.crc_errors == 0
    # every sample that arrived is the simulator's, in order, apart from the lost frames
    rows = {tuple(row) for row in truth.tolist()}
    assert all(tuple(row) in rows for row in values.astype(np.float32).tolist())
    assert len(truth) - 3 * 10 <= len(values) < len(truth)
