"""Interactive annotation of letdown onsets on a matplotlib figure.

The figure shows the raw signal and the flow estimate. Click to add an onset,
drag a line to move it, right-click it (or hover and press ``d``) to delete it,
``t`` shows/hides the detector's suggestions, ``a`` accepts the suggestions
not yet marked, ``s`` saves ``REC.events.csv``. Rows of other annotators and
other labels (felt letdowns, mood) in that file are kept unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backend_bases import KeyEvent, MouseEvent
from matplotlib.figure import Figure

from ..model import Event
from ..recording import Recording, write_events
from .plot import ANNOTATED_COLOR, DETECTED_COLOR, clock

SHORTCUTS = (
    "click: add onset    drag a line: move it    right-click a line / d: delete\n"
    "t: show/hide detector suggestions    a: accept suggestions    s: save    "
    "(zoom/pan with the toolbar)"
)
#: How close (screen pixels) a click must be to grab an existing line.
PICK_PX = 8.0
#: Suggestions this close to an existing onset are not added again by ``a``, s.
SAME_ONSET_S = 5.0


class Annotator:
    """Letdown onsets of one annotator on one recording, edited through a figure.

    Args:
        recording: the session to annotate.
        flow: ``t_s`` and smoothed flow per channel, mL/s.
        suggestions: detector letdowns offered as dashed lines.
        existing: the current events file (any annotators and labels), or None.
        annotator: name written in the ``annotator`` column.
        path: the events file to save.
        figure: figure to draw on (default: a new one).
    """

    def __init__(
        self,
        recording: Recording,
        flow: pd.DataFrame,
        suggestions: Sequence[Event],
        existing: pd.DataFrame | None,
        annotator: str,
        path: str | Path,
        figure: Figure | None = None,
    ) -> None:
        self.annotator = annotator
        self.path = Path(path)
        self.suggestions = [e.onset_s for e in suggestions]
        self.show_suggestions = True
        self.dirty = False
        keep, mine = _split_rows(existing, annotator)
        self._kept = keep
        self.onsets: list[float] = sorted(mine)
        self._dragging: int | None = None
        self.figure = figure if figure is not None else Figure(figsize=(13, 7))
        self._build(recording, flow)
        self._redraw()

    # -- editing (also the Python API) -------------------------------------------------

    def add(self, onset_s: float) -> None:
        """Mark a letdown onset at ``onset_s`` seconds."""
        self.onsets = sorted([*self.onsets, float(onset_s)])
        self._changed()

    def move(self, index: int, onset_s: float) -> None:
        """Move onset number ``index`` to ``onset_s`` seconds."""
        self.onsets[index] = float(onset_s)
        self.onsets.sort()
        self._changed()

    def delete(self, index: int) -> None:
        """Remove onset number ``index``."""
        del self.onsets[index]
        self._changed()

    def accept_suggestions(self) -> None:
        """Add every detector suggestion not already within a few seconds of an onset."""
        for onset in self.suggestions:
            if all(abs(onset - mine) > SAME_ONSET_S for mine in self.onsets):
                self.onsets.append(onset)
        self.onsets.sort()
        self._changed()

    def toggle_suggestions(self) -> None:
        """Show or hide the detector's suggestions."""
        self.show_suggestions = not self.show_suggestions
        self._redraw()

    def frame(self) -> pd.DataFrame:
        """The events file as it would be saved: kept rows plus this annotator's onsets."""
        mine = pd.DataFrame(
            {
                "onset_s": self.onsets,
                "duration_s": np.nan,
                "label": "letdown",
                "annotator": self.annotator,
            }
        )
        parts = [p for p in (self._kept, mine) if not p.empty]
        merged = pd.concat(parts, ignore_index=True) if parts else mine
        return merged.sort_values("onset_s", kind="stable").reset_index(drop=True)

    def save(self) -> Path:
        """Write ``REC.events.csv``; returns its path."""
        write_events(self.frame(), self.path)
        self.dirty = False
        self._redraw()
        return self.path

    # -- figure ----------------------------------------------------------------------

    def _build(self, recording: Recording, flow: pd.DataFrame) -> None:
        fig = self.figure
        self.raw_ax, self.flow_ax = fig.subplots(2, 1, sharex=True)
        fig.subplots_adjust(left=0.07, right=0.98, top=0.9, bottom=0.18, hspace=0.08)
        t = recording.data["t_s"].to_numpy(float)
        for name in recording.channels:
            self.raw_ax.plot(t, recording.data[name].to_numpy(float), lw=0.6, label=name)
        self.raw_ax.set_ylabel("raw signal")
        self.raw_ax.legend(loc="upper right", fontsize=8)
        for name in flow.columns.drop("t_s"):
            self.flow_ax.plot(flow["t_s"], flow[name], lw=1.2, label=name)
        self.flow_ax.set_ylabel("flow estimate (mL/s)")
        self.flow_ax.set_xlabel("session time (s)")
        self.flow_ax.set_xlim(t[0], t[-1])
        for ax in (self.raw_ax, self.flow_ax):
            ax.grid(alpha=0.3)
        name = recording.path.name if recording.path else "session"
        self._title = f"annotating {name} as {self.annotator!r}"
        fig.text(0.5, 0.015, SHORTCUTS, ha="center", fontsize=9, family="monospace")
        self._status = fig.text(0.5, 0.085, "", ha="center", fontsize=10)
        self._lines: list = []
        canvas = fig.canvas
        canvas.mpl_connect("button_press_event", self._on_press)
        canvas.mpl_connect("motion_notify_event", self._on_motion)
        canvas.mpl_connect("button_release_event", self._on_release)
        canvas.mpl_connect("key_press_event", self._on_key)

    def _changed(self) -> None:
        self.dirty = True
        self._redraw()

    def _redraw(self) -> None:
        for line in self._lines:
            line.remove()
        self._lines = []
        for ax in (self.raw_ax, self.flow_ax):
            if self.show_suggestions:
                self._lines += [
                    ax.axvline(t, color=DETECTED_COLOR, ls=":", lw=1.4) for t in self.suggestions
                ]
            self._lines += [ax.axvline(t, color=ANNOTATED_COLOR, lw=1.8) for t in self.onsets]
        marks = ", ".join(clock(t) for t in self.onsets) or "none yet"
        shown = "shown" if self.show_suggestions else "hidden"
        if self.dirty or not self.path.exists():
            state = "unsaved changes (s: save)" if self.dirty else "nothing saved yet"
        else:
            state = f"saved to {self.path.name}"
        self.figure.suptitle(self._title, fontsize=12)
        self._status.set_text(
            f"{len(self.onsets)} onsets ({marks});  "
            f"{len(self.suggestions)} detector suggestions {shown} (dotted blue);  {state}"
        )
        self.figure.canvas.draw_idle()

    def _nearest(self, event: MouseEvent | KeyEvent) -> int | None:
        """Index of the onset within PICK_PX pixels of the pointer, if any."""
        if event.inaxes not in (self.raw_ax, self.flow_ax) or not self.onsets:
            return None
        to_px = event.inaxes.transData.transform
        xs = [to_px((t, 0.0))[0] for t in self.onsets]
        distance = np.abs(np.asarray(xs) - event.x)
        best = int(np.argmin(distance))
        return best if distance[best] <= PICK_PX else None

    def _on_press(self, event: MouseEvent) -> None:
        toolbar = self.figure.canvas.toolbar
        if event.inaxes is None or event.xdata is None or (toolbar and toolbar.mode):
            return
        picked = self._nearest(event)
        if event.button == 3 and picked is not None:
            self.delete(picked)
        elif event.button == 1 and picked is not None:
            self._dragging = picked
        elif event.button == 1:
            self.add(event.xdata)

    def _on_motion(self, event: MouseEvent) -> None:
        if self._dragging is not None and event.xdata is not None:
            self.onsets[self._dragging] = float(event.xdata)
            self._redraw()

    def _on_release(self, event: MouseEvent) -> None:
        if self._dragging is None:
            return
        index, self._dragging = self._dragging, None
        self.move(index, event.xdata if event.xdata is not None else self.onsets[index])

    def _on_key(self, event: KeyEvent) -> None:
        if event.key in ("d", "delete", "backspace"):
            picked = self._nearest(event)
            if picked is not None:
                self.delete(picked)
        elif event.key == "t":
            self.toggle_suggestions()
        elif event.key == "a":
            self.accept_suggestions()
        elif event.key == "s":
            self.save()


def _split_rows(existing: pd.DataFrame | None, annotator: str) -> tuple[pd.DataFrame, list[float]]:
    """Split an events file into rows to keep and this annotator's letdown onsets.

    Letdowns without an annotator name are taken as this annotator's own.
    """
    if existing is None or existing.empty:
        return pd.DataFrame(columns=["onset_s", "duration_s", "label", "annotator"]), []
    who = (
        existing["annotator"].fillna("").astype(str)
        if "annotator" in existing.columns
        else pd.Series("", index=existing.index)
    )
    mine = (existing["label"] == "letdown") & who.isin(["", annotator])
    return existing.loc[~mine].reset_index(drop=True), existing.loc[mine, "onset_s"].tolist()
