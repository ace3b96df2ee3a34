"""Notifications delivered by apprise to real HTTP servers on 127.0.0.1.

The servers record what arrived; a hanging and a refusing target show that
delivery never holds up the session (timing asserted in session seconds).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import select
import socket
import threading
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest

from letdown_detect import cli
from letdown_detect.clock import SessionTime
from letdown_detect.live import LiveSession, SystemClock
from letdown_detect.model import Event
from letdown_detect.mood.prompt import BASELINE_QUESTION
from letdown_detect.mood.sink import MoodSink
from letdown_detect.notify.apprise_sink import NotifySink
from letdown_detect.notify.desktop import bell_stream, desktop_url
from letdown_detect.sinks.base import (
    EventStream,
    LetdownCompleted,
    LetdownDetected,
    LetdownRetracted,
    SessionInfo,
    SessionSummary,
    Sink,
)
from letdown_detect.sources.simulated import SimulatedSource
from letdown_detect.store.writer import StoreWriter
from letdown_detect.summary import LetdownNumbers, clock_text

pytestmark = pytest.mark.timeout(60)

#: A mood page on the LAN (only ever written into messages, never fetched).
MOOD_URL = "http://192.168.1.20:8765/?token=T0K"
START = datetime(2026, 1, 5, 7, 30, tzinfo=timezone.utc)


class Endpoint:
    """A real HTTP server on 127.0.0.1 that records each POST (path, headers, JSON body).

    Args:
        fail_first: answer this many requests with HTTP 500 before accepting.
    """

    def __init__(self, fail_first: int = 0) -> None:
        self.requests: list[dict] = []
        self.fail_first = fail_first
        self._arrived = threading.Condition()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with endpoint._arrived:
                    failing = endpoint.fail_first > 0
                    endpoint.fail_first -= failing
                    endpoint.requests.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": json.loads(body),
                            "failed": failing,
                        }
                    )
                    endpoint._arrived.notify_all()
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def accepted(self, path: str | None = None) -> list[dict]:
        """Requests answered with 200, optionally only those to ``path``."""
        return [r for r in self.requests if not r["failed"] and (path is None or r["path"] == path)]

    def wait_for(self, count: int, timeout_s: float = 10.0) -> None:
        """Block until ``count`` requests have arrived (fails the test on timeout)."""
        with self._arrived:
            assert self._arrived.wait_for(lambda: len(self.requests) >= count, timeout_s)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    server = Endpoint()
    yield server
    server.close()


@pytest.fixture
def hanging_port():
    """A port that accepts connections (kernel backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def refused_port():
    """A port nobody listens on: connections are refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def letdown(detected_s: float, complete: bool = False) -> Event:
    """A letdown event detected at ``detected_s`` (5 s after its onset)."""
    return Event(
        onset_s=detected_s - 5.0,
        detected_s=detected_s,
        peak_flow_ml_s=0.8,
        channel="weight_g",
        score=2.0,
        end_s=detected_s + 60.0 if complete else None,
        volume_ml=30.0 if complete else None,
    )


def numbered(events: list[Event]):
    """The session's events for ``events``, numbered as a live session numbers them."""
    numbers = LetdownNumbers()
    for e in events:
        if e.label == "retracted":
            yield LetdownRetracted(e.detected_s, numbers.retract(e), e)
        elif e.complete:
            yield LetdownCompleted(e.end_s, numbers.keep(e), e)
        else:
            yield LetdownDetected(e.detected_s, numbers.keep(e), e)


def drive(sink: NotifySink, events: list[Event], duration_s: float = 600.0) -> SessionSummary:
    """Run a session by hand: start, the events in order (numbered), stop with a summary."""
    session = SessionInfo("test01", START, "hand-driven")
    summary = SessionSummary(
        duration_s=duration_s,
        letdowns=tuple(e for e in events if e.complete),
        volume_ml=84.6,
        time_to_first_letdown_s=60.0,
        time_to_80pct_volume_s=420.0,
    )

    async def main() -> None:
        await sink.start(session)
        for event in numbered(events):
            await getattr(sink, event.hook)(event)
        await sink.stop(summary)

    asyncio.run(main())
    return summary


def local_clock(t_s: float) -> str:
    """The wall-clock time of session time ``t_s``, as the parent's phone should show it."""
    return (START + timedelta(seconds=t_s)).astimezone().strftime("%H:%M:%S")


def test_one_notification_per_letdown_on_json_and_ntfy(endpoint):
    port = endpoint.port
    sink = NotifySink(
        [f"json://127.0.0.1:{port}/hook", f"ntfy://127.0.0.1:{port}/pump"], mood_url=MOOD_URL
    )
    # letdown 1, its complete version, letdown 2 only 20 s later, letdown 3 after the gap
    drive(sink, [letdown(65.0), letdown(65.0, complete=True), letdown(85.0), letdown(200.0)])

    json_posts = endpoint.accepted("/hook")
    assert [p["body"]["title"] for p in json_posts] == ["Letdown detected"] * 2
    first, third = (p["body"]["message"] for p in json_posts)
    assert first.startswith(
        f"Letdown 1 of this session: started {local_clock(60.0)}, "
        f"detected {local_clock(65.0)} (session time 1:05)."
    )
    assert third.startswith(
        f"Letdown 3 of this session: started {local_clock(195.0)}, "
        f"detected {local_clock(200.0)} (session time 3:20)."
    )
    assert f"Check in: {MOOD_URL}" in first

    ntfy_posts = [r for r in endpoint.accepted() if r["body"].get("topic") == "pump"]
    assert len(ntfy_posts) == 2
    headers = ntfy_posts[0]["headers"]
    assert unquote(headers["x-click"]) == MOOD_URL
    assert unquote(headers["x-actions"]) == f"view, Check in, {MOOD_URL}"
    assert "x-icon" not in headers  # no icon URL that points off the machine
    for request in endpoint.requests:
        text = unquote(json.dumps(request)).replace(MOOD_URL, "")
        assert "unpleasant" not in text and "mood" not in text.lower()
        assert re.findall(r"\w+://", text) == []  # nothing else to fetch, on or off the machine
    assert all(d.outcome.ok and d.attempts == 1 for d in sink.deliveries)


def test_interval_is_configurable(endpoint):
    sink = NotifySink([f"json://127.0.0.1:{endpoint.port}/hook"], min_interval_s=0)
    drive(sink, [letdown(65.0), letdown(70.0), letdown(75.0)])
    messages = [p["body"]["message"] for p in endpoint.accepted()]
    assert [m.split(" of ")[0] for m in messages] == ["Letdown 1", "Letdown 2", "Letdown 3"]


def test_mood_question_and_answer_buttons_only_when_opted_in(endpoint):
    page = MOOD_URL
    sink = NotifySink(
        [f"json://127.0.0.1:{endpoint.port}/hook", f"ntfy://127.0.0.1:{endpoint.port}/pump"],
        mood_url=page,
        include_mood=True,
    )
    drive(sink, [letdown(65.0)])
    assert f"{BASELINE_QUESTION}: {page}" in endpoint.accepted("/hook")[0]["body"]["message"]
    (ntfy,) = [r for r in endpoint.accepted() if r["body"].get("topic") == "pump"]
    assert unquote(ntfy["headers"]["x-actions"]).split("; ") == [
        f"http, {label}, http://192.168.1.20:8765/answer?token=T0K&score={score}, "
        "method=POST, clear=true"
        for label, score in (("No", 0), ("Mild", 3), ("Strong", 7))
    ]


def scheduled_session(answer_score: int = 9) -> list:
    """A session's events in order, with the prompts the real scheduler asks: letdown 1
    (onset 60 s), its question answered ``answer_score``/10 with "hopeless" ticked, then
    calm until 700 s (questions between letdowns at 240 s, 420 s and 600 s, 3 min apart)."""
    from letdown_detect.mood.prompt import PromptScheduler
    from letdown_detect.sinks.base import AnswerGiven, PromptOpened

    scheduler = PromptScheduler()
    first = letdown(65.0)
    out: list = [LetdownDetected(65.0, 1, first)]
    out += [PromptOpened(p.asked_s, p) for p in scheduler.on_letdown(60.0, 65.0)]
    scheduler.answer(1, 80.0)
    out.append(AnswerGiven(80.0, answer_score, "page", "answered", "saved", 1, ("hopeless",)))
    for t_s in range(81, 700):
        out += [
            PromptOpened(p.asked_s, p) for p in scheduler.tick(float(t_s)) if p.status == "open"
        ]
    return out


def drive_events(sink: Sink, events: list) -> None:
    """Run a session by hand through each event's own hook, as a live session does."""

    async def main() -> None:
        await sink.start(SessionInfo("test01", START, "hand-driven"))
        for event in events:
            await getattr(sink, event.hook)(event)
        await sink.stop(SessionSummary(700.0, (), 50.0, 60.0, None))

    asyncio.run(main())


def test_questions_between_letdowns_are_pushed_like_letdown_questions_when_opted_in(endpoint):
    """With include_mood, a baseline question reaches the phone with the page's link and
    one-tap answers, exactly as a letdown's does; an answer never leaves the computer."""
    events = scheduled_session()
    assert [e.prompt.kind for e in events if e.hook == "on_prompt_opened"] == [
        "letdown",
        "baseline",
        "baseline",
        "baseline",
    ]
    sink = NotifySink(
        [f"json://127.0.0.1:{endpoint.port}/hook", f"ntfy://127.0.0.1:{endpoint.port}/pump"],
        mood_url=MOOD_URL,
        include_mood=True,
    )
    drive_events(sink, events)
    posts = endpoint.accepted("/hook")
    assert [p["body"]["title"] for p in posts] == ["Letdown detected", *["Mood check"] * 3]
    check = posts[1]["body"]["message"]
    assert f"{BASELINE_QUESTION}: {MOOD_URL}" in check
    assert f"Asked at {local_clock(240.0)[:5]}, between letdowns." in check
    ntfy = [r for r in endpoint.accepted() if r["body"].get("topic") == "pump"]
    assert len(ntfy) == 4
    assert unquote(ntfy[1]["headers"]["x-click"]) == MOOD_URL
    assert unquote(ntfy[1]["headers"]["x-actions"]).split("; ") == [
        f"http, {label}, http://192.168.1.20:8765/answer?token=T0K&score={score}, "
        "method=POST, clear=true"
        for label, score in (("No", 0), ("Mild", 3), ("Strong", 7))
    ]
    for request in endpoint.requests:  # the 9/10 and "hopeless" stay on this computer
        text = unquote(json.dumps(request))
        assert "hopeless" not in text and "9/10" not in text and "saved" not in text


def test_questions_between_letdowns_keep_the_interval_and_the_link_rules(endpoint):
    # Not opted in: only the letdown, and no question anywhere.
    drive_events(
        NotifySink([f"json://127.0.0.1:{endpoint.port}/off"], mood_page=True), scheduled_session()
    )
    (only,) = endpoint.accepted("/off")
    assert only["body"]["title"] == "Letdown detected" and "unpleasant" not in json.dumps(only)
    # Opted in, but no link allowed (or a page on 127.0.0.1): the question says where the
    # page is, with nothing to fetch; a 400 s interval holds back the questions at 240 s
    # and 420 s (after the letdown's at 65 s), not the one at 600 s.
    drive_events(
        NotifySink(
            [f"json://127.0.0.1:{endpoint.port}/nolink"],
            include_mood=True,
            mood_page=True,
            min_interval_s=400.0,
        ),
        scheduled_session(),
    )
    posts = endpoint.accepted("/nolink")
    assert [p["body"]["title"] for p in posts] == ["Letdown detected", "Mood check"]
    check = posts[1]["body"]["message"]
    assert check.splitlines()[0] == BASELINE_QUESTION
    assert check.splitlines()[-1] == "Open the mood page on this computer."
    assert re.findall(r"\w+://", unquote(json.dumps(posts))) == []


def test_terminal_bell_rings_with_each_notification():
    main_fd, terminal_fd = os.openpty()
    with open(terminal_fd, "w") as terminal:
        assert bell_stream(terminal) is terminal
        drive(NotifySink(bell=terminal), [letdown(65.0), letdown(80.0), letdown(200.0)])
        rung = b""
        while select.select([main_fd], [], [], 0.5)[0]:  # until the terminal has shown all
            rung += os.read(main_fd, 64)
    os.close(main_fd)
    assert rung == b"\a\a"  # the letdown 15 s after the first is inside min_interval_s


def test_no_bell_without_a_terminal_and_no_desktop_without_a_display(tmp_path):
    with open(tmp_path / "log.txt", "w") as not_a_terminal:
        assert bell_stream(not_a_terminal) is None
    assert desktop_url(env={}, platform="linux") is None
    assert desktop_url(env={"DISPLAY": ":0"}, platform="linux") is None  # no session bus


def test_summary_at_session_end_when_asked(endpoint):
    drive(NotifySink([f"json://127.0.0.1:{endpoint.port}/off"]), [letdown(65.0, complete=True)])
    assert endpoint.accepted("/off") == []
    drive(
        NotifySink([f"json://127.0.0.1:{endpoint.port}/on"], summary=True),
        [letdown(65.0), letdown(65.0, complete=True)],
        duration_s=905.0,
    )
    titles = [p["body"]["title"] for p in endpoint.accepted("/on")]
    assert titles == ["Letdown detected", "Pumping session ended"]
    body = endpoint.accepted("/on")[1]["body"]["message"]
    assert body.splitlines() == [
        "Session of 15:05: 1 letdown, 85 mL.",
        "First letdown at 1:00.",
        "80% of the milk came by 7:00.",
    ]


def test_failed_delivery_is_retried_with_backoff():
    server = Endpoint(fail_first=2)
    try:
        sink = NotifySink([f"json://127.0.0.1:{server.port}/hook"], retries=3, backoff_s=0.05)
        drive(sink, [letdown(65.0)])
    finally:
        server.close()
    assert [r["failed"] for r in server.requests] == [True, True, False]
    (delivery,) = sink.deliveries
    assert delivery.outcome.ok and delivery.attempts == 3


def ours(record: logging.LogRecord) -> bool:
    """Our own log records (apprise's go to no handler in a session: ``compose._NotApprise``)."""
    return record.name.startswith("letdown_detect")


def test_gives_up_after_bounded_retries_and_masks_secrets(refused_port, caplog):
    url = f"json://parent:hunter2@127.0.0.1:{refused_port}/hook"
    masked = f"json://parent:****@127.0.0.1:{refused_port}/hook"
    sink = NotifySink([url], retries=2, backoff_s=0.01)
    with caplog.at_level(logging.DEBUG, logger="letdown_detect.notify"):
        drive(sink, [letdown(65.0)])
    (delivery,) = sink.deliveries
    assert not delivery.outcome.ok and delivery.attempts == 3
    assert "Connection error" in delivery.outcome.reason
    assert delivery.target == masked
    # each attempt at DEBUG; the target named once (at start or at its first failure)
    attempts = [r for r in caplog.records if "failed (attempt" in r.getMessage()]
    assert len(attempts) == 2 and all(r.levelno == logging.DEBUG for r in attempts)
    warned = [r.getMessage() for r in caplog.records if ours(r) and r.levelno >= logging.WARNING]
    assert len(warned) == 2, warned
    assert masked in warned[0] and ("cannot be reached" in warned[0] or "failed" in warned[0])
    assert warned[1] == f"notifications: not sent: 1 of 1 message to {masked}"
    assert "hunter2" not in caplog.text and "parent:****@" in caplog.text


def test_an_unreachable_target_is_named_once_and_every_unsent_message_counted(refused_port, caplog):
    # Three letdowns 60 s apart; the first is still being retried when the session ends and
    # the other two wait behind it: three messages were due, none was sent.
    url = f"json://127.0.0.1:{refused_port}/hook"
    sink = NotifySink([url], retries=3, backoff_s=0.5, drain_timeout_s=0.3)
    with caplog.at_level(logging.INFO, logger="letdown_detect.notify"):
        drive(sink, [letdown(65.0), letdown(125.0), letdown(185.0)])
    warned = [r.getMessage() for r in caplog.records if ours(r) and r.levelno >= logging.WARNING]
    assert len(warned) == 2, warned
    assert url in warned[0]
    assert warned[1] == f"notifications: not sent: 3 of 3 messages to {url}"


def test_a_target_that_fails_then_works_is_named_once_for_that_outage(caplog):
    server = Endpoint(fail_first=3)
    url = f"json://127.0.0.1:{server.port}/hook"
    try:
        sink = NotifySink([url], retries=1, backoff_s=0.01, min_interval_s=0)
        with caplog.at_level(logging.INFO, logger="letdown_detect.notify"):
            drive(sink, [letdown(65.0), letdown(125.0), letdown(185.0)])
    finally:
        server.close()
    assert [d.outcome.ok for d in sink.deliveries] == [False, True, True]
    warned = [r.getMessage() for r in caplog.records if ours(r) and r.levelno >= logging.WARNING]
    assert len(warned) == 2, warned
    assert warned[0].startswith(f"notifications: {url} failed (")
    assert warned[1] == f"notifications: not sent: 1 of 3 messages to {url}"
    assert any(r.getMessage().endswith("are delivered again") for r in caplog.records)


class LagProbe(Sink):
    """Wraps a sink; records, per letdown, how far the session clock had moved past
    ``detected_s`` when the wrapped hook returned (session seconds)."""

    def __init__(self, sink: NotifySink) -> None:
        self.sink = sink
        self.lags_s: list[float] = []
        self.letdowns: list[Event] = []
        self.numbers: list[int] = []
        self.time = None  # the session's, set once it is built

    async def start(self, session) -> None:
        await self.sink.start(session)

    async def on_letdown_detected(self, e) -> None:
        await self.sink.on_letdown_detected(e)
        self.letdowns.append(e.event)
        self.numbers.append(e.number)
        self.lags_s.append(self.time.now_s() - e.event.detected_s)

    async def on_letdown_retracted(self, e) -> None:
        await self.sink.on_letdown_retracted(e)

    async def stop(self, summary) -> None:
        await self.sink.stop(summary)


def test_hanging_and_refusing_targets_do_not_slow_a_live_session(
    endpoint, hanging_port, refused_port
):
    # 20 session seconds per real second: a hook that waited for the hanging
    # target (10 s read timeout) would put its letdown 200 session seconds late.
    clock = SystemClock()
    source = SimulatedSource(clock=clock, speed=20.0, seed=5, duration_s=150.0)
    sink = NotifySink(
        [
            f"json://127.0.0.1:{hanging_port}/hook?rto=10&cto=10",
            f"json://127.0.0.1:{refused_port}/hook",
            f"json://127.0.0.1:{endpoint.port}/hook",
        ],
        min_interval_s=0,
        retries=1,
        backoff_s=0.5,
        drain_timeout_s=2.0,
    )
    probe = LagProbe(sink)
    session = LiveSession(source, [probe], clock=clock, duration_s=70.0)
    probe.time = session.time
    asyncio.run(session.run())

    assert probe.letdowns, "the simulated session should contain letdowns"
    assert max(probe.lags_s) < 20.0, probe.lags_s  # session s; a blocked request: >= 200
    good = [d for d in sink.deliveries if str(endpoint.port) in d.target]
    assert len(good) == len(probe.letdowns) and all(d.outcome.ok for d in good)
    numbers = [
        p["body"]["message"].split(" of ")[0]
        for p in endpoint.accepted()
        if p["body"]["title"] == "Letdown detected"
    ]
    assert numbers == [f"Letdown {n}" for n in probe.numbers]
    refused = [d for d in sink.deliveries if str(refused_port) in d.target]
    assert refused and not any(d.outcome.ok for d in refused)


def test_one_tap_on_the_ntfy_button_answers_the_mood_prompt(endpoint, tmp_path):
    # The live session's mood sink serves the page; the notifier is given its link (the
    # composition root does that only for a LAN page and include_link; here the phone is
    # this test, on loopback).
    clock = SystemClock()
    source = SimulatedSource(clock=clock, speed=30.0, seed=0, duration_s=180.0)
    stream, time = EventStream(), SessionTime(clock)
    mood = MoodSink(StoreWriter(tmp_path / "sessions.db"), port=0, stream=stream, time=time)
    notify = NotifySink(
        [f"ntfy://127.0.0.1:{endpoint.port}/pump"], include_mood=True, mood_url=mood.mood_url
    )
    answers: list[tuple[int, dict]] = []

    def tap_first_button() -> None:  # what the phone does when "No" is tapped
        endpoint.wait_for(1, timeout_s=20)
        action = unquote(endpoint.requests[0]["headers"]["x-actions"]).split("; ")[0]
        request = urllib.request.Request(action.split(", ")[2], method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            answers.append((response.status, json.load(response)))

    phone = threading.Thread(target=tap_first_button)
    phone.start()
    session = LiveSession(
        source, [mood, notify], clock=clock, duration_s=180.0, stream=stream, time=time
    )
    asyncio.run(session.run())
    phone.join()
    assert mood.mood_url and mood.mood_url.startswith("http://127.0.0.1:")
    assert unquote(endpoint.requests[0]["headers"]["x-click"]) == mood.mood_url
    ((status, body),) = answers
    assert status == 200 and "0/10 saved" in body["message"]


def test_notify_test_command_reports_each_target(
    endpoint, refused_port, tmp_path, capsys, monkeypatch
):
    config = tmp_path / "config.toml"
    config.write_text(f'[notify]\nurls = ["json://127.0.0.1:{endpoint.port}/hook"]\n')
    monkeypatch.setenv("LETDOWN_CONFIG", str(config))
    bad = f"ntfy://user:hunter2@127.0.0.1:{refused_port}/pump"
    assert cli.main(["notify", "test", "--notify", bad, "--quiet"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"delivered  json://127.0.0.1:{endpoint.port}/hook"
    # the ntfy topic is a secret too (on a public server it is the password)
    assert lines[1].startswith(f"FAILED     ntfy://user:****@127.0.0.1:{refused_port}/****: ")
    assert "Connection error" in lines[1] and "hunter2" not in lines[1] and "pump" not in lines[1]
    assert endpoint.accepted()[0]["body"]["title"] == "letdown test"


def test_notify_test_without_targets_says_how_to_add_one(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LETDOWN_CONFIG", str(tmp_path / "none.toml"))
    assert cli.main(["notify", "test", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("letdown: no notification targets: pass --notify URL")
    assert str(tmp_path / "none.toml") in err


@pytest.mark.timeout(120)
def test_letdown_live_sends_no_loopback_link_takes_back_a_retracted_alert_and_numbers_agree(
    endpoint, tmp_path
):
    """``letdown live`` as a parent runs it (seed 380: a rise at 0:40 collapses at once, the
    letdown at 1:10 follows): the phone never gets a 127.0.0.1 link, a retraction follows
    the retracted alert, and letdown numbers and times agree between the terminal, the
    notifications, the database and the summary."""
    import sqlite3
    import subprocess
    import sys

    config = tmp_path / "config.toml"
    config.write_text("[notify]\nmin_interval_s = 0\n")
    db = tmp_path / "store.db"
    run = subprocess.run(
        [
            sys.executable, "-m", "letdown_detect", "live", "--seed", "380", "--speed", "60",
            "--duration", "240", "--record", str(tmp_path), "--quiet", "--db", str(db),
            "--notify", f"json://127.0.0.1:{endpoint.port}/hook",
        ],
        capture_output=True, text=True, timeout=110,
        env={**os.environ, "LETDOWN_CONFIG": str(config), "COLUMNS": "200"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    terminal = run.stdout
    posts = [(p["body"]["title"], p["body"]["message"]) for p in endpoint.accepted("/hook")]
    assert posts, terminal
    everything = json.dumps(posts)
    assert "127.0.0.1" not in everything and "token=" not in everything
    assert all("Open the mood page on this computer." in m for t, m in posts if "detected" in t)
    said = run.stderr + terminal  # said once, at start (on stderr, before the view starts)
    assert "127.0.0.1, which does not open on a phone" in said
    assert said.count("does not open on a phone") == 1

    # the phone: alert #1 (the rise), "taken back", alert #1 again (the real letdown)
    titles = [t for t, _ in posts]
    assert titles == ["Letdown detected", "Letdown 1 taken back", "Letdown detected"]
    phone_starts = re.findall(r"Letdown (\d+) of this session: started (\S+),", everything)
    terminal_starts = re.findall(r"LETDOWN #(\d+): started (\S+) ", terminal)
    assert phone_starts == terminal_starts and len(terminal_starts) == 2
    assert re.findall(r"Letdown #(\d+) taken back", terminal) == ["1"]

    # what stays: one letdown, number 1, everywhere
    with sqlite3.connect(db) as conn:
        (start_utc,) = conn.execute("SELECT start_utc FROM sessions").fetchone()
        onsets = [r[0] for r in conn.execute(
            "SELECT onset_s FROM events WHERE label = 'letdown' ORDER BY onset_s"
        )]  # fmt: skip
    start = datetime.fromisoformat(start_utc)
    stored = [
        (str(n), (start + timedelta(seconds=t)).astimezone().strftime("%H:%M:%S"))
        for n, t in enumerate(onsets, 1)
    ]
    assert stored == [terminal_starts[-1]] == [phone_starts[-1]]
    summary = re.findall(r"^  #(\d+) at (\d+:\d\d)", terminal, re.MULTILINE)
    assert summary == [(n, clock_text(t)) for (n, _), t in zip(stored, onsets, strict=True)]
    assert "1 letdown." in terminal
