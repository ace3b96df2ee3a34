"""``letdown simulate`` and ``letdown detect``: the file and JSON-lines contracts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from letdown_detect.cli import main
from letdown_detect.recording import events_path, read_events, read_recording


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "pump.csv"
    assert (
        main(
            [
                "simulate",
                str(path),
                "--kind",
                "volume_ml",
                "--at",
                "50,240",
                "--seed",
                "4",
                "--duration",
                "480",
            ]
        )
        == 0
    )
    return path


def test_simulate_writes_the_three_contract_files(session: Path) -> None:
    rec = read_recording(session)
    assert rec.channels == ("volume_ml",) and rec.meta.start_time
    truth = read_events(events_path(session))
    assert truth["onset_s"].round().tolist() == [50.0, 240.0]


def test_detect_json_lines_contract(session: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["detect", str(session), "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    for obj in lines:
        assert obj["recording"] == str(session)
        assert {
            "onset_s",
            "detected_s",
            "peak_flow_ml_s",
            "channel",
            "end_s",
            "volume_ml",
            "score",
        } <= obj.keys()
        assert obj["detected_s"] > obj["onset_s"]
    assert [round(o["onset_s"] / 10) for o in lines] == [5, 24]


@pytest.mark.parametrize("chunk", ["1", "7", "1000"])
def test_detect_output_does_not_depend_on_chunk(session: Path, capsys, chunk: str) -> None:
    main(["detect", str(session), "--json"])
    whole = capsys.readouterr().out
    main(["detect", str(session), "--json", "--chunk", chunk])
    assert capsys.readouterr().out == whole


def test_detect_table_is_readable(session: Path, capsys: pytest.CaptureFixture) -> None:
    main(["detect", str(session)])
    out = capsys.readouterr().out
    assert "2 letdown(s)" in out and "onset" in out and "volume mL" in out


def test_one_bad_file_does_not_stop_the_others(session: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,weight_g\n0,1\n-1,2\n")
    assert main(["detect", str(bad), str(session), "--json"]) == 2
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2
    assert "bad.csv line 3: expected t_s to increase" in captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "noise_k=lots"], "expected a number"),
        (["--param", "speed=2"], "unknown"),
        (["--chunk", "0"], "--chunk must be at least 1"),
    ],
)
def test_bad_options_are_one_line(session: Path, capsys, args: list[str], message: str) -> None:
    assert main(["detect", str(session), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_installed_command_runs(session: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "letdown_detect", "detect", str(session), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.count("\n") == 2
