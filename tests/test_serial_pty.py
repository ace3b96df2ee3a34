"""Serial sessions through a real pseudo-terminal: the virtual pump, read with pyserial.

The pump plays at SPEED x real time and the session runs on a clock SPEED x
faster too, so device time and host time keep the same pace, as with hardware.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time

import numpy as np
import pytest

from firmware_bridge.virtual_pump import Faults, VirtualPump
from firmware_bridge.virtual_serial import open_pty, serve
from letdown_detect.cli import main
from letdown_detect.clock import ScaledClock
from letdown_detect.errors import DeviceError, ProtocolError
from letdown_detect.live import LiveSession, SystemClock
from letdown_detect.pipeline import detect_recording
from letdown_detect.recording import Recording, read_recording
from letdown_detect.sinks.base import Sink
from letdown_detect.sinks.recorder import RecorderSink
from letdown_detect.sources import open_source
from letdown_detect.sources.simulate import SimConfig, simulate_session

pytestmark = pytest.mark.timeout(90)
SPEED = 20.0
SEED = 3  # a 90 s session with a letdown at 24 s
TRUTH = simulate_session(SimConfig(duration_s=90.0), SEED).recording


class StatusSink(Sink):
    def __init__(self) -> None:
        self.last = None

    async def on_status(self, e) -> None:
        self.last = e.status


@contextlib.contextmanager
def _plugged_in(pump: VirtualPump, pty, delay_s: float = 0.2):
    """The pump streams into ``pty`` from a thread; on exit it finishes, then is unplugged.

    Waiting for the pump before closing matters: a closed fd number is reused
    by the next pty, and a pump still writing would feed the next test.
    """

    def run() -> None:
        time.sleep(delay_s)
        serve(pump, pty, speed=SPEED, drain_timeout_s=0.2)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join(timeout=30)
        pty.close()


def _run(port: str, csv, duration_s: float, **session_kw):
    clock = ScaledClock(SystemClock(), SPEED)
    status = StatusSink()
    source = open_source(f"serial:{port}", clock=clock)
    session = LiveSession(
        source, [RecorderSink(csv), status], clock=clock, duration_s=duration_s, **session_kw
    )
    summary = asyncio.run(session.run())
    return summary, status.last, read_recording(csv)


def _offset_in_truth(values: np.ndarray, truth: np.ndarray) -> int:
    """Index of the truth sample the recording starts at (a few may predate the session)."""
    for k in range(60):
        if np.array_equal(truth[k : k + 20], values[:20]):
            return k
    raise AssertionError("the recorded samples are not the pump's")


def test_binary_session_over_a_pty_gives_the_pumps_samples_and_events(tmp_path) -> None:
    pty = open_pty()
    with _plugged_in(VirtualPump(TRUTH, mode="binary"), pty):
        summary, status, rec = _run(pty.path, tmp_path / "s.csv", duration_s=80.0)
    sent = TRUTH.data["weight_g"].to_numpy().astype(np.float32).astype(float)
    got = rec.data["weight_g"].to_numpy()
    k = _offset_in_truth(got, sent)
    np.testing.assert_array_equal(got, sent[k : k + got.size])
    # spacing comes from the device clock (ms), not from when the bytes arrived
    np.testing.assert_allclose(
        np.diff(rec.data["t_s"]),
        np.diff(TRUTH.data["t_s"])[k : k + got.size - 1],
        rtol=1e-3,
        atol=2e-3,
    )
    assert 78.0 < rec.data["t_s"].iloc[-1] < 80.0
    assert (status.lost_frames, status.crc_errors, status.reconnects) == (0, 0, 0)
    assert rec.meta.device == "letdown virtual pump"
    assert rec.meta.calibration == {"g_per_ml": 1.03}
    assert len(summary.letdowns) == 1
    assert [e.to_dict() for e in detect_recording(rec)] == [e.to_dict() for e in summary.letdowns]


def test_text_mode_is_detected_and_read_to_the_printed_precision(tmp_path) -> None:
    pty = open_pty()
    head = Recording(TRUTH.data[TRUTH.data["t_s"] < 35.0], TRUTH.meta)
    with _plugged_in(VirtualPump(head, mode="text", decimals=3), pty):
        _, status, rec = _run(pty.path, tmp_path / "t.csv", duration_s=30.0)
    sent = np.round(TRUTH.data["weight_g"].to_numpy(), 3)
    got = rec.data["weight_g"].to_numpy()
    k = _offset_in_truth(got, sent)
    np.testing.assert_allclose(got, sent[k : k + got.size], atol=5e-4)
    assert status.crc_errors == 0


def test_garbage_and_bit_flips_midstream_are_counted_and_the_session_goes_on(tmp_path) -> None:
    pty = open_pty()
    faults = Faults(garbage=0.05, drop=0.02, flip=0.03)
    head = Recording(TRUTH.data[TRUTH.data["t_s"] < 75.0], TRUTH.meta)
    with _plugged_in(VirtualPump(head, mode="binary", faults=faults, fault_seed=1), pty):
        _, status, rec = _run(pty.path, tmp_path / "g.csv", duration_s=60.0)
    assert status.crc_errors > 0 and status.lost_frames > 0
    sent = TRUTH.data["weight_g"].to_numpy().astype(np.float32).astype(float)
    got = rec.data["weight_g"].to_numpy()
    assert np.isin(got, sent).all(), "nothing corrupt reaches the recording"
    t = rec.data["t_s"].to_numpy()
    truth_t = TRUTH.data["t_s"].to_numpy()
    sent_meanwhile = np.searchsorted(truth_t, truth_t[0] + t[-1] - t[0])
    assert got.size > 0.85 * sent_meanwhile, "damage costs only the frames it hits"


def test_unplug_and_replug_reconnects_and_records_the_gap(tmp_path) -> None:
    """The port is a stable link (like /dev/serial/by-id/...) to whichever pty is plugged in."""
    port = tmp_path / "ttyPUMP"
    data = TRUTH.data
    before = Recording(data[data["t_s"] < 30.0].reset_index(drop=True), TRUTH.meta)
    after = Recording(data[data["t_s"] >= 40.0].reset_index(drop=True), TRUTH.meta)
    first, second = open_pty(), open_pty()
    os.symlink(first.path, port)

    def pump_owner() -> None:
        time.sleep(0.2)
        serve(VirtualPump(before), first, speed=SPEED, drain_timeout_s=5.0)
        first.close()  # unplugged
        time.sleep(10.0 / SPEED)
        os.replace(_relink(second.path, tmp_path), port)  # plugged back in, same device
        serve(VirtualPump(after), second, speed=SPEED, drain_timeout_s=0.2)

    owner = threading.Thread(target=pump_owner, daemon=True)
    owner.start()
    try:
        # --duration is host time (the session ends then even with the device gone);
        # the pump's own clock skips the ~50 s it stayed unplugged (linger + replug), so
        # 150 s of host time cover its 90 s of samples
        summary, status, rec = _run(
            str(port), tmp_path / "u.csv", duration_s=150.0, backoff_s=(0.5, 1.0)
        )
    finally:
        owner.join(timeout=30)
        second.close()
    assert status.reconnects == 1
    assert status.gaps >= 1
    t = rec.data["t_s"].to_numpy()
    assert np.diff(t).max() > 8.0, "the unplugged time shows as a gap, not invented samples"
    sent = data["weight_g"].to_numpy().astype(np.float32).astype(float)
    assert np.isin(rec.data["weight_g"].to_numpy(), sent).all()
    assert t[-1] > 70.0, "samples kept coming after the reconnect"
    assert len(summary.letdowns) == 1, "the letdown before the unplug is kept"


def _relink(target: str, folder) -> str:
    tmp = folder / "ttyPUMP.new"
    os.symlink(target, tmp)
    return str(tmp)


def test_a_missing_port_is_one_clear_sentence_and_exit_2(capsys) -> None:
    assert main(["live", "--serial", "/dev/ttyDOES_NOT_EXIST", "--no-record", "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "letdown: /dev/ttyDOES_NOT_EXIST: no such serial port; "
        "run `letdown ports` to list the ports"
    )


def test_a_silent_port_is_a_protocol_error_naming_baud_and_format() -> None:
    pty = open_pty()
    try:
        source = open_source(f"serial:{pty.path}", clock=SystemClock(), first_samples_s=0.3)
        with pytest.raises(
            ProtocolError, match=r"nothing decodable arrived in 0\.3 s at 115200 baud"
        ):
            asyncio.run(source.open())
    finally:
        pty.close()


def test_a_port_that_is_not_a_serial_device_is_a_device_error(tmp_path) -> None:
    not_a_port = tmp_path / "plain-file"
    not_a_port.write_text("")
    source = open_source(f"serial:{not_a_port}", clock=SystemClock())
    with pytest.raises(DeviceError, match=str(not_a_port)):
        asyncio.run(source.open())


def test_using_serial_does_not_import_bleak() -> None:
    code = (
        "import sys; from letdown_detect.sources import open_source; "
        "from letdown_detect.live import SystemClock; "
        "open_source('serial:/dev/null', clock=SystemClock()); "
        "print('bleak' in sys.modules)"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
