"""Each letdown announced once across the fast and slow looks, and none lost when the look
that announced it takes its alert back while the other look saw the letdown."""

from __future__ import annotations

from dataclasses import replace

from letdown_detect.detection.looks import OneAnnouncement
from letdown_detect.model import Event


def _detection(onset: float, detected: float) -> Event:
    return Event(onset, detected, 0.2, "weight_g", 1.2)


def _completion(event: Event, end: float, label: str = "letdown") -> Event:
    return replace(event, end_s=end, volume_ml=3.0, label=label)


def _merger() -> OneAnnouncement:
    return OneAnnouncement(min_interval_s=30.0, evidence_s=10.0, rate_hz=10.0)


def _run(steps: list[tuple[list, list, float]]) -> list[Event]:
    """Feed (fast, slow, now) steps to a fresh merger; all events announced, in order."""
    merger = _merger()
    out: list[Event] = []
    for fast, slow, now in steps:
        out += merger.merge(fast, slow, now)
    return out


FAST = _detection(100.0, 110.05)
SLOW = _detection(98.0, 118.05)


def test_a_letdown_both_looks_saw_is_announced_once() -> None:
    out = _run(
        [
            ([(110.0, FAST)], [], 110.0),
            ([], [(118.0, SLOW)], 118.0),
            ([(300.0, _completion(FAST, 290.0))], [(305.0, _completion(SLOW, 292.0))], 305.0),
        ]
    )
    assert out == [FAST, _completion(FAST, 290.0)]


def test_a_letdown_whose_first_alert_was_taken_back_is_announced_by_the_other_look() -> None:
    """The fast look's alert collapses (a hand on the bottle as milk began); the slow look
    saw the letdown 8 s later. It is announced once it has stood 10 s since its detection,
    and its completion carries that time."""
    out = _run(
        [
            ([(110.0, FAST)], [], 110.0),
            ([], [(118.0, SLOW)], 118.0),
            ([(115.0, _completion(FAST, 114.0, "retracted"))], [], 120.0),
            ([], [], 127.9),
            ([], [], 128.0),
            ([], [(400.0, _completion(SLOW, 390.0))], 400.0),
        ]
    )
    late = replace(SLOW, detected_s=SLOW.detected_s + 10.0)
    assert out == [
        FAST,
        _completion(FAST, 114.0, "retracted"),
        late,
        _completion(late, 390.0),
    ]


def test_a_second_rise_that_collapses_too_never_reaches_the_parent() -> None:
    out = _run(
        [
            ([(110.0, FAST)], [], 110.0),
            ([(115.0, _completion(FAST, 114.0, "retracted"))], [], 115.0),
            ([], [(118.0, SLOW)], 118.0),
            ([], [(124.0, _completion(SLOW, 123.0, "retracted"))], 140.0),
        ]
    )
    assert out == [FAST, _completion(FAST, 114.0, "retracted")]


def test_the_merge_does_not_depend_on_how_the_events_are_grouped() -> None:
    events_fast = [(110.0, FAST), (115.0, _completion(FAST, 114.0, "retracted"))]
    events_slow = [(118.0, SLOW), (400.0, _completion(SLOW, 390.0))]
    whole = _merger().merge(events_fast, events_slow, 400.0)
    apart = _run(
        [
            (events_fast[:1], [], 110.0),
            (events_fast[1:], events_slow[:1], 120.0),
            ([], [], 200.0),
            ([], events_slow[1:], 400.0),
        ]
    )
    assert whole == apart
    assert [e.detected_s for e in whole if e.onset_s == SLOW.onset_s] == [128.05, 128.05]
