"""The session store on real SQLite files: privacy, WAL, migrations, locks, corruption."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import stat
from datetime import datetime, timezone

import pytest

from letdown_detect.model import Event
from letdown_detect.sinks.base import (
    FeltMarked,
    LetdownCompleted,
    LetdownDetected,
    LetdownRetracted,
    SessionInfo,
    SessionStatus,
    SessionSummary,
    Status,
)
from letdown_detect.store.db import MIGRATIONS, Store, StoreError, default_db_path, migrate
from letdown_detect.store.store_sink import StoreSink
from letdown_detect.store.writer import StoreWriter, replay_rescue

START = datetime(2026, 1, 5, 7, 30, tzinfo=timezone.utc)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def count(db, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_new_database_is_private_wal_and_current(tmp_path):
    db = tmp_path / "sub" / "letdown.sqlite3"
    with Store(db) as store:
        store.add_session("s1", START.isoformat())
        assert store.query("PRAGMA journal_mode")[0][0] == "wal"
        assert store.query("PRAGMA user_version")[0][0] == len(MIGRATIONS)
        assert mode(db) == 0o600
        assert mode(db.with_name(db.name + "-wal")) == 0o600


def test_db_path_from_option_then_environment_then_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LETDOWN_DB", str(tmp_path / "env.sqlite3"))
    assert default_db_path(tmp_path / "opt.sqlite3") == tmp_path / "opt.sqlite3"
    assert default_db_path() == tmp_path / "env.sqlite3"
    monkeypatch.delenv("LETDOWN_DB")
    assert default_db_path().name == "letdown.sqlite3"
    assert "letdown" in default_db_path().parent.parts


def test_letdown_stored_at_detection_is_completed_not_duplicated(tmp_path):
    db = tmp_path / "l.sqlite3"
    with Store(db) as store:
        store.add_session("s1", START.isoformat())
        store.add_event("s1", "letdown", 61.0, detected_s=68.0, peak_flow_ml_s=0.4)
        store.add_event("s1", "letdown", 61.0, detected_s=68.0, end_s=180.0, volume_ml=42.0)
        rows = store.query("SELECT end_s, volume_ml FROM events")
    assert [tuple(r) for r in rows] == [(180.0, 42.0)]


def test_answer_closes_its_prompt_and_keeps_time_score_feelings(tmp_path):
    db = tmp_path / "l.sqlite3"
    with Store(db) as store:
        store.add_session("s1", START.isoformat())
        store.add_prompt("s1", 1, "letdown", 68.0, 668.0, letdown_onset_s=61.0)
        store.add_answer("s1", 90.0, START.isoformat(), 6, ["dread", "sad"], "page", 1)
        row = store.query(
            "SELECT p.status, p.asked_s, p.letdown_onset_s, a.t_s, a.score, a.feelings"
            " FROM answers a JOIN prompts p ON p.id = a.prompt_id"
        )[0]
    assert tuple(row) == ("answered", 68.0, 61.0, 90.0, 6, "dread;sad")


def test_migration_steps_run_in_order_and_keep_data(tmp_path):
    db = tmp_path / "old.sqlite3"
    with Store(db) as store:
        store.add_session("s1", START.isoformat(), kind="nursing")
    conn = sqlite3.connect(db)
    step2 = "ALTER TABLE sessions ADD COLUMN note TEXT NOT NULL DEFAULT ''"
    assert migrate(conn, db, (*MIGRATIONS, step2)) == len(MIGRATIONS)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) + 1
    assert conn.execute("SELECT id, kind, note FROM sessions").fetchall() == [("s1", "nursing", "")]
    conn.close()


def test_database_from_a_newer_letdown_is_refused_untouched(tmp_path):
    db = tmp_path / "new.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    before = db.read_bytes()
    with pytest.raises(StoreError, match="newer letdown"):
        Store(db)
    assert db.read_bytes() == before


def test_corrupt_file_is_a_clear_error_and_left_untouched(tmp_path):
    db = tmp_path / "letdown.sqlite3"
    db.write_bytes(b"this is not sqlite " * 400)
    with pytest.raises(StoreError, match="corrupt or foreign file") as info:
        Store(db)
    assert str(db) in str(info.value)
    assert db.read_bytes() == b"this is not sqlite " * 400


def test_locked_database_is_a_clear_error(tmp_path):
    db = tmp_path / "l.sqlite3"
    Store(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with (
            pytest.raises(StoreError, match="locked by another program"),
            Store(db, timeout_s=0.05) as store,
        ):
            store.add_session("s1", START.isoformat())
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def session_info() -> SessionInfo:
    return SessionInfo("abc123", START, "sim", recording=None, channels=("weight_g",))


def on_event(sink, event: Event):
    """The hook the session calls for ``event`` (numbers do not matter to the store)."""
    if event.label == "felt_letdown":
        return sink.on_felt_marked(FeltMarked(event.onset_s, event))
    if event.label == "retracted":
        return sink.on_letdown_retracted(LetdownRetracted(event.detected_s, 1, event))
    if event.complete:
        return sink.on_letdown_completed(LetdownCompleted(event.end_s, 1, event))
    return sink.on_letdown_detected(LetdownDetected(event.detected_s, 1, event))


def on_status(sink, status: SessionStatus):
    return sink.on_status(Status(status.t_s, status))


def letdown(onset: float, end: float | None = None) -> Event:
    return Event(
        onset, onset + 7, 0.5, "weight_g", 2.0, end_s=end, volume_ml=None if end is None else 30.0
    )


def test_live_session_lands_in_the_store_through_the_sink(tmp_path):
    db = tmp_path / "l.sqlite3"
    sink = StoreSink(StoreWriter(db))
    info = session_info()

    async def session():
        await sink.start(info)
        await on_event(sink, letdown(60.0))
        felt = Event(64.0, 64.0, 0.0, "keyboard", 0.0, end_s=64.0, label="felt_letdown")
        await on_event(sink, felt)
        await on_status(sink, SessionStatus(70.0, 0.4, 10.0, 1))
        summary = SessionSummary(600.0, (letdown(60.0, 200.0),), 80.0, 60.0, 300.0, (felt,))
        await sink.stop(summary)

    asyncio.run(session())
    with Store(db) as store:
        s = store.query("SELECT * FROM sessions")[0]
        events = store.query("SELECT label, onset_s, end_s FROM events ORDER BY onset_s")
    assert (s["id"], s["kind"], s["duration_s"], s["volume_ml"]) == ("abc123", "pumping", 600, 80)
    assert s["end_utc"] == "2026-01-05T07:40:00+00:00"
    assert [tuple(e) for e in events] == [("letdown", 60.0, 200.0), ("felt_letdown", 64.0, 64.0)]


def test_retracted_rise_takes_its_stored_letdown_back(tmp_path):
    db = tmp_path / "r.sqlite3"
    sink = StoreSink(StoreWriter(db))
    info = session_info()
    detected = Event(300.0, 306.0, 0.6, "weight_g", 1.2)
    retracted = Event(
        300.0, 306.0, 0.6, "weight_g", 1.2, end_s=309.0, volume_ml=1.0, label="retracted"
    )

    async def session():
        await sink.start(info)
        await on_event(sink, detected)
        await on_event(sink, retracted)
        await sink.stop(SessionSummary(600.0, (), 5.0, None, None))

    asyncio.run(session())
    with Store(db) as store:
        labels = [r["label"] for r in store.query("SELECT label FROM events")]
    assert labels == ["retracted"]


def test_locked_database_during_a_session_loses_nothing(tmp_path):
    """Writes wait while another program holds the lock, then land; the session never stops."""
    db = tmp_path / "l.sqlite3"
    Store(db).close()
    log = io.StringIO()
    writer = StoreWriter(db, retry_after_s=5.0, timeout_s=0.01, log=log)
    sink = StoreSink(writer)
    info = session_info()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")

    async def until_locked_part():
        await sink.start(info)
        for k in range(3):
            await on_event(sink, letdown(60.0 + 200 * k))
        await on_status(sink, SessionStatus(470.0, 0.4, 10.0, 3))

    asyncio.run(until_locked_part())
    sink.writer.drain()  # writes run on the store's own thread
    assert writer.pending == 4
    assert "locked by another program" in log.getvalue()
    assert "session goes on" in log.getvalue()
    holder.execute("ROLLBACK")
    holder.close()
    asyncio.run(on_status(sink, SessionStatus(471.0, 0.4, 10.0, 3)))
    sink.writer.drain()
    assert writer.pending == 4  # retries are paced: 5 s of session time after a refusal
    asyncio.run(on_status(sink, SessionStatus(476.0, 0.4, 10.0, 3)))
    sink.writer.drain()
    assert writer.pending == 0
    assert count(db, "events") == 3


def test_still_locked_at_the_end_writes_a_private_rescue_file_that_import_replays(tmp_path):
    db = tmp_path / "l.sqlite3"
    Store(db).close()
    writer = StoreWriter(db, timeout_s=0.01, log=io.StringIO())
    sink = StoreSink(writer)
    info = session_info()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")

    async def session():
        await sink.start(info)
        await on_event(sink, letdown(60.0))
        await sink.stop(SessionSummary(300.0, (letdown(60.0, 150.0),), 40.0, 60.0, 200.0))

    asyncio.run(session())
    holder.execute("ROLLBACK")
    holder.close()
    rescue = db.with_name(db.name + ".unsaved.jsonl")
    assert mode(rescue) == 0o600
    assert count(db, "events") == 0
    with Store(db) as store:
        assert replay_rescue(rescue, store) == 4
        assert store.query("SELECT end_s FROM events")[0][0] == 150.0
        assert store.query("SELECT duration_s FROM sessions")[0][0] == 300.0


@pytest.mark.timeout(120)
def test_live_session_with_the_live_options_lands_prompts_and_diary_answers(tmp_path):
    """A simulated pump session through ``letdown live``'s loop, with ``--mood-from``."""
    import argparse

    from letdown_detect.clock import VirtualClock
    from letdown_detect.live import LiveSession
    from letdown_detect.mood.live_options import add_live_options, sinks_from_options
    from letdown_detect.sources.simulated import SimulatedSource

    db = tmp_path / "l.sqlite3"
    diary = tmp_path / "diary.csv"
    diary.write_text("100,5,dread\n")
    parser = argparse.ArgumentParser()
    add_live_options(parser)
    args = parser.parse_args(["--db", str(db), "--mood-from", str(diary), "--mood-port", "0"])
    sinks = sinks_from_options(args, config={}, log=io.StringIO())
    clock = VirtualClock(START)
    source = SimulatedSource(clock=clock, speed=50, seed=0, duration_s=300)
    live = LiveSession(source, sinks, clock=clock, duration_s=300)
    summary = asyncio.run(live.run())

    assert not live.sink_errors
    with Store(db) as store:
        (session,) = store.query("SELECT * FROM sessions")
        events = store.query("SELECT onset_s, end_s FROM events WHERE label = 'letdown'")
        detected = store.query("SELECT onset_s FROM events ORDER BY onset_s")  # retracted too
        prompts = store.query("SELECT kind, letdown_onset_s, status FROM prompts ORDER BY number")
        answers = store.query(
            "SELECT a.score, a.channel, p.letdown_onset_s FROM answers a"
            " JOIN prompts p ON p.id = a.prompt_id"
        )
    assert session["start_utc"] == START.isoformat() and session["end_utc"] is not None
    onsets = [e.onset_s for e in summary.letdowns]
    assert onsets  # the detection itself is tested elsewhere
    assert sorted(e["onset_s"] for e in events) == pytest.approx(onsets)
    assert all(e["end_s"] is not None for e in events)
    # A prompt goes out at each detection, before anyone can know a rise will collapse.
    assert [p["letdown_onset_s"] for p in prompts if p["kind"] == "letdown"] == pytest.approx(
        [d["onset_s"] for d in detected]
    )
    assert [tuple(a)[:2] for a in answers] == [(5, "diary")]
    assert answers[0]["letdown_onset_s"] == pytest.approx(onsets[0])


