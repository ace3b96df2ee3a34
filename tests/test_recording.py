"""The recording contract: round trips, and one clear sentence for each bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letdown_detect.cli import main
from letdown_detect.errors import ConfigError, RecordingError
from letdown_detect.pipeline import Pipeline
from letdown_detect.recording import (
    Recording,
    RecordingMeta,
    read_events,
    read_recording,
    write_events,
    write_recording,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(st.floats(0.001, 5.0), min_size=1, max_size=60),
    values=st.lists(st.one_of(st.floats(-1e5, 1e5), st.just(math.nan)), min_size=60, max_size=60),
    start=st.floats(0.0, 86400.0),
)
def test_recording_round_trip(tmp_path: Path, steps, values, start) -> None:
    t = start + np.cumsum(steps)
    data = pd.DataFrame({"t_s": t, "weight_g": values[: t.size]})
    meta = RecordingMeta("2026-03-01T06:00:00+00:00", 20.0, "scale", {"g_per_ml": 1.03})
    path = write_recording(Recording(data, meta), tmp_path / "rt.csv")
    back = read_recording(path)
    np.testing.assert_allclose(back.data["t_s"], t, rtol=0, atol=1e-6)
    np.testing.assert_allclose(back.data["weight_g"], data["weight_g"], rtol=1e-5, equal_nan=True)
    assert back.meta.calibration == {"g_per_ml": 1.03} and back.meta.start_time == meta.start_time


def _write(tmp_path: Path, text: str, name: str = "rec.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("time,weight_g\n0,1\n", "rec.csv line 1: expected the first column to be t_s"),
        ("t_s,weight_kg\n0,1\n", "rec.csv line 1: unknown channel 'weight_kg'"),
        (
            "t_s,weight_g\n0,1\n0.1,n/a\n",
            "rec.csv line 3: expected a number in weight_g, got 'n/a'",
        ),
        ("t_s,weight_g\n0,1\n0.2,1\n0.1,1\n", "rec.csv line 4: expected t_s to increase"),
        ("", "rec.csv: expected a header line"),
        ("t_s,weight_g\n", "rec.csv line 2: expected samples after the header"),
    ],
)
def test_bad_recording_gives_one_sentence_naming_file_and_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(RecordingError) as info:
        read_recording(_write(tmp_path, text))
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_nan_cells_are_gaps_not_errors(tmp_path: Path) -> None:
    rec = read_recording(_write(tmp_path, "t_s,flow_ml_s\n0,0.1\n0.1,\n0.2,nan\n0.3,0.2\n"))
    assert rec.data["flow_ml_s"].isna().sum() == 2


def test_pressure_without_calibration_is_a_config_error(tmp_path: Path) -> None:
    rec = read_recording(_write(tmp_path, "t_s,pressure_pa\n0,1\n0.1,2\n"))
    with pytest.raises(ConfigError, match="pa_per_ml"):
        Pipeline(rec.channels, rec.meta.calibration)


def test_bad_sidecar_names_the_sidecar(tmp_path: Path) -> None:
    path = _write(tmp_path, "t_s,weight_g\n0,1\n")
    path.with_suffix(".json").write_text(json.dumps({"calibration": {"g_per_ml": "heavy"}}))
    with pytest.raises(RecordingError, match=r"rec\.json: expected \"calibration\""):
        read_recording(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,weight_g\n0,1\n", "expected the first column to be t_s"),
        ("t_s,pressure_pa\n0,1\n0.1,2\n", "needs a calibration"),
        ("t_s,weight_g\n0,1\n0.1,abc\n", "line 3: expected a number in weight_g"),
    ],
)
def test_detect_cli_reports_bad_input_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture, text: str, message: str
) -> None:
    assert main(["detect", str(_write(tmp_path, text))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("letdown: ") and message in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_missing_file_is_reported(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["detect", str(tmp_path / "absent.csv")]) == 2
    assert "absent.csv: no such file" in capsys.readouterr().err


def test_events_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"onset_s": [61.5, 200.0], "duration_s": [90.0, None], "label": ["letdown", "felt_letdown"]}
    )
    back = read_events(write_events(frame, tmp_path / "a.events.csv"))
    assert back["onset_s"].tolist() == [61.5, 200.0]
    assert back["label"].tolist() == ["letdown", "felt_letdown"]


def test_events_with_text_onset_name_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "onset_s,duration_s,label\n60,10,letdown\nsoon,5,letdown\n", "e.csv")
    with pytest.raises(RecordingError, match=r"e\.csv line 3: expected a number in onset_s"):
        read_events(path)


def test_a_csv_saved_by_a_spreadsheet_with_a_bom_reads(tmp_path: Path) -> None:
    """Spreadsheets often save UTF-8 CSV with a byte-order mark before the header."""
    rec = tmp_path / "sheet.csv"
    rec.write_bytes(b"\xef\xbb\xbft_s,weight_g\n0.0,100.0\n0.1,100.1\n")
    assert read_recording(rec).channels == ("weight_g",)
    events = tmp_path / "sheet.events.csv"
    events.write_bytes(b"\xef\xbb\xbfonset_s,duration_s,label\n60.0,30.0,letdown\n")
    assert read_events(events)["onset_s"].astype(float).tolist() == [60.0]
