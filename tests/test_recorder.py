"""The recorder survives SIGKILL (at the first row and mid-session): the files read back."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone

import numpy as np
import pytest

from letdown_detect.model import Event, SampleBlock
from letdown_detect.pipeline import detect_recording
from letdown_detect.recording import events_path, read_events, read_recording
from letdown_detect.sinks.base import (
    FeltMarked,
    LetdownCompleted,
    LetdownDetected,
    SessionInfo,
    SessionSummary,
)
from letdown_detect.sinks.recorder import RecorderSink
from letdown_detect.sources.simulate import SimConfig, simulate_session

pytestmark = pytest.mark.timeout(120)
SEED = 2

# a live session at 100x real time, recording as it streams
SESSION = textwrap.dedent(
    """
    import sys
    from letdown_detect.live import LiveSession, SystemClock, run_live
    from letdown_detect.sinks.recorder import RecorderSink
    from letdown_detect.sources import open_source

    clock = SystemClock()
    source = open_source("sim:", clock=clock, seed={seed}, duration_s=300.0, speed=100.0)
    print("ready", flush=True)
    run_live(LiveSession(source, [RecorderSink(sys.argv[1])], clock=clock))
    """
)


def _kill_after_rows(csv, rows: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", SESSION.format(seed=SEED), str(csv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if csv.exists() and csv.read_bytes().count(b"\n") > rows:
            break
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return proc


@pytest.mark.parametrize("rows", [1, 2500])
def test_sigkill_mid_session_leaves_a_recording_detect_reads(tmp_path, rows: int) -> None:
    csv = tmp_path / "killed.csv"
    proc = _kill_after_rows(csv, rows)
    assert proc.returncode == -signal.SIGKILL
    recording = read_recording(csv)
    assert recording.meta.start_time is not None
    assert recording.meta.calibration == {"g_per_ml": 1.03}
    truth = simulate_session(SimConfig(duration_s=300.0), SEED).recording.data
    n = len(recording.data)
    assert n >= rows
    # every sample up to the kill is there, exactly, with nothing missing in between
    np.testing.assert_array_equal(recording.data.to_numpy(), truth.to_numpy()[:n])
    assert csv.read_bytes().endswith(b"\n")
    detect_recording(recording)  # reads and runs; the events depend on how far it got
    events = read_events(events_path(csv))
    assert set(events["label"]) <= {"letdown"}
    assert events["onset_s"].lt(recording.data["t_s"].iloc[-1]).all()


def _block(t0: float, n: int) -> SampleBlock:
    t = t0 + np.arange(n) * 0.05
    return SampleBlock(t, np.sin(t)[:, None] * 10 + 100.0, ("weight_g",))


def test_recorder_appends_at_detection_and_rewrites_complete_events_at_stop(tmp_path) -> None:
    csv = tmp_path / "r.csv"
    recorder = RecorderSink(csv)
    session = SessionInfo(
        "abc", datetime(2026, 1, 1, tzinfo=timezone.utc), "test", channels=("weight_g",)
    )
    running = Event(10.0, 14.0, 0.5, "weight_g", 2.0)
    done = Event(10.0, 14.0, 1.5, "weight_g", 2.0, end_s=70.0, volume_ml=30.0)
    felt = Event(12.0, 12.0, 0.4, "keyboard", 0.0, end_s=12.0, label="felt_letdown")

    async def scenario() -> None:
        await recorder.start(session)
        await recorder.on_block(_block(0.0, 300))
        await recorder.on_letdown_detected(LetdownDetected(14.0, 1, running))
        await recorder.on_felt_marked(FeltMarked(12.0, felt))
        # mid-session: the files read back, the letdown is there without a duration
        mid = read_events(events_path(csv))
        assert list(mid["label"]) == ["letdown", "felt_letdown"]
        assert np.isnan(mid["duration_s"].iloc[0])
        assert len(read_recording(csv).data) == 300
        await recorder.on_letdown_completed(LetdownCompleted(70.0, 1, done))
        await recorder.on_block(_block(15.0, 100))
        summary = SessionSummary(20.0, (done,), 30.0, 10.0, 40.0, (felt,))
        await recorder.stop(summary)

    asyncio.run(scenario())
    final = read_events(events_path(csv))
    assert list(final["label"]) == ["letdown", "felt_letdown"]
    assert final["duration_s"].iloc[0] == pytest.approx(60.0)
    assert final["volume_ml"].iloc[0] == pytest.approx(30.0)
    data = read_recording(csv).data
    assert len(data) == 400
    np.testing.assert_array_equal(data["weight_g"].to_numpy()[:300], _block(0.0, 300).values[:, 0])
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    assert os.stat(csv).st_mode & 0o077 == 0
