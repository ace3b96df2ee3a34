"""Evaluation metrics against a hand-worked example (DESIGN.md "Metrics")."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from letdown_detect.errors import ConfigError
from letdown_detect.model import Event
from letdown_detect.research.evaluate import Scores, combine, match_events, score_events


def _event(onset_s: float, detected_s: float) -> Event:
    return Event(onset_s, detected_s, 5.0, "weight_g", 2.0, end_s=onset_s + 90, volume_ml=20.0)


# Worked by hand on paper, 30-minute session (1800 s):
#   truth onsets      60      200      400      700
#   detected onsets   55 70   210      405             1000
#   detected_s        63 75   215      418             1005
# Candidates within 15 s, closest first: 55-60 (5), 405-400 (5), 70-60 (10, 60 taken),
# 210-200 (10). Matches: 55-60, 210-200, 405-400 -> tp 3, fp 2 (70, 1000), fn 1 (700).
# precision 3/5, recall 3/4, F1 = 2*0.6*0.75/1.35 = 2/3.
# signed onset errors -5, +10, +5 -> median |error| 5 s.
# latencies 63-60=3, 215-200=15, 418-400=18 -> median 15 s, p95 = 15 + 0.9*(18-15) = 17.7 s.
# false alarms: 2 in half an hour = 4 per hour.
TRUTH = pd.DataFrame(
    {
        "onset_s": [60.0, 200.0, 400.0, 700.0, 150.0],
        "duration_s": [90.0] * 5,
        "label": ["letdown"] * 4 + ["felt_letdown"],
        "annotator": ["ana"] * 5,
    }
)
DETECTED = [_event(55, 63), _event(70, 75), _event(210, 215), _event(405, 418), _event(1000, 1005)]


def test_hand_worked_example_gives_the_numbers_worked_on_paper() -> None:
    s = score_events(DETECTED, TRUTH, duration_s=1800)
    assert (s.tp, s.fp, s.fn) == (3, 2, 1)
    assert s.precision == pytest.approx(0.6)
    assert s.recall == pytest.approx(0.75)
    assert s.f1 == pytest.approx(2 / 3)
    assert s.onset_errors_s.tolist() == [-5.0, 10.0, 5.0]
    assert s.median_abs_onset_error_s == pytest.approx(5.0)
    assert s.latency_median_s == pytest.approx(15.0)
    assert s.latency_p95_s == pytest.approx(17.7)
    assert s.false_alarms_per_h == pytest.approx(4.0)


def test_matching_is_nearest_first_not_first_come() -> None:
    # 70 s is nearer the 60 s letdown than nothing else, but 55 s is nearer still and wins.
    assert match_events([55, 70, 210, 405, 1000], [60, 200, 400, 700]) == [(0, 0), (2, 1), (3, 2)]
    # Greedy by distance: 110 takes 112 (2 s); 125 is then 25 s from 100: one match only.
    assert match_events([110, 125], [100, 112]) == [(0, 1)]


def test_tolerance_is_inclusive_and_configurable() -> None:
    assert match_events([75.0], [60.0]) == [(0, 0)]
    assert match_events([75.1], [60.0]) == []
    assert match_events([75.1], [60.0], tolerance_s=20) == [(0, 0)]


def test_a_session_without_letdowns_and_without_detections_is_perfect() -> None:
    s = score_events([], TRUTH.iloc[:0], duration_s=600)
    assert (s.precision, s.recall, s.f1, s.false_alarms_per_h) == (1.0, 1.0, 1.0, 0.0)
    assert math.isnan(s.median_abs_onset_error_s) and math.isnan(s.latency_median_s)


def test_missing_everything_or_only_false_alarms_scores_zero_f1() -> None:
    missed = score_events([], TRUTH, duration_s=1800)
    assert (missed.precision, missed.recall, missed.f1) == (1.0, 0.0, 0.0)
    alarms = score_events(DETECTED, TRUTH.iloc[:0], duration_s=1800)
    assert (alarms.precision, alarms.recall, alarms.f1) == (0.0, 1.0, 0.0)
    assert alarms.false_alarms_per_h == pytest.approx(10.0)


def test_felt_letdowns_are_scored_only_when_asked() -> None:
    felt = score_events(DETECTED, TRUTH, duration_s=1800, truth_label="felt_letdown")
    assert (felt.tp, felt.fp, felt.fn) == (0, 5, 1)
    felt_near = score_events([_event(148, 160)], TRUTH, 1800, truth_label="felt_letdown")
    assert (felt_near.tp, felt_near.latency_median_s) == (1, 10.0)


def test_annotations_scored_against_annotations_have_no_latency() -> None:
    other = TRUTH.assign(onset_s=TRUTH["onset_s"] + 2.0)
    s = score_events(other, TRUTH, duration_s=1800)
    assert (s.tp, s.fp, s.fn, s.f1) == (4, 0, 0, 1.0)
    assert s.median_abs_onset_error_s == pytest.approx(2.0)
    assert math.isnan(s.latency_median_s)
    assert s.to_dict()["latency_median_s"] is None


def test_combine_pools_counts_errors_and_hours() -> None:
    one = score_events(DETECTED, TRUTH, duration_s=1800)
    empty = score_events([], TRUTH.iloc[:0], duration_s=1800)
    pooled = combine([one, empty])
    assert (pooled.tp, pooled.fp, pooled.fn) == (3, 2, 1)
    assert pooled.false_alarms_per_h == pytest.approx(2.0)
    assert pooled.latency_median_s == pytest.approx(15.0)
    assert combine([]).f1 == 1.0


def test_bad_tolerance_or_duration_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="tolerance_s"):
        match_events([1.0], [1.0], tolerance_s=-1)
    with pytest.raises(ConfigError, match="duration_s"):
        score_events([], TRUTH, duration_s=-5)


onsets = st.lists(st.floats(0, 3600, allow_nan=False), max_size=12)


@given(onsets, onsets, st.floats(0, 60))
def test_matches_are_one_to_one_and_within_tolerance(det, true, tolerance) -> None:
    pairs = match_events(det, true, tolerance)
    assert len({d for d, _ in pairs}) == len(pairs) == len({t for _, t in pairs})
    assert all(abs(det[d] - true[t]) <= tolerance for d, t in pairs)
    s = score_events(
        pd.DataFrame({"onset_s": det, "label": "letdown"}),
        pd.DataFrame({"onset_s": true, "label": "letdown"}),
        duration_s=3600,
        tolerance_s=tolerance,
    )
    assert s.tp + s.fp == len(det) and s.tp + s.fn == len(true)
    assert 0.0 <= s.f1 <= 1.0


def test_scores_default_errors_are_empty() -> None:
    s = Scores(tp=0, fp=0, fn=0, duration_s=0)
    assert np.isnan(s.false_alarms_per_h) and s.onset_errors_s.size == 0
