"""D-MER verdicts over a corpus of scripted sessions, stored in and read back from SQLite.

Letdowns come from the physiological simulator; a scripted "parent" answers
the prompts the scheduler asks (or leaves them unanswered).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import cache

import pytest

from letdown_detect.mood.dmer import (
    CONSISTENT,
    LOW_MOOD_BETWEEN,
    NOT_CONSISTENT,
    NOT_ENOUGH_DATA,
    MoodAnswer,
    SessionMood,
    analyze,
)
from letdown_detect.mood.history import load_sessions
from letdown_detect.mood.prompt import Prompt
from letdown_detect.mood.report import NOT_A_DIAGNOSIS, headline, to_dict, to_html, to_text
from letdown_detect.mood.tracker import MoodTracker
from letdown_detect.sources.simulate import SimConfig, simulate_session
from letdown_detect.store.db import Store
from letdown_detect.store.writer import StoreWriter

START = datetime(2026, 1, 5, 7, 0, tzinfo=timezone.utc)
Persona = Callable[[Prompt, int], "tuple[int, tuple[str, ...]] | None"]


@cache
def simulated_onsets(seed: int) -> tuple[float, ...]:
    """True letdown onsets of a seeded 15-minute simulated pump session, s."""
    return tuple(e.onset_s for e in simulate_session(SimConfig(duration_s=900), seed=seed).truth)


def record(
    db,
    persona: Persona,
    seeds: list[int],
    kind: str = "pumping",
    days_apart: float = 1.0,
    duration_s: int = 1500,
) -> None:
    """Store one session per seed; the persona answers each prompt 30 s after it is asked."""
    writer = StoreWriter(db)
    for i, seed in enumerate(seeds):
        sid = f"{kind}-{i}-{seed}"
        start = START + timedelta(days=i * days_apart)
        onsets = list(simulated_onsets(seed)) if seed >= 0 else []
        writer.submit("add_session", 0, session_id=sid, start_utc=start.isoformat(), kind=kind)
        tracker = MoodTracker(sid, start, writer)
        decided: set[int] = set()
        for t in range(duration_s + 1):
            for onset in onsets:
                if int(onset) + 8 == t:  # the detector is sure ~8 s after the onset
                    writer.submit("add_event", t, session_id=sid, label="letdown", onset_s=onset)
                    tracker.letdown(onset, float(t))
            tracker.tick(float(t))
            p = tracker.open
            if p is not None and p.number not in decided and t >= p.asked_s + 30:
                decided.add(p.number)
                answer = persona(p, i)
                if answer is not None:
                    tracker.answer(float(t), answer[0], answer[1], "page")
        tracker.close(float(duration_s))
        writer.submit(
            "end_session",
            duration_s,
            session_id=sid,
            end_utc=(start + timedelta(seconds=duration_s)).isoformat(),
            duration_s=float(duration_s),
        )
    assert writer.close() is None


def dmer(score: int) -> Persona:
    """Unpleasant at letdowns only."""
    return lambda p, i: (score, ("dread", "sad")) if p.kind == "letdown" else (0, ("calm",))


def verdict_of(db):
    with Store(db) as store:
        return analyze(load_sessions(store))


@pytest.fixture
def db(tmp_path):
    return tmp_path / "letdown.sqlite3"


SEEDS = [0, 1, 4, 5]  # 4, 3, 5 and 4 simulated letdowns


@pytest.mark.parametrize(("score", "severity"), [(2, "mild"), (5, "moderate"), (8, "high")])
def test_feelings_only_at_letdowns_are_consistent_with_dmer_with_severity(db, score, severity):
    record(db, dmer(score), SEEDS)
    result = verdict_of(db)
    assert result.verdict == CONSISTENT
    assert result.severity == severity
    assert result.unpleasant == len(result.letdowns) >= 5
    assert result.sessions == 4
    assert result.crisis == (score >= 7)


def test_low_mood_between_letdowns_points_to_a_clinician_and_does_not_rule_out_dmer(db):
    record(db, lambda p, i: (6, ("sad", "empty")), SEEDS[:2])
    result = verdict_of(db)
    assert result.verdict == LOW_MOOD_BETWEEN
    text = to_text(result)
    assert "Mood stays low between letdowns too" in text
    assert "deserves a clinician soon" in text and "D-MER may also be present" in text
    assert "not D-MER" not in text and "ruled out" not in text
    assert "answered letdowns came with unpleasant feelings" in text  # letdown data shown too
    assert "emergency number" in text  # help lines


def test_no_unpleasant_feelings_is_not_consistent(db):
    record(db, lambda p, i: (0, ("content",)), SEEDS)
    result = verdict_of(db)
    assert result.verdict == NOT_CONSISTENT
    assert result.unpleasant == 0


def test_one_session_is_not_enough_and_says_how_many_more(db):
    record(db, dmer(5), [0])
    result = verdict_of(db)
    assert result.verdict == NOT_ENOUGH_DATA
    assert result.needed["sessions"] == 1
    assert result.needed["letdown_answers"] == 5 - len(result.letdowns)
    assert f"{result.needed['letdown_answers']} more answered letdown prompts" in to_text(result)


def test_unanswered_prompts_are_counted_and_do_not_count_as_answers(db):
    # answers letdown prompts only in every other session, never baseline prompts
    record(db, lambda p, i: (5, ()) if p.kind == "letdown" and i % 2 == 0 else None, SEEDS)
    result = verdict_of(db)
    assert result.verdict == NOT_ENOUGH_DATA
    assert result.needed["baseline_answers"] == 2
    assert result.prompts_answered == len(result.letdowns) < result.prompts_asked
    assert f"{result.prompts_answered} of {result.prompts_asked} prompts answered" in to_text(
        result
    )


def test_sessions_with_no_letdown_give_baseline_only(db):
    record(db, dmer(5), [-1, -1], kind="nursing")
    result = verdict_of(db)
    assert result.letdowns == ()
    assert len(result.baseline_scores) == 6  # three baseline prompts per session
    assert result.verdict == NOT_ENOUGH_DATA


@pytest.mark.parametrize(("unpleasant_every", "verdict"), [(2, CONSISTENT), (3, NOT_CONSISTENT)])
def test_borderline_share_of_unpleasant_letdowns(unpleasant_every, verdict):
    """Half the letdowns unpleasant is recurring; a third is not."""
    sessions = []
    for day in range(4):
        onsets = (60.0, 400.0, 800.0)
        answers = [
            MoodAnswer(
                o + 40, 4 if (day * 3 + k + 1) % unpleasant_every == 0 else 0, (), "letdown", o
            )
            for k, o in enumerate(onsets)
        ]
        answers.append(MoodAnswer(1100.0, 0, (), "baseline"))
        sessions.append(
            SessionMood(f"s{day}", START + timedelta(days=day), "pumping", onsets, tuple(answers))
        )
    assert analyze(sessions).verdict == verdict


def test_answer_to_a_letdown_that_was_taken_back_pairs_with_no_letdown():
    """A rise retracted as an artifact leaves its prompt's answer out of every letdown."""
    sessions = []
    for day in range(3):
        onsets = (60.0, 800.0)  # the stored letdowns; a rise at 400 s was retracted
        answers = (
            MoodAnswer(100.0, 0, (), "letdown", 60.0),
            MoodAnswer(440.0, 8, ("dread",), "letdown", 400.0),  # prompt of the retracted rise
            MoodAnswer(840.0, 0, (), "letdown", 800.0),
            MoodAnswer(1300.0, 0, (), "baseline"),
        )
        sessions.append(
            SessionMood(f"s{day}", START + timedelta(days=day), "pumping", onsets, answers)
        )
    result = analyze(sessions)
    assert all(r.score == 0 for r in result.letdowns)
    assert result.verdict != CONSISTENT


