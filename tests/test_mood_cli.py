"""The mood commands from the command line: diaries, late and unknown answers, bad databases.

Commands run through ``cli.main`` with only this feature's subcommands
registered, so the test does not depend on other subcommands being present.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from letdown_detect import cli
from letdown_detect.mood.live_options import add_live_options, sinks_from_options
from letdown_detect.recording import write_events, write_recording
from letdown_detect.sources.simulate import SimConfig, simulate_session

MINE = ("import", "session", "mood", "dmer")
DIARY = """t_s,score,feelings
# letdown at ~70 s: prompt asked ~78 s
90,6,dread;sad
95,seven,sad
400,2
500,11
610,1,happy
700,0,calm,extra
"""


def letdown(argv: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.setattr(cli, "COMMANDS", MINE)
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def rec(tmp_path) -> Path:
    sim = simulate_session(SimConfig(duration_s=900), seed=0)
    path = write_recording(sim.recording, tmp_path / "session1.csv")
    write_events(sim.truth, tmp_path / "session1.events.csv")
    return path


def rows(db: Path, sql: str, params=()) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def test_import_with_a_diary_reports_bad_lines_and_keeps_the_good_ones(
    tmp_path, rec, capsys, monkeypatch
):
    db = tmp_path / "l.sqlite3"
    diary = tmp_path / "diary.csv"
    diary.write_text(DIARY)
    code, out, err = letdown(
        ["import", str(rec), "--db", str(db), "--mood-from", str(diary)], capsys, monkeypatch
    )
    assert code == 2  # stored, but some input was bad (issue #14: exit 2 whenever it is)
    assert "4 letdowns, 0 felt" in out and "2 diary answers" in out
    assert f"{diary} line 4: expected a score from 0 to 10, got 'seven'" in err
    assert f"{diary} line 6: expected a score from 0 to 10, got '11'" in err
    assert f"{diary} line 7: expected feelings from" in err
    assert f"{diary} line 8: expected t_s,score[,feelings], got 4 cells" in err
    answers = rows(
        db,
        "SELECT a.t_s, a.score, a.feelings, p.kind FROM answers a "
        "LEFT JOIN prompts p ON p.id = a.prompt_id ORDER BY a.t_s",
    )
    # each line answers the prompt open at its time: the first letdown's (asked at ~71 s)
    # and the third letdown's (asked at ~241 s, open for 10 min)
    assert answers == [(90.0, 6, "dread;sad", "letdown"), (400.0, 2, "", "letdown")]
    assert rows(db, "SELECT COUNT(*) FROM events WHERE label = 'letdown'") == [(4,)]
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_importing_the_same_recording_twice_adds_nothing(tmp_path, rec, capsys, monkeypatch):
    db = tmp_path / "l.sqlite3"
    assert letdown(["import", str(rec), "--db", str(db)], capsys, monkeypatch)[0] == 0
    code, _, err = letdown(["import", str(rec), "--db", str(db)], capsys, monkeypatch)
    assert code == 2
    assert err.startswith("letdown: ") and "already stored as session" in err
    assert rows(db, "SELECT COUNT(*) FROM sessions") == [(1,)]


@pytest.fixture
def imported(tmp_path, rec, capsys, monkeypatch) -> Path:
    """A stored session whose first letdown prompt was answered and the rest expired."""
    db = tmp_path / "l.sqlite3"
    diary = tmp_path / "diary.csv"
    diary.write_text("90,5,dread\n")
    letdown(["import", str(rec), "--db", str(db), "--mood-from", str(diary)], capsys, monkeypatch)
    return db


def test_answer_to_an_expired_prompt_is_kept_as_late(imported, capsys, monkeypatch):
    (pid,) = rows(imported, "SELECT id FROM prompts WHERE status = 'expired' ORDER BY id LIMIT 1")[
        0
    ]
    code, _, err = letdown(
        ["mood", "add", "--db", str(imported), "--prompt", str(pid), "--score", "4"],
        capsys,
        monkeypatch,
    )
    assert code == 0
    assert "had expired" in err and "late answer" in err
    assert rows(imported, "SELECT score, late FROM answers WHERE prompt_id = ?", (pid,)) == [(4, 1)]


def test_answer_to_an_unknown_or_answered_prompt_is_refused_with_a_clear_message(
    imported, capsys, monkeypatch
):
    before = rows(imported, "SELECT COUNT(*) FROM answers")
    code, _, err = letdown(
        ["mood", "add", "--db", str(imported), "--prompt", "999", "--score", "4"],
        capsys,
        monkeypatch,
    )
    assert code == 2 and "no prompt 999" in err and "letdown mood prompts" in err
    (answered,) = rows(imported, "SELECT id FROM prompts WHERE status = 'answered'")[0]
    code, _, err = letdown(
        ["mood", "add", "--db", str(imported), "--prompt", str(answered), "--score", "1"],
        capsys,
        monkeypatch,
    )
    assert code == 2 and "already answered (5/10)" in err and "--at" in err
    code, _, err = letdown(
        ["mood", "add", "--db", str(imported), "--at", "300", "--score", "eleven"],
        capsys,
        monkeypatch,
    )
    assert code == 2 and "expected a score from 0 to 10" in err
    assert rows(imported, "SELECT COUNT(*) FROM answers") == before
    assert "Traceback" not in err


def test_mood_add_at_a_moment_and_prompts_listing(imported, capsys, monkeypatch):
    code, _, _ = letdown(
        [
            "mood",
            "add",
            "--db",
            str(imported),
            "--at",
            "300",
            "--score",
            "3",
            "--feelings",
            "irritable",
        ],
        capsys,
        monkeypatch,
    )
    assert code == 0
    assert rows(imported, "SELECT score, feelings, prompt_id FROM answers WHERE t_s = 300") == [
        (3, "irritable", None)
    ]
    code, out, _ = letdown(["mood", "prompts", "--db", str(imported)], capsys, monkeypatch)
    assert code == 0 and "letdown at 71 s" in out and "answered answer 5" in out


def test_mood_add_and_edit_show_the_help_panel_at_once_for_7_or_hopeless(
    imported, capsys, monkeypatch
):
    """Answered afterwards at the terminal, a strong or hopeless answer gets the same help
    the page and the live terminal give, at once (not only later in `letdown dmer`)."""
    from letdown_detect.mood.help import help_for_answer

    db = str(imported)
    (pid,) = rows(imported, "SELECT id FROM prompts WHERE status = 'expired' ORDER BY id LIMIT 1")[
        0
    ]
    code, _, err = letdown(
        ["mood", "add", "--db", db, "--prompt", str(pid), "--score", "8"], capsys, monkeypatch
    )
    assert code == 0 and "late answer" in err
    assert help_for_answer(8).text() in err  # the same panel as the other channels
    assert "tell someone near you" in err and "988" in err and "1-833-852-6262" in err

    code, _, err = letdown(
        ["mood", "add", "--db", db, "--at", "500", "--score", "2", "--feelings", "hopeless"],
        capsys,
        monkeypatch,
    )
    assert code == 0 and "You said you feel hopeless" in err and "988" in err

    code, _, err = letdown(
        ["mood", "add", "--db", db, "--at", "600", "--score", "3"], capsys, monkeypatch
    )
    assert code == 0 and "988" not in err and "hopeless" not in err  # a mild answer: no panel

    (calm,) = rows(imported, "SELECT id FROM answers WHERE t_s = 600")[0]
    code, _, err = letdown(
        ["mood", "edit", str(calm), "--db", db, "--score", "9"], capsys, monkeypatch
    )
    assert code == 0 and "changed from 3/10 to 9/10" in err
    assert help_for_answer(9).text() in err
    code, _, err = letdown(
        ["mood", "edit", str(calm), "--db", db, "--score", "1", "--feelings", "calm"],
        capsys,
        monkeypatch,
    )
    assert code == 0 and "988" not in err  # corrected down: nothing alarming is shown


def test_dmer_report_json_and_private_html(imported, tmp_path, capsys, monkeypatch):
    code, out, _ = letdown(["dmer", "--db", str(imported), "--json"], capsys, monkeypatch)
    report = json.loads(out)
    assert code == 0 and report["verdict"] == "not_enough_data"
    assert report["needed"]["letdown_answers"] == 4
    html = tmp_path / "summary.html"
    code, out, _ = letdown(
        ["dmer", "--db", str(imported), "--html", str(html)], capsys, monkeypatch
    )
    assert code == 0 and "not a diagnosis" in out
    assert stat.S_IMODE(html.stat().st_mode) == 0o600
    assert "lactation consultant" in html.read_text()
    code, _, err = letdown(
        ["dmer", "--db", str(imported), "--since", "last tuesday"], capsys, monkeypatch
    )
    assert code == 2 and "--since: expected a date like 2026-01-31" in err
    code, out, _ = letdown(
        ["dmer", "--db", str(imported), "--since", "2100-01-01", "--json"], capsys, monkeypatch
    )
    assert json.loads(out)["answered_letdowns"] == 0


def test_corrupt_database_is_one_line_and_untouched(tmp_path, capsys, monkeypatch):
    db = tmp_path / "l.sqlite3"
    db.write_bytes(b"\x00garbage" * 600)
    code, out, err = letdown(["dmer", "--db", str(db)], capsys, monkeypatch)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "corrupt or foreign file" in err and str(db) in err
    assert db.read_bytes() == b"\x00garbage" * 600


def test_live_options_report_bad_diary_lines_and_still_give_both_sinks(tmp_path):
    diary = tmp_path / "diary.csv"
    diary.write_text("60,3\nabc,2\n")
    parser = argparse.ArgumentParser()
    add_live_options(parser)
    args = parser.parse_args(
        ["--db", str(tmp_path / "l.sqlite3"), "--mood-from", str(diary), "--mood-port", "0"]
    )
    log = io.StringIO()
    sinks = sinks_from_options(args, config={}, log=log)
    assert [type(s).__name__ for s in sinks] == ["StoreSink", "MoodSink"]
    assert f"{diary} line 2: expected a time in seconds in t_s, got 'abc'" in log.getvalue()
    assert sinks[1].mood_url.startswith("http://127.0.0.1:")
    assert sinks[1].diary.entries[0].score == 3
    sinks[1]._server._sock.close()
    no_mood = parser.parse_args(["--db", str(tmp_path / "l.sqlite3"), "--no-mood"])
    assert [type(s).__name__ for s in sinks_from_options(no_mood, config={})] == ["StoreSink"]


def run_letdown(*argv: str, **kw) -> subprocess.Popen:
    code = (
        "import sys; from letdown_detect import cli; "
        f"cli.COMMANDS = {MINE!r}; sys.exit(cli.main(sys.argv[1:]))"
    )
    return subprocess.Popen([sys.executable, "-c", code, *argv], text=True, **kw)


@pytest.mark.timeout(60)
def test_nursing_session_start_felt_mark_answer_and_stop(tmp_path):
    db = tmp_path / "l.sqlite3"
    env = {**os.environ, "LETDOWN_CONFIG": str(tmp_path / "none.toml")}
    start = run_letdown(
        "session",
        "start",
        "--nursing",
        "--db",
        str(db),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    state = db.with_name(db.name + ".session.json")
    deadline = time.monotonic() + 20
    while not state.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert state.exists() and stat.S_IMODE(state.stat().st_mode) == 0o600
    assert json.loads(state.read_text())["mood_url"].startswith("http://127.0.0.1:")
    second = run_letdown(
        "session", "start", "--nursing", "--db", str(db), stderr=subprocess.PIPE, env=env
    )
    assert second.wait(20) == 2 and "already running" in second.stderr.read()
    start.stdin.write("f\n")
    start.stdin.flush()
    time.sleep(1.5)  # the session ticks once a second
    start.stdin.write("4 sad;irritable\n")
    start.stdin.flush()
    time.sleep(1.5)
    stop = run_letdown(
        "session", "stop", "--db", str(db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert stop.wait(30) == 0, stop.stderr.read()
    out, err = start.communicate(timeout=20)
    assert start.returncode == 0, err
    assert "1 felt letdown(s)" in out
    assert "Thank you: answer 4/10 saved" in err
    assert not state.exists()
    assert rows(db, "SELECT kind, end_utc IS NOT NULL FROM sessions") == [("nursing", 1)]
    assert rows(db, "SELECT label, channel FROM events") == [("felt_letdown", "keyboard")]
    assert rows(
        db,
        "SELECT a.score, a.feelings, a.channel, p.kind FROM answers a "
        "JOIN prompts p ON p.id = a.prompt_id",
    ) == [(4, "sad;irritable", "terminal", "letdown")]


def test_session_stop_without_a_running_session_says_so(tmp_path, capsys, monkeypatch):
    code, _, err = letdown(
        ["session", "stop", "--db", str(tmp_path / "l.sqlite3")], capsys, monkeypatch
    )
    assert code == 2 and "no nursing session is running" in err


def test_session_stop_after_a_crash_clears_the_stale_state(tmp_path, capsys, monkeypatch):
    db = tmp_path / "l.sqlite3"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    state = db.with_name(db.name + ".session.json")
    state.write_text(json.dumps({"pid": dead.pid, "session_id": "abc"}))
    code, _, err = letdown(["session", "stop", "--db", str(db)], capsys, monkeypatch)
    assert code == 0 and "had already ended" in err and not state.exists()


def test_mood_section_of_the_config_file_sets_timing_and_names_bad_keys(tmp_path):
    from letdown_detect.errors import ConfigError
    from letdown_detect.mood.live_options import mood_settings

    settings = mood_settings({"mood": {"expiry_s": 300, "max_baseline": 1}})
    assert (settings["expiry_s"], settings["max_baseline"], settings["port"]) == (300, 1, 0)
    with pytest.raises(ConfigError, match="did you mean 'expiry_s'"):
        mood_settings({"mood": {"expiry": 300}})
    with pytest.raises(ConfigError, match=r"mood\.lan must be true or false"):
        mood_settings({"mood": {"lan": "yes"}})


@pytest.mark.parametrize(
    "argv",
    [
        ["dmer"],
        ["mood", "prompts"],
        ["mood", "answers"],
        ["mood", "add", "--at", "10", "--score", "3"],
        ["mood", "edit", "1", "--score", "3"],
        ["mood", "delete", "1"],
    ],
)
def test_read_and_change_commands_refuse_a_database_that_does_not_exist(
    argv, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(cli, "COMMANDS", (*MINE, "data"))
    typo = tmp_path / "typo.db"
    code = cli.main([*argv, "--db", str(typo)])
    err = capsys.readouterr().err
    assert code == 2 and f"{typo}: no session store there" in err
    assert not typo.exists()
