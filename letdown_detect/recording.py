"""Read and write the recording contract: ``NAME.csv``, ``NAME.json``, ``NAME.events.csv``.

See ``recordings/README.md`` for the format. Times are seconds since the
session start; the sidecar holds the UTC start time and the calibration.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import re
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
#: Calibration name -> (lowest, highest, unit): values outside are typos, not sensors.
CALIBRATION_RANGES = {
    "pa_per_ml": (0.01, 10_000.0, "Pa/mL"),
    "g_per_ml": (0.5, 2.0, "g/mL"),
}
#: Highest nominal sample rate a sidecar may state, Hz.
MAX_SAMPLE_RATE_HZ = 100_000.0
#: Longest session time a recording may reach, s (two days; later is a broken clock).
MAX_SESSION_S = 172_800.0
#: Largest absolute channel value per channel kind (beyond it is a broken sensor or a typo).
VALUE_LIMITS = {
    "flow_ml_s": 1_000.0,
    "volume_ml": 100_000.0,
    "weight_g": 100_000.0,
    "pressure_pa": 1_000_000.0,
}
#: Words pandas would silently read as 1/0 in a number column.
_BOOL_TEXT = re.compile(rb"true|false", re.IGNORECASE)
#: Longest header line, bytes, and largest sidecar, bytes.
MAX_HEADER_BYTES = 4096
MAX_SIDECAR_BYTES = 1_000_000


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
        RecordingError: the sidecar is not a JSON object with the expected types
            and physically plausible values (see :data:`CALIBRATION_RANGES`).
    """
    path = sidecar_path(csv_path)
    if not path.exists():
        return RecordingMeta()
    try:
        with path.open("rb") as fh:
            blob = fh.read(MAX_SIDECAR_BYTES + 1)
        if len(blob) > MAX_SIDECAR_BYTES:
            raise RecordingError(
                path, f"expected a small JSON sidecar, the file is over {MAX_SIDECAR_BYTES} bytes"
            )
        raw = json.loads(blob.decode("utf-8"), parse_constant=_no_constant)
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(path, f"cannot read the sidecar ({exc})") from None
    except json.JSONDecodeError as exc:
        raise RecordingError(path, f"expected JSON, {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise RecordingError(
            path, "expected a flat JSON object, the JSON is nested too deep"
        ) from None
    except ValueError as exc:  # from _no_constant
        raise RecordingError(path, str(exc)) from None
    if not isinstance(raw, dict):
        raise RecordingError(path, "expected a JSON object with start_time, calibration, ...")
    calibration = _check_calibration(path, raw.pop("calibration", {}) or {})
    rate = raw.pop("sample_rate_hz", None)
    if rate is not None and (not _is_number(rate) or not 0 < rate <= MAX_SAMPLE_RATE_HZ):
        raise RecordingError(
            path,
            f"expected sample_rate_hz to be a number of Hz in (0, {MAX_SAMPLE_RATE_HZ:g}], "
            f"got {_snippet(rate)}",
        )
    start = raw.pop("start_time", None)
    if start is not None:
        _check_start_time(path, start)
    return RecordingMeta(
        start_time=start,
        sample_rate_hz=None if rate is None else float(rate),
        device=None if raw.get("device") is None else str(raw.pop("device")),
        calibration=calibration,
        extra=raw,
    )


def _no_constant(name: str) -> float:
    raise ValueError(f"expected finite numbers, got {name}")


