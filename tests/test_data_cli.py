"""``letdown data export/delete`` and ``letdown mood answers/edit/delete`` on real sessions.

Sessions come from real ``letdown live`` runs on the simulator (sped up), so
the data folder holds what a parent's would: the database with its WAL, the
session folders, and the reports made from them.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from letdown_detect.store.files import data_dir

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[1]


def letdown(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "letdown_detect", *argv],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
    )


def live_session(tmp_path: Path, seed: int) -> None:
    diary = tmp_path / f"diary{seed}.csv"
    diary.write_text("t_s,score,feelings\n40,9,hopeless\n400,0,calm\n")
    done = letdown(
        "live",
        "--speed",
        "240",
        "--seed",
        str(seed),
        "--duration",
        "480",
        "--json",
        "--quiet",
        "--mood-from",
        str(diary),
    )
    assert done.returncode == 0, done.stderr


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def rows(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def two_sessions(tmp_path):
    live_session(tmp_path, 3)
    live_session(tmp_path, 4)
    return data_dir() / "letdown.sqlite3"


def test_delete_everything_leaves_no_file_with_mood_data(two_sessions, tmp_path):
    db = two_sessions
    report, image = tmp_path / "dmer.html", tmp_path / "history.png"
    assert letdown("dmer", "--html", str(report)).returncode == 0
    assert letdown("history", "-o", str(image)).returncode == 0
    recording = next(
        p for p in files_in(data_dir()) if p.suffix == ".csv" and "events" not in p.name
    )
    plotted = tmp_path / "with-mood.png"
    done = letdown("plot", str(recording), "--mood", "-o", str(plotted))
    assert done.returncode == 0, done.stderr
    rescue = db.with_name(db.name + ".unsaved.jsonl")  # as left by a locked database
    fd = os.open(rescue, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b'{"op": "add_answer", "args": {"session_id": "x", "score": 9}}\n')
    os.close(fd)
    conn = sqlite3.connect(db)  # a reader keeps the -wal and -shm files in place
    conn.execute("SELECT COUNT(*) FROM answers").fetchall()
    before = files_in(data_dir())
    names = {p.name for p in before}
    assert {"letdown.sqlite3", "letdown.sqlite3.unsaved.jsonl", "written.txt"} <= names
    assert len([p for p in before if p.suffix == ".csv" and "events" not in p.name]) == 2
    for path in [*before, report, image, plotted]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert {"letdown.sqlite3-wal", "letdown.sqlite3-shm"} <= names
    conn.close()
    kept = files_in(data_dir())

    refused = letdown("data", "delete")  # no terminal to confirm on, no --yes
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert files_in(data_dir()) == kept

    done = letdown("data", "delete", "--yes")
    assert done.returncode == 0, done.stderr
    assert files_in(data_dir()) == []
    assert not report.exists() and not image.exists() and not plotted.exists()
    assert "Traceback" not in done.stderr and f"deleted {db}" in done.stderr


def test_delete_one_session_keeps_the_other(two_sessions):
    db = two_sessions
    first, second = (r[0] for r in rows(db, "SELECT id FROM sessions ORDER BY start_utc"))
    (folder,) = rows(db, f"SELECT recording_path FROM sessions WHERE id = '{first}'")[0]
    done = letdown("data", "delete", "--session", first, "--yes")
    assert done.returncode == 0, done.stderr
    assert rows(db, "SELECT id FROM sessions") == [(second,)]
    assert rows(db, f"SELECT COUNT(*) FROM answers WHERE session_id = '{first}'") == [(0,)]
    assert rows(db, f"SELECT COUNT(*) FROM prompts WHERE session_id = '{first}'") == [(0,)]
    assert rows(db, f"SELECT COUNT(*) FROM answers WHERE session_id = '{second}'") != [(0,)]
    assert not Path(folder).exists() or not any(Path(folder).iterdir())
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
    missing = letdown("data", "delete", "--session", "nope", "--yes")
    assert missing.returncode == 2 and "no session 'nope'" in missing.stderr


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_has_every_session_event_prompt_and_answer(two_sessions, tmp_path, fmt):
    db = two_sessions
    out = tmp_path / ("export.json" if fmt == "json" else "export")
    done = letdown("data", "export", "-o", str(out))
    assert done.returncode == 0, done.stderr
    counts = {
        t: rows(db, f"SELECT COUNT(*) FROM {t}")[0][0]
        for t in ("sessions", "events", "prompts", "answers")
    }
    assert counts["sessions"] == 2 and counts["answers"] >= 4 and counts["prompts"] >= 2
    if fmt == "json":
        data = json.loads(out.read_text())
        assert {t: len(v) for t, v in data.items()} == counts
        assert {a["score"] for a in data["answers"]} >= {9, 0}
        files = [out]
    else:
        files = sorted(out.iterdir())
        assert [f.name for f in files] == [
            "answers.csv",
            "events.csv",
            "prompts.csv",
            "sessions.csv",
        ]
        for f in files:
            assert len(list(csv.DictReader(f.open()))) == counts[f.stem]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_a_mistapped_9_edited_no_longer_raises_the_banner(two_sessions):
    before = letdown("dmer")
    assert before.stdout.startswith("GET HELP NOW: Your answer of 9/10 (hopeless)")
    listed = letdown("mood", "answers", "--session", "all").stdout
    nines = [line.split(":")[0].split()[1] for line in listed.splitlines() if " 9/10" in line]
    assert len(nines) == 2
    edited = letdown("mood", "edit", nines[0], "--score", "2", "--feelings", "calm")
    assert edited.returncode == 0 and "changed from 9/10 to 2/10" in edited.stderr
    deleted = letdown("mood", "delete", nines[1])
    assert deleted.returncode == 0 and f"answer {nines[1]} deleted" in deleted.stderr
    after = letdown("dmer")
    assert "GET HELP NOW" not in after.stdout and "9/10" not in after.stdout
    relisted = letdown("mood", "answers", "--session", "all").stdout
    assert any(
        f"answer {nines[0]}:" in line and "2/10 calm" in line and "edited)" in line
        for line in relisted.splitlines()
    )
    again = letdown("mood", "delete", nines[1])
    assert again.returncode == 2 and "no answer" in again.stderr


def test_migration_brings_a_version_1_database_up_to_date(tmp_path):
    from letdown_detect.store.db import MIGRATIONS, Store, migrate

    db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(db)
    migrate(conn, db, MIGRATIONS[:1])  # a database written by the previous letdown
    conn.execute("INSERT INTO sessions (id, start_utc, kind) VALUES ('s', '2026-01-05', 'pumping')")
    conn.execute(
        "INSERT INTO answers (session_id, t_s, answered_utc, score, channel)"
        " VALUES ('s', 1, '2026-01-05', 9, 'page')"
    )
    conn.commit()
    conn.close()
    with Store(db) as store:
        assert store.query("PRAGMA user_version")[0][0] == len(MIGRATIONS)
        assert store.edit_answer(1, 2, (), "2026-01-06T00:00:00+00:00") == 1
        assert [tuple(r) for r in store.query("SELECT score, edited_utc FROM answers")] == [
            (2, "2026-01-06T00:00:00+00:00")
        ]


def test_import_of_a_sidecar_starting_near_the_year_9999_is_stored(tmp_path):
    """A start time whose session would end past the calendar is stored without an end time,
    and the other file of the run is stored too (it was an OverflowError traceback)."""
    good = tmp_path / "good.csv"
    assert letdown("simulate", str(good), "--kind", "weight_g", "--seed", "3").returncode == 0
    far = tmp_path / "far.csv"
    far.write_text(good.read_text())
    far.with_suffix(".json").write_text(
        json.dumps({"start_time": "9999-12-31T23:59:59+00:00", "sample_rate_hz": 10.0})
    )
    db = tmp_path / "i.db"
    done = letdown("import", str(good), str(far), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert len(rows(db, "SELECT id FROM sessions")) == 2
