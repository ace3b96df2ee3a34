"""``letdown import REC.csv``: a recording and its events into the session store.

Letdowns and felt marks come from ``REC.events.csv`` when it exists (rows
labelled ``mood`` with a ``value`` become mood answers), otherwise from the
detector. ``--mood-from DIARY`` replays the session's prompts and answers them
from a diary, as a live session would have. ``--rescue FILE`` adds the writes a
live session could not save while the database was locked.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..recording import Recording


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``import`` subcommand."""
    p = subparsers.add_parser(
        "import",
        help="add recordings (and their letdowns and mood answers) to the session store",
        description="Store each recording as a session: start time from its sidecar, letdowns "
        "and felt marks from REC.events.csv (or the detector), mood rows as answers.",
    )
    p.add_argument("recordings", nargs="*", type=Path, metavar="REC.csv")
    p.add_argument(
        "--db",
        metavar="PATH",
        help="session database (default: $LETDOWN_DB or the per-user data folder)",
    )
    p.add_argument("--kind", choices=("pumping", "nursing"), default="pumping")
    p.add_argument(
        "--mood-from",
        metavar="FILE",
        type=Path,
        help="diary CSV t_s,score[,feelings] answering the replayed prompts (one recording only)",
    )
    p.add_argument(
        "--rescue",
        metavar="FILE",
        type=Path,
        help="apply a *.unsaved.jsonl file left by a session whose database was locked",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Import; prints one line per stored session on stdout; 2 when any input was bad."""
    from ..errors import ConfigError, LetdownError, about
    from ..store.db import Store, default_db_path
    from ..store.writer import replay_rescue

    if not args.recordings and args.rescue is None:
        raise ConfigError("expected at least one REC.csv (or --rescue FILE)", "recordings")
    if args.mood_from is not None and len(args.recordings) != 1:
        raise ConfigError(
            "--mood-from answers the prompts of one recording; give exactly one", "mood_from"
        )
    db = default_db_path(args.db)
    if args.rescue is not None:
        with Store(db) as store:
            count = replay_rescue(args.rescue, store)
        print(f"{args.rescue}: {count} saved write(s) added to {db}")
    status = 0
    for path in args.recordings:
        try:
            line, diary_problems = _import_one(path, db, args.kind, args.mood_from)
            print(line)
            status = 2 if diary_problems else status
        except LetdownError as exc:
            print(f"letdown: {about(path, exc)} (not imported)", file=sys.stderr)
            status = 2
        sys.stdout.flush()
    return status


def _import_one(path: Path, db: Path, kind: str, diary_path: Path | None) -> tuple[str, int]:
    """Store one recording; returns the line to print and the number of bad diary lines."""
    import uuid
    from datetime import datetime, timezone

    from ..mood.answers import Diary, read_diary
    from ..mood.history import parse_utc
    from ..mood.tracker import MoodTracker
    from ..recording import events_path, read_recording
    from ..store.db import Store, StoreError
    from ..store.writer import StoreWriter

    recording = read_recording(path)
    entries, problems = read_diary(diary_path) if diary_path is not None else ([], [])
    for problem in problems:
        print(f"letdown: {problem} (line skipped)", file=sys.stderr)
    where = str(path.resolve())
    with Store(db) as store:
        seen = store.query("SELECT id FROM sessions WHERE recording_path = ?", (where,))
    if seen:
        raise StoreError(db, f"{path} is already stored as session {seen[0]['id']}; nothing added")
    start = (
        parse_utc(recording.meta.start_time)
        if recording.meta.start_time
        else datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    )
    duration_s = float(recording.data["t_s"].iloc[-1])
    events, moods = _events(recording, events_path(path))
    session_id = uuid.uuid4().hex[:12]
    writer = StoreWriter(db, log=sys.stderr)
    writer.submit(
        "add_session",
        0.0,
        session_id=session_id,
        start_utc=start.isoformat(),
        kind=kind,
        source="import",
        device=recording.meta.device or "",
        recording_path=where,
    )
    for fields in events:
        writer.submit("add_event", 0.0, session_id=session_id, **fields)
    for t_s, score in moods:
        writer.submit(
            "add_answer",
            t_s,
            session_id=session_id,
            t_s=t_s,
            answered_utc=start.isoformat(),
            score=score,
            channel="import",
        )
    diary_note = ""
    if diary_path is not None:
        tracker = MoodTracker(session_id, start, writer, diary=Diary(entries))
        onsets = sorted(
            (f["onset_s"] if f["detected_s"] is None else f["detected_s"], f["onset_s"])
            for f in events
        )
        for step in range(int(duration_s) + 1):
            while onsets and onsets[0][0] <= step:
                detected_s, onset_s = onsets.pop(0)
                tracker.tick(detected_s)
                tracker.letdown(onset_s, detected_s)
            tracker.tick(float(step))
        tracker.close(duration_s)
        diary_note = f", {len(entries)} diary answers"
    writer.submit(
        "end_session",
        duration_s,
        session_id=session_id,
        end_utc=_end_utc(start, duration_s),
        duration_s=duration_s,
    )
    rescue = writer.close()
    if rescue is not None:
        raise StoreError(db, f"could not store {path}; the writes were kept in {rescue}")
    letdowns = sum(f["label"] == "letdown" for f in events)
    felt = len(events) - letdowns
    return (
        f"{path}: session {session_id} ({kind}, {start:%Y-%m-%d %H:%M} UTC): {letdowns} "
        f"letdowns, {felt} felt, {len(moods)} mood rows{diary_note}"
    ), len(problems)


def _events(
    recording: Recording, annotations: Path
) -> tuple[list[dict[str, Any]], list[tuple[float, int]]]:
    """Letdown/felt event fields and (t_s, score) mood rows for a recording."""
    from ..errors import RecordingError
    from ..recording import drop_retracted, read_events
    from ..store.store_sink import event_fields

    if not annotations.exists():
        from ..pipeline import detect_recording

        return [event_fields(e) for e in detect_recording(recording)], []
    frame = drop_retracted(read_events(annotations))
    events, moods = [], []
    for row in frame.to_dict("records"):
        label = row["label"]
        onset = float(row["onset_s"])
        if label in ("letdown", "felt_letdown"):
            duration = row.get("duration_s")
            detected = row.get("detected_s")
            events.append(
                {
                    "label": label,
                    "onset_s": onset,
                    "detected_s": None if _missing(detected) else float(detected),
                    "end_s": None if _missing(duration) else onset + float(duration),
                    "channel": str(row.get("channel") or row.get("annotator") or ""),
                }
            )
        elif label == "mood":
            value = row.get("value")
            if _missing(value) or not 0 <= float(value) <= 10 or float(value) != int(float(value)):
                raise RecordingError(
                    annotations,
                    f"expected a 0-10 score in value for the mood "
                    f"row at {onset:g} s, got {value!r}",
                )
            moods.append((onset, int(float(value))))
    return events, moods


def _missing(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, float) and value != value)


def _end_utc(start: object, duration_s: float) -> str | None:
    """The session's end in UTC (ISO 8601), or None past the calendar's end (a sidecar
    start near the year 9999)."""
    from datetime import timedelta

    try:
        return (start + timedelta(seconds=duration_s)).isoformat()  # type: ignore[operator]
    except OverflowError:
        return None
