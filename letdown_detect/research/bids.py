"""Export events as a BIDS-style ``events.tsv`` with its ``events.json`` column sidecar.

BIDS (Brain Imaging Data Structure) events files are tab-separated, with
``onset`` and ``duration`` in seconds from the start of the recording, an
optional ``trial_type``, free extra columns, and ``n/a`` for a missing value.
Units live in the JSON sidecar, not in the column names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

#: Our events-file column -> BIDS column.
BIDS_NAMES: dict[str, str] = {
    "onset_s": "onset",
    "duration_s": "duration",
    "label": "trial_type",
    "detected_s": "detection_time",
    "peak_flow_ml_s": "peak_flow",
    "volume_ml": "volume",
}

#: The ``events.json`` description of every column we may write.
COLUMN_SIDECAR: dict[str, dict[str, object]] = {
    "onset": {"Description": "Onset of the event since the session start.", "Units": "s"},
    "duration": {"Description": "Duration of the event (n/a while unknown).", "Units": "s"},
    "trial_type": {
        "Description": "Kind of event.",
        "Levels": {
            "letdown": "Milk ejection: flow changed from slow to fast.",
            "felt_letdown": "The parent marked that they felt a letdown.",
            "mood": "A mood check answer (value holds the answer).",
        },
    },
    "detection_time": {
        "Description": "When the causal detector became sure of the letdown (n/a for annotations).",
        "Units": "s",
    },
    "peak_flow": {"Description": "Highest smoothed milk flow during the letdown.", "Units": "mL/s"},
    "volume": {"Description": "Milk expressed from onset to end of the letdown.", "Units": "mL"},
    "channel": {"Description": "Sensor channel the event was seen on."},
    "annotator": {"Description": "Who marked the event (a person or the detector)."},
    "value": {"Description": "Numeric value attached to the event, e.g. a mood score."},
    "score": {"Description": "Detector confidence: rise above the threshold (1 = at it)."},
}


def bids_events(events: pd.DataFrame) -> pd.DataFrame:
    """Events in our file columns -> BIDS columns, sorted by onset.

    Args:
        events: a frame as ``read_events`` or ``events_frame`` returns
            (``onset_s``, ``duration_s``, ``label`` and optional extras).

    Returns:
        ``onset``, ``duration``, ``trial_type`` then the extra columns, times in s.

    >>> frame = pd.DataFrame({"onset_s": [70.0, 12.5], "duration_s": [None, 80.0],
    ...                       "label": ["felt_letdown", "letdown"]})
    >>> bids_events(frame).to_dict("list")
    {'onset': [12.5, 70.0], 'duration': [80.0, nan], 'trial_type': ['letdown', 'felt_letdown']}
    """
    renamed = events.rename(columns=BIDS_NAMES)
    first = ["onset", "duration", "trial_type"]
    columns = first + [c for c in renamed.columns if c not in first]
    return renamed[columns].sort_values("onset", kind="stable").reset_index(drop=True)


def write_bids_events(events: pd.DataFrame, path: str | Path) -> tuple[Path, Path]:
    """Write ``*_events.tsv`` and its ``*_events.json`` sidecar.

    Args:
        events: events in our file columns (see :func:`bids_events`).
        path: the ``.tsv`` file to write.

    Both files are created with mode 0600 (the events may hold mood answers) and are
    not listed for ``letdown data delete``: an export is the parent's own copy.

    Returns:
        The paths of the TSV and of the JSON sidecar.
    """
    from ..store.files import write_private

    path = Path(path)
    frame = bids_events(events)
    tsv = frame.to_csv(sep="\t", index=False, na_rep="n/a", float_format="%.3f")
    # Mood rows are health data: 0600 from creation. An export is the parent's own copy,
    # kept by `letdown data delete` like `data export` files (so not in the ledger).
    write_private(path, tsv, ledger=False)
    sidecar = path.with_suffix(".json")
    described = {c: COLUMN_SIDECAR[c] for c in frame.columns if c in COLUMN_SIDECAR}
    write_private(sidecar, json.dumps(described, indent=2) + "\n", ledger=False)
    return path, sidecar
