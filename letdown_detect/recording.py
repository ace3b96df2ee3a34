"""Read and write the recording contract: ``NAME.csv``, ``NAME.json``, ``NAME.events.csv``.

See ``recordings/README.md`` for the format. Times are seconds since the
session start; the sidecar holds the UTC start time and the calibration.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import RecordingError
from .model import Channel, Event, SampleBlock

#: Milk density used to turn grams into millilitres when the sidecar has none, g/mL.
DEFAULT_G_PER_ML = 1.03
EVENT_COLUMNS = ("onset_s", "duration_s", "label")
OPTIONAL_EVENT_COLUMNS = ("detected_s", "channel", "annotator", "value")
#: Cell texts that mean "no sample" (a gap); anything else must be a number.
_MISSING = ["", "nan", "NaN", "NAN"]


@dataclass
class RecordingMeta:
    """The JSON sidecar: when, with what, and how to convert to millilitres."""

    start_time: str | None = None
    """Session start, UTC, ISO 8601."""
    sample_rate_hz: float | None = None
    """Nominal sample rate, Hz."""
    device: str | None = None
    """Free text naming the sensor or firmware."""
    calibration: dict[str, float] = field(default_factory=dict)
    """``pa_per_ml`` (pressure per mL collected) and/or ``g_per_ml`` (milk density)."""
    extra: dict[str, object] = field(default_factory=dict)
    """Any other sidecar keys, kept on round-trips."""

    def to_json(self) -> dict[str, object]:
        """The sidecar as a JSON-ready dict."""
        out: dict[str, object] = dict(self.extra)
        out.update(
            start_time=self.start_time,
            sample_rate_hz=self.sample_rate_hz,
            device=self.device,
            calibration=dict(self.calibration),
        )
        return {k: v for k, v in out.items() if v is not None}


@dataclass
class Recording:
    """A loaded session: ``data`` has a ``t_s`` column and one column per channel."""

    data: pd.DataFrame
    meta: RecordingMeta = field(default_factory=RecordingMeta)
    path: Path | None = None

    @property
    def channels(self) -> tuple[str, ...]:
        """Channel column names in file order."""
        return tuple(c for c in self.data.columns if c != "t_s")

    def to_block(self) -> SampleBlock:
        """All samples as one block (batch detection = one big chunk)."""
        return SampleBlock(
            self.data["t_s"].to_numpy(float),
            self.data[list(self.channels)].to_numpy(float),
            self.channels,
        )

    def blocks(self, chunk: int) -> list[SampleBlock]:
        """The samples in consecutive blocks of ``chunk`` samples (the last may be shorter)."""
        whole = self.to_block()
        size = max(1, chunk)
        return whole.split([size] * ((len(whole) - 1) // size))


def sidecar_path(csv_path: str | Path) -> Path:
    """``NAME.json`` beside ``NAME.csv``."""
    return Path(csv_path).with_suffix(".json")


def events_path(csv_path: str | Path) -> Path:
    """``NAME.events.csv`` beside ``NAME.csv``."""
    p = Path(csv_path)
    return p.with_name(p.stem + ".events.csv")


def read_meta(csv_path: str | Path) -> RecordingMeta:
    """Read the sidecar of a recording; an absent sidecar gives empty metadata.

    Raises:
        RecordingError: the sidecar is not a JSON object with the expected types.
    """
    path = sidecar_path(csv_path)
    if not path.exists():
        return RecordingMeta()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(path, f"cannot read the sidecar ({exc})") from None
    except json.JSONDecodeError as exc:
        raise RecordingError(path, f"expected JSON, {exc.msg}", exc.lineno) from None
    if not isinstance(raw, dict):
        raise RecordingError(path, "expected a JSON object with start_time, calibration, ...")
    calibration = raw.pop("calibration", {}) or {}
    if not isinstance(calibration, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
        for v in calibration.values()
    ):
        raise RecordingError(
            path, 'expected "calibration" to map names to positive numbers, e.g. {"pa_per_ml": 5.0}'
        )
    rate = raw.pop("sample_rate_hz", None)
    if rate is not None and (not isinstance(rate, (int, float)) or rate <= 0):
        raise RecordingError(path, f"expected sample_rate_hz to be a positive number, got {rate!r}")
    return RecordingMeta(
        start_time=raw.pop("start_time", None),
        sample_rate_hz=None if rate is None else float(rate),
        device=None if raw.get("device") is None else str(raw.pop("device")),
        calibration={k: float(v) for k, v in calibration.items()},
        extra=raw,
    )


def _bad_cell(path: Path, frame: pd.DataFrame) -> RecordingError:
    """Locate the first cell that is not a number (frame read as text)."""
    for column in frame.columns:
        text = frame[column].astype(str).str.strip()
        numeric = pd.to_numeric(text, errors="coerce")
        bad = numeric.isna() & ~text.isin(_MISSING)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            return RecordingError(
                path, f"expected a number in {column}, got {text.iloc[row]!r}", line=row + 2
            )
    return RecordingError(path, "expected numbers in every column")


def read_recording(path: str | Path) -> Recording:
    """Load ``NAME.csv`` (and its sidecar) into a :class:`Recording`.

    Empty cells and ``nan`` are missing samples. Times must increase.

    Raises:
        RecordingError: naming the file and line, for a missing or empty file,
            a header without ``t_s`` or with an unknown channel, text in a
            number cell, or times that do not increase.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh), None)
    except FileNotFoundError:
        raise RecordingError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(path, f"cannot read the file ({exc})") from None
    if not header or not any(h.strip() for h in header):
        raise RecordingError(path, "expected a header line 't_s,<channel>...', the file is empty")
    header = [h.strip() for h in header]
    if header[0] != "t_s":
        raise RecordingError(
            path, f"expected the first column to be t_s (seconds), got {header[0]!r}", line=1
        )
    for name in header[1:]:
        if Channel.parse(name) is None:
            raise RecordingError(
                path,
                f"unknown channel {name!r}; expected flow_ml_s, volume_ml, weight_g or "
                "pressure_pa (optionally with _left/_right)",
                line=1,
            )
    if len(header) < 2:
        raise RecordingError(path, "expected at least one channel column after t_s", line=1)
    if len(set(header)) != len(header):
        raise RecordingError(path, "expected each column name once", line=1)
    try:
        data = pd.read_csv(
            path, dtype=float, skipinitialspace=True, keep_default_na=False, na_values=_MISSING
        )
    except ValueError:
        raise _bad_cell(path, pd.read_csv(path, dtype=str, keep_default_na=False)) from None
    except pd.errors.ParserError as exc:
        raise RecordingError(
            path, f"expected {len(header)} comma-separated columns ({exc})"
        ) from None
    data.columns = header
    if data.empty:
        raise RecordingError(path, "expected samples after the header, found none", line=2)
    t = data["t_s"].to_numpy()
    if np.isnan(t).any():
        row = int(np.flatnonzero(np.isnan(t))[0])
        raise RecordingError(path, "expected a time in t_s, the cell is empty", line=row + 2)
    steps = np.diff(t)
    if (steps <= 0).any():
        row = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise RecordingError(
            path,
            f"expected t_s to increase, but {t[row]:g} s follows {t[row - 1]:g} s",
            line=row + 2,
        )
    return Recording(data=data, meta=read_meta(path), path=path)


