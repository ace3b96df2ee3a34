"""Session plot: what a reader needs is on it, and `letdown plot` writes a real image."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest

from letdown_detect.cli import main
from letdown_detect.research.analysis import cumulative_volume
from letdown_detect.research.plot import plot_session, save_plot
from letdown_detect.research.session import Session, load_session
from letdown_detect.summary import clock_text

matplotlib.use("Agg")
EXAMPLES = Path(__file__).resolve().parents[1] / "recordings"


@pytest.fixture(scope="module")
def double() -> Session:
    return load_session(EXAMPLES / "weight_double.csv")


def _texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    for ax in fig.axes:
        for table in ax.tables:
            out += [cell.get_text().get_text() for cell in table.get_celld().values()]
    return [t for t in out if t]


def test_plot_shows_signal_flow_letdowns_and_summary(double: Session) -> None:
    fig = plot_session(double.recording, double.analysis, double.annotations)
    raw_ax, flow_ax = fig.axes[0], fig.axes[1]
    assert raw_ax.get_ylabel() == "raw weight (g)"
    assert flow_ax.get_ylabel() == "flow estimate (mL/s)"
    annotated = (double.annotations["label"] == "letdown").sum()
    dashed = [line for line in flow_ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == annotated
    triangles = [line for line in flow_ax.get_lines() if line.get_marker() == "v"]
    assert len(triangles) == len(double.analysis.events) > 0
    stars = [line for line in raw_ax.get_lines() if line.get_marker() == "*"]
    assert len(stars) == (double.annotations["label"] == "felt_letdown").sum()
    texts = _texts(fig)
    summary = double.analysis.summary
    for needed in ("Time to first letdown", "Time to 80% of volume", "volume (share)"):
        assert needed in texts
    assert clock_text(summary.time_to_first_letdown_s) in texts
    assert clock_text(summary.time_to_80pct_volume_s) in texts
    assert f"{summary.volume_ml:.0f} mL" in texts


def test_volume_summary_agrees_with_the_weighed_bottle(double: Session) -> None:
    data = double.recording.data
    # Net gain of both bottles between 30 s (after tare) and just before lift-off, in mL.
    window = data[(data["t_s"] > 30) & (data["t_s"] < data["t_s"].iloc[-1] - 20)]
    gain_g = sum(
        window[c].iloc[-200:].median() - window[c].iloc[:200].median()
        for c in double.recording.channels
    )
    volume = cumulative_volume(double.analysis.flow)
    assert volume[-1] == pytest.approx(gain_g / 1.03, rel=0.15)
    assert np.all(np.diff(volume) >= 0)


def test_cli_writes_a_png_beside_the_recording(tmp_path: Path, capsys) -> None:
    out = tmp_path / "plots" / "double.png"
    assert main(["plot", str(EXAMPLES / "weight_double.csv"), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 50_000


def test_plot_without_annotations_or_letdowns(tmp_path: Path) -> None:
    session = load_session(EXAMPLES / "weight_no_letdown.csv")
    fig = plot_session(session.recording, session.analysis, annotations=None, table=True)
    path = save_plot(fig, tmp_path / "none.svg")
    assert path.read_text().startswith("<?xml")
    if not session.analysis.events:
        assert "no letdown detected" in _texts(fig)


def test_cli_names_a_bad_recording(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,weight_g\n0,1\n1,oops\n")
    assert main(["plot", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("letdown: ") and "bad.csv line 3" in err