class MoodRun:
    """A mood sink and a store sink on one store, driven by hand in session time."""

    def __init__(self, db, **config) -> None:
        from letdown_detect.clock import SessionTime, VirtualClock
        from letdown_detect.mood.prompt import PromptConfig
        from letdown_detect.mood.sink import MoodSink
        from letdown_detect.sinks.base import EventStream
        from letdown_detect.store.store_sink import StoreWorker

        self.clock = VirtualClock(START)
        time = SessionTime(self.clock)
        time.start(0.0)
        self.published: list = []
        stream = EventStream()
        stream.subscribe(self.published.append)
        writer = StoreWorker(StoreWriter(db))
        self.mood = MoodSink(writer, PromptConfig(**config), port=None, stream=stream, time=time)
        self.sinks = [StoreSink(writer), self.mood]

    def at(self, t_s: float) -> None:
        self.clock.advance(t_s - self.clock.monotonic())

    def run(self, *steps) -> None:
        """Each step: an Event (detected or retracted) or a callable, at its own time."""

        async def main() -> None:
            for sink in self.sinks:
                await sink.start(session_info())
            for step in steps:
                if isinstance(step, Event):
                    self.at(step.detected_s if step.label == "letdown" else step.end_s)
                    for sink in self.sinks:
                        await on_event(sink, step)
                else:
                    step()
            self.at(600.0)
            for sink in self.sinks:
                await sink.stop(SessionSummary(600.0, (), 40.0, None, None))

        asyncio.run(main())


