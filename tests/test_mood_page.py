"""The phone page in a real headless chromium: tap an answer, find it in the database."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest

from letdown_detect.clock import SessionTime, VirtualClock
from letdown_detect.model import Event
from letdown_detect.mood.sink import MoodSink
from letdown_detect.sinks.base import (
    EventStream,
    FeltMarked,
    LetdownDetected,
    LetdownRetracted,
    SessionInfo,
    SessionStatus,
    SessionSummary,
    Status,
)
from letdown_detect.store.store_sink import StoreSink, StoreWorker
from letdown_detect.store.writer import StoreWriter

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def _phone(url: str, **options):
    """The page at ``url`` open in headless Chromium (``options`` go to ``new_page``:
    viewport, colour scheme, touch), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(**options)
            page.goto(url)
            yield page
        finally:
            browser.close()


pytestmark = pytest.mark.timeout(90)


class Session:
    """A running session on its own event loop thread, with the sinks the live command adds.

    Events go through a real EventStream; session time is a SessionTime on a
    VirtualClock the test sets (``t_s``).
    """

    def __init__(self, db: Path) -> None:
        self.info = SessionInfo("page01", datetime(2026, 1, 5, 7, 30, tzinfo=timezone.utc), "test")
        self.clock = VirtualClock(self.info.start_utc)
        self.time = SessionTime(self.clock)
        self.time.start(0.0)
        self.stream = EventStream()
        self.writer = StoreWorker(StoreWriter(db))
        self.mood = MoodSink(self.writer, port=0, stream=self.stream, time=self.time)
        self.sinks = [StoreSink(self.writer), self.mood]
        self.felt: list[Event] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.queue: asyncio.Queue = self.call(self._make_queue())
        self.stream.subscribe(lambda e: self.loop.call_soon_threadsafe(self.queue.put_nowait, e))
        for sink in self.sinks:
            self.call(sink.start(self.info))
        self.worker = asyncio.run_coroutine_threadsafe(self._deliver(), self.loop)

    async def _make_queue(self) -> asyncio.Queue:
        return asyncio.Queue()

    async def _deliver(self) -> None:
        while True:
            event = await self.queue.get()
            if isinstance(event, FeltMarked):
                self.felt.append(event.event)
            for sink in self.sinks:
                await getattr(sink, event.hook)(event)
            self.queue.task_done()

    @property
    def t_s(self) -> float:
        return self.clock.monotonic()

    @t_s.setter
    def t_s(self, value: float) -> None:
        self.clock.advance(value - self.clock.monotonic())

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def emit(self, event: Event) -> None:
        self.stream.publish(LetdownDetected(event.detected_s, 1, event))
        self.settle()

    def tick(self) -> None:
        """The session's once-a-second status at the current session time."""
        status = SessionStatus(t_s=self.t_s, flow_ml_s=None, volume_ml=0.0, letdowns=0)
        self.stream.publish(Status(self.t_s, status))
        self.settle()

    def settle(self) -> None:
        """Wait until every event was handled and every write tried."""
        self.call(self.queue.join())
        assert self.writer.drain()

    def close(self) -> None:
        self.settle()
        self.worker.cancel()
        summary = SessionSummary(self.t_s, (), 12.0, 61.0, None, tuple(self.felt))
        for sink in self.sinks:
            self.call(sink.stop(summary))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def session(tmp_path):
    s = Session(tmp_path / "letdown.sqlite3")
    yield s
    s.close()


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_tap_an_answer_on_the_phone_page_and_find_it_in_the_database(session, tmp_path):
    from playwright.sync_api import expect

    db = tmp_path / "letdown.sqlite3"
    session.t_s = 68.0
    session.emit(Event(61.0, 68.0, 0.5, "weight_g", 2.0))  # letdown detected: prompt 1 opens
    session.t_s = 95.0
    with _phone(session.mood.mood_url, viewport={"width": 390, "height": 844}) as page:
        expect(page.locator("#question")).to_contain_text("Letdown detected", timeout=10000)
        expect(page.locator("#clock")).to_have_text("1:35")
        expect(page.locator("#letdowns")).to_have_text("1")
        page.get_by_role("button", name="dread").click()
        page.get_by_role("button", name="anxious").click()
        page.get_by_role("button", name="intensity 6").click()
        expect(page.locator("#message")).to_contain_text("saved", timeout=10000)
        session.t_s = 120.0
        page.get_by_role("button", name="I feel a letdown now").click()
        expect(page.locator("#message")).to_contain_text("Felt letdown marked", timeout=10000)
    session.settle()
    assert rows(
        db,
        "SELECT a.score, a.feelings, a.channel, a.t_s, p.kind, p.status,"
        " p.letdown_onset_s FROM answers a JOIN prompts p ON p.id = a.prompt_id",
    ) == [(6, "dread;anxious", "page", 95.0, "letdown", "answered", 61.0)]
    assert rows(db, "SELECT label, onset_s, channel FROM events WHERE label = 'felt_letdown'") == [
        ("felt_letdown", 120.0, "mood page")
    ]


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_requests_without_the_session_token_are_rejected(session, tmp_path):
    base = session.mood.mood_url.split("?")[0]
    token = session.mood.token
    assert base.startswith("http://127.0.0.1:")
    for path in ("", "api/state", "answer?score=3", "felt"):
        assert get(base + path)[0] == 403
        assert get(base + path + ("&" if "?" in path else "?") + "token=wrong")[0] == 403
    session.settle()
    assert rows(tmp_path / "letdown.sqlite3", "SELECT COUNT(*) FROM answers") == [(0,)]
    assert session.felt == []
    status, body = get(base + "api/state", {"X-Letdown-Token": token})
    assert status == 200 and b'"feelings"' in body