def write_recording(recording: Recording, path: str | Path, precision: int = 6) -> Path:
    """Write ``NAME.csv`` and its sidecar ``NAME.json``; returns the CSV path.

    ``t_s`` is written to the microsecond (fixed decimals, so long sessions keep
    increasing times); channel values with ``precision`` significant digits.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = recording.data.copy()
    data["t_s"] = data["t_s"].map("{:.6f}".format)
    data.to_csv(path, index=False, float_format=f"%.{precision}g", na_rep="")
    sidecar_path(path).write_text(json.dumps(recording.meta.to_json(), indent=2) + "\n")
    return path


def events_frame(events: Iterable[Event]) -> pd.DataFrame:
    """Events as a DataFrame in the events-file columns (plus peak flow, volume, score)."""
    rows = [
        {
            "onset_s": e.onset_s,
            "duration_s": None if e.end_s is None else e.end_s - e.onset_s,
            "label": e.label,
            "detected_s": e.detected_s,
            "channel": e.channel,
            "peak_flow_ml_s": e.peak_flow_ml_s,
            "volume_ml": e.volume_ml,
            "score": e.score,
        }
        for e in events
    ]
    columns = [*EVENT_COLUMNS, "detected_s", "channel", "peak_flow_ml_s", "volume_ml", "score"]
    return pd.DataFrame(rows, columns=columns)


def write_events(events: pd.DataFrame | Iterable[Event], path: str | Path) -> Path:
    """Write an events file (``onset_s,duration_s,label[,...]``)."""
    frame = events if isinstance(events, pd.DataFrame) else events_frame(events)
    path = Path(path)
    frame.to_csv(path, index=False, float_format="%.3f", na_rep="")
    return path


def read_events(path: str | Path) -> pd.DataFrame:
    """Load an events file (annotations or detections) into a DataFrame.

    Raises:
        RecordingError: missing required columns, or a non-numeric time.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    except FileNotFoundError:
        raise RecordingError(path, "no such file") from None
    except pd.errors.EmptyDataError:
        raise RecordingError(path, "expected a header 'onset_s,duration_s,label'") from None
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in EVENT_COLUMNS if c not in frame.columns]
    if missing:
        raise RecordingError(
            path, f"expected columns {', '.join(EVENT_COLUMNS)}; missing {missing[0]}", 1
        )
    number_columns = ("onset_s", "duration_s", "detected_s", "value", "peak_flow_ml_s", "volume_ml")
    for column in (*number_columns, "score"):
        if column not in frame.columns:
            continue
        text = frame[column].str.strip()
        numeric = pd.to_numeric(text.replace("", np.nan), errors="coerce")
        bad = numeric.isna() & (text != "")
        if column == "onset_s":
            bad |= text == ""
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise RecordingError(
                path, f"expected a number in {column}, got {text.iloc[row]!r}", line=row + 2
            )
        frame[column] = numeric
    frame["label"] = frame["label"].str.strip()
    return frame