def rise(onset: float, retracted: bool = False) -> Event:
    """A rise detected 6 s after ``onset``; retracted 6 s after that."""
    label, end = ("retracted", onset + 12.0) if retracted else ("letdown", None)
    return Event(onset, onset + 6.0, 0.6, "weight_g", 1.2, end_s=end, label=label)


def test_a_rise_taken_back_withdraws_its_question_in_the_store_and_on_the_stream(tmp_path):
    """With first_letdown_only, a bottle bump at 1:00 must not use up the session's question:
    it closes as withdrawn (not unanswered), the real first letdown is asked, and neither
    the report nor tomorrow's daily cap counts the withdrawn question."""
    from letdown_detect.mood.history import burden_options, load_sessions
    from letdown_detect.mood.prompt import prompt_line
    from letdown_detect.sinks.base import PromptExpired

    db = tmp_path / "w.sqlite3"
    run = MoodRun(db, first_letdown_only=True)
    seen: dict = {}
    run.run(
        rise(60.0),
        rise(60.0, retracted=True),
        lambda: seen.update(state=run.mood.state()),
        rise(130.0),
        lambda: (run.at(150.0), run.mood.submit_answer(5, "dread")),
    )
    assert seen["state"]["prompt"] is None and seen["state"]["withdrawn"] == [1]
    (closed,) = [e for e in run.published if isinstance(e, PromptExpired)]
    assert closed.prompt.number == 1 and closed.prompt.status == "withdrawn"
    assert "withdrawn" in prompt_line(closed.prompt) and "unanswered" not in prompt_line(
        closed.prompt
    )
    with Store(db) as store:
        prompts = [
            tuple(r)
            for r in store.query(
                "SELECT number, kind, letdown_onset_s, status FROM prompts ORDER BY number"
            )
        ]
        (mood,) = load_sessions(store)
    assert prompts == [(1, "letdown", 60.0, "withdrawn"), (2, "letdown", 130.0, "answered")]
    assert mood.letdown_onsets_s == (130.0,)
    assert (mood.unanswered_letdown_prompts, mood.unanswered_baseline_prompts) == (0, 0)
    options = burden_options({}, db, START.replace(hour=9))
    assert options["asked_today"] == 1  # the withdrawn question is not counted


