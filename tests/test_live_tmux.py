"""The live view in a real terminal: tmux runs ``letdown live``; we read the screen, press keys."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid

import pytest

from letdown_detect.recording import events_path, read_events, read_recording

pytestmark = pytest.mark.timeout(120)


def _tmux(*args: str) -> str:
    assert shutil.which("tmux"), "this test drives a real terminal: apt-get install tmux"
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def _wait_for(session: str, text: str, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-p", "-t", session, "-S", "-200")
        if text in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")


def test_live_view_shows_the_session_takes_the_felt_key_and_quits_with_a_summary(tmp_path) -> None:
    session = f"letdown-{uuid.uuid4().hex[:8]}"
    command = (
        f"{sys.executable} -m letdown_detect live --seed 3 --speed 30 --record {tmp_path} "
        f"--no-mood --quiet --db {tmp_path / 'store.db'}; sleep 30"
    )
    _tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", command)
    try:
        screen = _wait_for(session, "elapsed")
        assert "letdown live" in screen and "simulator (seed 3" in screen
        assert "f or space = I feel a letdown now" in screen
        assert "link connected" in screen and "CRC errors 0" in screen
        _wait_for(session, "LETDOWN #1")  # the simulated letdown near 0:23
        _tmux("send-keys", "-t", session, "f")
        _wait_for(session, "You marked a felt letdown at")
        _wait_for(session, "Letdown #1 (started")  # flow fell back: the letdown is complete
        _tmux("send-keys", "-t", session, "q")
        screen = _wait_for(session, "Recording:")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert "Session: " in screen and "1 letdown" in screen
    assert "First letdown after 0:2" in screen
    csv = next(tmp_path.glob("*Z.csv"))
    assert str(csv) in screen.replace("\n", "")
    events = read_events(events_path(csv))
    felt = events[events["label"] == "felt_letdown"]
    assert len(felt) == 1
    assert felt["onset_s"].iloc[0] <= read_recording(csv).data["t_s"].iloc[-1] + 1.0
    assert (events["label"] == "letdown").sum() == 1


def test_the_mood_question_is_answered_from_the_keyboard_while_the_view_runs(tmp_path) -> None:
    import sqlite3

    session = f"letdown-{uuid.uuid4().hex[:8]}"
    db = tmp_path / "store.db"
    command = (
        f"{sys.executable} -m letdown_detect live --seed 3 --speed 20 --record {tmp_path} "
        f"--quiet --db {db}; sleep 30"
    )
    _tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "40", command)
    try:
        _wait_for(session, "0-9 (x = 10)")
        _wait_for(session, "Mood check #1:")
        _tmux("send-keys", "-t", session, "7")
        _wait_for(session, "7/10")  # the answer is confirmed on screen
        screen = _wait_for(session, "elapsed")
        _tmux("send-keys", "-t", session, "q")
        _wait_for(session, "Recording:")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert "Mood check #1" in screen
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT score, channel, prompt_id FROM answers").fetchall()
    assert [(score, channel) for score, channel, _ in rows] == [(7, "terminal")]
    assert rows[0][2] is not None  # it answered the letdown's prompt, not a loose note


def _socket_pump_with_a_drop(tmp_path):
    """A Wi-Fi pump (socket:// on 127.0.0.1) playing seed 28 (a letdown near 1:26) that
    drops its connection at 1:00 and comes back."""
    from tcp_pump import TcpPump

    from letdown_detect.recording import Recording
    from letdown_detect.sources.simulate import SimConfig, simulate_session

    truth = simulate_session(SimConfig(duration_s=240.0), 28).recording
    data = truth.data
    parts = [
        Recording(data[data["t_s"] < 60.0].reset_index(drop=True), truth.meta),
        Recording(data[data["t_s"] >= 60.0].reset_index(drop=True), truth.meta),
    ]
    pump = TcpPump(parts, speed=10.0)  # 10x, not 20x: arrival jitter is scaled too
    wanted = ("LETDOWN #1", "Letdown #1 (started", "Link lost", "Link back")
    return f"--serial {pump.url} --speed 10 --duration 300", wanted, pump.close


def _simulated_rise_that_collapses(tmp_path):
    """The built-in simulator, seed 380: a rise at 0:40 (not a letdown) collapses at
    once (taken back, its number given back), then the letdown at 1:10 is #1 (as the
    notification test has it)."""
    wanted = ("LETDOWN #1", "Letdown #1 taken back", "Letdown #1 (started")
    return "--seed 380 --speed 20 --duration 240", wanted, lambda: None


@pytest.mark.timeout(180)
@pytest.mark.parametrize("scenario", [_socket_pump_with_a_drop, _simulated_rise_that_collapses])
@pytest.mark.parametrize(("columns", "rows", "lan"), [(80, 24, False), (120, 40, True)])
def test_the_full_mood_link_stays_on_screen_through_letdowns_a_retraction_and_a_reconnect(
    tmp_path, columns, rows, lan, scenario
) -> None:
    """Every screen shows the whole mood link, through a reconnect (a Wi-Fi pump dropping
    its connection) and through a rise taken back (the simulator)."""
    import re

    source, wanted, close = scenario(tmp_path)
    session = f"letdown-{uuid.uuid4().hex[:8]}"
    command = (  # the terminal's own size, not one inherited from the tmux server's env
        f"env -u COLUMNS -u LINES {sys.executable} -m letdown_detect live {source} "
        f"--record {tmp_path} --quiet --db {tmp_path / 'store.db'}"
        f"{' --mood-lan' if lan else ''}; sleep 30"
    )
    _tmux("new-session", "-d", "-s", session, "-x", str(columns), "-y", str(rows), command)
    seen: set[str] = set()
    try:
        screen = _wait_for(session, "Mood page: http", timeout_s=60)
        url = re.search(r"Mood page: (http://\S+)", screen).group(1)
        assert re.fullmatch(r"http://[\d.]+:\d+/\?token=[\w-]{22}", url), url
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            visible = _tmux("capture-pane", "-p", "-t", session)  # what is on screen now
            if "Session: " in visible:
                break
            if "elapsed" in visible:
                assert f"Mood page: {url}" in visible, visible  # whole, on one line
                assert len(visible.splitlines()) <= rows
            history = _tmux("capture-pane", "-p", "-t", session, "-S", "-500")
            seen |= {w for w in wanted if w in history}
            if lan:
                seen |= {"QR"} if "▀" in visible or "█" in visible else set()
            time.sleep(0.2)
        screen = _wait_for(session, "Recording:")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        close()
    assert seen >= set(wanted), (seen, screen)
    assert ("QR" in seen) == lan  # a QR code only for a page a phone can open
    assert "1 letdown." in screen, screen
    # the letdown the summary lists is the terminal's last #1 (a rise taken back gave its
    # number back)
    onsets = re.findall(r"LETDOWN #1: started \S+ \(session (\d+:\d\d)\)", screen)
    assert onsets and f"#1 at {onsets[-1]}:" in screen, screen
