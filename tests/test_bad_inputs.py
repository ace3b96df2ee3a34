"""A table of malformed recordings, sidecars, events files, diaries and configs, each run
through ``detect``, ``batch``, ``evaluate`` and ``import`` beside a good recording.

Wanted for every case and command that reads the bad file: one ``letdown:`` line naming
the file (and the line where there is one), exit status 2, the good recording processed,
no traceback. Commands that do not read the bad file are not disturbed by it (exit 0).
A last test runs the whole table in one ``letdown batch`` subprocess: no hang, peak memory
bounded.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from letdown_detect.cli import main
from letdown_detect.recording import events_frame, events_path, write_events, write_recording
from letdown_detect.sources.simulate import SimConfig, simulate_session

pytestmark = pytest.mark.timeout(300)

RECORDING_COMMANDS = frozenset({"detect", "batch", "evaluate", "import"})
EVENTS_COMMANDS = frozenset({"evaluate", "import"})
GOOD_ROWS = "t_s,weight_g\n" + "".join(f"{i / 10:.1f},{100 + i / 100:.2f}\n" for i in range(50))
ANNOTATED = "onset_s,duration_s,label\n1.0,2.0,letdown\n"


@dataclass(frozen=True)
class Case:
    """One malformed input: the files to write beside ``bad.csv`` and what must be said."""

    name: str
    files: dict[str, bytes | str]
    """File name -> content (:data:`DIR` makes a folder of that name)."""
    expect: str
    """A piece of the one message about the bad file."""
    line: int | None = None
    """The line the message must name, when there is one."""
    reads: frozenset[str] = RECORDING_COMMANDS
    """The commands that read the bad input (the others must not mind it)."""
    diary: str | bytes | None = None
    """A diary for ``import --mood-from`` (diary cases only)."""


DIR = b"<folder>"


def rec(text: str | bytes, expect: str, line: int | None = None, name: str = "") -> Case:
    """A bad recording CSV (annotated, so evaluate reads it too)."""
    return Case(name, {"bad.csv": text, "bad.events.csv": ANNOTATED}, expect, line)


def side(sidecar: str | bytes, expect: str, csv: str = GOOD_ROWS, line: int | None = None) -> Case:
    """A good CSV with a bad sidecar ``bad.json``."""
    return Case(
        "", {"bad.csv": csv, "bad.json": sidecar, "bad.events.csv": ANNOTATED}, expect, line
    )


def ev(events: str | bytes, expect: str, line: int | None = None, reads=EVENTS_COMMANDS) -> Case:
    """A good CSV with a bad events file."""
    return Case("", {"bad.csv": GOOD_ROWS, "bad.events.csv": events}, expect, line, reads)


def diary(text: str | bytes, expect: str, line: int | None = None) -> Case:
    """A diary with a bad line (read only by ``import --mood-from``)."""
    return Case("", {}, expect, line, frozenset({"import"}), diary=text)


DEEP = "[" * 100_000 + "]" * 100_000
BINARY = bytes(range(256)) * 8
CASES: list[Case] = [
    # recordings
    rec("", "the file is empty"),
    rec("   \n\n", "the file is empty"),
    rec("t_s,weight_g\n", "expected samples after the header", 2),
    rec("time,weight_g\n0,1\n", "expected the first column to be t_s", 1),
    rec("t_s,weight_kg\n0,1\n", "unknown channel 'weight_kg'", 1),
    rec("t_s;weight_g\n0;1\n", "expected the first column to be t_s", 1),
    rec("t_s,weight_g,weight_g\n0,1,1\n", "expected each column name once", 1),
    rec("t_s\n0\n1\n", "expected at least one channel", 1),
    rec("t_s,weight_g\n0,1\n0.1,n/a\n", "expected a number in weight_g, got 'n/a'", 3),
    rec("t_s,weight_g\n0,true\n", "expected a number in weight_g, got 'true'", 2),
    rec("t_s,weight_g\n0x10,1\n", "expected a number in t_s", 2),
    rec("t_s,weight_g\n0,1\n0.1,2,3\n", "expected 2 comma-separated cells, found 3", 3),
    rec("t_s,weight_g\n0,1\n0.1,2\n0.2,3,4,5\n", "found 4", 4),
    rec("t_s,weight_g" + "x" * 200_000 + "\n0,1\n", "over 4096 bytes", 1),
    rec("t_s,weight_g\n0," + "9" * 200_000 + "\n", "expected weight_g between", 2),
    rec("t_s,weight_g\n0,1\n0.1," + "z" * 200_000 + "\n", "expected a number in weight_g", 3),
    rec("t_s,weight_g\n0,1\n0.1,2\n0.1,3\n", "expected t_s to increase", 4),
    rec("t_s,weight_g\n0,1\n1,2\n0.5,3\n", "expected t_s to increase", 4),
    rec("t_s,weight_g\n0,1\n,2\n", "expected a time in t_s", 3),
    rec("t_s,weight_g\n0,1\nnan,2\n", "expected a time in t_s", 3),
    rec("t_s,weight_g\n0,1\n1e12,2\n", "within 172800 s of the session start", 3),
    rec("t_s,weight_g\n-1e9,1\n0,2\n", "within 172800 s", 2),
    rec("t_s,weight_g\n0,1\n0.1,2\ninf,3\n", "within 172800 s", 4),
    rec("t_s,weight_g\n0,1\n0.1,inf\n", "expected weight_g between", 3),
    rec("t_s,weight_g\n0,1\n0.1,-inf\n", "expected weight_g between", 3),
    rec("t_s,weight_g\n0,1\n0.1,1e308\n", "expected weight_g between", 3),
    rec("t_s,weight_g\n0,1\n0.1,1e999\n", "expected weight_g between", 3),
    rec("t_s,flow_ml_s\n0,1\n0.1,5000\n", "expected flow_ml_s between", 3),
    # import stores an annotated recording as it is: no detection, no calibration needed
    Case(
        "",
        {"bad.csv": "t_s,pressure_pa\n0,1\n0.1,2\n", "bad.events.csv": ANNOTATED},
        "pa_per_ml",
        reads=frozenset({"detect", "batch", "evaluate"}),
    ),
    Case(
        "",
        {"bad.csv": "t_s,pressure_pa\n0,1\n0.1,2\n"},
        "pa_per_ml",
        reads=frozenset({"detect", "batch", "import"}),
    ),
    rec(BINARY, "found binary data"),
    rec(b"t_s,weight_g\n0,\x00\x01\n", "expected a number in weight_g", 2),
    rec("t_s,weight_g\n0,1\n".encode("utf-16"), "binary data"),
    rec(b"t_s,weight_g\n0,1\n0.1,\xff\xfe\n", "binary data"),
    Case("", {"bad.csv": DIR, "bad.events.csv": ANNOTATED}, "cannot read the file"),
    # sidecars
    side("{", "expected JSON"),
    side("[1, 2]", "expected a JSON object"),
    side(DEEP, "nested too deep"),
    side('{"calibration": {"g_per_mll": 1.0}}', "did you mean g_per_ml?"),
    side('{"calibration": {"g_per_ml": 1e300}}', "between 0.5 and 2"),
    side('{"calibration": {"g_per_ml": -1}}', "between 0.5 and 2"),
    side('{"calibration": {"g_per_ml": "heavy"}}', "got 'heavy'"),
    side('{"calibration": 5}', 'expected "calibration" to be an object'),
    side('{"sample_rate_hz": NaN}', "expected finite numbers, got NaN"),
    side('{"sample_rate_hz": Infinity}', "expected finite numbers, got Infinity"),
    side('{"sample_rate_hz": true}', "expected sample_rate_hz"),
    side('{"sample_rate_hz": -1}', "expected sample_rate_hz"),
    side('{"sample_rate_hz": "20"}', "expected sample_rate_hz"),
    side('{"start_time": 12345}', "expected start_time to be an ISO 8601"),
    side('{"start_time": "yesterday"}', "got 'yesterday'"),
    side(b"\xff\xfe{}", "cannot read the sidecar"),
    side('{"device": "' + "x" * 1_100_000 + '"}', "over 1000000 bytes"),
    side(
        '{"calibration": {"pa_per_ml": 1e300}}',
        "between 0.01 and 10000",
        csv="t_s,pressure_pa\n0,1\n0.1,2\n",
    ),
    # events files (read by evaluate and import)
    ev("", "expected a header 'onset_s,duration_s,label'"),
    ev("onset_s,label\n1,letdown\n", "missing duration_s", 1),
    ev("onset_s,duration_s,label\nsoon,5,letdown\n", "expected a number in onset_s", 2),
    ev("onset_s,duration_s,label\nnan,5,letdown\n", "expected a number in onset_s", 2),
    ev("onset_s,duration_s,label\ninf,5,letdown\n", "expected a number in onset_s", 2),
    ev("onset_s,duration_s,label\n1,inf,letdown\n", "expected a number in duration_s", 2),
    ev("onset_s,duration_s,label\n1e308,5,letdown\n", "expected onset_s in seconds from 0", 2),
    ev("onset_s,duration_s,label\n60,-5,letdown\n", "expected duration_s in seconds from 0", 2),
    ev("onset_s,duration_s,label\n1,2,letdown\n3,4,letdown,x,y\n", "cells, found 5", 3),
    ev(BINARY, "binary"),
    ev("onset_s,duration_s,label\n".encode("utf-16"), "binary"),
    ev(
        "onset_s,duration_s,label,value\n1,,mood,11\n",
        "expected a 0-10 score",
        reads=frozenset({"import"}),
    ),
    ev(
        "onset_s,duration_s,label,annotator\n1,2,letdown,ana\n1,2,letdown,bo\n",
        "several annotators",
        reads=frozenset({"evaluate"}),
    ),
    # diaries (import --mood-from)
    diary("t_s,score\nsoon,3\n", "expected a time in seconds", 2),
    diary("t_s,score\n10,11\n", "bad.diary.csv line 2"),
    diary("t_s,score\n10,3,sad,extra\n", "got 4 cells", 2),
    diary("t_s,score\n10," + "9" * 200_000 + "\n", "bad.diary.csv line 2"),
    diary(b"\xff\xfe\x00garbage", "cannot read the diary"),
]


def _write(folder: Path, name: str, content: bytes | str) -> None:
    path = folder / name
    if content == DIR:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


@pytest.fixture(scope="module")
def good_files(tmp_path_factory) -> dict[str, str]:
    """A good simulated recording with its annotations, as file texts."""
    folder = tmp_path_factory.mktemp("good")
    sim = simulate_session(SimConfig(duration_s=240, sample_rate_hz=5, letdowns=2), 4)
    path = write_recording(sim.recording, folder / "good.csv")
    write_events(events_frame(sim.truth)[["onset_s", "duration_s", "label"]], events_path(path))
    return {p.name: p.read_text() for p in folder.iterdir()}


def _folder(tmp_path: Path, good_files: dict[str, str], case: Case) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in good_files.items():
        _write(folder, name, text)
    for name, content in case.files.items():
        _write(folder, name, content)
    if case.diary is not None:
        _write(folder, "bad.diary.csv", case.diary)
    return folder


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _ids() -> list[str]:
    return [f"{i:02d}-{next(iter(c.files), 'diary')}-{c.expect[:30]}" for i, c in enumerate(CASES)]


def test_the_table_has_at_least_60_cases() -> None:
    assert len(CASES) >= 60


def _check(case: Case, command: str, code: int, err: str, bad_name: str) -> None:
    assert "Traceback" not in err
    if command not in case.reads:
        assert code == 0, err
        return
    assert code == 2, err
    said = [line for line in err.splitlines() if bad_name in line]
    assert len(said) == 1, err  # one line about the bad file ...
    assert said[0].startswith("letdown: ") and case.expect in said[0], said[0]
    if case.line is not None:  # ... naming the line where there is one
        assert f" line {case.line}:" in said[0], said[0]


@pytest.mark.parametrize("case", CASES, ids=_ids())
def test_each_bad_input_is_one_sentence_and_the_good_file_is_processed(
    case: Case, good_files, tmp_path: Path, capsys
) -> None:
    folder = _folder(tmp_path, good_files, case)
    good, bad = folder / "good.csv", folder / "bad.csv"
    bad_name = "bad.diary.csv" if case.diary is not None else _culprit(case)
    if case.diary is None:
        code, out, err = _run(capsys, ["detect", str(good), str(bad)])
        _check(case, "detect", code, err, bad_name)
        assert str(good) in out

        results = tmp_path / "out" / "results.csv"
        code, out, err = _run(
            capsys, ["batch", str(folder), "-o", str(results), "-j", "1", "--no-progress"]
        )
        _check(case, "batch", code, err, bad_name)
        summary = pd.read_csv(results.with_name("results.summary.csv"))
        row = summary[summary["recording"] == str(good)]
        assert len(row) == 1 and row["error"].isna().all()

        code, out, err = _run(capsys, ["evaluate", str(folder), "-j", "1"])
        _check(case, "evaluate", code, err, bad_name)
        assert "good" in out  # the good recording was scored

    db = tmp_path / "sessions.db"
    argv = ["import", str(good)] if case.diary is not None else ["import", str(good), str(bad)]
    if case.diary is not None:
        argv += ["--mood-from", str(folder / "bad.diary.csv")]
    code, out, err = _run(capsys, [*argv, "--db", str(db)])
    _check(case, "import", code, err, bad_name)
    if case.diary is None or "cannot read" not in case.expect:
        assert f"{good}: session" in out  # the good recording is stored
    else:
        assert out == ""  # an unreadable diary stores nothing half-done
        code, out, err = _run(capsys, ["import", str(good), "--db", str(db)])
        assert code == 0 and f"{good}: session" in out


def _culprit(case: Case) -> str:
    """The file the message must name: the sidecar or events file when that is the bad one."""
    names = set(case.files)
    if "bad.json" in names:
        return "bad.json"
    if case.reads == EVENTS_COMMANDS or case.reads < EVENTS_COMMANDS:
        return "bad.events.csv"
    return "bad.csv"


def test_the_whole_table_in_one_batch_run_is_bounded_and_names_every_bad_file(
    good_files, tmp_path: Path
) -> None:
    root = tmp_path / "all"
    root.mkdir()
    for name, text in good_files.items():
        _write(root, name, text)
    bad_recordings = 0
    for i, case in enumerate(CASES):
        if "batch" not in case.reads or case.diary is not None:
            continue
        sub = root / f"case{i:02d}"
        sub.mkdir()
        for name, content in case.files.items():
            _write(sub, name, content)
        bad_recordings += 1
    out = tmp_path / "results.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "letdown_detect", "batch", str(root), "-o", str(out), "-j", "2"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    summary = pd.read_csv(out.with_name("results.summary.csv"))
    assert summary["error"].notna().sum() == bad_recordings
    assert summary.loc[summary["recording"].str.endswith("good.csv"), "error"].isna().all()
    named = [line for line in proc.stderr.splitlines() if "/case" in line]
    assert len(named) == bad_recordings
    # the 1e12 s jump, the 200 KB cells and the deep sidecar never cost much memory
    assert peak_kib < 1_500_000, peak_kib
    json.dumps(summary.to_dict("records"))  # plain data, no surprise objects


CONFIGS = {
    "misspelt section": ("[notfy]\nurls = []\n", "did you mean [notify]?"),
    "misspelt mood key": ("[mood]\nprot = 8080\n", "did you mean 'port'?"),
    "not TOML": ("[notify\n", "not valid TOML"),
    "urls as a string": ('[notify]\nurls = "json://127.0.0.1:9/x"\n', "must be a list"),
    "numeric password": ("[mqtt]\npassword = 5\n", "mqtt.password must be a string"),
    "bad interval": ("[notify]\nmin_interval_s = -1\n", ">= 0"),
    "mood port text": ('[mood]\nport = "8080"\n', "mood.port must be"),
    "binary": (BINARY, "cannot read the config file"),
}


@pytest.mark.parametrize("name", list(CONFIGS), ids=list(CONFIGS))
def test_a_bad_config_is_named_by_config_show_and_never_stops_file_commands(
    name, good_files, tmp_path, monkeypatch, capsys
) -> None:
    text, expect = CONFIGS[name]
    config = tmp_path / "config.toml"
    _write(tmp_path, "config.toml", text)
    monkeypatch.setenv("LETDOWN_CONFIG", str(config))
    code, _out, err = _run(capsys, ["config", "show"])
    assert code == 2 and err.startswith(f"letdown: {config}: ") and expect in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    folder = _folder(tmp_path, good_files, Case("", {}, ""))
    good = folder / "good.csv"
    for argv in (
        ["detect", str(good)],
        ["batch", str(folder), "-o", str(tmp_path / "r.csv"), "-j", "1", "--no-progress"],
        ["evaluate", str(folder), "-j", "1"],
        ["import", str(good), "--db", str(tmp_path / "s.db")],
    ):
        code, _out, err = _run(capsys, argv)
        assert code == 0, (argv, err)


def test_evaluate_with_no_annotated_recording_is_one_error(tmp_path, capsys) -> None:
    _write(tmp_path, "plain.csv", GOOD_ROWS)
    code, _out, err = _run(capsys, ["evaluate", str(tmp_path), "-j", "2"])
    assert code == 2 and "Traceback" not in err
    assert "no annotated recordings" in err
