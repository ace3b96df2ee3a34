"""`letdown history`: sessions from a real SQLite store, drawn over calendar time."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

from letdown_detect.cli import main
from letdown_detect.research.history import HISTORY_NOTE, plot_history, session_history
from letdown_detect.store.db import Store

matplotlib.use("Agg")


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "letdown.sqlite3"
    with Store(path) as store:
        for day, (onsets, scores) in enumerate(
            [([65.0, 300.0], [7, 1]), ([80.0], [6]), ([], [])], start=5
        ):
            sid = f"s{day}"
            store.add_session(sid, f"2026-01-{day:02d}T07:30:00+00:00")
            store.end_session(sid, f"2026-01-{day:02d}T07:45:00+00:00", 900.0, 100.0 + day)
            for onset in onsets:
                store.add_event(sid, "letdown", onset, detected_s=onset + 6, volume_ml=30.0)
            if day == 5:
                store.add_event(sid, "felt_letdown", 70.0)
            for number, score in enumerate(scores, start=1):
                kind = "letdown" if number == 1 else "baseline"
                store.add_prompt(sid, number, kind, asked_s=100.0 * number, expires_s=900.0)
                store.add_answer(
                    sid,
                    100.0 * number + 5,
                    "2026-01-05T07:32:00+00:00",
                    score,
                    prompt_number=number,
                )
    return path


def test_history_has_one_row_per_session_with_letdowns_volume_and_mood(store_path: Path) -> None:
    with Store(store_path) as store:
        sessions, answers = session_history(store)
    assert sessions["session_id"].tolist() == ["s5", "s6", "s7"]
    assert sessions["letdowns"].tolist() == [2, 1, 0]
    assert sessions["felt_letdowns"].tolist() == [1, 0, 0]
    assert sessions["time_to_first_letdown_s"].tolist()[:2] == [65.0, 80.0]
    assert sessions["volume_ml"].tolist() == [105.0, 106.0, 107.0]
    assert sessions["mood_answers"].tolist() == [2, 1, 0]
    assert sessions["mood_max"].tolist()[:2] == [7, 6]
    assert answers["prompt_kind"].tolist() == ["letdown", "baseline", "letdown"]
    assert str(answers["answered_utc"].iloc[0]) == "2026-01-05 07:31:45+00:00"
    fig = plot_history(sessions, answers)
    assert HISTORY_NOTE in [t.get_text() for t in fig.texts]
    mood_ax = fig.axes[3]
    assert [line.get_label() for line in mood_ax.get_lines()] == [
        "answer to a letdown prompt",
        "between letdowns",
    ]


def test_cli_writes_the_image_and_prints_the_table(
    store_path: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "history.png"
    assert main(["history", "--db", str(store_path), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2026-01-05 07:30" in printed and "not a diagnosis" in printed
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_cli_without_a_store_says_where_it_looked(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "none.sqlite3"
    assert main(["history", "--db", str(missing)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "letdown live" in err
    assert not missing.exists()


def test_cli_image_is_0600_and_help_is_printed_for_a_severe_answer(
    store_path: Path, tmp_path: Path, capsys
) -> None:
    import os
    import stat

    out = tmp_path / "history.png"
    old = os.umask(0)
    try:
        assert main(["history", "--db", str(store_path), "-o", str(out)]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    printed = " ".join(capsys.readouterr().out.split())
    assert "get help now" in printed and "emergency number" in printed  # the 7/10 answer


def test_cli_prints_no_help_lines_when_no_answer_calls_for_them(tmp_path: Path, capsys) -> None:
    path = tmp_path / "calm.sqlite3"
    with Store(path) as store:
        store.add_session("s", "2026-01-05T07:30:00+00:00")
        store.add_answer("s", 100.0, "2026-01-05T07:32:00+00:00", 2)
    assert main(["history", "--db", str(path), "-o", str(tmp_path / "h.png")]) == 0
    assert "get help now" not in " ".join(capsys.readouterr().out.split())
