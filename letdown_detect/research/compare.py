"""Score detections against annotations over many recordings; compare settings and annotators.

Every comparison uses the same matching (``evaluate.match_events``):
``detector vs ana`` scores the detector against annotator ana, ``bo vs ana``
is inter-annotator agreement (ana as reference), ``detector vs felt`` scores
the detector against the parent's own ``felt_letdown`` marks. Rows with
``recording == "ALL"`` pool each comparison over every recording.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import ConfigError, LetdownError
from ..recording import drop_retracted, events_path, read_events
from .batch import Progress, detect_many
from .evaluate import DEFAULT_TOLERANCE_S, Scores, combine, score_events

if TYPE_CHECKING:
    from ..params import DetectorConfig

ALL = "ALL"
SCORE_COLUMNS = (
    "tp",
    "fp",
    "fn",
    "precision",
    "recall",
    "f1",
    "median_abs_onset_error_s",
    "latency_median_s",
    "latency_p95_s",
    "false_alarms_per_h",
    "duration_s",
)


@dataclass(frozen=True)
class Evaluation:
    """Scores per recording and comparison, and the recordings left out."""

    scores: pd.DataFrame
    """``recording``, ``comparison`` and the metrics of :class:`Scores` (NaN when undefined)."""
    skipped: pd.DataFrame
    """``recording``, ``reason`` and ``bad`` (True for a bad file, False for one
    simply without annotations)."""

    @property
    def bad(self) -> pd.DataFrame:
        """The skipped recordings whose files were bad (load or annotation errors)."""
        return self.skipped[self.skipped["bad"].astype(bool)]

    def overall(self) -> pd.DataFrame:
        """The pooled rows (``recording == "ALL"``), one per comparison."""
        return self.scores[self.scores["recording"] == ALL].reset_index(drop=True)


def letdowns_by(annotations: pd.DataFrame, annotator: str | None, path: Path) -> pd.DataFrame:
    """The letdown rows of one annotator (``None``: the file's only annotator).

    Raises:
        ConfigError: ``annotator`` is None but several annotators marked letdowns.
    """
    rows = annotations[annotations["label"] == "letdown"]
    names = rows["annotator"].fillna("") if "annotator" in rows.columns else pd.Series(dtype=str)
    if annotator is not None:
        return rows[names == annotator]
    distinct = sorted(set(names) - {""})
    if len(distinct) > 1:
        raise ConfigError(
            f"{path}: letdowns from several annotators ({', '.join(distinct)}); "
            "pick one with --annotator or compare them with --compare annotator:A annotator:B",
            "annotator",
        )
    return rows


def evaluate_recordings(
    paths: Sequence[str | Path],
    configs: Mapping[str, DetectorConfig | None] | None = None,
    annotators: Sequence[str] = (),
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    """Detect over the annotated recordings and score every comparison.

    Args:
        paths: recording CSVs; those without ``NAME.events.csv`` are skipped.
        configs: detector parameter sets by name (default ``{"detector": None}``).
        annotators: reference annotators; none means the file's only annotator.
            With two, their agreement (second vs first) is scored too.
        tolerance_s: onset match tolerance, s.
        workers: worker processes for detection (default: all cores).
        progress: called with ``(done, total)`` per detected recording.
    """
    configs = dict(configs or {"detector": None})
    annotated, skipped = [], []
    for path in map(Path, paths):
        if events_path(path).exists():
            annotated.append(path)
        else:
            reason = f"no {events_path(path).name}"
            skipped.append({"recording": str(path), "reason": reason, "bad": False})
    runs = {
        name: detect_many(annotated, cfg, workers, progress=progress)
        for name, cfg in configs.items()
    }
    first = next(iter(runs.values()))
    for row in first.failures.itertuples():
        skipped.append({"recording": row.recording, "reason": row.error, "bad": True})
    failed = set(first.failures["recording"])
    rows: list[tuple[str, str, Scores]] = []
    for path in annotated:
        if str(path) in failed:
            continue
        try:
            rows += _recording_scores(path, runs, annotators, tolerance_s)
        except LetdownError as exc:  # the message names the events file
            skipped.append({"recording": str(path), "reason": str(exc), "bad": True})
    columns = ["recording", "reason", "bad"]
    return Evaluation(_frame(rows), pd.DataFrame(skipped, columns=columns))


def _recording_scores(
    path: Path, runs: Mapping[str, Any], annotators: Sequence[str], tolerance_s: float
) -> list[tuple[str, str, Scores]]:
    """Every comparison for one recording."""
    source = events_path(path)
    annotations = drop_retracted(read_events(source))
    references = {name: letdowns_by(annotations, name, source) for name in annotators} or {
        "annotations": letdowns_by(annotations, None, source)
    }
    felt = annotations[annotations["label"] == "felt_letdown"]
    first = next(iter(runs.values())).summary
    duration = float(first.loc[first["recording"] == str(path), "duration_s"].iloc[0])
    out = []
    for name, run in runs.items():
        detected = run.events[run.events["recording"] == str(path)]
        for ref_name, reference in references.items():
            scores = score_events(detected, reference, duration, tolerance_s)
            out.append((str(path), f"{name} vs {ref_name}", scores))
        if not felt.empty:
            scores = score_events(detected, felt, duration, tolerance_s, "felt_letdown")
            out.append((str(path), f"{name} vs felt", scores))
    if len(references) == 2:
        (a, ref_a), (b, ref_b) = references.items()
        out.append((str(path), f"{b} vs {a}", score_events(ref_b, ref_a, duration, tolerance_s)))
    return out


def _frame(rows: list[tuple[str, str, Scores]]) -> pd.DataFrame:
    """Per-recording rows, then one pooled ``ALL`` row per comparison."""
    comparisons = list(dict.fromkeys(c for _, c, _ in rows))
    pooled = [(ALL, c, combine(s for _, cc, s in rows if cc == c)) for c in comparisons]
    records = [
        {"recording": rec, "comparison": comp, **scores.to_dict()}
        for rec, comp, scores in [*rows, *pooled]
    ]
    return pd.DataFrame(records, columns=["recording", "comparison", *SCORE_COLUMNS])