def test_feelings_that_do_not_lift_within_10_min_are_not_dmer_pattern():
    sessions = []
    for day in range(3):
        onsets = (60.0, 1500.0)
        answers = (
            MoodAnswer(100.0, 6, ("sad",), "letdown", 60.0),
            MoodAnswer(400.0, 6, ("sad",), "baseline"),  # 5.7 min after: still there
            MoodAnswer(1540.0, 6, ("sad",), "letdown", 1500.0),
            MoodAnswer(2400.0, 0, (), "baseline"),
            MoodAnswer(2800.0, 0, (), "baseline"),
            MoodAnswer(3200.0, 0, (), "baseline"),
        )
        sessions.append(
            SessionMood(f"s{day}", START + timedelta(days=day), "pumping", onsets, answers)
        )
    result = analyze(sessions)
    assert result.verdict == NOT_CONSISTENT
    assert "had not lifted" in " ".join(result.reasons)


def test_baseline_answer_just_before_a_letdown_is_not_baseline():
    """D-MER starts up to ~90 s before milk flows: that answer belongs to the letdown."""
    s = SessionMood("s", START, "pumping", (600.0,), (MoodAnswer(540.0, 7, (), None),))
    result = analyze([s])
    assert result.baseline_scores == ()
    assert [r.score for r in result.letdowns] == [7]


