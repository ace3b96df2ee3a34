"""Help at the moment of the answer: the panel's content, and the terminal and nursing paths."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rich.console import Console

from letdown_detect.errors import ConfigError
from letdown_detect.live import SystemClock
from letdown_detect.mood.answers import split_feelings
from letdown_detect.mood.help import help_for_answer, help_lines, lines_for
from letdown_detect.mood.live_options import mood_settings
from letdown_detect.sinks.base import AnswerGiven


def numbers(country: str | None) -> list[str]:
    return [line.number for line in lines_for(country)]


def test_each_country_gets_its_own_lines_most_urgent_first():
    assert numbers("US") == ["911", "988", "1-833-852-6262", "1-800-944-4773"]
    assert numbers("CA") == ["911", "988", "1-800-944-4773"]
    assert numbers("uk")[:3] == ["999", "111", "116 123"]
    assert numbers("AU")[0] == "000" and numbers("DE")[0] == "112" and numbers("ES") == ["112"]
    unset = numbers(None)
    assert {"911", "112", "999", "000", "988", "1-833-852-6262"} <= set(unset)


def test_psi_is_a_support_line_and_the_maternal_hotline_is_24_7():
    us = {line.name: line for line in lines_for("US")}
    psi = us["Postpartum Support International HelpLine"]
    assert psi.kind == "support" and "not a crisis line" in psi.note
    hotline = us["National Maternal Mental Health Hotline"]
    assert hotline.kind == "crisis" and "24/7" in hotline.note and hotline.tel == "tel:18338526262"
    assert us["988 Suicide & Crisis Lifeline"].kind == "crisis"


@pytest.mark.parametrize(
    ("score", "feelings", "shown", "urgent"),
    [
        (6, ("sad",), False, False),
        (7, (), True, False),
        (10, ("dread",), True, False),
        (2, ("hopeless",), True, True),
        (0, ("hopeless",), True, True),
    ],
)
def test_which_answers_call_for_help(score, feelings, shown, urgent):
    panel = help_for_answer(score, feelings, "US")
    assert (panel is not None) == shown
    if panel is not None:
        assert panel.urgent == urgent
        assert "D-MER" in panel.message and "passes within minutes" in panel.message
        assert "988" in panel.text()


def test_report_help_lines_follow_the_country():
    assert "1-833-852-6262" in help_lines("US") and "116 123" not in help_lines("US")
    assert "116 123" in help_lines("GB") and "emergency number" in help_lines("GB")


def test_country_in_the_config_is_checked_and_normalised():
    assert mood_settings({"mood": {"country": "uk"}})["country"] == "GB"
    assert mood_settings({"mood": {}})["country"] is None
    with pytest.raises(ConfigError, match="two-letter country code"):
        mood_settings({"mood": {"country": "Germany"}})
    settings = mood_settings(
        {"mood": {"max_per_day": 6, "first_letdown_only": True, "ask_less_when_clear": False}}
    )
    assert (settings["max_per_day"], settings["first_letdown_only"]) == (6, True)
    with pytest.raises(ConfigError, match=r"mood\.max_per_day"):
        mood_settings({"mood": {"max_per_day": "many"}})


class FakeMood:
    """The mood sink as the terminal paths see it."""

    def __init__(self) -> None:
        self.given: list[tuple[object, object]] = []

    def submit_answer(self, score, feelings=None, prompt=None, channel="page") -> str:
        self.given.append((score, feelings))
        return f"Thank you: answer {score}/10 saved."


def test_unknown_feeling_word_keeps_the_score_and_lists_the_words(tmp_path):
    import asyncio

    from letdown_detect.clock import SessionTime
    from letdown_detect.mood.nursing import NursingConsole
    from letdown_detect.sinks.base import EventStream

    mood = FakeMood()
    out = io.StringIO()
    console = NursingConsole(
        tmp_path / "l.sqlite3", EventStream(), SessionTime(SystemClock()), mood.submit_answer,
        stdin=None, out=out,
    )  # fmt: skip
    console.key("5 sad;sadd tired")
    assert mood.given == [("5", ["sad"])]
    reply = out.getvalue()
    assert "Not on the list, left out: sadd, tired" in reply
    assert "Feelings are: sad, dread" in reply and "overwhelmed" in reply
    assert split_feelings("homesick, Panic") == (("homesick/longing", "panic"), ())
    asyncio.run(console.stop(None))


def _answer(score: int, feelings: tuple[str, ...] = ()) -> AnswerGiven:
    return AnswerGiven(
        30.0, score=score, channel="terminal", status="answered",
        message=f"Thank you: answer {score}/10 saved.", feelings=feelings,
    )  # fmt: skip


def test_console_answer_shows_the_help_panel_at_once():
    import asyncio

    from letdown_detect.sinks.console import ConsoleSink

    out = io.StringIO()
    sink = ConsoleSink(console=Console(file=out, width=200), keys=False, country="US")
    asyncio.run(sink.on_answer_given(_answer(9)))  # the "9" key, come back as AnswerGiven
    text = out.getvalue()
    assert "answer 9/10 saved" in text
    assert "strong wave" in text and "988" in text and "1-833-852-6262" in text
    out.truncate(0)
    out.seek(0)
    asyncio.run(sink.on_answer_given(_answer(3)))
    assert "answer 3/10 saved" in out.getvalue() and "988" not in out.getvalue()
    asyncio.run(sink.on_answer_given(_answer(2, ("hopeless",))))
    assert "988" in out.getvalue()


@pytest.mark.timeout(60)
def test_nursing_session_answer_hopeless_shows_help_in_the_terminal(tmp_path):
    db = tmp_path / "l.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text('[mood]\ncountry = "GB"\n')
    env = {
        **os.environ,
        "LETDOWN_CONFIG": str(config),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "letdown_detect", "session", "start", "--nursing", "--db", str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    state = db.with_name(db.name + ".session.json")
    deadline = time.monotonic() + 20
    while not state.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.stdin.write("f\n")
    proc.stdin.flush()
    time.sleep(1.5)
    proc.stdin.write("3 hopeless;sadd\n")
    proc.stdin.flush()
    time.sleep(1.5)
    proc.stdin.write("q\n")
    proc.stdin.flush()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    said = out + err
    assert "Mood check #1: Letdown detected. Did you feel a sudden wave" in said  # the question
    assert "answer 3/10 saved" in said
    assert "You said you feel hopeless" in said
    assert "Samaritans: 116 123" in said and "999" in said
    assert "Not on the list, left out: sadd" in said
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT score, feelings FROM answers").fetchall() == [(3, "hopeless")]


def test_burden_options_count_todays_prompts_and_see_a_clear_pattern(tmp_path):
    from letdown_detect.mood.history import burden_options
    from letdown_detect.store.db import Store

    db = tmp_path / "l.sqlite3"
    now = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
    settings = mood_settings({"mood": {}})
    assert burden_options(settings, db, now) == {
        "max_per_day": 24,
        "first_letdown_only": False,
        "ask_less_when_clear": True,
    }
    with Store(db) as store:
        for day in range(3):
            sid = f"s{day}"
            start = now - timedelta(days=2 - day, hours=2)
            store.add_session(sid, start.isoformat())
            for k, onset in enumerate((60.0, 300.0, 560.0)):
                store.add_event(sid, "letdown", onset)
                store.add_prompt(sid, k + 1, "letdown", onset + 8, onset + 188, onset)
                store.add_answer(
                    sid, onset + 40, start.isoformat(), 6 if k == 0 else 0, (), "page", k + 1
                )
            for k, t in enumerate((800.0, 980.0, 260.0)):
                store.add_prompt(sid, 10 + k, "baseline", t, t + 180)
                store.add_answer(sid, t + 10, start.isoformat(), 0, (), "page", 10 + k)
    options = burden_options(settings, db, now)
    assert options["asked_today"] == 6  # the third session's prompts, all today
    assert options["pattern_clear"] is True
