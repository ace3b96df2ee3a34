"""Load one recording with its annotations and analyse it (for plot, report, annotate)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..recording import Recording, events_path, read_events, read_recording
from .analysis import Analysis, analyse

if TYPE_CHECKING:
    from ..params import DetectorConfig


@dataclass(frozen=True)
class Session:
    """A recording, what the detector found in it, and its annotations (if any)."""

    recording: Recording
    analysis: Analysis
    annotations: pd.DataFrame | None
    """``NAME.events.csv`` as read by ``read_events``; None when there is none."""


def load_session(path: str | Path, config: DetectorConfig | None = None) -> Session:
    """Read ``NAME.csv`` (+ sidecar, + ``NAME.events.csv`` when present) and analyse it.

    Raises:
        RecordingError: the recording or its events file cannot be read.
    """
    recording = read_recording(path)
    annotations_file = events_path(path)
    annotations = read_events(annotations_file) if annotations_file.exists() else None
    return Session(recording, analyse(recording, config), annotations)
