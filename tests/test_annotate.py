"""The annotation figure, driven headless (Agg) through matplotlib's own event callbacks."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from matplotlib.backend_bases import KeyEvent, MouseEvent
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from letdown_detect.cli import main
from letdown_detect.model import Event
from letdown_detect.recording import events_path, read_events, write_events, write_recording
from letdown_detect.research.analysis import analyse
from letdown_detect.research.annotate import SHORTCUTS, Annotator
from letdown_detect.sources.simulate import SimConfig, simulate_session

matplotlib.use("Agg")
SUGGESTIONS = [Event(60.0, 66.0, 2.0, "weight_g", 3.0), Event(200.0, 210.0, 1.5, "weight_g", 2.0)]
EXISTING = pd.DataFrame(
    {
        "onset_s": [61.0, 90.0, 150.0],
        "duration_s": [None, None, None],
        "label": ["letdown", "felt_letdown", "letdown"],
        "annotator": ["bo", "parent", "ana"],
    }
)


@pytest.fixture(scope="module")
def recording_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sim = simulate_session(SimConfig(duration_s=300, sample_rate_hz=10, letdowns=2), seed=8)
    return write_recording(sim.recording, tmp_path_factory.mktemp("annotate") / "rec.csv")


@pytest.fixture
def tool(recording_path: Path, tmp_path: Path) -> Annotator:
    from letdown_detect.recording import read_recording

    recording = read_recording(recording_path)
    fig = Figure(figsize=(12, 6))
    FigureCanvasAgg(fig)
    out = tmp_path / "rec.events.csv"
    annotator = Annotator(
        recording, analyse(recording).flow, SUGGESTIONS, EXISTING, "ana", out, figure=fig
    )
    fig.canvas.draw()
    return annotator


def _xy(tool: Annotator, t_s: float) -> tuple[float, float]:
    ax = tool.flow_ax
    y = sum(ax.get_ylim()) / 2
    return tuple(ax.transData.transform((t_s, y)))


def _mouse(tool: Annotator, name: str, t_s: float, button: int = 1) -> None:
    x, y = _xy(tool, t_s)
    event = MouseEvent(name, tool.figure.canvas, x, y, button=button)
    tool.figure.canvas.callbacks.process(name, event)


def _key(tool: Annotator, key: str, t_s: float) -> None:
    x, y = _xy(tool, t_s)
    event = KeyEvent("key_press_event", tool.figure.canvas, key, x, y)
    tool.figure.canvas.callbacks.process("key_press_event", event)


def _dotted(tool: Annotator) -> int:
    return sum(1 for line in tool.flow_ax.get_lines() if line.get_linestyle() == ":")


def test_starts_from_own_letdowns_and_shows_shortcuts(tool: Annotator) -> None:
    assert tool.onsets == [150.0]
    texts = [t.get_text() for t in tool.figure.texts]
    assert SHORTCUTS in texts
    assert "s: save" in SHORTCUTS and "t: show/hide" in SHORTCUTS
    assert _dotted(tool) == len(SUGGESTIONS)


def test_click_adds_drag_moves_right_click_and_d_delete(tool: Annotator) -> None:
    _mouse(tool, "button_press_event", 100.0)
    _mouse(tool, "button_release_event", 100.0)
    assert tool.onsets == pytest.approx([100.0, 150.0], abs=0.5)
    _mouse(tool, "button_press_event", 100.0)
    _mouse(tool, "motion_notify_event", 115.0)
    _mouse(tool, "motion_notify_event", 120.0)
    _mouse(tool, "button_release_event", 120.0)
    assert tool.onsets == pytest.approx([120.0, 150.0], abs=0.5)
    _mouse(tool, "button_press_event", 150.0, button=3)
    assert tool.onsets == pytest.approx([120.0], abs=0.5)
    _key(tool, "d", 120.0)
    assert tool.onsets == []
    assert tool.dirty


def test_a_click_away_from_a_line_adds_instead_of_grabbing(tool: Annotator) -> None:
    _mouse(tool, "button_press_event", 175.0)
    _mouse(tool, "button_release_event", 175.0)
    assert len(tool.onsets) == 2
    _key(tool, "d", 230.0)  # nothing under the pointer: nothing deleted
    assert len(tool.onsets) == 2


def test_t_toggles_and_a_accepts_suggestions(tool: Annotator) -> None:
    _key(tool, "t", 10.0)
    assert _dotted(tool) == 0 and not tool.show_suggestions
    _key(tool, "t", 10.0)
    assert _dotted(tool) == len(SUGGESTIONS)
    _key(tool, "a", 10.0)
    assert tool.onsets == [60.0, 150.0, 200.0]
    _key(tool, "a", 10.0)
    assert tool.onsets == [60.0, 150.0, 200.0]


def test_s_saves_own_marks_and_keeps_other_annotators_rows(tool: Annotator) -> None:
    _mouse(tool, "button_press_event", 250.0)
    _mouse(tool, "button_release_event", 250.0)
    _key(tool, "s", 10.0)
    assert not tool.dirty and "saved to rec.events.csv" in tool._status.get_text()
    saved = read_events(tool.path)
    mine = saved[saved["annotator"] == "ana"]
    assert mine["label"].eq("letdown").all()
    assert mine["onset_s"].tolist() == pytest.approx([150.0, 250.0], abs=0.5)
    others = saved[saved["annotator"] != "ana"].reset_index(drop=True)
    assert others[["onset_s", "label", "annotator"]].to_dict("list") == {
        "onset_s": [61.0, 90.0],
        "label": ["letdown", "felt_letdown"],
        "annotator": ["bo", "parent"],
    }


def test_cli_opens_the_tool_on_the_recording(recording_path: Path, capsys, monkeypatch) -> None:
    import matplotlib

    from letdown_detect.commands import annotate

    write_events(EXISTING, events_path(recording_path))
    monkeypatch.setattr(annotate, "_has_display", lambda: True)  # Agg stands in for a window
    monkeypatch.setitem(matplotlib.rcParams, "keymap.save", ["s", "ctrl+s"])
    assert main(["annotate", str(recording_path), "--annotator", "ana"]) == 0
    assert matplotlib.rcParams["keymap.save"] == ["ctrl+s"]  # 's' saves annotations, no dialog
    assert read_events(events_path(recording_path))["onset_s"].tolist() == [61.0, 90.0, 150.0]


def test_cli_without_a_display_says_why_and_exits_2(recording_path: Path, capsys) -> None:
    assert main(["annotate", str(recording_path)]) == 2  # the test run has no display
    err = capsys.readouterr().err
    assert err.startswith("letdown: annotate needs a window") and "'agg'" in err.lower()
