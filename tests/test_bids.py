"""BIDS-style events.tsv export: columns, n/a, units sidecar, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from letdown_detect.cli import main
from letdown_detect.recording import events_path, read_events, write_events, write_recording
from letdown_detect.research.bids import bids_events, write_bids_events
from letdown_detect.sources.simulate import SimConfig, simulate_session

ANNOTATIONS = pd.DataFrame(
    {
        "onset_s": [300.5, 61.25, 140.0],
        "duration_s": [120.0, None, 95.0],
        "label": ["letdown", "felt_letdown", "letdown"],
        "annotator": ["ana", "parent", "ana"],
    }
)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sim = simulate_session(SimConfig(duration_s=400, sample_rate_hz=10, letdowns=2), seed=4)
    path = write_recording(sim.recording, tmp_path_factory.mktemp("bids") / "s1.csv")
    write_events(ANNOTATIONS, events_path(path))
    return path


def test_bids_frame_uses_bids_names_and_sorts_by_onset() -> None:
    frame = bids_events(ANNOTATIONS)
    assert list(frame.columns) == ["onset", "duration", "trial_type", "annotator"]
    assert frame["onset"].tolist() == [61.25, 140.0, 300.5]
    assert frame["trial_type"].tolist() == ["felt_letdown", "letdown", "letdown"]


def test_tsv_is_tab_separated_with_na_and_a_units_sidecar(tmp_path: Path) -> None:
    tsv, sidecar = write_bids_events(ANNOTATIONS, tmp_path / "sub-01_task-pump_events.tsv")
    lines = tsv.read_text().splitlines()
    assert lines[0] == "onset\tduration\ttrial_type\tannotator"
    assert lines[1] == "61.250\tn/a\tfelt_letdown\tparent"
    back = pd.read_csv(tsv, sep="\t", na_values="n/a")
    assert back["duration"].isna().tolist() == [True, False, False]
    described = json.loads(sidecar.read_text())
    assert described["onset"]["Units"] == "s"
    assert set(described) == {"onset", "duration", "trial_type", "annotator"}


def test_cli_exports_annotations_beside_the_recording(session: Path, capsys) -> None:
    assert main(["export", str(session)]) == 0
    out = session.with_name("s1_events.tsv")
    assert capsys.readouterr().out.split() == [str(out), str(out.with_suffix(".json"))]
    back = pd.read_csv(out, sep="\t", na_values="n/a")
    assert back["onset"].tolist() == sorted(read_events(events_path(session))["onset_s"])


def test_cli_adds_detector_letdowns_when_asked(session: Path, tmp_path: Path) -> None:
    out = tmp_path / "both_events.tsv"
    assert main(["export", str(session), "--detected", "-o", str(out)]) == 0
    back = pd.read_csv(out, sep="\t", na_values="n/a")
    detected = back[back["annotator"] == "detector"]
    assert len(detected) >= 1
    assert (detected["trial_type"] == "letdown").all()
    assert (detected["detection_time"] >= detected["onset"]).all()
    assert (back.loc[back["annotator"] == "ana", "detection_time"]).isna().all()


def test_cli_without_annotations_names_the_missing_file(tmp_path: Path, capsys) -> None:
    sim = simulate_session(SimConfig(duration_s=120, sample_rate_hz=10, letdowns=1), seed=1)
    path = write_recording(sim.recording, tmp_path / "bare.csv")
    assert main(["export", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("letdown: ") and "bare.events.csv" in err and "--detected" in err


def test_export_with_mood_rows_is_private_from_creation_and_kept_by_data_delete(
    tmp_path: Path, capsys
) -> None:
    """Mood answers are health data: the export is 0600 whatever the umask, even over an
    older world-readable export, and stays the parent's copy (not listed for deletion)."""
    import os
    import stat

    from letdown_detect.store.files import written_files

    sim = simulate_session(SimConfig(duration_s=120, sample_rate_hz=10, letdowns=1), seed=1)
    path = write_recording(sim.recording, tmp_path / "moody.csv")
    moods = pd.DataFrame(
        {
            "onset_s": [40.0, 70.0],
            "duration_s": [None, None],
            "label": ["letdown", "mood"],
            "value": [None, 8.0],
        }
    )
    write_events(moods, events_path(path))
    out = tmp_path / "moody_events.tsv"
    out.write_text("old export\n")
    out.chmod(0o644)
    old_umask = os.umask(0o022)
    try:
        assert main(["export", str(path), "-o", str(out)]) == 0
    finally:
        os.umask(old_umask)
    tsv, sidecar = (Path(p) for p in capsys.readouterr().out.split())
    assert "mood\t" in tsv.read_text() and "8.000" in tsv.read_text()
    for written in (tsv, sidecar):
        assert stat.S_IMODE(written.stat().st_mode) == 0o600, written
    assert str(tsv.resolve()) not in written_files()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left