def _is_number(value: object) -> bool:
    """True for a finite int or float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _snippet(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, so a huge cell never floods a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_calibration(path: Path, calibration: object) -> dict[str, float]:
    """Calibration names known, values numbers in their physical range."""
    if not isinstance(calibration, dict):
        raise RecordingError(
            path, 'expected "calibration" to be an object, e.g. {"pa_per_ml": 5.0}'
        )
    out: dict[str, float] = {}
    for name, value in calibration.items():
        if name not in CALIBRATION_RANGES:
            close = difflib.get_close_matches(str(name), CALIBRATION_RANGES, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise RecordingError(
                path,
                f"unknown calibration {_snippet(name)}{hint} (expected "
                f"{' or '.join(CALIBRATION_RANGES)})",
            )
        low, high, unit = CALIBRATION_RANGES[name]
        if not _is_number(value) or not low <= value <= high:
            raise RecordingError(
                path,
                f'expected "calibration" to map {name} to a number of {unit} between {low:g} '
                f"and {high:g}, got {_snippet(value)}",
            )
        out[name] = float(value)
    return out


def _check_start_time(path: Path, start: object) -> None:
    """``start_time`` must be an ISO 8601 text."""
    from datetime import datetime

    try:
        if not isinstance(start, str):
            raise ValueError
        datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        raise RecordingError(
            path,
            "expected start_time to be an ISO 8601 UTC time such as "
            f'"2026-03-01T06:00:00+00:00", got {_snippet(start)}',
        ) from None


def _bad_cell(path: Path, frame: pd.DataFrame) -> RecordingError:
    """Locate the first cell that is not a number (frame read as text)."""
    for column in frame.columns:
        text = frame[column].astype(str).str.strip()
        numeric = pd.to_numeric(text, errors="coerce")
        bad = numeric.isna() & ~text.isin(_MISSING)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            return RecordingError(
                path,
                f"expected a number in {column}, got {_snippet(text.iloc[row])}",
                line=row + 2,
            )
    return RecordingError(path, "expected numbers in every column")


def _parser_error(path: Path, columns: int, exc: Exception) -> RecordingError:
    """A row pandas could not split into ``columns`` cells, with its line when pandas says."""
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if found:
        return RecordingError(
            path,
            f"expected {columns} comma-separated cells, found {found.group(3)}",
            line=int(found.group(2)),
        )
    return RecordingError(path, f"expected {columns} comma-separated cells per line")


def _read_header(path: Path) -> list[str]:
    """The header cells, stripped.

    Raises:
        RecordingError: a missing, unreadable, binary or empty file, or a huge header line.
    """
    try:
        with path.open("rb") as fh:
            raw = fh.readline(MAX_HEADER_BYTES + 1)
    except FileNotFoundError:
        raise RecordingError(path, "no such file") from None
    except OSError as exc:
        raise RecordingError(path, f"cannot read the file ({exc.strerror or exc})") from None
    if len(raw) > MAX_HEADER_BYTES and not raw.endswith(b"\n"):
        raise RecordingError(
            path,
            f"expected a header line 't_s,<channel>...', found over {MAX_HEADER_BYTES} bytes",
            1,
        )
    try:
        text = raw.decode("utf-8-sig")  # a spreadsheet may start its CSV with a BOM
    except UnicodeDecodeError:
        raise RecordingError(path, "expected a text CSV file, found binary data", 1) from None
    if "\0" in text:
        raise RecordingError(path, "expected a text CSV file, found binary data", 1)
    header = next(csv.reader([text.strip("\r\n")]), None)
    if not header or not any(h.strip() for h in header):
        raise RecordingError(path, "expected a header line 't_s,<channel>...', the file is empty")
    return [h.strip() for h in header]


def _check_header(path: Path, header: list[str]) -> None:
    if header[0] != "t_s":
        raise RecordingError(
            path,
            f"expected the first column to be t_s (seconds), got {_snippet(header[0])}",
            line=1,
        )
    for name in header[1:]:
        if Channel.parse(name) is None:
            raise RecordingError(
                path,
                f"unknown channel {_snippet(name)}; expected flow_ml_s, volume_ml, weight_g or "
                "pressure_pa (optionally with _left/_right)",
                line=1,
            )
    if len(header) < 2:
        raise RecordingError(path, "expected at least one channel column after t_s", line=1)
    if len(set(header)) != len(header):
        raise RecordingError(path, "expected each column name once", line=1)


def _check_values(path: Path, data: pd.DataFrame) -> None:
    """Times finite, increasing and within a day; channel values finite and plausible."""
    t = data["t_s"].to_numpy()
    if np.isnan(t).any():
        row = int(np.flatnonzero(np.isnan(t))[0])
        raise RecordingError(path, "expected a time in t_s, the cell is empty", line=row + 2)
    far = ~(np.abs(t) <= MAX_SESSION_S)
    if far.any():
        row = int(np.flatnonzero(far)[0])
        raise RecordingError(
            path,
            f"expected t_s in seconds within {MAX_SESSION_S:g} s of the session start, "
            f"got {t[row]:g}",
            line=row + 2,
        )
    steps = np.diff(t)
    if (steps <= 0).any():
        row = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise RecordingError(
            path,
            f"expected t_s to increase, but {t[row]:g} s follows {t[row - 1]:g} s",
            line=row + 2,
        )
    for column in data.columns[1:]:
        values = data[column].to_numpy()
        limit = VALUE_LIMITS[Channel(column).kind]
        bad = ~np.isnan(values) & ~(np.abs(values) <= limit)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise RecordingError(
                path,
                f"expected {column} between {-limit:g} and {limit:g}, got {values[row]:g}",
                line=row + 2,
            )


def _has_bool_text(path: Path) -> bool:
    """True when a cell after the header may be ``true``/``false`` (any case).

    Numbers never hold a ``t`` or an ``l``, so the costly search runs only when one is there.
    """
    raw = path.read_bytes()
    body = raw.find(b"\n") + 1
    if all(raw.find(c, body) < 0 for c in (b"t", b"T", b"l", b"L")):
        return False
    return _BOOL_TEXT.search(raw, body) is not None


def read_recording(path: str | Path) -> Recording:
    """Load ``NAME.csv`` (and its sidecar) into a :class:`Recording`.

    Empty cells and ``nan`` are missing samples. Times must increase and stay
    within :data:`MAX_SESSION_S`; values must be finite and within
    :data:`VALUE_LIMITS`.

    Raises:
        RecordingError: naming the file and line, for a missing, empty or binary
            file, a header without ``t_s`` or with an unknown channel, a row with
            extra cells, text or out-of-range numbers in a cell, or times that
            do not increase.
    """
    path = Path(path)
    header = _read_header(path)
    _check_header(path, header)
    meta = read_meta(path)
    options = dict(skipinitialspace=True, keep_default_na=False, encoding="utf-8-sig")
    try:
        data = pd.read_csv(path, dtype=float, na_values=_MISSING, **options)
    except pd.errors.ParserError as exc:
        raise _parser_error(path, len(header), exc) from None
    except UnicodeDecodeError:
        raise RecordingError(path, "expected a text CSV file, found binary data") from None
    except ValueError:
        try:
            frame = pd.read_csv(path, dtype=str, **options)
        except (pd.errors.ParserError, ValueError) as exc:
            raise _parser_error(path, len(header), exc) from None
        raise _bad_cell(path, frame) from None
    except OSError as exc:
        raise RecordingError(path, f"cannot read the file ({exc.strerror or exc})") from None
    if _has_bool_text(path):  # pandas reads true/false as 1/0 in a float column
        raise _bad_cell(path, pd.read_csv(path, dtype=str, **options))
    data.columns = header
    if data.empty:
        raise RecordingError(path, "expected samples after the header, found none", line=2)
    _check_values(path, data)
    return Recording(data=data, meta=meta, path=path)


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

    A ``retracted`` row takes back the ``letdown`` row with the same onset
    written before it (a live session appends both as they happen); both
    rows are kept, and :func:`drop_retracted` leaves the letdowns that stand.

    Raises:
        RecordingError: a missing, empty or binary file, missing required
            columns, a row with extra cells, or a time that is not a finite number.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(65536)
        if b"\0" in head:
            raise RecordingError(path, "expected a text events CSV, found binary data", 1)
        frame = pd.read_csv(path, keep_default_na=False, dtype=str, encoding="utf-8-sig")
    except FileNotFoundError:
        raise RecordingError(path, "no such file") from None
    except pd.errors.EmptyDataError:
        raise RecordingError(path, "expected a header 'onset_s,duration_s,label'") from None
    except UnicodeDecodeError:
        raise RecordingError(path, "expected a text events CSV, found binary data") from None
    except pd.errors.ParserError as exc:
        columns = len(_read_header(path))
        raise _parser_error(path, columns, exc) from None
    except OSError as exc:
        raise RecordingError(path, f"cannot read the file ({exc.strerror or exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
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
        missing_cell = text.isin(_MISSING)
        bad = (numeric.isna() & ~missing_cell) | np.isinf(numeric.to_numpy(float))
        if column == "onset_s":
            bad |= missing_cell
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise RecordingError(
                path,
                f"expected a number in {column}, got {_snippet(text.iloc[row])}",
                line=row + 2,
            )
        if column in _EVENT_TIME_COLUMNS:  # seconds since the session start, or a length
            outside = ~numeric.between(0.0, MAX_SESSION_S) & numeric.notna()
            if outside.any():
                row = int(np.flatnonzero(outside.to_numpy())[0])
                raise RecordingError(
                    path,
                    f"expected {column} in seconds from 0 to {MAX_SESSION_S:g}, "
                    f"got {_snippet(text.iloc[row])}",
                    line=row + 2,
                )
        frame[column] = numeric
    frame["label"] = frame["label"].str.strip()
    return frame


#: Events-file columns that are times since the session start or lengths, s.
_EVENT_TIME_COLUMNS = ("onset_s", "duration_s", "detected_s")


def drop_retracted(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of an events file without retracted rises.

    A ``retracted`` row removes every earlier ``letdown`` row with the same
    onset (to the millisecond written in the file), and is dropped itself.
    """
    keep = np.ones(len(frame), dtype=bool)
    labels = frame["label"].to_numpy()
    onsets = np.round(frame["onset_s"].to_numpy(float), 3)
    for i in np.flatnonzero(labels == "retracted"):
        keep[i] = False
        keep[:i] &= ~((labels[:i] == "letdown") & (onsets[:i] == onsets[i]))
    return frame[keep].reset_index(drop=True)
