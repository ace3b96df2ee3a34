"""Read stored sessions into the data the D-MER analysis takes (``dmer.SessionMood``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..store.db import Store
from .dmer import MoodAnswer, SessionMood


def parse_utc(text: str) -> datetime:
    """An ISO 8601 time as timezone-aware UTC (naive times are taken as UTC)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def load_sessions(store: Store, since: datetime | None = None) -> list[SessionMood]:
    """Every stored session (started at or after ``since``) with its letdowns and answers.

    Raises:
        StoreError: locked or corrupt database.
    """
    out = []
    for s in store.query("SELECT * FROM sessions ORDER BY start_utc"):
        start = parse_utc(s["start_utc"])
        if since is not None and start < since:
            continue
        onsets = tuple(
            r["onset_s"]
            for r in store.query(
                "SELECT onset_s FROM events WHERE session_id = ? AND label != 'retracted'"
                " ORDER BY onset_s",
                (s["id"],),
            )
        )
        answers = tuple(
            MoodAnswer(
                t_s=r["t_s"],
                score=r["score"],
                feelings=tuple(f for f in r["feelings"].split(";") if f),
                prompt_kind=r["kind"],
                letdown_onset_s=r["letdown_onset_s"],
                late=bool(r["late"]),
            )
            for r in store.query(
                "SELECT a.t_s, a.score, a.feelings, a.late, p.kind, p.letdown_onset_s"
                " FROM answers a LEFT JOIN prompts p ON p.id = a.prompt_id"
                " WHERE a.session_id = ? ORDER BY a.t_s",
                (s["id"],),
            )
        )
        unanswered = {
            r["kind"]: r["n"]
            for r in store.query(
                "SELECT kind, COUNT(*) AS n FROM prompts"
                " WHERE session_id = ? AND status NOT IN ('answered', 'withdrawn') GROUP BY kind",
                (s["id"],),
            )
        }
        out.append(
            SessionMood(
                session_id=s["id"],
                start_utc=start,
                kind=s["kind"],
                letdown_onsets_s=onsets,
                answers=answers,
                unanswered_letdown_prompts=unanswered.get("letdown", 0),
                unanswered_baseline_prompts=unanswered.get("baseline", 0),
            )
        )
    return out


def burden_options(settings: dict[str, Any], db: Path, now_utc: datetime) -> dict[str, Any]:
    """``PromptConfig`` fields that depend on the store: prompts asked today, pattern clear.

    Args:
        settings: the checked ``[mood]`` section.
        db: the session store (a missing or unreadable one counts as empty).
        now_utc: the session start.
    """
    from ..errors import LetdownError
    from .dmer import NOT_ENOUGH_DATA, analyze

    out: dict[str, Any] = {
        "max_per_day": settings.get("max_per_day", 24),
        "first_letdown_only": settings.get("first_letdown_only", False),
        "ask_less_when_clear": settings.get("ask_less_when_clear", True),
    }
    if not db.exists():
        return out
    day = now_utc.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        with Store(db) as store:
            asked = 0
            for s in store.query(
                "SELECT id, start_utc FROM sessions WHERE start_utc >= ?",
                ((day - timedelta(days=1)).isoformat(),),
            ):
                start = parse_utc(s["start_utc"])
                for p in store.query(
                    "SELECT asked_s FROM prompts WHERE session_id = ? AND status != 'withdrawn'",
                    (s["id"],),
                ):
                    asked += start + timedelta(seconds=p["asked_s"]) >= day
            verdict = analyze(load_sessions(store, now_utc - timedelta(days=28))).verdict
    except LetdownError:
        return out
    return {**out, "asked_today": asked, "pattern_clear": verdict != NOT_ENOUGH_DATA}
