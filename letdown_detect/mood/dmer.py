"""D-MER pattern analysis: do unpleasant feelings arrive with letdowns, and only then?

Pure: sessions, letdown onsets and mood answers come in as data; a verdict and
its reasons come out. The criteria follow the clinical description of
dysphoric milk ejection reflex: a wave of dysphoria that begins shortly before
milk release (up to about 90 s before flow rises), lifts within seconds to a
few minutes (under 10), recurs with letdowns, and is absent between them
(Heise & Wiessinger 2011, Int Breastfeed J 6:6; Cappenberg et al. 2025, who
found the feelings lift within 1-5 minutes for most). Mood that stays low
between letdowns is not D-MER's pattern and points to a clinician (e.g.
postpartum depression). This is a screening aid, never a diagnosis.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

#: Verdict ids (the wording lives in ``report.py``).
CONSISTENT = "consistent"
NOT_CONSISTENT = "not_consistent"
LOW_MOOD_BETWEEN = "low_mood_between"
NOT_ENOUGH_DATA = "not_enough_data"


@dataclass(frozen=True)
class DmerCriteria:
    """The thresholds a verdict uses; times in seconds relative to a letdown onset."""

    before_s: float = 120.0
    """An answer up to this long before an onset belongs to that letdown (dysphoria leads)."""
    after_s: float = 300.0
    """An unprompted answer up to this long after an onset belongs to that letdown."""
    baseline_gap_s: float = 180.0
    """A baseline answer must come at least this long after the previous onset."""
    transient_s: float = 600.0
    """The wave must be gone this long after the onset (D-MER lifts within 10 min)."""
    min_letdown_answers: int = 5
    """Answered letdowns needed for any verdict but "low mood between letdowns"."""
    min_sessions: int = 2
    """Sessions with an answered letdown needed (the pattern must recur)."""
    min_baseline_answers: int = 2
    """Baseline answers needed to know the ordinary mood."""
    rise_min: int = 1
    """A letdown counts as unpleasant when its score is at least baseline + this (and >= 1)."""
    recur_fraction: float = 0.5
    """Share of answered letdowns that must be unpleasant to call it recurring."""
    min_unpleasant: int = 3
    """Unpleasant letdowns needed to call it recurring."""
    low_score: int = 4
    """A baseline score at or above this is low mood (moderate or worse)."""
    low_fraction: float = 0.5
    """Share of baseline answers at ``low_score`` or above that means low mood between."""
    same_wave_s: float = 60.0
    """Onsets this close (a felt mark beside a detection) are one letdown."""


@dataclass(frozen=True)
class MoodAnswer:
    """One answer on the 0-10 scale (0 = nothing unpleasant)."""

    t_s: float
    """When it was given, s since the session start."""
    score: int
    """Intensity of unpleasant feelings, 0-10."""
    feelings: tuple[str, ...] = ()
    """Ticked feelings, e.g. ``("sad", "dread")``."""
    prompt_kind: str | None = None
    """``letdown``, ``baseline``, or ``None`` for an unprompted answer (diary, page)."""
    letdown_onset_s: float | None = None
    """Onset of the letdown a letdown prompt paired it with, s."""
    late: bool = False
    """Given after its prompt expired: kept, but not used for the pattern (recall bias)."""


@dataclass(frozen=True)
class SessionMood:
    """What one session contributes: its letdowns and its answers."""

    session_id: str
    start_utc: datetime
    """Session start, timezone-aware UTC."""
    kind: str
    """``pumping`` or ``nursing``."""
    letdown_onsets_s: tuple[float, ...]
    """Onsets of detected letdowns and felt marks, s (the same wave may appear twice)."""
    answers: tuple[MoodAnswer, ...] = ()
    unanswered_letdown_prompts: int = 0
    unanswered_baseline_prompts: int = 0


@dataclass(frozen=True)
class LetdownMood:
    """The strongest answer about one letdown."""

    session_id: str
    kind: str
    utc: datetime
    """UTC time of the onset."""
    onset_s: float
    score: int
    feelings: tuple[str, ...]
    unpleasant: bool


@dataclass(frozen=True)
class GroupStats:
    """Letdown answers of one group (a week, or pumping/nursing)."""

    name: str
    letdowns: int
    unpleasant: int
    mean_score: float


@dataclass(frozen=True)
class DmerResult:
    """A verdict with its reasons and the numbers behind it."""

    verdict: str
    reasons: tuple[str, ...]
    severity: str | None
    """``mild`` (1-3), ``moderate`` (4-6) or ``severe`` (7-10) when consistent."""
    letdowns: tuple[LetdownMood, ...]
    baseline_scores: tuple[int, ...]
    baseline_times: tuple[datetime, ...]
    baseline_median: float | None
    unpleasant: int
    sessions: int
    needed: dict[str, int] = field(default_factory=dict)
    """How many more letdown answers / sessions / baseline answers a verdict needs."""
    weeks: tuple[GroupStats, ...] = ()
    trend: str | None = None
    """``easing``, ``worsening`` or ``steady`` over the weeks, when there are two or more."""
    by_kind: tuple[GroupStats, ...] = ()
    prompts_asked: int = 0
    prompts_answered: int = 0
    late_answers: int = 0
    crisis: bool = False
    """Hopeless ticked or a severe score (7+): show where to get help now."""


def severity_of(score: float) -> str | None:
    """``mild`` (1-3), ``moderate`` (4-6), ``severe`` (7-10); ``None`` below 1.

    >>> severity_of(2), severity_of(5), severity_of(7.5), severity_of(0)
    ('mild', 'moderate', 'severe', None)
    """
    if score >= 7:
        return "severe"
    if score >= 4:
        return "moderate"
    return "mild" if score >= 1 else None


def _waves(onsets: Sequence[float], same_s: float) -> list[float]:
    """Onsets with repeats of one wave (a felt mark beside a detection) merged."""
    merged: list[float] = []
    for onset in sorted(onsets):
        if not merged or onset - merged[-1] >= same_s:
            merged.append(onset)
    return merged


def _classify(
    session: SessionMood, c: DmerCriteria
) -> tuple[dict[float, list[MoodAnswer]], list[MoodAnswer]]:
    """Answers by the letdown they belong to, and the valid baseline answers."""
    waves = _waves(session.letdown_onsets_s, c.same_wave_s)
    by_wave: dict[float, list[MoodAnswer]] = {}
    baseline = []
    for a in session.answers:
        if a.late:
            continue
        if a.prompt_kind == "letdown" and a.letdown_onset_s is not None and waves:
            wave = min(waves, key=lambda o: abs(o - a.letdown_onset_s))
            # A prompt whose letdown was later taken back (an artifact) pairs with none.
            if abs(wave - a.letdown_onset_s) <= c.same_wave_s:
                by_wave.setdefault(wave, []).append(a)
                continue
        near = [o for o in waves if o - c.before_s <= a.t_s <= o + c.after_s]
        if a.prompt_kind is None and near:
            by_wave.setdefault(min(near, key=lambda o: abs(o - a.t_s)), []).append(a)
            continue
        before = [o for o in waves if o <= a.t_s]
        coming = any(a.t_s < o <= a.t_s + c.before_s for o in waves)
        if not coming and (not before or a.t_s - before[-1] >= c.baseline_gap_s):
            baseline.append(a)
    return by_wave, baseline


def _stats(name: str, rows: Sequence[LetdownMood]) -> GroupStats:
    return GroupStats(
        name,
        len(rows),
        sum(r.unpleasant for r in rows),
        round(statistics.fmean(r.score for r in rows), 2) if rows else 0.0,
    )


def _week(utc: datetime) -> str:
    """ISO week label, e.g. ``2026-W03``."""
    year, week, _ = utc.isocalendar()
    return f"{year}-W{week:02d}"


def _trend(weeks: Sequence[GroupStats]) -> str | None:
    usable = [w for w in weeks if w.letdowns >= 2]
    if len(usable) < 2:
        return None
    change = usable[-1].mean_score - usable[0].mean_score
    return "easing" if change <= -1 else "worsening" if change >= 1 else "steady"


def analyze(sessions: Sequence[SessionMood], criteria: DmerCriteria | None = None) -> DmerResult:
    """Judge whether the answers show D-MER's pattern.

    Args:
        sessions: stored sessions with letdown onsets (s) and mood answers.
        criteria: thresholds (defaults documented on :class:`DmerCriteria`).

    Returns:
        The verdict (``consistent``, ``not_consistent``, ``low_mood_between`` or
        ``not_enough_data``), its reasons, severity, weekly trend, pumping vs nursing.

    >>> from datetime import timezone
    >>> analyze([SessionMood("a", datetime(2026, 1, 5, tzinfo=timezone.utc), "pumping", (60.0,),
    ...                      (MoodAnswer(90.0, 6, ("dread",), "letdown", 60.0),))]).verdict
    'not_enough_data'
    """
    c = criteria or DmerCriteria()
    classified = [(s, *_classify(s, c)) for s in sessions]
    baseline_answers = [(s, a) for s, _, base in classified for a in base]
    baseline_scores = tuple(a.score for _, a in baseline_answers)
    baseline_median = statistics.median(baseline_scores) if baseline_scores else None
    threshold = max(1, (baseline_median or 0) + c.rise_min)

    letdowns = []
    for s, by_wave, _ in classified:
        for onset, answers in sorted(by_wave.items()):
            top = max(answers, key=lambda a: a.score)
            feelings = tuple(sorted({f for a in answers for f in a.feelings}))
            utc = s.start_utc + timedelta(seconds=onset)
            letdowns.append(
                LetdownMood(
                    s.session_id, s.kind, utc, onset, top.score, feelings, top.score >= threshold
                )
            )
    letdowns.sort(key=lambda r: r.utc)
    unpleasant = [r for r in letdowns if r.unpleasant]
    sessions_answered = len({r.session_id for r in letdowns})
    everything = [a for s in sessions for a in s.answers]
    asked = sum(
        s.unanswered_letdown_prompts
        + s.unanswered_baseline_prompts
        + sum(a.prompt_kind is not None and not a.late for a in s.answers)
        for s in sessions
    )
    week_names = sorted({_week(r.utc) for r in letdowns})
    weeks = tuple(
        _stats(
            w,
            [r for r in letdowns if _week(r.utc) == w],
        )
        for w in week_names
    )
    base = dict(
        letdowns=tuple(letdowns),
        baseline_scores=baseline_scores,
        baseline_times=tuple(s.start_utc + timedelta(seconds=a.t_s) for s, a in baseline_answers),
        baseline_median=baseline_median,
        unpleasant=len(unpleasant),
        sessions=sessions_answered,
        weeks=weeks,
        trend=_trend(weeks),
        by_kind=tuple(
            _stats(k, [r for r in letdowns if r.kind == k])
            for k in ("pumping", "nursing")
            if any(r.kind == k for r in letdowns)
        ),
        prompts_asked=asked,
        prompts_answered=sum(a.prompt_kind is not None and not a.late for a in everything),
        late_answers=sum(a.late for a in everything),
        crisis=any("hopeless" in a.feelings or a.score >= 7 for a in everything),
    )
    often = f"{len(unpleasant)} of {len(letdowns)} answered letdowns came with unpleasant feelings"

    low = [x for x in baseline_scores if x >= c.low_score]
    if len(baseline_scores) >= c.min_baseline_answers and (
        (baseline_median or 0) >= c.low_score or len(low) / len(baseline_scores) >= c.low_fraction
    ):
        reasons = (
            f"{len(low)} of {len(baseline_scores)} answers between letdowns were {c.low_score} "
            f"or more (median {baseline_median:g}): mood is low also between letdowns",
            "D-MER's feelings come with letdowns and are absent between them; mood that "
            "stays low points elsewhere",
        )
        return DmerResult(LOW_MOOD_BETWEEN, reasons, None, **base)

    needed = {
        "letdown_answers": max(0, c.min_letdown_answers - len(letdowns)),
        "sessions": max(0, c.min_sessions - sessions_answered),
        "baseline_answers": max(0, c.min_baseline_answers - len(baseline_scores)),
    }
    if any(needed.values()):
        reasons = (
            f"{len(letdowns)} answered letdowns in {sessions_answered} sessions and "
            f"{len(baseline_scores)} answers between letdowns so far; a pattern needs at least "
            f"{c.min_letdown_answers} answered letdowns over {c.min_sessions} sessions and "
            f"{c.min_baseline_answers} answers between letdowns",
        )
        return DmerResult(NOT_ENOUGH_DATA, reasons, None, needed=needed, **base)

    share = len(unpleasant) / len(letdowns)
    recurring = (
        len(unpleasant) >= c.min_unpleasant
        and share >= c.recur_fraction
        and len({r.session_id for r in unpleasant}) >= c.min_sessions
    )
    if not recurring:
        reasons = (
            f"{often} ({share:.0%}); D-MER's pattern needs at least {c.recur_fraction:.0%} "
            f"and {c.min_unpleasant} letdowns over {c.min_sessions} sessions",
        )
        return DmerResult(NOT_CONSISTENT, reasons, None, **base)

    checks = []
    for s, _, base_answers in classified:
        for r in unpleasant:
            if r.session_id != s.session_id:
                continue
            after = [
                a
                for a in base_answers
                if r.onset_s + c.baseline_gap_s <= a.t_s <= r.onset_s + c.transient_s
            ]
            checks.extend(a.score < threshold for a in after)
    if checks and sum(checks) / len(checks) < 0.5:
        reasons = (
            often,
            f"but in {len(checks) - sum(checks)} of {len(checks)} checks 3-10 minutes later the "
            "feelings had not lifted; D-MER's wave passes within minutes",
        )
        return DmerResult(NOT_CONSISTENT, reasons, None, **base)

    median_score = statistics.median(r.score for r in unpleasant)
    reasons = (
        f"{often} ({share:.0%}), in {len({r.session_id for r in unpleasant})} sessions",
        f"median intensity {median_score:g} at letdowns vs {baseline_median:g} between letdowns",
        (
            f"{sum(checks)} of {len(checks)} checks 3-10 minutes after a letdown were back to "
            "baseline"
            if checks
            else "no check 3-10 minutes after an unpleasant letdown yet"
        ),
    )
    return DmerResult(CONSISTENT, reasons, severity_of(median_score), **base)
