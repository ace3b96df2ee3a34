"""D-MER pattern analysis: do unpleasant feelings arrive with letdowns, and only then?

Pure: sessions, letdown onsets and mood answers come in as data; a verdict and
its reasons come out. The criteria follow the clinical description of
dysphoric milk ejection reflex: a wave of dysphoria that begins shortly before
milk release (up to about 90 s before flow rises), lifts within seconds to a
few minutes (under 10), recurs with letdowns, and is absent between them
(Heise & Wiessinger 2011, Int Breastfeed J 6:6; Cappenberg et al. 2025, who
found the feelings lift within 1-5 minutes for most). Most who have it feel it
only at the first letdown of a session (73%, Cappenberg et al. 2025), so that
pattern is looked for by name. Mood that stays low between letdowns too points
to a clinician soon; it does not rule D-MER out (D-MER and higher EPDS scores
often go together, Nguyen et al. 2024). No validated D-MER questionnaire
exists: every threshold below is ours. This is a screening aid, never a
diagnosis.
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
#: Pattern ids of a consistent verdict.
FIRST_LETDOWN = "first_letdown"
"""Unpleasant at the first letdown of a session, not at the later ones."""
EVERY_LETDOWN = "every_letdown"
"""Unpleasant at letdowns throughout the session."""


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
    first_fraction: float = 0.6
    """Share of sessions whose answered first letdown was unpleasant, for the first-letdown
    pattern (while later letdowns are mostly not)."""
    recent_days: float = 28.0
    """Severity and trend use the letdowns of this many days before the newest one."""
    crisis_recent_days: float = 14.0
    """A hopeless or severe answer leads the report while it is this recent (then history)."""
    help_score: int = 7
    """A score this high (or "hopeless") is a crisis answer: the report shows help lines."""


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
    first: bool = False
    """The first letdown of its session."""


@dataclass(frozen=True)
class GroupStats:
    """Letdown answers of one group (a week, or pumping/nursing)."""

    name: str
    letdowns: int
    unpleasant: int
    mean_score: float


@dataclass(frozen=True)
class CrisisAnswer:
    """An answer that called for help: hopeless ticked, or a score of ``help_score`` or more."""

    utc: datetime
    score: int
    feelings: tuple[str, ...]


@dataclass(frozen=True)
class DmerResult:
    """A verdict with its reasons and the numbers behind it."""

    verdict: str
    reasons: tuple[str, ...]
    severity: str | None
    """``mild`` (1-3), ``moderate`` (4-6) or ``high`` (7-10) when consistent (bands are ours)."""
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
    """A crisis answer in the recent days: where to get help now leads the report."""
    crisis_answers: tuple[CrisisAnswer, ...] = ()
    """Every answer that called for help, oldest first (recent or not)."""
    pattern: str | None = None
    """``first_letdown`` or ``every_letdown`` when consistent."""
    first_letdowns: int = 0
    """Sessions whose first letdown was answered."""
    first_unpleasant: int = 0
    """Of those, sessions whose first letdown was unpleasant."""
    later_letdowns: int = 0
    """Answered letdowns after the first of their session."""
    later_unpleasant: int = 0
    severity_median: float | None = None
    """Median intensity of the recent unpleasant letdowns, 0-10."""
    absent_between: bool = False
    """Every answer between letdowns was below the unpleasant threshold."""
    passing_checks: int = 0
    """Answers 3-10 min after an unpleasant letdown (or a later calm letdown) that were calm."""
    checks: int = 0


def severity_of(score: float) -> str | None:
    """``mild`` (1-3), ``moderate`` (4-6), ``high`` (7-10); ``None`` below 1 (bands are ours).

    >>> severity_of(2), severity_of(5), severity_of(7.5), severity_of(0)
    ('mild', 'moderate', 'high', None)
    """
    if score >= 7:
        return "high"
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


def _crisis_answers(sessions: Sequence[SessionMood], c: DmerCriteria) -> list[CrisisAnswer]:
    """Every answer (late ones too) that called for help, oldest first."""
    out = [
        CrisisAnswer(s.start_utc + timedelta(seconds=a.t_s), a.score, a.feelings)
        for s in sessions
        for a in s.answers
        if "hopeless" in a.feelings or a.score >= c.help_score
    ]
    return sorted(out, key=lambda x: x.utc)


def _trend(weeks: Sequence[GroupStats]) -> str | None:
    usable = [w for w in weeks if w.letdowns >= 2]
    if len(usable) < 2:
        return None
    change = usable[-1].mean_score - usable[0].mean_score
    return "easing" if change <= -1 else "worsening" if change >= 1 else "steady"


def _letdown_moods(
    classified: Sequence[tuple[SessionMood, dict[float, list[MoodAnswer]], list[MoodAnswer]]],
    threshold: float,
    c: DmerCriteria,
) -> list[LetdownMood]:
    """The strongest answer about each answered letdown, oldest first."""
    letdowns = []
    for s, by_wave, _ in classified:
        waves = _waves(s.letdown_onsets_s, c.same_wave_s)
        for onset, answers in sorted(by_wave.items()):
            top = max(answers, key=lambda a: a.score)
            feelings = tuple(sorted({f for a in answers for f in a.feelings}))
            utc = s.start_utc + timedelta(seconds=onset)
            unpleasant = top.score >= threshold
            letdowns.append(
                LetdownMood(
                    s.session_id,
                    s.kind,
                    utc,
                    onset,
                    top.score,
                    feelings,
                    unpleasant,
                    onset == waves[0],
                )
            )
    return sorted(letdowns, key=lambda r: r.utc)


def _passing(
    classified: Sequence[tuple[SessionMood, dict[float, list[MoodAnswer]], list[MoodAnswer]]],
    letdowns: Sequence[LetdownMood],
    threshold: float,
    c: DmerCriteria,
) -> list[bool]:
    """One check per answer 3-10 min after an unpleasant letdown: True when calm again.

    Answers between letdowns count either way; a calm answer about a later letdown counts
    as passing.
    """
    checks = []
    for s, _, base in classified:
        mine = [r for r in letdowns if r.session_id == s.session_id]
        for r in (r for r in mine if r.unpleasant):
            lo, hi = r.onset_s + c.baseline_gap_s, r.onset_s + c.transient_s
            checks += [a.score < threshold for a in base if lo <= a.t_s <= hi]
            # A later letdown that was calm shows the wave had passed; an unpleasant one is a
            # new wave, not the old one lingering, so it is no check either way.
            checks += [True for x in mine if lo <= x.onset_s <= hi and x.score < threshold]
    return checks


def analyze(sessions: Sequence[SessionMood], criteria: DmerCriteria | None = None) -> DmerResult:
    """Judge whether the answers show D-MER's pattern.

    Args:
        sessions: stored sessions with letdown onsets (s) and mood answers.
        criteria: thresholds (ours; defaults documented on :class:`DmerCriteria`).

    Returns:
        The verdict (``consistent``, ``not_consistent``, ``low_mood_between`` or
        ``not_enough_data``), its reasons, the pattern (first letdown only or
        every letdown), severity and trend from recent weeks, crisis answers.

    >>> from datetime import timezone
    >>> analyze([SessionMood("a", datetime(2026, 1, 5, tzinfo=timezone.utc), "pumping", (60.0,),
    ...                      (MoodAnswer(90.0, 6, ("dread",), "letdown", 60.0),))]).verdict
    'not_enough_data'
    """
    c = criteria or DmerCriteria()
    classified = [(s, *_classify(s, c)) for s in sessions]
    every = [(s, a) for s in sessions for a in s.answers]
    newest = max((s.start_utc + timedelta(seconds=a.t_s) for s, a in every), default=None)
    since = newest - timedelta(days=c.recent_days) if newest else None
    baseline_answers = [(s, a) for s, _, base in classified for a in base]
    baseline_scores = tuple(a.score for _, a in baseline_answers)
    baseline_median = statistics.median(baseline_scores) if baseline_scores else None
    threshold = max(1, (baseline_median or 0) + c.rise_min)
    letdowns = _letdown_moods(classified, threshold, c)
    recent = [r for r in letdowns if since is None or r.utc >= since]
    unpleasant = [r for r in letdowns if r.unpleasant]
    firsts = [r for r in letdowns if r.first]
    later = [r for r in letdowns if not r.first]
    sessions_answered = len({r.session_id for r in letdowns})
    crisis_answers = _crisis_answers(sessions, c)
    weeks = tuple(
        _stats(w, [r for r in letdowns if _week(r.utc) == w])
        for w in sorted({_week(r.utc) for r in letdowns})
    )
    recent_weeks = {_week(r.utc) for r in recent}
    checks = _passing(classified, letdowns, threshold, c)
    base = dict(
        letdowns=tuple(letdowns),
        baseline_scores=baseline_scores,
        baseline_times=tuple(s.start_utc + timedelta(seconds=a.t_s) for s, a in baseline_answers),
        baseline_median=baseline_median,
        unpleasant=len(unpleasant),
        sessions=sessions_answered,
        weeks=weeks,
        trend=_trend([w for w in weeks if w.name in recent_weeks]),
        by_kind=tuple(
            _stats(k, [r for r in letdowns if r.kind == k])
            for k in ("pumping", "nursing")
            if any(r.kind == k for r in letdowns)
        ),
        prompts_asked=sum(
            s.unanswered_letdown_prompts
            + s.unanswered_baseline_prompts
            + sum(a.prompt_kind is not None and not a.late for a in s.answers)
            for s in sessions
        ),
        prompts_answered=sum(a.prompt_kind is not None and not a.late for _, a in every),
        late_answers=sum(a.late for _, a in every),
        crisis=bool(
            newest
            and any(x.utc >= newest - timedelta(days=c.crisis_recent_days) for x in crisis_answers)
        ),
        crisis_answers=tuple(crisis_answers),
        first_letdowns=len(firsts),
        first_unpleasant=sum(r.unpleasant for r in firsts),
        later_letdowns=len(later),
        later_unpleasant=sum(r.unpleasant for r in later),
        absent_between=bool(baseline_scores) and all(x < threshold for x in baseline_scores),
        passing_checks=sum(checks),
        checks=len(checks),
    )
    often = f"{len(unpleasant)} of {len(letdowns)} answered letdowns came with unpleasant feelings"
    first_line = (
        f"the first letdown of a session was unpleasant in {base['first_unpleasant']} of "
        f"{len(firsts)} sessions; later letdowns in {base['later_unpleasant']} of {len(later)}"
    )

    recent_base = [
        a.score
        for s, a in baseline_answers
        if since is None or s.start_utc + timedelta(seconds=a.t_s) >= since
    ]
    base_sessions = {s.session_id for s, _ in baseline_answers}
    low = [x for x in recent_base if x >= c.low_score]
    if (
        len(recent_base) >= c.min_baseline_answers
        and len(base_sessions) >= c.min_sessions
        and (
            statistics.median(recent_base) >= c.low_score
            or len(low) / len(recent_base) >= c.low_fraction
        )
    ):
        reasons = (
            f"{len(low)} of {len(recent_base)} recent answers between letdowns were "
            f"{c.low_score} or more of 10 (median {statistics.median(recent_base):g}), over "
            f"{len(base_sessions)} sessions: mood stays low between letdowns too",
            f"at letdowns: {often}" if letdowns else "no answered letdown yet",
            *([first_line] if firsts else []),
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
            f"{c.min_baseline_answers} answers between letdowns (our thresholds)",
        )
        return DmerResult(NOT_ENOUGH_DATA, reasons, None, needed=needed, **base)

    share = len(unpleasant) / len(letdowns)
    later_share = base["later_unpleasant"] / len(later) if later else None
    first_rule = (
        len(firsts) >= max(c.min_sessions, c.min_unpleasant)
        and base["first_unpleasant"] >= c.min_unpleasant
        and base["first_unpleasant"] / len(firsts) >= c.first_fraction
        and (later_share is None or later_share < c.recur_fraction)
    )
    every_rule = (
        len(unpleasant) >= c.min_unpleasant
        and share >= c.recur_fraction
        and len({r.session_id for r in unpleasant}) >= c.min_sessions
    )
    if not (first_rule or every_rule):
        reasons = (
            f"{often} ({share:.0%}); D-MER's pattern needs at least {c.recur_fraction:.0%} "
            f"and {c.min_unpleasant} letdowns over {c.min_sessions} sessions (our thresholds)",
            *([first_line] if firsts else []),
        )
        return DmerResult(NOT_CONSISTENT, reasons, None, **base)
    pattern = FIRST_LETDOWN if first_rule else EVERY_LETDOWN

    if checks and sum(checks) / len(checks) < 0.5:
        reasons = (
            often,
            f"but in {len(checks) - sum(checks)} of {len(checks)} checks 3-10 minutes later the "
            "feelings had not lifted; D-MER's wave passes within minutes",
        )
        return DmerResult(NOT_CONSISTENT, reasons, None, **base)
    if not checks:
        reasons = (
            f"{often} ({share:.0%})",
            "the feelings have not yet been seen passing: D-MER's wave lifts within minutes, "
            "so an answer 3-10 minutes after an unpleasant letdown is needed",
        )
        return DmerResult(
            NOT_ENOUGH_DATA, reasons, None, needed={"passing_checks": 1}, pattern=pattern, **base
        )

    recent_unpleasant = [r.score for r in recent if r.unpleasant] or [r.score for r in unpleasant]
    median_score = statistics.median(recent_unpleasant)
    calm = "0/10" if threshold == 1 else f"below {threshold:g}/10"
    between = (
        f"absent between them: all {len(baseline_scores)} answers between letdowns were {calm}"
        if base["absent_between"]
        else f"between letdowns the median was {baseline_median:g}/10, lower than at letdowns"
    )
    reasons = (
        first_line
        if pattern == FIRST_LETDOWN
        else f"{often} ({share:.0%}), in {len({r.session_id for r in unpleasant})} sessions",
        f"median intensity {median_score:g}/10 ({severity_of(median_score)}) at the unpleasant "
        f"letdowns of the last {c.recent_days:g} days (bands are ours: mild 1-3, moderate 4-6, "
        "high 7-10)",
        between,
        f"{sum(checks)} of {len(checks)} answers 3-10 minutes after an unpleasant letdown were "
        "calm again: the wave was seen passing",
    )
    return DmerResult(
        CONSISTENT,
        reasons,
        severity_of(median_score),
        pattern=pattern,
        severity_median=median_score,
        **base,
    )
