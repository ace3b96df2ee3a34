"""`letdown evaluate`: per-recording and pooled scores, annotators and parameter sets compared."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from letdown_detect.cli import main
from letdown_detect.pipeline import detect_recording
from letdown_detect.recording import (
    events_frame,
    events_path,
    read_events,
    read_recording,
    write_events,
    write_recording,
)
from letdown_detect.research.batch import find_recordings
from letdown_detect.research.compare import evaluate_recordings
from letdown_detect.research.evaluate import combine, score_events
from letdown_detect.sources.simulate import SimConfig, simulate_session


def _truth(sim, annotator: str, shift_s: float = 0.0, drop_last: bool = False) -> pd.DataFrame:
    frame = events_frame(sim.truth)[["onset_s", "duration_s", "label"]]
    frame = frame.iloc[:-1] if drop_last else frame
    return frame.assign(onset_s=frame["onset_s"] + shift_s, annotator=annotator)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("evaluate")
    for seed in (31, 32, 33):
        sim = simulate_session(SimConfig(duration_s=600, sample_rate_hz=10, letdowns=3), seed)
        path = write_recording(sim.recording, root / f"r{seed}.csv")
        if seed == 33:
            continue  # not annotated: skipped and reported
        felt = pd.DataFrame(
            {"onset_s": [sim.truth[0].onset_s + 4], "duration_s": [None], "label": "felt_letdown"}
        )
        ana, bo = _truth(sim, "ana"), _truth(sim, "bo", shift_s=3.0, drop_last=True)
        write_events(pd.concat([ana, bo, felt.assign(annotator="parent")]), events_path(path))
    return root


def test_scores_match_scoring_each_recording_by_hand(folder: Path) -> None:
    paths = find_recordings([folder])
    result = evaluate_recordings(paths, annotators=["ana"], workers=1)
    assert result.skipped["recording"].tolist() == [str(folder / "r33.csv")]
    by_hand = []
    for path in paths[:2]:
        recording = read_recording(path)
        truth = read_events(events_path(path))
        truth = truth[truth["annotator"] == "ana"]
        found = detect_recording(recording)
        by_hand.append(score_events(found, truth, recording.data["t_s"].iloc[-1]))
    rows = result.scores[result.scores["comparison"] == "detector vs ana"]
    assert rows["tp"].tolist() == [s.tp for s in by_hand] + [combine(by_hand).tp]
    assert rows["fp"].tolist() == [s.fp for s in by_hand] + [combine(by_hand).fp]
    assert rows["recording"].iloc[-1] == "ALL"
    assert rows["f1"].iloc[-1] == pytest.approx(combine(by_hand).f1, abs=1e-4)
    assert set(result.overall()["comparison"]) == {"detector vs ana", "detector vs felt"}


def test_two_annotators_are_compared_with_the_same_matching(folder: Path, capsys) -> None:
    code = main(["evaluate", str(folder), "--compare", "annotator:ana", "annotator:bo", "--json"])
    assert code == 0
    captured = capsys.readouterr()
    assert "r33.csv: no r33.events.csv" in captured.err
    records = json.loads(captured.out)
    rows = pd.DataFrame(records)
    overall = rows[rows["recording"] == "ALL"].set_index("comparison")
    assert list(overall.index) == [
        "detector vs ana",
        "detector vs bo",
        "detector vs felt",
        "bo vs ana",
    ]
    agreement = overall.loc["bo vs ana"]
    assert (agreement["tp"], agreement["fp"], agreement["fn"]) == (4, 0, 2)
    assert agreement["median_abs_onset_error_s"] == pytest.approx(3.0)
    raw = next(r for r in records if r["recording"] == "ALL" and r["comparison"] == "bo vs ana")
    assert raw["latency_median_s"] is None  # annotations have no detection time: JSON null


def test_two_parameter_sets_side_by_side_and_csv(folder: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "scores.csv"
    args = ["evaluate", str(folder), "--annotator", "ana", "--csv", str(out)]
    assert main([*args, "--compare", "default", "params:noise_k=40,min_rise_ml_s=5"]) == 0
    table = capsys.readouterr().out
    assert "default vs ana" in table and "overall" in table
    scores = pd.read_csv(out)
    overall = scores[scores["recording"] == "ALL"].set_index("comparison")
    strict = overall.loc["params:noise_k=40,min_rise_ml_s=5 vs ana"]
    assert (
        strict["tp"] + strict["fp"]
        < overall.loc["default vs ana", "tp"] + overall.loc["default vs ana", "fp"]
    )


def test_several_annotators_without_a_choice_is_a_one_line_error(folder: Path, capsys) -> None:
    assert main(["evaluate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("letdown: ") and "ana, bo" in err and "--annotator" in err


@pytest.mark.parametrize(
    "spec, message",
    [("params:nonsense=1", "unknown detector parameter"), ("both", "expected 'annotator:NAME'")],
)
def test_bad_compare_specs_are_explained(folder: Path, capsys, spec: str, message: str) -> None:
    assert main(["evaluate", str(folder), "--compare", "default", spec]) == 2
    assert message in capsys.readouterr().err
