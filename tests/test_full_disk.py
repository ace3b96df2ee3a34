"""A full disk (a file-size limit on a live session's process) never makes the recording
unreadable: it pauses with one message, the session goes on, and it resumes after a gap row."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from letdown_detect.recording import events_path, read_events, read_recording

pytestmark = pytest.mark.timeout(120)

# A live simulated session at 200x real time whose process may write files of at most
# LIMIT bytes (RLIMIT_FSIZE, soft limit; SIGXFSZ ignored so writes fail with EFBIG like
# a full disk). At session time FREE_AT_S a sink raises the soft limit again: space returns.
SESSION = textwrap.dedent(
    """
    import resource, signal, sys
    from letdown_detect.live import LiveSession, SystemClock, run_live
    from letdown_detect.sinks.recorder import RecorderSink
    from letdown_detect.sources import open_source

    limit, free_at_s = int(sys.argv[2]), float(sys.argv[3])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    class SpaceReturns(RecorderSink):
        async def on_block(self, block):
            if free_at_s >= 0 and len(block) and block.t_s[-1] >= free_at_s:
                resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
            await super().on_block(block)

    # compile (and cache) the detector first: numba's cache writer does not survive a full disk
    warm = SystemClock()
    run_live(LiveSession(open_source("sim:", clock=warm, seed=2, duration_s=30.0, speed=200.0),
                         [], clock=warm))

    clock = SystemClock()
    source = open_source("sim:", clock=clock, seed=2, duration_s=240.0, speed=200.0)
    recorder = SpaceReturns(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    summary = run_live(LiveSession(source, [recorder], clock=clock))
    print(f"ended {summary.duration_s:.1f} written {recorder.samples_written}"
          f" lost {recorder.samples_lost}", flush=True)
    """
)


def _run(tmp_path, limit: int, free_at_s: float) -> subprocess.CompletedProcess:
    csv = tmp_path / "full.csv"
    return subprocess.run(
        [sys.executable, "-c", SESSION, str(csv), str(limit), str(free_at_s)],
        capture_output=True,
        text=True,
        timeout=100,
    )


def test_full_disk_pauses_with_one_message_and_resumes_after_a_marked_gap(tmp_path) -> None:
    proc = _run(tmp_path, limit=15_000, free_at_s=150.0)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("disk full: recording stopped at") == 1, proc.stderr
    assert proc.stderr.count("recording resumed at") == 1, proc.stderr
    assert "session goes on" in proc.stderr
    ended = proc.stdout.split()
    assert float(ended[1]) >= 239.0  # the session ran to its end
    assert int(ended[5]) > 0  # samples were lost while full ...
    csv = tmp_path / "full.csv"
    raw = csv.read_bytes()
    assert raw.endswith(b"\n")
    recording = read_recording(csv)  # ... and the file is still a valid recording
    t = recording.data["t_s"].to_numpy()
    values = recording.data["weight_g"].to_numpy()
    gap_rows = np.flatnonzero(np.isnan(values))
    # a few bytes freed by cutting back a half-written block let small blocks through
    # before space really returned: each pause is its own gap row, one outage, one message
    assert gap_rows.size >= 1
    # it stopped where the file reached its limit (whatever the session's sample size), long
    # before space returned, and resumed within seconds of space returning
    lines = raw.split(b"\n")
    header_lines = next(i for i, line in enumerate(lines) if line.startswith(b"t_s"))
    before_gap = b"\n".join(lines[: header_lines + 1 + gap_rows[0]]) + b"\n"
    assert len(before_gap) <= 15_000 and t[gap_rows[0] - 1] < 150
    assert 150 <= t[gap_rows[-1] + 1] < 160
    assert t[-1] >= 239.0
    assert np.diff(t[gap_rows[-1] + 1 :]).max() < 1.0  # nothing lost after space returned
    events = read_events(events_path(csv))
    gaps = events[events["label"] == "recording_gap"]
    assert len(gaps) == gap_rows.size
    np.testing.assert_allclose(gaps["onset_s"], t[gap_rows], atol=1e-3)
    assert gaps["onset_s"].iloc[-1] + gaps["duration_s"].iloc[-1] >= 150
    detect = subprocess.run(
        [sys.executable, "-m", "letdown_detect", "detect", str(csv)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert detect.returncode == 0, detect.stderr


def test_disk_full_to_the_end_leaves_complete_lines_and_the_session_ends(tmp_path) -> None:
    proc = _run(tmp_path, limit=30_001, free_at_s=-1)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("disk full") == 1, proc.stderr
    csv = tmp_path / "full.csv"
    raw = csv.read_bytes()
    assert 0 < len(raw) <= 30_001 and raw.endswith(b"\n")
    recording = read_recording(csv)
    assert len(recording.data) > 100
    assert float(proc.stdout.split()[1]) >= 239.0
