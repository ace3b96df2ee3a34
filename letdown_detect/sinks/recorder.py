"""Crash-safe recording writer: the recording contract, written as the session streams.

Each block of samples goes to ``NAME.csv`` as whole lines on an unbuffered
file, so killing the process at any moment (even SIGKILL) leaves a file
``letdown detect`` reads, missing at most the block in flight. A short write
or a full disk never leaves half a line: the file is cut back to its last
complete line, the recording pauses (said once) while the session goes on,
and when space returns it resumes after a gap row (a time with empty cells:
missing samples, as the contract has them) and a ``recording_gap`` row in the
events file. The sidecar ``NAME.json`` (UTC start time, device, calibration)
is written atomically at the start; each letdown is appended to
``NAME.events.csv`` as soon as it is detected, a retraction as soon as it is
retracted, and a clean stop rewrites that file atomically with the complete
events (end, volume), the felt-letdown marks and the gaps.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from ..model import Event, SampleBlock
from ..recording import RecordingMeta, events_frame, events_path, sidecar_path
from .base import FeltMarked, LetdownDetected, LetdownRetracted, SessionInfo, SessionSummary, Sink

#: Files hold health data: owner read/write only.
FILE_MODE = 0o600
#: Label of an events row spanning samples lost while the disk was full.
GAP_LABEL = "recording_gap"
#: Errors that mean "no room now" (a full disk, a quota, a file size limit): pause, retry.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _cell(value: float) -> str:
    # repr is the shortest text that reads back as the same float: detect sees what live saw
    return repr(float(value)) if np.isfinite(value) else ""


def _create(path: Path) -> int:
    """A new (or emptied) file, mode 0600 from the start."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)


