"""One session at a glance: raw signal, flow estimate, letdowns and a summary table.

Detected letdowns are shaded from onset to end, with a triangle at the
detection time; annotated letdowns are dashed lines; the parent's felt marks
and mood answers sit on the top axis. The summary gives time to first letdown,
the letdowns, volume per letdown and time to 80% of the volume.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

from ..errors import ConfigError
from ..model import Channel
from ..recording import Recording
from ..summary import clock_text as clock
from .analysis import Analysis, cumulative_volume

#: Axis label per channel kind.
UNITS = {
    "flow_ml_s": "flow (mL/s)",
    "volume_ml": "volume (mL)",
    "weight_g": "weight (g)",
    "pressure_pa": "pressure (Pa)",
}
DETECTED_COLOR = "#1f6fb4"
ANNOTATED_COLOR = "#222222"
SIDE_COLORS = {None: "#555555", "left": "#c2410c", "right": "#15803d"}


def plot_session(
    recording: Recording,
    analysis: Analysis,
    annotations: pd.DataFrame | None = None,
    title: str | None = None,
    table: bool = True,
) -> Figure:
    """Draw one session (raw signal, flow, letdowns, summary table).

    Args:
        recording: the loaded session.
        analysis: what the detector found (``research.analysis.analyse``).
        annotations: events file rows (``letdown``, ``felt_letdown``, ``mood``).
        title: figure title (default: the recording's file name).
        table: draw the summary and letdown tables under the plots.

    Returns:
        A matplotlib Figure (not shown; save it or hand it to a GUI).
    """
    fig = Figure(figsize=(12, 9 if table else 6.5), layout="constrained")
    heights = [2.2, 2.2, 1.6] if table else [2.2, 2.2]
    grid = fig.add_gridspec(len(heights), 1, height_ratios=heights)
    raw_ax = fig.add_subplot(grid[0])
    flow_ax = fig.add_subplot(grid[1], sharex=raw_ax)
    name = recording.path.name if recording.path else "session"
    fig.suptitle(title or name, fontsize=14, fontweight="bold")

    _draw_raw(raw_ax, recording)
    _draw_flow(flow_ax, analysis)
    for ax in (raw_ax, flow_ax):
        _draw_letdowns(ax, analysis, annotations)
    _draw_marks(raw_ax, annotations)
    for ax in (raw_ax, flow_ax):
        _legend(ax)
    minutes = FuncFormatter(lambda x, _pos: clock(x))
    flow_ax.xaxis.set_major_formatter(minutes)
    duration_s = float(recording.data["t_s"].iloc[-1])
    flow_ax.xaxis.set_major_locator(MultipleLocator(tick_step_s(duration_s)))
    flow_ax.set_xlabel("session time (min:s)")
    raw_ax.tick_params(labelbottom=False)
    raw_ax.set_xlim(0, duration_s)
    if table:
        _draw_table(fig.add_subplot(grid[2]), analysis, annotations)
    return fig


def tick_step_s(duration_s: float, max_ticks: int = 16) -> float:
    """Whole-minute tick spacing (30 s for short sessions) giving at most ``max_ticks`` ticks, s.

    >>> tick_step_s(900), tick_step_s(1200), tick_step_s(240)
    (60, 120, 30)
    """
    steps = (30, 60, 120, 300, 600, 1200, 1800, 3600)
    return next((s for s in steps if duration_s / s <= max_ticks), steps[-1])


def image_formats() -> dict[str, str]:
    """File suffixes matplotlib can write (without the dot) -> format name."""
    from matplotlib.backend_bases import FigureCanvasBase

    return FigureCanvasBase.get_supported_filetypes()


def check_image_path(path: str | Path) -> Path:
    """``path`` when its suffix names an image format matplotlib writes.

    Raises:
        ConfigError: an unknown or missing suffix, with the formats that work.
    """
    path = Path(path)
    formats = image_formats()
    if path.suffix[1:].lower() not in formats:
        raise ConfigError(
            f"{path}: cannot write an image of type {path.suffix or '(no suffix)'!r}; "
            f"expected one of {', '.join('.' + f for f in sorted(formats))}",
            "out",
        )
    return path


def save_plot(fig: Figure, path: str | Path, dpi: int = 110, private: bool = False) -> Path:
    """Write the figure as PNG (or any format matplotlib knows from the suffix).

    Args:
        private: it shows mood answers (health data): created 0600 and listed for
            ``letdown data delete``.

    Raises:
        ConfigError: an unknown image type, or a file that cannot be written.
    """
    path = check_image_path(path)
    try:
        if private:
            from ..store.files import save_figure_private

            return save_figure_private(fig, path, dpi)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi)
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot write the image ({exc.strerror or exc})", "out"
        ) from None
    return path


def _draw_raw(ax: Axes, recording: Recording) -> None:
    t = recording.data["t_s"].to_numpy(float)
    kinds = []
    for name in recording.channels:
        channel = Channel(name)
        kinds.append(channel.kind)
        color = SIDE_COLORS.get(channel.side, SIDE_COLORS[None])
        ax.plot(t, recording.data[name].to_numpy(float), lw=0.6, color=color, label=name)
    ax.set_ylabel("raw " + " / ".join(dict.fromkeys(UNITS.get(k, k) for k in kinds)))
    ax.set_title("sensor signal as recorded", loc="left", fontsize=10)
    ax.grid(alpha=0.3)


def _draw_flow(ax: Axes, analysis: Analysis) -> None:
    flow = analysis.flow
    t = flow["t_s"].to_numpy(float)
    for name in flow.columns.drop("t_s"):
        side = next((s for s in ("left", "right") if name.endswith(s)), None)
        ax.plot(t, flow[name].to_numpy(float), lw=1.4, color=SIDE_COLORS[side], label=name)
    ax.set_ylabel("flow estimate (mL/s)")
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    ax.set_title("milk flow estimate and cumulative volume", loc="left", fontsize=10)
    ax.grid(alpha=0.3)
    volume_ax = ax.twinx()
    volume_ax.plot(t, cumulative_volume(flow), color="#7c3aed", lw=1.0, ls=":", label="volume")
    volume_ax.set_ylabel("cumulative volume (mL)", color="#7c3aed")
    volume_ax.set_ylim(bottom=0)
    t80 = analysis.summary.time_to_80pct_volume_s
    if t80 is not None:
        volume_ax.axvline(t80, color="#7c3aed", lw=1.0, ls=":")
        volume_ax.annotate(
            "80% of volume",
            (t80, 0.02),
            xycoords=("data", "axes fraction"),
            xytext=(3, 0),
            textcoords="offset points",
            color="#7c3aed",
            fontsize=8,
        )


def _draw_letdowns(ax: Axes, analysis: Analysis, annotations: pd.DataFrame | None) -> None:
    for i, event in enumerate(analysis.events):
        end = event.end_s if event.end_s is not None else event.detected_s
        ax.axvspan(event.onset_s, end, color=DETECTED_COLOR, alpha=0.08 if i % 2 else 0.14, lw=0)
        ax.axvline(event.onset_s, color=DETECTED_COLOR, lw=1.6)
        ax.plot(
            [event.detected_s],
            [1.0],
            marker="v",
            ms=8,
            color=DETECTED_COLOR,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
        )
    if annotations is not None:
        for onset in annotations.loc[annotations["label"] == "letdown", "onset_s"]:
            ax.axvline(onset, color=ANNOTATED_COLOR, lw=1.3, ls="--")


def _draw_marks(ax: Axes, annotations: pd.DataFrame | None) -> None:
    """Felt letdowns (stars) and mood answers (numbers) along the top of the raw axis."""
    if annotations is None:
        return
    transform = ax.get_xaxis_transform()
    felt = annotations.loc[annotations["label"] == "felt_letdown", "onset_s"]
    for i, onset in enumerate(felt):
        label = "felt letdown" if i == 0 else None
        ax.plot([onset], [0.9], "*", ms=12, color="#db2777", transform=transform, label=label)
    for row in annotations.loc[annotations["label"] == "mood"].itertuples():
        value = getattr(row, "value", np.nan)
        text = "mood" if pd.isna(value) else f"mood {value:g}"
        ax.annotate(text, (row.onset_s, 0.8), xycoords=transform, fontsize=8, color="#db2777")


def _legend(ax: Axes) -> None:
    from matplotlib.lines import Line2D

    handles, _ = ax.get_legend_handles_labels()
    handles += [
        Line2D(
            [], [], color=DETECTED_COLOR, lw=1.6, marker="v", label="detected onset, ▼ detected"
        ),
        Line2D([], [], color=ANNOTATED_COLOR, lw=1.3, ls="--", label="annotated onset"),
    ]
    ax.legend(
        handles=handles,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncol=len(handles),
        fontsize=8,
        frameon=False,
        borderaxespad=0.2,
    )


def letdown_rows(analysis: Analysis) -> list[list[str]]:
    """Per-letdown table rows: number, onset, detection, latency, peak flow, volume."""
    total = analysis.summary.volume_ml
    rows = []
    for i, e in enumerate(analysis.events, start=1):
        share = f" ({100 * e.volume_ml / total:.0f}%)" if e.volume_ml and total > 0 else ""
        volume = "-" if e.volume_ml is None else f"{e.volume_ml:.1f} mL{share}"
        rows.append(
            [
                str(i),
                clock(e.onset_s),
                clock(e.detected_s),
                f"{e.latency_s:.0f} s",
                f"{e.peak_flow_ml_s:.2f} mL/s",
                volume,
            ]
        )
    return rows


def summary_items(analysis: Analysis, annotations: pd.DataFrame | None) -> list[tuple[str, str]]:
    """Headline numbers as (name, value) pairs, shared by the plot and the HTML report."""
    s = analysis.summary
    items = [
        ("Time to first letdown", clock(s.time_to_first_letdown_s)),
        ("Letdowns detected", str(len(s.letdowns))),
        ("Total volume", f"{s.volume_ml:.0f} mL"),
        ("Time to 80% of volume", clock(s.time_to_80pct_volume_s)),
        ("Session length", clock(s.duration_s)),
    ]
    if annotations is not None:
        annotated = int((annotations["label"] == "letdown").sum())
        items.insert(2, ("Letdowns annotated", str(annotated)))
        felt = int((annotations["label"] == "felt_letdown").sum())
        if felt:
            items.insert(3, ("Letdowns felt", str(felt)))
    return items


def _draw_table(ax: Axes, analysis: Analysis, annotations: pd.DataFrame | None) -> None:
    ax.axis("off")
    items = summary_items(analysis, annotations)
    left = ax.table(
        cellText=[[v] for _, v in items],
        rowLabels=[k for k, _ in items],
        colLabels=["summary"],
        bbox=(0.17, 0.0, 0.17, 1.0),
        cellLoc="center",
    )
    rows = letdown_rows(analysis) or [["-", "no letdown detected", "", "", "", ""]]
    right = ax.table(
        cellText=rows[:8],
        colLabels=["#", "onset", "detected", "latency", "peak flow", "volume (share)"],
        colWidths=[0.05, 0.12, 0.12, 0.12, 0.17, 0.25],
        bbox=(0.4, 1.0 - 0.125 * (min(len(rows), 8) + 1), 0.6, 0.125 * (min(len(rows), 8) + 1)),
        cellLoc="center",
    )
    for table in (left, right):
        table.auto_set_font_size(False)
        table.set_fontsize(10)
