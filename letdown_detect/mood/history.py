"""Read stored sessions into the data the D-MER analysis takes (``dmer.SessionMood``)."""

from __future__ import annotations

from datetime import datetime, timezone

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
                "SELECT onset_s FROM events WHERE session_id = ? ORDER BY onset_s", (s["id"],)
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
                " WHERE session_id = ? AND status != 'answered' GROUP BY kind",
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
