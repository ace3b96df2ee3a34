"""Mood answers are never lost when the database and the rescue file beside it cannot be
written: they wait in memory, the parent is told at once where they will be, and at the end
they go to the first folder that takes them, or are printed as a last resort."""

from __future__ import annotations

import io
import os
import stat
import tempfile
from pathlib import Path

import pytest

from letdown_detect.cli import main
from letdown_detect.store.db import Store
from letdown_detect.store.writer import StoreWriter, replay_rescue

START = "2026-03-01T06:00:00+00:00"


def _unwritable_db(tmp_path: Path, readonly_folder: bool) -> Path:
    """A database path nobody can create: under a read-only folder (when not root, who
    writes anywhere) or under a plain file standing where its folder should be."""
    if readonly_folder:
        folder = tmp_path / "readonly"
        folder.mkdir()
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        return folder / "sessions.db"
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file, not a folder\n")
    return blocker / "sessions.db"


def _answers(writer: StoreWriter) -> None:
    writer.submit("add_session", 0.0, session_id="s1", start_utc=START)
    for i, score in enumerate((2, 7, 9)):
        t_s = 60.0 * (i + 1)
        writer.submit("add_answer", t_s, session_id="s1", t_s=t_s, answered_utc=START, score=score)


def _stored_scores(db: Path) -> list[int]:
    with Store(db) as store:
        return [r["score"] for r in store.query("SELECT score FROM answers ORDER BY t_s")]


CASES = [False] if os.geteuid() == 0 else [False, True]


@pytest.mark.parametrize("readonly_folder", CASES)
def test_unwritable_database_folder_rescues_answers_to_the_data_folder(
    tmp_path: Path, user_folders, readonly_folder: bool
) -> None:
    db = _unwritable_db(tmp_path, readonly_folder)
    log = io.StringIO()
    writer = StoreWriter(db, log=log)
    _answers(writer)
    rescue = Path(user_folders["XDG_DATA_HOME"]) / "letdown" / "sessions.db.unsaved.jsonl"
    # told at once, while the session goes on, where the answers will be
    assert "in memory" in log.getvalue() and str(rescue) in log.getvalue()
    assert writer.pending == 4
    kept = writer.close()
    assert kept == rescue and stat.S_IMODE(rescue.stat().st_mode) == 0o600
    assert str(rescue) in log.getvalue().splitlines()[-1]  # and told again at the end
    good = tmp_path / "good.db"
    with Store(good) as store:
        assert replay_rescue(rescue, store) == 4
    assert _stored_scores(good) == [2, 7, 9]


def test_no_folder_takes_the_rescue_file_so_the_answers_are_printed(
    tmp_path: Path, user_folders, monkeypatch, capsys
) -> None:
    db = _unwritable_db(tmp_path, readonly_folder=False)
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocked))
    monkeypatch.setattr(tempfile, "tempdir", str(blocked))
    log = io.StringIO()
    writer = StoreWriter(db, log=log)
    _answers(writer)
    assert writer.close() is not None  # not "all saved"
    text = log.getvalue()
    assert "no rescue file could be written" in text and "letdown import --rescue" in text
    body = text.split("-----\n", 1)[1].split("----- END", 1)[0]
    saved = tmp_path / "copied.jsonl"
    saved.write_text(body)
    good = tmp_path / "good.db"
    assert main(["import", "--rescue", str(saved), "--db", str(good)]) == 0
    assert _stored_scores(good) == [2, 7, 9]