def test_late_answers_are_kept_but_not_used():
    s = SessionMood(
        "s",
        START,
        "pumping",
        (60.0,),
        (MoodAnswer(68.0, 9, ("dread",), "letdown", 60.0, late=True),),
    )
    result = analyze([s])
    assert result.letdowns == () and result.late_answers == 1
    assert result.crisis  # a severe answer shows where to get help, late or not


def test_trend_over_weeks_and_pumping_vs_nursing(db):
    record(
        db,
        lambda p, i: (7 - 2 * i, ("dread",)) if p.kind == "letdown" else (0, ()),
        [0, 1, 4, 5],
        days_apart=7,
    )
    record(db, dmer(2), [0, 1], kind="nursing", days_apart=7)
    result = verdict_of(db)
    assert [w.name for w in result.weeks] == ["2026-W02", "2026-W03", "2026-W04", "2026-W05"]
    assert result.trend == "easing"
    assert {k.name for k in result.by_kind} == {"pumping", "nursing"}
    text = to_text(result)
    assert "Pumping: " in text and "Nursing: " in text
    assert "Week of 12 Jan 2026: " in text and "-W0" not in text


def test_every_report_says_not_a_diagnosis_and_suggests_a_lactation_consultant(db):
    record(db, dmer(3), SEEDS)
    result = verdict_of(db)
    html = to_html(result, datetime(2026, 3, 1, tzinfo=timezone.utc))
    data = to_dict(result)
    for text in (to_text(result), html, json.dumps(data)):
        assert "not a diagnosis" in text
        assert "lactation consultant" in text
        assert "crisis line" not in text  # only with hopeless ticked or a severe answer
    assert 'src="data:image/png;base64,' in html
    assert "Heise" in html and "Cappenberg" in html
    assert data["not_a_diagnosis"] == NOT_A_DIAGNOSIS


def test_hopeless_ticked_shows_where_to_get_help_now(db):
    record(db, lambda p, i: (3, ("hopeless",)) if p.kind == "letdown" else (0, ()), SEEDS[:2])
    result = verdict_of(db)
    assert result.crisis
    for text in (to_text(result), to_html(result, START), to_dict(result)["crisis"]):
        assert "get help now" in text.lower() and "emergency" in text


