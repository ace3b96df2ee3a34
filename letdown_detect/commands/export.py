"""``letdown export REC.csv``: events as a BIDS-style ``events.tsv`` (+ ``events.json``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` subcommand."""
    p = subparsers.add_parser(
        "export",
        help="export a recording's events as a BIDS-style events.tsv",
        description="Write REC.events.csv (annotations) as a BIDS-style events.tsv with an "
        "events.json column sidecar: onset and duration in seconds since the session start, "
        "trial_type = label, n/a for missing values.",
    )
    p.add_argument("recording", type=Path, help="REC.csv (its REC.events.csv is exported)")
    p.add_argument(
        "-o", "--out", type=Path, help="output .tsv (default: REC_events.tsv beside REC.csv)"
    )
    p.add_argument(
        "--detected",
        action="store_true",
        help="also run the detector and add its letdowns (annotator 'detector')",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export the events; prints the written paths on stdout."""
    import pandas as pd

    from ..errors import RecordingError
    from ..recording import events_frame, events_path, read_events, read_recording
    from ..research.bids import write_bids_events

    annotations_file = events_path(args.recording)
    frames = []
    if annotations_file.exists():
        frames.append(read_events(annotations_file))
    elif not args.detected:
        raise RecordingError(
            annotations_file,
            "no such file; annotate the recording first (letdown annotate) or add --detected",
        )
    if args.detected:
        from ..pipeline import detect_recording

        detected = events_frame(detect_recording(read_recording(args.recording)))
        frames.append(detected.assign(annotator="detector"))
    events = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out = args.out or args.recording.with_name(args.recording.stem + "_events.tsv")
    for path in write_bids_events(events, out):
        print(path, file=sys.stdout)
    return 0
