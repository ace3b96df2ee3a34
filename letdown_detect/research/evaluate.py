"""Score detected letdowns against annotated ones (PURE: no I/O, no clock).

The definitions are DESIGN.md's "Metrics", shared by the CLI, the tests and the
benchmarks: a detection matches an annotated letdown when their onsets are
within ``tolerance_s`` (15 s), one-to-one, closest pairs first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..model import Event

#: Onsets closer than this match, s (DESIGN.md "Metrics").
DEFAULT_TOLERANCE_S = 15.0

EventsLike = Sequence[Event] | pd.DataFrame


def match_events(
    detected_onsets_s: Sequence[float] | np.ndarray,
    true_onsets_s: Sequence[float] | np.ndarray,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[tuple[int, int]]:
    """Pair detections with true letdowns one-to-one, closest pairs first.

    Every pair of onsets within ``tolerance_s`` is a candidate; the closest
    candidate is accepted, both its members leave the pool, and so on. Ties
    go to the earlier true onset, then the earlier detection.

    Args:
        detected_onsets_s: onsets of detected letdowns, s.
        true_onsets_s: onsets of annotated (reference) letdowns, s.
        tolerance_s: largest accepted ``|detected - true|``, s (inclusive).

    Returns:
        ``(detected_index, true_index)`` pairs, sorted by true index.

    >>> match_events([10.0, 62.0, 65.0], [60.0, 200.0])
    [(1, 0)]
    >>> match_events([50.0, 58.0], [45.0, 60.0], tolerance_s=15)
    [(0, 0), (1, 1)]
    """
    if not tolerance_s >= 0:
        raise ConfigError(f"expected tolerance_s >= 0 seconds, got {tolerance_s!r}", "tolerance_s")
    det = np.asarray(detected_onsets_s, dtype=float).reshape(-1)
    true = np.asarray(true_onsets_s, dtype=float).reshape(-1)
    if det.size == 0 or true.size == 0:
        return []
    distance = np.abs(det[:, None] - true[None, :])
    d_idx, t_idx = np.nonzero(distance <= tolerance_s)
    order = np.lexsort((d_idx, t_idx, distance[d_idx, t_idx]))
    used_det: set[int] = set()
    used_true: set[int] = set()
    pairs = []
    for k in order:
        d, t = int(d_idx[k]), int(t_idx[k])
        if d in used_det or t in used_true:
            continue
        used_det.add(d)
        used_true.add(t)
        pairs.append((d, t))
    return sorted(pairs, key=lambda pair: pair[1])


@dataclass(frozen=True)
class Scores:
    """Detection quality over one recording or pooled over many.

    Precision is 1.0 when nothing was detected and recall is 1.0 when there
    was nothing to find, so a session without letdowns and without detections
    scores perfectly, and one with letdowns but no detections scores F1 = 0.
    """

    tp: int
    """Detections matched to a true letdown."""
    fp: int
    """Detections with no true letdown within the tolerance (false alarms)."""
    fn: int
    """True letdowns no detection matched (misses)."""
    duration_s: float
    """Recorded time the detections came from, s (for false alarms per hour)."""
    onset_errors_s: np.ndarray = field(default_factory=lambda: np.empty(0))
    """Signed ``detected onset - true onset`` per match, s."""
    latencies_s: np.ndarray = field(default_factory=lambda: np.empty(0))
    """``detected_s - true onset`` per match where detection times are known, s."""

    @property
    def precision(self) -> float:
        """Share of detections that are real letdowns (1.0 when nothing was detected)."""
        found = self.tp + self.fp
        return self.tp / found if found else 1.0

    @property
    def recall(self) -> float:
        """Share of real letdowns detected (1.0 when there were none)."""
        real = self.tp + self.fn
        return self.tp / real if real else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (0.0 when both are 0)."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def median_abs_onset_error_s(self) -> float:
        """Median ``|detected onset - true onset|`` over matches, s (NaN without matches)."""
        return _stat(np.abs(self.onset_errors_s), 50)

    @property
    def latency_median_s(self) -> float:
        """Median detection latency (``detected_s - true onset``), s (NaN when unknown)."""
        return _stat(self.latencies_s, 50)

    @property
    def latency_p95_s(self) -> float:
        """95th percentile of the detection latency, s (NaN when unknown)."""
        return _stat(self.latencies_s, 95)

    @property
    def false_alarms_per_h(self) -> float:
        """False alarms per hour of recording (NaN when the duration is 0)."""
        return self.fp / (self.duration_s / 3600.0) if self.duration_s > 0 else math.nan

    def to_dict(self) -> dict[str, float | int | None]:
        """Counts and headline metrics as a JSON-ready dict (NaN becomes ``None``)."""
        values: dict[str, float | int] = {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "median_abs_onset_error_s": self.median_abs_onset_error_s,
            "latency_median_s": self.latency_median_s,
            "latency_p95_s": self.latency_p95_s,
            "false_alarms_per_h": self.false_alarms_per_h,
            "duration_s": self.duration_s,
        }
        return {
            k: None
            if isinstance(v, float) and math.isnan(v)
            else (round(v, 4) if isinstance(v, float) else v)
            for k, v in values.items()
        }


def _json_number(value: float | int) -> float | int | None:
    """Round floats to 4 decimals; NaN (undefined) becomes ``None``."""
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    return value


def _stat(values: np.ndarray, percentile: float) -> float:
    """A percentile of ``values``, NaN when empty."""
    return float(np.percentile(values, percentile)) if values.size else math.nan


def event_times(events: EventsLike, label: str = "letdown") -> tuple[np.ndarray, np.ndarray]:
    """Onsets and detection times (NaN when unknown) of the events with ``label``, s.

    Args:
        events: :class:`Event` objects or an events DataFrame (``onset_s``,
            ``label``, optional ``detected_s``) as read by ``read_events``.
        label: which events count, e.g. ``letdown`` or ``felt_letdown``.

    >>> event_times([Event(60.0, 68.5, 4.0, "weight_g", 2.0)])
    (array([60.]), array([68.5]))
    """
    if isinstance(events, pd.DataFrame):
        rows = events[events["label"] == label] if "label" in events.columns else events
        onsets = rows["onset_s"].to_numpy(float)
        if "detected_s" in rows.columns:
            detected = pd.to_numeric(rows["detected_s"], errors="coerce").to_numpy(float)
        else:
            detected = np.full(onsets.size, math.nan)
        return onsets, detected
    chosen = [e for e in events if e.label == label]
    return (
        np.array([e.onset_s for e in chosen], dtype=float),
        np.array([e.detected_s for e in chosen], dtype=float),
    )


def score_events(
    detected: EventsLike,
    truth: EventsLike,
    duration_s: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    truth_label: str = "letdown",
) -> Scores:
    """Score one recording's detections against its annotations.

    Args:
        detected: detected letdowns (complete events, label ``letdown``).
        truth: reference events; those labelled ``truth_label`` count.
        duration_s: length of the recording, s.
        tolerance_s: largest onset difference for a match, s.
        truth_label: ``letdown`` for annotations, ``felt_letdown`` to score
            detections against the parent's own marks.

    Returns:
        The counts and per-match errors; see :class:`Scores`.

    >>> truth = pd.DataFrame({"onset_s": [60.0, 300.0], "label": ["letdown"] * 2})
    >>> found = [Event(64.0, 70.0, 3.0, "weight_g", 1.5), Event(500.0, 505.0, 1.0, "weight_g", 1.1)]
    >>> s = score_events(found, truth, duration_s=900)
    >>> (s.tp, s.fp, s.fn, s.latency_median_s, s.false_alarms_per_h)
    (1, 1, 1, 10.0, 4.0)
    """
    if not duration_s >= 0:
        raise ConfigError(f"expected duration_s >= 0 seconds, got {duration_s!r}", "duration_s")
    det_onsets, det_times = event_times(detected, "letdown")
    true_onsets, _ = event_times(truth, truth_label)
    pairs = match_events(det_onsets, true_onsets, tolerance_s)
    d_idx = np.array([d for d, _ in pairs], dtype=int)
    t_idx = np.array([t for _, t in pairs], dtype=int)
    latencies = det_times[d_idx] - true_onsets[t_idx]
    return Scores(
        tp=len(pairs),
        fp=int(det_onsets.size - len(pairs)),
        fn=int(true_onsets.size - len(pairs)),
        duration_s=float(duration_s),
        onset_errors_s=det_onsets[d_idx] - true_onsets[t_idx],
        latencies_s=latencies[~np.isnan(latencies)],
    )


def combine(scores: Iterable[Scores]) -> Scores:
    """Pool scores over recordings: counts and durations add, errors concatenate.

    >>> a = Scores(tp=2, fp=0, fn=1, duration_s=1800, onset_errors_s=np.array([1.0, -3.0]))
    >>> b = Scores(tp=1, fp=1, fn=0, duration_s=1800, onset_errors_s=np.array([2.0]))
    >>> pooled = combine([a, b])
    >>> (pooled.tp, pooled.fp, pooled.fn, pooled.false_alarms_per_h)
    (3, 1, 1, 1.0)
    >>> pooled.median_abs_onset_error_s
    2.0
    """
    scores = list(scores)
    return Scores(
        tp=sum(s.tp for s in scores),
        fp=sum(s.fp for s in scores),
        fn=sum(s.fn for s in scores),
        duration_s=float(sum(s.duration_s for s in scores)),
        onset_errors_s=np.concatenate([np.empty(0), *(s.onset_errors_s for s in scores)]),
        latencies_s=np.concatenate([np.empty(0), *(s.latencies_s for s in scores)]),
    )