@pytest.mark.parametrize("module", ["dmer", "prompt", "tracker"])
def test_mood_core_does_no_io_and_reads_no_clock(module):
    """The analysis and the scheduler take time as data (ast walk of their imports)."""
    import ast
    from pathlib import Path

    import letdown_detect.mood as mood

    source = (Path(mood.__file__).parent / f"{module}.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    forbidden = {"sqlite3", "asyncio", "threading", "time", "serial", "bleak", "socket", "os"}
    assert imported.isdisjoint(forbidden)
    assert "datetime.now" not in source and "utcnow" not in source


# -- scripted patterns (issue 13): each asserts the verdict and the words a parent reads --


def scripted(
    days: int,
    letdown_score: Callable[[int, int], int],
    between: int = 0,
    onsets: tuple[float, ...] = (60.0, 300.0, 560.0),
    feelings: tuple[str, ...] = ("dread",),
    first_day: int = 0,
) -> list[SessionMood]:
    """One session a day: answers 40 s after each onset, and two between letdowns."""
    out = []
    for day in range(first_day, first_day + days):
        answers = [
            MoodAnswer(
                o + 40,
                letdown_score(day, k),
                feelings if letdown_score(day, k) else (),
                "letdown",
                o,
            )
            for k, o in enumerate(onsets)
        ]
        last = max(onsets, default=0.0)
        answers += [
            MoodAnswer(last + 240, between, (), "baseline"),
            MoodAnswer(last + 420, between, (), "baseline"),
        ]
        # a check 3-10 min after the first letdown, before the second one would blur it
        if onsets and onsets[1:] and onsets[1] - onsets[0] > 300:
            answers.append(MoodAnswer(onsets[0] + 200, between, (), "baseline"))
        out.append(
            SessionMood(
                f"d{day}",
                START + timedelta(days=day),
                "pumping",
                onsets,
                tuple(sorted(answers, key=lambda a: a.t_s)),
            )
        )
    return out


def test_first_letdown_only_is_reported_by_name_not_as_not_consistent():
    """Three sessions, 6/10 dread at each first letdown and 0 elsewhere (the common form)."""
    result = analyze(scripted(3, lambda day, k: 6 if k == 0 else 0))
    assert result.verdict == CONSISTENT
    assert result.pattern == "first_letdown"
    assert (result.first_unpleasant, result.first_letdowns) == (3, 3)
    words = headline(result)
    assert "first-letdown pattern" in words and "3 of 3 sessions" in words
    assert "median intensity 6/10 (moderate)" in words
    assert "absent between them" in words
    text = to_text(result)
    assert "bands are ours" in text
    assert "73%" in text and "Cappenberg 2025" in text


def test_every_letdown_pattern_with_high_severity_wording():
    result = analyze(scripted(3, lambda day, k: 8))
    assert (result.verdict, result.pattern, result.severity) == (
        CONSISTENT,
        "every_letdown",
        "high",
    )
    assert "median intensity 8/10 (high)" in headline(result)
    assert "bands are ours" in to_text(result)


def test_absent_between_them_only_when_it_was():
    some_low = scripted(3, lambda day, k: 8, between=0)
    some_low[0] = SessionMood(
        "d0",
        START,
        "pumping",
        (60.0, 300.0, 560.0),
        tuple(
            a if a.t_s != 800.0 else MoodAnswer(800.0, 3, (), "baseline")
            for a in some_low[0].answers
        ),
    )
    result = analyze(some_low)
    assert result.verdict == CONSISTENT
    assert not result.absent_between
    assert "absent between them" not in to_text(result)
    assert "milder between them" in headline(result)


def test_consistent_needs_the_wave_seen_passing():
    """Unpleasant letdowns with no answer 3-10 min after any of them: not yet a verdict."""
    sessions = [
        SessionMood(
            f"d{day}",
            START + timedelta(days=day),
            "pumping",
            (60.0, 1500.0),
            (
                MoodAnswer(100.0, 6, ("sad",), "letdown", 60.0),
                MoodAnswer(1540.0, 6, ("sad",), "letdown", 1500.0),
                MoodAnswer(1200.0, 0, (), "baseline"),  # 19 min after: not a check
            ),
        )
        for day in range(3)
    ]
    result = analyze(sessions)
    assert result.verdict == NOT_ENOUGH_DATA
    assert result.needed == {"passing_checks": 1}
    assert "an answer 3-10 minutes after an unpleasant letdown" in headline(result)


@pytest.mark.parametrize("with_waves", [True, False])
def test_low_mood_between_letdowns_with_and_without_letdown_waves(with_waves):
    sessions = scripted(3, (lambda d, k: 8) if with_waves else (lambda d, k: 5), between=5)
    result = analyze(sessions)
    assert result.verdict == LOW_MOOD_BETWEEN
    text = to_text(result)
    assert "Mood stays low between letdowns too" in text
    assert "deserves a clinician soon" in text and "D-MER may also be present" in text
    assert "not D-MER" not in text and "ruled out" not in text.lower()
    assert f"of {len(result.letdowns)} answered letdowns came with" in text  # letdown data too
    assert "988" in text or "emergency number" in text


def test_two_low_answers_from_one_session_do_not_say_low_mood_between():
    session = SessionMood(
        "one",
        START,
        "pumping",
        (60.0,),
        (MoodAnswer(300.0, 6, ("sad",), "baseline"), MoodAnswer(500.0, 6, ("sad",), "baseline")),
    )
    result = analyze([session])
    assert result.verdict == NOT_ENOUGH_DATA
    assert "Mood stays low" not in to_text(result)


def test_hopeless_answer_then_calm_weeks_moves_to_history():
    hopeless = scripted(1, lambda d, k: 8 if k == 0 else 0, feelings=("hopeless",))
    recent = analyze(hopeless)
    text = to_text(recent)
    assert recent.crisis and text.startswith(
        "GET HELP NOW: Your answer of 8/10 (hopeless) on 5 Jan 2026"
    )
    calm = scripted(6, lambda d, k: 0, first_day=21)  # three calm weeks later
    later = analyze(hopeless + calm)
    assert not later.crisis and len(later.crisis_answers) == 1
    text = to_text(later)
    assert not text.startswith("GET HELP NOW")
    assert "Earlier, your answer of 8/10 (hopeless) on 5 Jan 2026 called for help" in text
    assert "emergency number" in text  # the help lines stay with the history line


def test_undone_answer_raises_no_banner(tmp_path):
    """A mis-tapped 9 taken back on the page (undo) leaves no trace in the report."""
    db = tmp_path / "letdown.sqlite3"
    writer = StoreWriter(db)
    writer.submit("add_session", 0, session_id="s", start_utc=START.isoformat())
    tracker = MoodTracker("s", START, writer)
    tracker.letdown(60.0, 68.0)
    tracker.answer(80.0, 9, (), "page")
    assert "taken back" in tracker.undo(84.0)
    assert tracker.open is not None and tracker.open.number == 1  # asked again
    tracker.answer(90.0, 2, (), "page")
    tracker.close(600.0)
    assert writer.close() is None
    with Store(db) as store:
        result = analyze(load_sessions(store))
        scores = [r["score"] for r in store.query("SELECT score FROM answers")]
    assert scores == [2]
    assert not result.crisis and result.crisis_answers == ()
    assert "GET HELP NOW" not in to_text(result)


def test_undo_after_a_few_seconds_is_refused_and_keeps_the_answer():
    ops = []

    class Sink:
        def submit(self, op, now_s, **kw):
            ops.append(op)

    tracker = MoodTracker("s", START, Sink())
    tracker.answer(80.0, 9, (), "page")
    assert "Nothing to undo" in tracker.undo(80.0 + 60)
    assert ops == ["add_answer"]


def test_severity_and_trend_come_from_recent_weeks():
    old = scripted(3, lambda d, k: 9)  # strong, two months ago
    new = scripted(3, lambda d, k: 3, first_day=60)
    result = analyze(old + new)
    assert result.verdict == CONSISTENT
    assert result.severity == "mild" and result.severity_median == 3


def test_every_report_explains_dmer_and_labels_thresholds_as_ours(db):
    for result in (
        analyze(scripted(3, lambda d, k: 6 if k == 0 else 0)),
        analyze(scripted(1, lambda d, k: 0)),
        analyze(scripted(3, lambda d, k: 5, between=5)),
    ):
        for text in (to_text(result), to_html(result, START), json.dumps(to_dict(result))):
            assert "physiological reflex" in text and "nobody" in text
            assert "6-14%" in text and "57%" in text
            assert "No validated D-MER questionnaire exists" in text
            assert "ruled out" not in text.lower()
            # the journal version, in the terminal too (a consultant looks it up from there)
            assert "Prevalence, persistence, and implications" in text
            assert "European Journal of Obstetrics & Gynecology" in text.replace("&amp;", "&")
            assert "doi:10.1016/j.ejogrb.2025.02.051" in text
