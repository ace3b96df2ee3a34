"""Batch detection: all cores, a bad file skipped and reported, same results on dask."""

from __future__ import annotations

from pathlib import Path

import distributed
import pandas as pd
import pytest

from letdown_detect.cli import main
from letdown_detect.errors import ConfigError
from letdown_detect.pipeline import detect_recording
from letdown_detect.recording import read_recording, write_recording
from letdown_detect.research.batch import detect_many, find_recordings
from letdown_detect.sources.simulate import SimConfig, simulate_session

SEEDS = (21, 22, 23, 24)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("batch")
    for seed in SEEDS:
        config = SimConfig(duration_s=420, sample_rate_hz=10, letdowns=2, double=seed == 24)
        write_recording(simulate_session(config, seed).recording, root / f"s{seed}.csv")
    (root / "broken.csv").write_text("time,weight_g\n0,1\n")
    (root / "s21.events.csv").write_text("onset_s,duration_s,label\n60,,letdown\n")
    return root


def _direct(path: Path) -> list[float]:
    return [round(e.onset_s, 6) for e in detect_recording(read_recording(path))]


def test_find_recordings_skips_events_files_and_names_a_missing_input(folder: Path) -> None:
    found = find_recordings([folder])
    assert [p.name for p in found] == ["broken.csv", "s21.csv", "s22.csv", "s23.csv", "s24.csv"]
    with pytest.raises(ConfigError, match=r"nowhere\.csv"):
        find_recordings([folder / "nowhere.csv"])


def test_parallel_batch_equals_detecting_each_file_and_reports_the_bad_one(folder: Path) -> None:
    ticks: list[tuple[int, int]] = []
    paths = find_recordings([folder])
    result = detect_many(paths, workers=2, progress=lambda d, t: ticks.append((d, t)))
    assert ticks[-1] == (5, 5) and len(ticks) == 5
    assert result.summary["recording"].tolist() == [str(p) for p in paths]
    failures = result.failures
    assert failures["recording"].tolist() == [str(folder / "broken.csv")]
    assert "t_s" in failures["error"].iloc[0] and "broken.csv" in failures["error"].iloc[0]
    for path in paths[1:]:
        rows = result.events[result.events["recording"] == str(path)]
        assert rows["onset_s"].round(6).tolist() == _direct(path)
        summary = result.summary.set_index("recording").loc[str(path)]
        assert summary["letdowns"] == len(rows)
        assert summary["duration_s"] == pytest.approx(read_recording(path).data["t_s"].iloc[-1])
        assert summary["volume_ml"] > 0
        if len(rows):
            assert summary["time_to_first_letdown_s"] == pytest.approx(rows["onset_s"].min())
    assert result.events["detected_s"].ge(result.events["onset_s"]).all()


def test_cli_writes_events_and_summary_and_exits_2_for_the_skipped_file(
    folder: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "results.csv"
    assert main(["batch", str(folder), "--out", str(out), "--no-progress", "-j", "2"]) == 2
    err = capsys.readouterr().err
    assert "skipped" in err and "broken.csv" in err
    events = pd.read_csv(out)
    summary = pd.read_csv(tmp_path / "results.summary.csv")
    assert len(summary) == 5 and summary["error"].notna().sum() == 1
    expected = sum(len(_direct(folder / f"s{seed}.csv")) for seed in SEEDS)
    assert len(events) == expected
    assert {"recording", "onset_s", "detected_s", "peak_flow_ml_s", "volume_ml"} <= set(events)


@pytest.mark.timeout(120)
def test_dask_cluster_gives_the_same_rows_as_local_processes(folder: Path, capsys) -> None:
    paths = find_recordings([folder])
    local = detect_many(paths, workers=1)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        on_dask = detect_many(paths, dask=cluster.scheduler_address)
        assert main(["batch", str(paths[1]), "--dask", cluster.scheduler_address]) == 0
    pd.testing.assert_frame_equal(on_dask.events, local.events)
    pd.testing.assert_frame_equal(on_dask.summary, local.summary)
    assert "s21" in capsys.readouterr().out


def test_unreachable_dask_scheduler_is_a_one_line_error(folder: Path, capsys) -> None:
    code = main(["batch", str(folder / "s21.csv"), "--dask", "tcp://127.0.0.1:9", "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("letdown: tcp://127.0.0.1:9") and "dask scheduler" in err