def _replace_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with os.fdopen(_create(tmp), "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


class LineFile:
    """An append-only file that always ends at a complete line.

    Args:
        path: the file to create (mode 0600).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = _create(path)
        self.size = 0
        """Bytes on disk, all complete lines."""

    def append(self, data: bytes) -> None:
        """Write whole lines (``data`` ends with a newline), handling short writes.

        Raises:
            OSError: the write failed; the file was cut back to its last complete line.
        """
        view = memoryview(data)
        written = 0
        try:
            while written < len(view):
                n = os.write(self.fd, view[written:])
                if n <= 0:
                    raise OSError(errno.ENOSPC, "no bytes written")
                written += n
        except OSError:
            self._cut(self.size)  # all or nothing: a kept part would break the gap row's order
            raise
        self.size += written

    def _cut(self, size: int) -> None:
        try:
            os.ftruncate(self.fd, size)
            os.lseek(self.fd, size, os.SEEK_SET)
            self.size = size
        except OSError:
            pass  # the file system refuses even that: the reader stops at the last newline

    def close(self) -> None:
        """Sync and close (a failing sync on a full disk is not fatal: the lines are written)."""
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.fsync(self.fd)
        os.close(self.fd)
        self.fd = None


class RecorderSink(Sink):
    """Write a live session to ``csv_path`` (+ sidecar and events file).

    Args:
        csv_path: the recording to create, ``NAME.csv``; its folder is created.
        retry_after_s: session time between tries to resume after a full disk, s.
        settle_s: session time writes must work again before the outage is over, s
            (a disk that fills again sooner is the same outage: one message, several gaps).
        log: where to say that the recording paused and resumed (default stderr).
    """

    def __init__(
        self,
        csv_path: str | Path,
        retry_after_s: float = 1.0,
        settle_s: float = 10.0,
        log: TextIO | None = None,
    ) -> None:
        self.csv_path = Path(csv_path)
        self.retry_after_s = retry_after_s
        self.settle_s = settle_s
        self.log = log
        self.samples_written = 0
        self.samples_lost = 0
        self.gaps: list[tuple[float, float]] = []
        """Spans of session time lost to a full disk, (start_s, end_s)."""
        self._csv: LineFile | None = None
        self._events: LineFile | None = None
        self._unsaved_rows: list[str] = []
        self._paused_at_s: float | None = None
        self._outage_s: float | None = None
        self._failed_at_s = 0.0
        self._retry_at_s = 0.0
        self._session: SessionInfo | None = None
        self._columns = list(events_frame([]).columns)

    async def start(self, session: SessionInfo) -> None:
        """Create the folder, the CSV with its header, the sidecar and the events file."""
        self._session = session
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)
        meta = RecordingMeta(
            start_time=session.start_utc.isoformat(),
            sample_rate_hz=session.sample_rate_hz,
            device=session.device,
            calibration=dict(session.calibration),
            extra={
                "session_id": session.session_id,
                "source": session.source,
                "kind": session.kind,
            },
        )
        _replace_atomically(
            sidecar_path(self.csv_path), json.dumps(meta.to_json(), indent=2) + "\n"
        )
        self._csv = LineFile(self.csv_path)
        self._csv.append((",".join(("t_s", *session.channels)) + "\n").encode())
        self._events = LineFile(events_path(self.csv_path))
        self._events.append((",".join(self._columns) + "\n").encode())

    async def on_block(self, block: SampleBlock) -> None:
        """Append the samples as whole lines; pause on a full disk and resume after a gap row."""
        if self._csv is None or not len(block):
            return
        first_s = float(block.t_s[0])
        if self._paused_at_s is not None and first_s < self._retry_at_s:
            self.samples_lost += len(block)
            return
        lines = [
            ",".join((_cell(t), *(_cell(v) for v in row)))
            for t, row in zip(block.t_s, block.values, strict=True)
        ]
        if self._paused_at_s is not None:
            lines.insert(0, _cell(self._paused_at_s) + "," * block.values.shape[1])
        try:
            self._csv.append(("\n".join(lines) + "\n").encode())
        except OSError as exc:
            self._pause(exc, first_s, len(block))
            return
        self.samples_written += len(block)
        if self._paused_at_s is not None:
            self._resume(first_s)
        self._settle(first_s)

    def _pause(self, exc: OSError, t_s: float, samples: int) -> None:
        self.samples_lost += samples
        self._retry_at_s = t_s + self.retry_after_s
        self._failed_at_s = t_s
        if self._paused_at_s is not None:
            return
        self._paused_at_s = t_s
        if self._outage_s is not None:
            return  # the disk filled again before the recording settled: same outage, one message
        self._outage_s = t_s
        reason = "disk full" if exc.errno in _NO_SPACE else f"cannot write ({exc.strerror})"
        self._say(
            f"{self.csv_path}: {reason}: recording stopped at {self._clock(t_s)}, session "
            "goes on (it resumes when space returns)"
        )

    def _resume(self, t_s: float) -> None:
        start_s = self._paused_at_s
        self._paused_at_s = None
        self.gaps.append((start_s, t_s))
        self._append_event(self._gap_row(start_s, t_s))

    def _settle(self, t_s: float) -> None:
        """Writes have worked for ``settle_s`` since the last failure: the outage is over."""
        if self._outage_s is None or t_s - self._failed_at_s < self.settle_s:
            return
        missing_s = sum(b - a for a, b in self.gaps if a >= self._outage_s)
        self._say(
            f"{self.csv_path}: recording resumed at {self._clock(self.gaps[-1][1])}; "
            f"{missing_s:.1f} s missing, marked as gaps"
        )
        self._outage_s = None

    def _clock(self, t_s: float) -> str:
        if self._session is None:
            return f"{t_s:.1f} s"
        return self._session.utc_at(t_s).astimezone().strftime("%H:%M:%S")

    def _say(self, message: str) -> None:
        print(f"letdown: {message}", file=self.log or sys.stderr, flush=True)

    def _gap_row(self, start_s: float, end_s: float) -> str:
        cells = dict.fromkeys(self._columns, "")
        cells.update(onset_s=f"{start_s:.3f}", duration_s=f"{end_s - start_s:.3f}", label=GAP_LABEL)
        return ",".join(cells[c] for c in self._columns)

    def _append_event(self, row: str) -> None:
        """Append an events row; rows a full disk refused wait for the next one."""
        if self._events is None:
            return
        self._unsaved_rows.append(row)
        try:
            self._events.append(("\n".join(self._unsaved_rows) + "\n").encode())
        except OSError:
            return  # kept; the stop rewrite has every event anyway
        self._unsaved_rows.clear()

    async def on_letdown_detected(self, e: LetdownDetected) -> None:
        """Append a letdown at detection."""
        self._append(e.event)

    async def on_letdown_retracted(self, e: LetdownRetracted) -> None:
        """Append the retraction at once: a file left by a crash then agrees with the store."""
        self._append(e.event)

    async def on_felt_marked(self, e: FeltMarked) -> None:
        """Append every felt-letdown mark."""
        self._append(e.event)

    def _append(self, event: Event) -> None:
        if self._events is None:
            return
        row = events_frame([event]).iloc[0]
        self._append_event(
            ",".join("" if _is_missing(row[c]) else _event_cell(row[c]) for c in self._columns)
        )

    async def stop(self, summary: SessionSummary) -> None:
        """Sync the samples and rewrite the events file with the complete events and gaps."""
        if self._csv is None:
            return
        if self._paused_at_s is not None:
            self.gaps.append((self._paused_at_s, summary.duration_s))
        self._csv.close()
        self._csv = None
        if self._events is not None:
            self._events.close()
            self._events = None
        events = sorted([*summary.letdowns, *summary.felt], key=lambda e: e.onset_s)
        frame = events_frame(events)
        gaps = pd.DataFrame(
            {"onset_s": a, "duration_s": b - a, "label": GAP_LABEL} for a, b in self.gaps
        )
        if len(gaps):
            frame = pd.concat([frame, gaps], ignore_index=True).sort_values("onset_s")
        try:
            _replace_atomically(
                events_path(self.csv_path),
                frame.to_csv(index=False, float_format="%.3f", na_rep=""),
            )
        except OSError as exc:
            self._say(
                f"{events_path(self.csv_path)}: cannot rewrite the events ({exc.strerror}); "
                "it keeps the letdowns as they were detected"
            )


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not np.isfinite(value))


def _event_cell(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