def test_page_without_token_in_chromium_shows_the_refusal(session):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page()
        response = page.goto(session.mood.mood_url.split("?")[0])
        assert response is not None and response.status == 403
        expect(page.locator("body")).to_contain_text("missing or wrong session token")
        browser.close()


def test_one_tap_notification_action_answers_the_open_prompt(session, tmp_path):
    session.t_s = 68.0
    session.emit(Event(61.0, 68.0, 0.5, "weight_g", 2.0))
    session.t_s = 80.0
    status, body = get(session.mood.mood_url.replace("/?", "/answer?") + "&score=2&feelings=sad")
    assert status == 200 and b"saved" in body
    session.settle()
    assert rows(
        tmp_path / "letdown.sqlite3",
        "SELECT a.score, a.feelings, a.channel, p.status "
        "FROM answers a JOIN prompts p ON p.id = a.prompt_id",
    ) == [(2, "sad", "action", "answered")]
    status, body = get(session.mood.mood_url.replace("/?", "/answer?") + "&score=11")
    assert status == 400 and b"0 to 10" in body


VIEWPORTS = [(360, 640), (390, 844)]


def _in_view(page, selector: str) -> list[dict]:
    """Boxes of every element matching ``selector`` that are not fully inside the viewport."""
    return page.evaluate(
        """sel => [...document.querySelectorAll(sel)].map(e => {
             const r = e.getBoundingClientRect();
             return {text: e.textContent.trim().slice(0, 40), top: r.top, bottom: r.bottom,
                     left: r.left, right: r.right, height: r.height};
           }).filter(b => b.top < 0 || b.left < 0 || b.bottom > innerHeight
                          || b.right > innerWidth || b.height === 0)""",
        selector,
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_hopeless_8_shows_help_with_tel_links_on_one_screen(
    session, tmp_path, width, height, scheme
):
    """At 3 a.m., one-handed: everything to see fits one screen, and help comes at once."""
    from playwright.sync_api import expect

    session.t_s = 68.0
    session.emit(Event(61.0, 68.0, 0.5, "weight_g", 2.0))
    session.t_s = 90.0
    shots = tmp_path / "screenshots"
    with _phone(
        session.mood.mood_url,
        viewport={"width": width, "height": height},
        color_scheme=scheme,
        has_touch=True,
    ) as page:
        expect(page.locator("#question")).to_contain_text("Letdown detected", timeout=10000)
        expect(page.locator(".feelings button")).to_have_count(16)
        page.screenshot(path=shots / f"page-{width}x{height}-{scheme}.png")
        must_see = "header, #question, .feelings button, .scale button, #felt"
        assert _in_view(page, must_see) == []
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        heights = page.eval_on_selector_all(
            ".feelings button, .scale button, #felt",
            "els => els.map(e => e.getBoundingClientRect().height)",
        )
        assert min(heights) >= 44
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert (background == "rgb(18, 18, 18)") == (scheme == "dark")

        page.get_by_role("button", name="hopeless").click()
        page.get_by_role("button", name="intensity 8").click()
        panel = page.locator("#help")
        expect(panel).to_be_visible(timeout=10000)
        expect(panel).to_have_attribute("role", "alert")
        expect(panel).to_contain_text("hopeless")
        page.screenshot(path=shots / f"help-{width}x{height}-{scheme}.png")
        links = page.eval_on_selector_all("#help a", "els => els.map(e => e.href)")
        assert {"tel:911", "tel:112", "tel:988", "tel:18338526262", "tel:116123"} <= set(links)
        assert all(link.startswith("tel:") and link[4:].isdigit() for link in links)
        assert _in_view(page, "#help-text, #help a, #help-close") == []
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        link_heights = page.eval_on_selector_all(
            "#help a", "els => els.map(e => e.getBoundingClientRect().height)"
        )
        assert min(link_heights) >= 44
        psi = page.locator("#help a", has_text="Postpartum Support International")
        expect(psi).to_contain_text("not a crisis line")
        assert rows(tmp_path / "letdown.sqlite3", "SELECT score, feelings FROM answers") == [
            (8, "hopeless")
        ]
        # A mis-tap must be undoable while the panel is up: Undo is on screen, on top.
        undo = page.get_by_role("button", name="Undo")
        expect(undo).to_be_visible()
        assert _in_view(page, "#undo") == []
        assert undo.evaluate(
            """b => { const r = b.getBoundingClientRect();
                      return document.elementFromPoint((r.left + r.right) / 2,
                                                       (r.top + r.bottom) / 2) === b; }"""
        )
        assert min(undo.bounding_box()["height"], undo.bounding_box()["width"]) >= 44
        undo.click(timeout=5000)  # fails if the panel intercepts the tap
        expect(page.locator("#message")).to_contain_text("taken back", timeout=10000)
        expect(panel).to_be_hidden()
        expect(page.locator("#question")).to_contain_text("Letdown detected")  # open again
        expect(undo).to_be_hidden()
    assert rows(tmp_path / "letdown.sqlite3", "SELECT score, feelings FROM answers") == []
    assert sorted(p.name for p in shots.iterdir()) == [
        f"help-{width}x{height}-{scheme}.png",
        f"page-{width}x{height}-{scheme}.png",
    ]


def test_new_question_is_announced_and_a_second_tap_changes_the_answer(session, tmp_path):
    from playwright.sync_api import expect

    db = tmp_path / "letdown.sqlite3"
    session.t_s = 30.0
    with _phone(session.mood.mood_url, viewport={"width": 360, "height": 640}) as page:
        expect(page.locator("#question")).to_contain_text("No question right now")
        assert page.locator("#question").evaluate("e => e.parentElement.getAttribute('aria-live')")
        session.t_s = 68.0
        session.emit(Event(61.0, 68.0, 0.5, "weight_g", 2.0))
        expect(page.locator("#question")).to_contain_text("Letdown detected", timeout=10000)
        expect(page.locator("#question")).to_have_class("new")
        session.t_s = 80.0
        page.get_by_role("button", name="dread").click()
        page.get_by_role("button", name="intensity 6").click()
        expect(page.locator("#message")).to_contain_text("saved", timeout=10000)
        page.get_by_role("button", name="intensity 7").click()  # changes it: not a second answer
        expect(page.locator("#message")).to_contain_text("7/10", timeout=10000)
        expect(page.locator("#help")).to_be_visible()  # 7 calls for help
        page.get_by_role("button", name="Close").click()
        assert rows(db, "SELECT score, feelings, prompt_id IS NOT NULL FROM answers") == [
            (7, "dread", 1)
        ]
        page.get_by_role("button", name="Undo").click()
        expect(page.locator("#message")).to_contain_text("taken back", timeout=10000)
        assert rows(db, "SELECT COUNT(*) FROM answers") == [(0,)]
        expect(page.locator("#question")).to_contain_text("Letdown detected")  # open again
        page.get_by_role("button", name="Ask less").click()
        expect(page.locator("#message")).to_contain_text("Asking less", timeout=10000)
        page.get_by_role("button", name="No more questions this session").click()
        expect(page.locator("#message")).to_contain_text("No more mood questions", timeout=10000)
        expect(page.locator("#question")).to_contain_text("No question right now", timeout=10000)
    assert rows(db, "SELECT number, status FROM prompts") == [(1, "expired")]


def test_page_says_when_a_question_closed_and_asks_later_about_the_letdown_time(session):
    from playwright.sync_api import expect

    session.t_s = 68.0
    session.emit(Event(61.0, 68.0, 0.5, "weight_g", 2.0))
    session.t_s = 200.0  # 132 s after it was asked: no longer "the last minute or two"
    with _phone(session.mood.mood_url, viewport={"width": 360, "height": 640}) as page:
        expect(page.locator("#question")).to_contain_text(
            "Thinking back to around the letdown at", timeout=10000
        )
        session.t_s = 400.0  # past the 3-minute window: the prompt closes
        session.tick()
        expect(page.locator("#message")).to_contain_text(
            "The question about the letdown at", timeout=10000
        )
        expect(page.locator("#message")).to_contain_text("closed at")


def test_page_says_the_question_of_a_rise_taken_back_closed(session, tmp_path):
    """A bottle bump taken back seconds later: the question vanishes with a reason, and the
    store keeps it as withdrawn, not unanswered."""
    from playwright.sync_api import expect

    bump = Event(61.0, 68.0, 0.5, "weight_g", 2.0)
    session.t_s = 68.0
    session.emit(bump)
    with _phone(session.mood.mood_url, viewport={"width": 360, "height": 640}) as page:
        expect(page.locator("#question")).to_contain_text("Letdown detected", timeout=10000)
        expect(page.locator("#letdowns")).to_have_text("1")
        session.t_s = 75.0
        taken_back = Event(61.0, 68.0, 0.5, "weight_g", 2.0, end_s=75.0, label="retracted")
        session.stream.publish(LetdownRetracted(75.0, 1, taken_back))
        session.settle()
        expect(page.locator("#message")).to_contain_text(
            "closed: that rise was not a letdown after all", timeout=10000
        )
        expect(page.locator("#question")).to_contain_text("No question right now")
        expect(page.locator("#letdowns")).to_have_text("0")
    assert rows(tmp_path / "letdown.sqlite3", "SELECT number, status FROM prompts") == [
        (1, "withdrawn")
    ]
