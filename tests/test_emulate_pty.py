"""`letdown emulate serial` over a real pseudo-terminal, read with pyserial and the decoder."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import serial

from firmware_bridge import DeviceInfo, SampleFrame, StreamDecoder
from letdown_detect.sources.simulated import simulated_pump

pytestmark = pytest.mark.timeout(90)
#: Device clock 70 s before it wraps at 2**32 ms: the session crosses the wrap.
NEAR_WRAP_MS = 2**32 - 70_000


def _emulate(*options: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "letdown_detect", "emulate", "serial", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, proc.stdout.readline().strip()


def _read_all(path: str, decoder: StreamDecoder) -> list:
    """Everything the port delivers until the emulator closes it."""
    items = []
    with serial.Serial(path, timeout=0.1) as port:
        try:
            while True:
                items += decoder.feed(port.read(max(1, port.in_waiting)))
        except serial.SerialException:  # the virtual device went away: session over
            pass
    return items + decoder.finish()


def _samples(items: list) -> tuple[np.ndarray, np.ndarray]:
    frames = [i for i in items if isinstance(i, SampleFrame)]
    return np.concatenate([f.t_device_s for f in frames]), np.vstack([f.values for f in frames])


def test_binary_session_arrives_exactly_across_the_device_clock_wrap():
    proc, path = _emulate(
        "--speed", "inf", "--seed", "3", "--duration", "120", "--double",
        "--boot-ms", str(NEAR_WRAP_MS),
    )  # fmt: skip
    assert path.startswith("/dev/")
    decoder = StreamDecoder(default_channels=("weight_g",))
    items = _read_all(path, decoder)
    assert proc.wait(timeout=30) == 0
    truth = simulated_pump(kind="weight_g", seed=3, double=True, duration_s=120)
    data = truth.recording.data
    info = items[0]
    assert isinstance(info, DeviceInfo)
    assert info.channels == ("weight_g_left", "weight_g_right")
    assert info.sample_rate_hz == 20.0 and info.calibration == {"g_per_ml": 1.03}
    t_device_s, values = _samples(items)
    np.testing.assert_array_equal(
        values, data[["weight_g_left", "weight_g_right"]].to_numpy().astype(np.float32)
    )
    np.testing.assert_allclose(t_device_s - NEAR_WRAP_MS / 1000, data["t_s"], rtol=0, atol=1e-6)
    assert t_device_s[-1] * 1000 > 2**32  # unwrapped, still increasing
    stats = decoder.stats
    assert (stats.lost_frames, stats.crc_errors, stats.bytes_discarded) == (0, 0, 0)
    assert "Traceback" not in proc.stderr.read()


def test_text_session_arrives_to_the_printed_precision():
    proc, path = _emulate(
        "--speed", "inf", "--seed", "5", "--duration", "120", "--mode", "text",
        "--kind", "pressure_pa",
    )  # fmt: skip
    decoder = StreamDecoder(default_channels=("weight_g",))
    items = _read_all(path, decoder)
    assert proc.wait(timeout=30) == 0
    data = simulated_pump(kind="pressure_pa", seed=5, duration_s=120).recording.data
    info = next(i for i in items if isinstance(i, DeviceInfo))
    assert info.channels == ("pressure_pa",) and info.calibration == {"pa_per_ml": 5.0}
    t_device_s, values = _samples(items)
    np.testing.assert_allclose(values[:, 0], data["pressure_pa"], rtol=0, atol=0.0005 + 1e-9)
    np.testing.assert_allclose(t_device_s - 5.0, data["t_s"], rtol=0, atol=1e-6)
    assert decoder.stats.mode == "text" and decoder.stats.bad_lines == 0


def test_injected_faults_are_counted_and_every_decoded_sample_is_true():
    proc, path = _emulate(
        "--speed", "inf", "--seed", "7", "--duration", "300",
        "--faults", "garbage=0.1,drop=0.05,flip=0.05",
    )  # fmt: skip
    decoder = StreamDecoder(default_channels=("weight_g",))
    items = _read_all(path, decoder)
    assert proc.wait(timeout=30) == 0
    data = simulated_pump(kind="weight_g", seed=7, duration_s=300).recording.data
    t_device_s, values = _samples(items)
    true_values = dict(zip(np.round(data["t_s"] * 1000).astype(int), data["weight_g"], strict=True))
    device_ms = np.round(t_device_s * 1000).astype(int) - 5000
    assert all(
        np.float32(true_values[t]) == v for t, v in zip(device_ms, values[:, 0], strict=True)
    )
    assert 0.7 * len(data) < len(values) < len(data)
    stats = decoder.stats
    assert stats.lost_frames > 0 and stats.crc_errors > 0 and stats.resyncs > 0


def test_sigterm_stops_the_emulator_cleanly():
    proc, path = _emulate("--speed", "1", "--duration", "600")
    with serial.Serial(path, timeout=5) as port:
        decoder = StreamDecoder()
        deadline = time.monotonic() + 20
        while not decoder.stats.frames_ok and time.monotonic() < deadline:
            decoder.feed(port.read(max(1, port.in_waiting)))
        assert decoder.stats.frames_ok > 0  # streaming at real time
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert "Traceback" not in proc.stderr.read()


def test_bad_fault_spec_is_one_clear_line():
    proc = subprocess.run(
        [sys.executable, "-m", "letdown_detect", "emulate", "serial", "--faults", "bitrot=0.1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("letdown: unknown fault 'bitrot'")
    assert proc.stdout == ""
