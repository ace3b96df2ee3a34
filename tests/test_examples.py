"""The example recordings: they load, cover every kind, are reproducible, and the detector finds
their letdowns."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from letdown_detect.model import Channel
from letdown_detect.recording import events_path, read_events, read_recording
from letdown_detect.research.compare import evaluate_recordings

FOLDER = Path(__file__).resolve().parents[1] / "recordings"
spec = importlib.util.spec_from_file_location("make_examples", FOLDER / "make_examples.py")
make_examples = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_examples)
NAMES = list(make_examples.EXAMPLES)


@pytest.mark.parametrize("name", NAMES)
def test_every_example_loads_with_sidecar_and_annotations(name: str) -> None:
    recording = read_recording(FOLDER / f"{name}.csv")
    assert recording.meta.start_time and recording.meta.sample_rate_hz
    assert len(recording.data) > 5000
    annotations = read_events(events_path(FOLDER / f"{name}.csv"))
    letdowns = annotations[annotations["label"] == "letdown"]
    assert (letdowns["annotator"] == "simulator").all()
    assert letdowns["onset_s"].between(0, recording.data["t_s"].iloc[-1]).all()
    if name == "weight_no_letdown":
        assert letdowns.empty
    else:
        assert len(letdowns) >= 2


def test_examples_cover_every_kind_double_pumping_and_stay_small() -> None:
    channels = {c for n in NAMES for c in read_recording(FOLDER / f"{n}.csv").channels}
    assert {Channel(c).kind for c in channels} == {
        "flow_ml_s",
        "volume_ml",
        "weight_g",
        "pressure_pa",
    }
    assert {"weight_g_left", "weight_g_right"} <= channels
    assert sum(p.stat().st_size for p in FOLDER.iterdir()) < 5_000_000


def test_the_artifacts_example_has_gaps_and_spikes_the_clean_one_lacks() -> None:
    nasty = read_recording(FOLDER / "weight_artifacts.csv").data
    clean = read_recording(FOLDER / "weight_single.csv").data
    assert np.diff(nasty["t_s"]).max() > 1.0 > np.diff(clean["t_s"]).max()
    jumps = lambda d: (d["weight_g"].diff().abs() > 10).sum()  # noqa: E731
    assert jumps(nasty) > jumps(clean) + 5


@pytest.mark.parametrize("name", ["weight_double", "weight_artifacts"])
def test_the_generator_reproduces_the_committed_files(name: str, tmp_path: Path) -> None:
    csv = make_examples.make_example(name, tmp_path)
    for made in (csv, csv.with_suffix(".json"), events_path(csv)):
        assert made.read_bytes() == (FOLDER / made.name).read_bytes(), made.name


def test_detector_finds_the_example_letdowns() -> None:
    paths = [FOLDER / f"{n}.csv" for n in NAMES]
    result = evaluate_recordings(paths, annotators=["simulator"], workers=2)
    assert result.skipped.empty
    overall = result.overall().set_index("comparison").loc["detector vs simulator"]
    assert overall["f1"] >= 0.85
    assert overall["latency_median_s"] < 30.0
    rows = result.scores.set_index(["recording", "comparison"])
    quiet = rows.loc[(str(FOLDER / "weight_no_letdown.csv"), "detector vs simulator")]
    assert quiet["fp"] == 0
