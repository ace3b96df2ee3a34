"""Sessions over weeks from the session store: letdowns, volume and mood, one row per session.

Mood scores are the 0-10 intensity of unpleasant feelings (0 = none). Answers
to a letdown prompt are drawn apart from the others, so a D-MER-like pattern
(unpleasant with letdowns, fine between them) is visible at a glance. The
figure says it is not a diagnosis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..store.db import Store

HISTORY_NOTE = (
    "Self-tracking aid, not a diagnosis. If unpleasant feelings keep coming with letdowns, "
    "or your mood is low most of the time, talk to a lactation consultant or your clinician."
)

_SESSIONS_SQL = """
SELECT s.id AS session_id, s.start_utc, s.kind, s.duration_s, s.volume_ml,
       (SELECT COUNT(*) FROM events e
         WHERE e.session_id = s.id AND e.label = 'letdown') AS letdowns,
       (SELECT MIN(e.onset_s) FROM events e
         WHERE e.session_id = s.id AND e.label = 'letdown') AS time_to_first_letdown_s,
       (SELECT COUNT(*) FROM events e
         WHERE e.session_id = s.id AND e.label = 'felt_letdown') AS felt_letdowns
FROM sessions s ORDER BY s.start_utc
"""
_ANSWERS_SQL = """
SELECT a.session_id, s.start_utc, a.t_s, a.score, a.feelings,
       COALESCE(p.kind, 'unprompted') AS prompt_kind
FROM answers a JOIN sessions s ON s.id = a.session_id
LEFT JOIN prompts p ON p.id = a.prompt_id
ORDER BY s.start_utc, a.t_s
"""


def session_history(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every stored session and every mood answer, oldest first.

    Returns:
        ``sessions``: session_id, start_utc (datetime, UTC), kind, duration_s,
        volume_ml, letdowns, time_to_first_letdown_s, felt_letdowns, mood_answers,
        mood_mean, mood_max; and ``answers``: session_id, answered_utc, t_s, score,
        feelings (``;``-separated), prompt_kind (``letdown``, ``baseline`` or ``unprompted``).
    """
    sessions = pd.DataFrame(
        [dict(r) for r in store.query(_SESSIONS_SQL)],
        columns=[
            "session_id",
            "start_utc",
            "kind",
            "duration_s",
            "volume_ml",
            "letdowns",
            "time_to_first_letdown_s",
            "felt_letdowns",
        ],
    )
    answers = pd.DataFrame(
        [dict(r) for r in store.query(_ANSWERS_SQL)],
        columns=["session_id", "start_utc", "t_s", "score", "feelings", "prompt_kind"],
    )
    sessions["start_utc"] = pd.to_datetime(sessions["start_utc"], utc=True, format="ISO8601")
    start = pd.to_datetime(answers["start_utc"], utc=True, format="ISO8601")
    answers = answers.drop(columns="start_utc").assign(
        answered_utc=start + pd.to_timedelta(answers["t_s"].astype(float), unit="s")
    )
    mood = answers.groupby("session_id")["score"].agg(["count", "mean", "max"])
    mood.columns = ["mood_answers", "mood_mean", "mood_max"]
    sessions = sessions.join(mood, on="session_id")
    sessions["mood_answers"] = sessions["mood_answers"].fillna(0).astype(int)
    return sessions, answers


def calls_for_help(answers: pd.DataFrame) -> bool:
    """Whether any answer was hopeless or at least ``HELP_SCORE`` (show where to get help)."""
    from ..mood.help import calls_for_help as one

    return any(
        one(int(score), str(feelings or "").split(";"))
        for score, feelings in zip(answers["score"], answers["feelings"], strict=True)
    )


def plot_history(sessions: pd.DataFrame, answers: pd.DataFrame) -> Figure:
    """Letdowns, time to first letdown, volume and mood per session, over calendar time."""
    fig = Figure(figsize=(12, 9), layout="constrained")
    axes = fig.subplots(4, 1, sharex=True)
    when = sessions["start_utc"]
    width = _bar_width(when)
    axes[0].bar(when, sessions["letdowns"], width=width, color="#1f6fb4", label="detected")
    felt = sessions["felt_letdowns"].where(sessions["felt_letdowns"] > 0)
    axes[0].plot(when, felt, "*", color="#db2777", ms=12, label="felt (marked by the parent)")
    axes[0].set_ylabel("letdowns")
    axes[0].yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].legend(loc="upper left", fontsize=8)
    axes[1].plot(when, sessions["time_to_first_letdown_s"] / 60.0, "o-", color="#1f6fb4")
    axes[1].set_ylabel("first letdown (min)")
    axes[1].set_ylim(bottom=0)
    axes[2].bar(when, sessions["volume_ml"].fillna(0), width=width, color="#7c3aed")
    axes[2].set_ylabel("volume (mL)")
    styles = {
        "letdown": ("o", "#dc2626", "answer to a letdown prompt"),
        "baseline": ("s", "#15803d", "between letdowns"),
        "unprompted": ("^", "#555555", "unprompted"),
    }
    for kind, (marker, color, label) in styles.items():
        rows = answers[answers["prompt_kind"] == kind]
        if not rows.empty:
            axes[3].plot(rows["answered_utc"], rows["score"], marker, color=color, label=label)
    axes[3].set_ylim(-0.5, 10.5)
    axes[3].set_ylabel("unpleasant feelings\n(0 none - 10 severe)")
    if not answers.empty:
        axes[3].legend(loc="upper left", fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    locator = AutoDateLocator()
    axes[3].xaxis.set_major_locator(locator)
    axes[3].xaxis.set_major_formatter(ConciseDateFormatter(locator))
    fig.suptitle(f"{len(sessions)} sessions", fontsize=14, fontweight="bold")
    fig.text(0.5, 0.002, HISTORY_NOTE, ha="center", va="bottom", fontsize=9, style="italic")
    fig.get_layout_engine().set(rect=(0, 0.03, 1, 0.97))
    return fig


def _bar_width(when: pd.Series) -> float:
    """Bar width in days: a third of the typical gap between sessions (at most 0.3 day)."""
    if len(when) < 2:
        return 0.3
    gaps = np.diff(when.sort_values().to_numpy()).astype("timedelta64[s]").astype(float)
    return float(min(0.3, np.median(gaps) / 86400.0 / 3.0)) or 0.05
