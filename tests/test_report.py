"""`letdown report`: one self-contained HTML file a reader can open offline."""

from __future__ import annotations

import re
from pathlib import Path

from letdown_detect.cli import main
from letdown_detect.recording import read_events, read_recording, write_recording
from letdown_detect.research.report import DISCLAIMER

EXAMPLES = Path(__file__).resolve().parents[1] / "recordings"


def test_report_embeds_the_plot_and_scores_against_annotations(tmp_path: Path, capsys) -> None:
    out = tmp_path / "weight_single.html"
    assert main(["report", str(EXAMPLES / "weight_single.csv"), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert re.search(r'<img [^>]*src="data:image/png;base64,[A-Za-z0-9+/=]{20000,}"', html)
    assert not re.search(r'(src|href)="(https?:)?//', html), "nothing may load from elsewhere"
    assert "Time to first letdown" in html and "Time to 80% of volume" in html
    assert "Detections against the annotations" in html
    assert '<td class="name">f1</td>' in html and '<td class="name">recall</td>' in html
    assert "not a diagnosis" in html and "lactation consultant" in html
    annotated = (read_events(EXAMPLES / "weight_single.events.csv")["label"] == "letdown").sum()
    assert f"<td>{annotated}</td>" in html


def test_report_without_annotations_has_no_scores(tmp_path: Path) -> None:
    path = write_recording(read_recording(EXAMPLES / "volume_single.csv"), tmp_path / "v.csv")
    assert main(["report", str(path)]) == 0
    html = (tmp_path / "v.report.html").read_text(encoding="utf-8")
    assert "Detections against the annotations" not in html
    assert DISCLAIMER in html


def test_mood_answers_from_the_store_only_when_asked(tmp_path: Path) -> None:
    from letdown_detect.store.db import Store

    path = write_recording(read_recording(EXAMPLES / "weight_single.csv"), tmp_path / "w.csv")
    db = tmp_path / "letdown.sqlite3"
    with Store(db) as store:
        store.add_session("s1", "2026-01-05T07:30:00+00:00", recording_path=str(path.resolve()))
        store.add_answer("s1", 125.0, "2026-01-05T07:32:05+00:00", 6)
    assert main(["report", str(path), "-o", str(tmp_path / "private.html")]) == 0
    assert "Mood answers" not in (tmp_path / "private.html").read_text(encoding="utf-8")
    assert main(["report", str(path), "--mood", "--db", str(db)]) == 0
    html = (tmp_path / "w.report.html").read_text(encoding="utf-8")
    assert "Mood answers" in html and '<td class="name">2:05</td><td>6</td>' in html
    assert DISCLAIMER in html


def test_mood_without_a_store_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    path = write_recording(read_recording(EXAMPLES / "flow_single.csv"), tmp_path / "f.csv")
    assert main(["report", str(path), "--mood", "--db", str(tmp_path / "none.db")]) == 2
    assert "none.db: no session store there for --mood" in capsys.readouterr().err


def test_a_severe_answer_shows_help_and_the_file_is_0600_from_the_start(tmp_path: Path) -> None:
    import os
    import stat

    from letdown_detect.store.db import Store

    path = write_recording(read_recording(EXAMPLES / "weight_single.csv"), tmp_path / "w.csv")
    db = tmp_path / "letdown.sqlite3"
    with Store(db) as store:
        store.add_session("s1", "2026-01-05T07:30:00+00:00", recording_path=str(path.resolve()))
        store.add_answer("s1", 125.0, "2026-01-05T07:32:05+00:00", 8, ("hopeless",))
    old = os.umask(0)  # a permissive umask: the mode must come from the open, not the umask
    try:
        out = tmp_path / "mood.html"
        out.write_text("an older, world-readable report")
        out.chmod(0o644)
        assert main(["report", str(path), "--mood", "--db", str(db), "-o", str(out)]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    html = out.read_text(encoding="utf-8")
    assert 'class="help"' in html and "emergency number" in html and "988" in html
    plain = tmp_path / "plain.html"
    assert main(["report", str(path), "-o", str(plain)]) == 0
    assert 'class="help"' not in plain.read_text(encoding="utf-8")


def test_hopeless_ticked_at_a_low_score_still_shows_help(tmp_path: Path) -> None:
    from letdown_detect.store.db import Store

    path = write_recording(read_recording(EXAMPLES / "weight_single.csv"), tmp_path / "w.csv")
    db = tmp_path / "letdown.sqlite3"
    with Store(db) as store:
        store.add_session("s1", "2026-01-05T07:30:00+00:00", recording_path=str(path.resolve()))
        store.add_answer("s1", 125.0, "2026-01-05T07:32:05+00:00", 3, ("sad", "hopeless"))
        store.add_answer("s1", 300.0, "2026-01-05T07:35:00+00:00", 2, ("sad",))
    out = tmp_path / "mood.html"
    assert main(["report", str(path), "--mood", "--db", str(db), "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert 'class="help"' in html and "988" in html