def test_an_answer_given_before_its_rise_was_taken_back_stays_stored(tmp_path):
    db = tmp_path / "a.sqlite3"
    run = MoodRun(db)
    run.run(
        rise(300.0),
        lambda: (run.at(308.0), run.mood.submit_answer(8, "dread")),
        rise(300.0, retracted=True),
    )
    with Store(db) as store:
        rows = store.query(
            "SELECT a.score, a.feelings, p.status, p.letdown_onset_s FROM answers a"
            " JOIN prompts p ON p.id = a.prompt_id"
        )
    assert [tuple(r) for r in rows] == [(8, "dread", "answered", 300.0)]


def test_version_2_database_gains_withdrawn_prompts_and_keeps_answers_linked(tmp_path):
    db = tmp_path / "v2.sqlite3"
    conn = sqlite3.connect(db)
    migrate(conn, db, MIGRATIONS[:2])  # a database written before withdrawals existed
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("INSERT INTO sessions (id, start_utc, kind) VALUES ('s', '2026-01-05', 'pumping')")
    conn.execute(
        "INSERT INTO prompts (id, session_id, number, kind, letdown_onset_s, asked_s, expires_s,"
        " status) VALUES (7, 's', 1, 'letdown', 60, 66, 246, 'answered')"
    )
    conn.execute(
        "INSERT INTO answers (session_id, prompt_id, t_s, answered_utc, score, channel)"
        " VALUES ('s', 7, 70, '2026-01-05T00:01:10', 4, 'page')"
    )
    conn.commit()
    conn.close()
    with Store(db) as store:
        assert store.query("PRAGMA user_version")[0][0] == len(MIGRATIONS) == 3
        assert [tuple(r) for r in store.query("SELECT prompt_id, score FROM answers")] == [(7, 4)]
        store.add_prompt("s", 2, "letdown", 130.0, 310.0, 124.0, status="withdrawn")
        assert [tuple(r) for r in store.query("SELECT number, status FROM prompts")] == [
            (1, "answered"),
            (2, "withdrawn"),
        ]
        assert store.query("PRAGMA foreign_keys")[0][0] == 1
        assert store.query("PRAGMA foreign_key_check") == []
        store.delete_session("s")  # the rebuilt table still cascades
        assert store.query("SELECT COUNT(*) FROM prompts")[0][0] == 0
