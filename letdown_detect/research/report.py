"""A self-contained HTML report of one session: the plot embedded, summary, letdowns, scores.

No external files, scripts or fonts: the PNG is inlined as base64, so the
report can be mailed or opened offline.
"""

from __future__ import annotations

import base64
import io
from html import escape

import pandas as pd

from ..mood.help import calls_for_help, help_lines
from ..recording import Recording
from .analysis import Analysis
from .evaluate import Scores
from .plot import clock, letdown_rows, plot_session, summary_items

DISCLAIMER = (
    "This report is a self-tracking aid, not a diagnosis. If letdowns come with "
    "sudden sadness, dread or anxiety (possible D-MER), or your mood is low most of "
    "the time, please talk to a lactation consultant or your clinician."
)
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.8em; text-align: right; }
th { background: #f3f4f6; } td.name { text-align: left; }
img { width: 100%; border: 1px solid #eee; }
.help { border: 2px solid #b00020; background: #fff0f0; padding: 0.6em 1em; }
.note { background: #fff7ed; border-left: 4px solid #f59e0b; padding: 0.6em 1em; }
"""


def render_report(
    recording: Recording,
    analysis: Analysis,
    annotations: pd.DataFrame | None = None,
    scores: Scores | None = None,
    country: str | None = None,
) -> str:
    """The report as one HTML string.

    Args:
        recording: the session (its file name is the title).
        analysis: detector output (``research.analysis.analyse``).
        annotations: the session's events file, if any (drawn and counted).
        scores: detections scored against the annotations, if any.
        country: ``[mood] country``, for the help lines shown when an answer was severe.
    """
    name = recording.path.name if recording.path else "session"
    fig = plot_session(recording, analysis, annotations, table=False)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100)
    image = base64.b64encode(png.getvalue()).decode("ascii")
    meta = recording.meta
    about = ", ".join(
        f"{k}: {escape(str(v))}"
        for k, v in (
            ("started (UTC)", meta.start_time),
            ("device", meta.device),
            ("channels", ", ".join(recording.channels)),
            ("samples", len(recording.data)),
        )
        if v
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>letdown report: {escape(name)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Pumping session {escape(name)}</h1>",
        f"<p>{about}</p>",
        f'<img alt="signal, flow and letdowns of {escape(name)}" '
        f'src="data:image/png;base64,{image}">',
        "<h2>Summary</h2>",
        _table(["", "value"], [[k, v] for k, v in summary_items(analysis, annotations)]),
        "<h2>Letdowns detected</h2>",
        _table(
            ["#", "onset", "detected", "latency", "peak flow", "volume (share)"],
            letdown_rows(analysis),
        )
        if analysis.events
        else "<p>No letdown was detected in this session.</p>",
    ]
    moods = None if annotations is None else annotations[annotations["label"] == "mood"]
    if moods is not None and not moods.empty:
        values = moods["value"] if "value" in moods.columns else pd.Series(index=moods.index)
        answered = pd.to_numeric(values, errors="coerce").fillna(0).astype(int)
        ticked = moods["feelings"] if "feelings" in moods.columns else pd.Series("", moods.index)
        pairs = zip(answered, ticked, strict=True)
        if any(calls_for_help(score, str(words).split(";")) for score, words in pairs):
            parts.append(f'<p class="help"><b>Help now.</b> {escape(help_lines(country))}</p>')
        parts += [
            "<h2>Mood answers (0 = nothing unpleasant, 10 = severe)</h2>",
            _table(
                ["session time", "answer"],
                [[clock(t), _cell(v)] for t, v in zip(moods["onset_s"], values, strict=True)],
            ),
        ]
    if scores is not None:
        parts += [
            "<h2>Detections against the annotations</h2>",
            _table(["metric", "value"], [[k, _cell(v)] for k, v in scores.to_dict().items()]),
        ]
    parts += [f'<p class="note">{escape(DISCLAIMER)}</p>', "</body></html>"]
    return "\n".join(parts) + "\n"


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="name">{escape(c)}</td>' if i == 0 else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
