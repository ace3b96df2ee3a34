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


def load_session(
    path: str | Path, config: DetectorConfig | None = None, mood_db: str | Path | None = None
) -> Session:
    """Read ``NAME.csv`` (+ sidecar, + ``NAME.events.csv`` when present) and analyse it.

    Args:
        path: the recording CSV.
        config: detector parameters.
        mood_db: a session store; its mood answers for this recording (a session
            imported from this file) are added as ``mood`` rows (``value`` = 0-10).

    Raises:
        RecordingError: the recording or its events file cannot be read.
        StoreError: the store cannot be read.
    """
    recording = read_recording(path)
    annotations_file = events_path(path)
    annotations = read_events(annotations_file) if annotations_file.exists() else None
    if mood_db is not None:
        moods = stored_moods(mood_db, Path(path))
        if not moods.empty:
            parts = [a for a in (annotations, moods) if a is not None]
            annotations = pd.concat(parts, ignore_index=True)
    return Session(recording, analyse(recording, config), annotations)


def stored_moods(db: str | Path, recording_path: Path) -> pd.DataFrame:
    """Mood answers stored for the session recorded in ``recording_path``, as events rows."""
    from ..store.db import Store

    with Store(db) as store:
        rows = store.query(
            "SELECT a.t_s, a.score, a.feelings FROM answers a"
            " JOIN sessions s ON s.id = a.session_id WHERE s.recording_path = ? ORDER BY a.t_s",
            (str(recording_path.resolve()),),
        )
    return pd.DataFrame(
        {
            "onset_s": [float(r["t_s"]) for r in rows],
            "duration_s": float("nan"),
            "label": "mood",
            "annotator": "parent",
            "value": [float(r["score"]) for r in rows],
            # ticked feelings, ';'-joined: "hopeless" calls for help at any score
            "feelings": [r["feelings"] or "" for r in rows],
        }
    )


def mood_store(wanted: bool, db: str | Path | None = None) -> Path | None:
    """The store to read mood answers from (``db`` or the default), or None when not wanted.

    Raises:
        ConfigError: ``--mood`` was given but there is no store.
    """
    if not wanted:
        return None
    from ..errors import ConfigError
    from ..store.db import default_db_path

    path = default_db_path(db)
    if not path.exists():
        raise ConfigError(
            f"{path}: no session store there for --mood; import the session first "
            "(letdown import) or point --db at the store",
            "db",
        )
    return path
