"""``letdown session stop`` signals only the session its state file names: a stale file
whose PID now belongs to another program (here a ``sleep``) leaves that program alone."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta, timezone

from letdown_detect.cli import main


def _state(db, pid: int, start: datetime) -> None:
    state = db.with_name(db.name + ".session.json")
    state.write_text(json.dumps({"pid": pid, "session_id": "abc", "start_utc": start.isoformat()}))


def test_a_stale_state_file_naming_another_program_signals_nothing(tmp_path, capsys) -> None:
    db = tmp_path / "l.sqlite3"
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        _state(db, sleeper.pid, datetime.now(timezone.utc))
        assert main(["session", "stop", "--db", str(db), "--wait", "1"]) == 0
        assert "had already ended" in capsys.readouterr().err
        assert sleeper.poll() is None  # not killed
        assert not db.with_name(db.name + ".session.json").exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_reused_pid_started_after_the_session_is_not_that_session(tmp_path, capsys) -> None:
    db = tmp_path / "l.sqlite3"
    # a process whose command line looks like a session, but started after the state's start
    fake = subprocess.Popen(["sh", "-c", "sleep 30", "letdown", "session", "start"])
    try:
        _state(db, fake.pid, datetime.now(timezone.utc) - timedelta(hours=1))
        assert main(["session", "stop", "--db", str(db), "--wait", "1"]) == 0
        assert fake.poll() is None
    finally:
        fake.kill()
        fake.wait()


def test_the_nursing_summary_line_labels_clock_times_as_the_live_view_does() -> None:
    from letdown_detect.commands.session import nursing_summary_line
    from letdown_detect.model import Event, SessionInfo, SessionSummary

    info = SessionInfo("ab12", datetime(2026, 1, 5, 7, 30, tzinfo=timezone.utc), "nursing")
    marks = tuple(
        Event(t, t, 0.0, "keyboard", 0.0, end_s=t, label="felt_letdown") for t in (12.0, 130.0)
    )
    line = nursing_summary_line(info, SessionSummary(200.0, (), 0.0, None, None, marks))
    assert line == (
        f"nursing session ab12: started {info.local_text(0.0)}, lasted 3:20; 2 felt "
        f"letdown(s): felt {info.local_text(12.0)} (session 0:12), "
        f"felt {info.local_text(130.0)} (session 2:10)"
    )
    assert " min" not in line
