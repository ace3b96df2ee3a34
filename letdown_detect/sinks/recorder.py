"""Crash-safe recording writer: the recording contract, written as the session streams.

Each block of samples goes to ``NAME.csv`` in one ``write`` of whole lines on
an unbuffered file, so killing the process at any moment (even SIGKILL)
leaves a file ``letdown detect`` reads, missing at most the block in flight.
The sidecar ``NAME.json`` (UTC start time, device, calibration) is written
atomically at the start; each letdown is appended to ``NAME.events.csv`` as
soon as it is detected, and a clean stop rewrites that file atomically with
the complete events (end, volume) and the felt-letdown marks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Event, SampleBlock
from ..recording import RecordingMeta, events_frame, events_path, sidecar_path, write_events
from .base import FeltMarked, LetdownDetected, SessionInfo, SessionSummary, Sink

#: Files hold health data: owner read/write only.
FILE_MODE = 0o600


def _cell(value: float) -> str:
    # repr is the shortest text that reads back as the same float: detect sees what live saw
    return repr(float(value)) if np.isfinite(value) else ""


def _replace_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class RecorderSink(Sink):
    """Write a live session to ``csv_path`` (+ sidecar and events file).

    Args:
        csv_path: the recording to create, ``NAME.csv``; its folder is created.
    """

    def __init__(self, csv_path: str | Path) -> None:
        self.csv_path = Path(csv_path)
        self.samples_written = 0
        self._fd: int | None = None
        self._events_fd: int | None = None
        self._columns = list(events_frame([]).columns)

    async def start(self, session: SessionInfo) -> None:
        """Create the folder, the CSV with its header, the sidecar and the events file."""
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
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        self._fd = os.open(self.csv_path, flags, FILE_MODE)
        os.write(self._fd, (",".join(("t_s", *session.channels)) + "\n").encode())
        self._events_fd = os.open(events_path(self.csv_path), flags, FILE_MODE)
        os.write(self._events_fd, (",".join(self._columns) + "\n").encode())

    async def on_block(self, block: SampleBlock) -> None:
        """Append the samples (one write of whole lines)."""
        if self._fd is None or not len(block):
            return
        lines = [
            ",".join((_cell(t), *(_cell(v) for v in row)))
            for t, row in zip(block.t_s, block.values, strict=True)
        ]
        os.write(self._fd, ("\n".join(lines) + "\n").encode())
        self.samples_written += len(block)

    async def on_letdown_detected(self, e: LetdownDetected) -> None:
        """Append a letdown at detection."""
        self._append(e.event)

    async def on_felt_marked(self, e: FeltMarked) -> None:
        """Append every felt-letdown mark."""
        self._append(e.event)

    def _append(self, event: Event) -> None:
        if self._events_fd is None:
            return
        row = events_frame([event]).iloc[0]
        cells = ["" if _is_missing(row[c]) else _event_cell(row[c]) for c in self._columns]
        os.write(self._events_fd, (",".join(cells) + "\n").encode())

    async def stop(self, summary: SessionSummary) -> None:
        """Sync the samples and rewrite the events file with the complete events."""
        if self._fd is None:
            return
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        if self._events_fd is not None:
            os.close(self._events_fd)
            self._events_fd = None
        events = sorted([*summary.letdowns, *summary.felt], key=lambda e: e.onset_s)
        target = events_path(self.csv_path)
        tmp = target.with_name(target.name + ".tmp")
        write_events(events_frame(events), tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not np.isfinite(value))


def _event_cell(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
