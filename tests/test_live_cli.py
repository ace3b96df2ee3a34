"""``letdown live`` as a user runs it: a subprocess stopped by Ctrl-C or killed, then ``detect``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.timeout(120)


def _letdown(*args: str) -> list[str]:
    return [sys.executable, "-m", "letdown_detect", *args]


def _start_live(tmp_path) -> subprocess.Popen:
    return subprocess.Popen(
        _letdown(
            "live", "--seed", "3", "--speed", "50", "--record", str(tmp_path), "--json",
            "--no-mood", "--quiet", "--db", str(tmp_path / "store.db"),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _detect(csv) -> list[dict]:
    out = subprocess.run(
        _letdown("detect", str(csv), "--json"), capture_output=True, text=True, check=True
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_ctrl_c_stops_cleanly_and_detect_reproduces_the_live_events(tmp_path) -> None:
    live = _start_live(tmp_path)
    lines = []
    for line in live.stdout:
        lines.append(json.loads(line))
        if lines[-1]["end_s"] is not None:  # the first letdown is complete: stop now
            break
    live.send_signal(signal.SIGINT)
    rest, err = live.communicate(timeout=60)
    lines += [json.loads(line) for line in rest.splitlines()]
    assert live.returncode == 0, err
    assert "Traceback" not in err
    assert "Session: " in err and "letdown" in err
    csv = next(tmp_path.glob("*Z.csv"))
    assert all(line["recording"] == str(csv) for line in lines)
    complete = [line for line in lines if line["label"] == "letdown" and line["end_s"] is not None]
    assert complete, "the session saw a complete letdown before Ctrl-C"
    assert _detect(csv) == complete
    assert not list(tmp_path.glob("*.tmp"))


def test_kill_9_mid_session_leaves_a_recording_detect_reads(tmp_path) -> None:
    live = _start_live(tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list(tmp_path.glob("*Z.csv"))
        if found and found[0].read_bytes().count(b"\n") > 1500:
            break
        time.sleep(0.01)
    live.kill()
    live.communicate(timeout=30)
    assert live.returncode == -signal.SIGKILL
    csv = found[0]
    events = _detect(csv)
    assert all(e["recording"] == str(csv) for e in events)
    assert all(e["onset_s"] < 150.0 for e in events)


def test_wrong_source_option_combinations_are_one_line_errors(tmp_path) -> None:
    out = subprocess.run(
        _letdown("live", "--serial", "/dev/null", "--speed", "0", "--no-record"),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr.strip() == "letdown: --speed must be a positive number, got 0"


def test_a_pump_emulated_faster_than_real_time_is_followed_at_its_own_pace(tmp_path) -> None:
    """``emulate --speed X`` and ``live --serial --speed X``: letdowns land at their true times.

    The pump streams before ``live`` has started (as a real one would), so only letdowns
    after the first 100 s of session are required.
    """
    import json

    from letdown_detect.sources.simulate import SimConfig, simulate_session

    pump = subprocess.Popen(
        _letdown("emulate", "serial", "--speed", "50", "--seed", "0", "--duration", "500"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = pump.stdout.readline().strip()
        live = subprocess.run(
            _letdown(
                "live",
                "--serial",
                port,
                "--speed",
                "50",
                "--duration",
                "480",
                "--json",
                "--no-record",
                "--no-mood",
                "--quiet",
            ),
            capture_output=True,
            text=True,
            timeout=90,
        )
    finally:
        pump.terminate()
        pump.wait(timeout=10)
    assert live.returncode == 0, live.stderr
    found = [json.loads(line)["onset_s"] for line in live.stdout.splitlines()]
    truth = [e.onset_s for e in simulate_session(SimConfig(duration_s=500), seed=0).truth]
    late = [t for t in truth if t > 100.0]
    assert len(late) >= 2
    assert all(any(abs(f - t) <= 15.0 for f in found) for t in late)
