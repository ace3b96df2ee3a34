"""``letdown detect REC.csv ...``: letdowns in recorded sessions, as a table or JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``detect`` subcommand."""
    p = sub.add_parser(
        "detect",
        help="detect letdowns in recordings",
        description="Run the streaming letdown detector over recordings. A bad file is "
        "reported on stderr and skipped; the exit status is then 2.",
    )
    p.add_argument("recordings", nargs="+", type=Path, help="recording CSV files")
    p.add_argument("--json", action="store_true", help="one JSON object per event per line")
    p.add_argument(
        "--chunk",
        type=int,
        help="feed the streaming detector N samples at a time (the result does not change)",
    )
    add_param_option(p)
    p.set_defaults(func=run)


def add_param_option(parser: argparse.ArgumentParser) -> None:
    """``--param NAME=VALUE`` (repeatable) for detector parameters."""
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a detector parameter (see letdown_detect.params.DetectorConfig)",
    )


def config_from_params(items: list[str]):  # -> DetectorConfig
    """Build a ``DetectorConfig`` from ``NAME=VALUE`` strings.

    Raises:
        ConfigError: an unknown name or a value that is not a number.
    """
    from dataclasses import fields

    from ..errors import ConfigError
    from ..params import DetectorConfig

    names = {f.name for f in fields(DetectorConfig)}
    values: dict[str, float] = {}
    for item in items:
        name, _, text = item.partition("=")
        name = name.strip()
        if name not in names:
            raise ConfigError(
                f"--param {item!r}: unknown detector parameter {name!r}; "
                f"expected one of {', '.join(sorted(names))}",
                name,
            )
        try:
            values[name] = float(text)
        except ValueError:
            raise ConfigError(f"--param {item!r}: expected a number after '='", name) from None
    return DetectorConfig(**values)


def run(args: argparse.Namespace) -> int:
    """Detect in each recording; print a table (or JSON lines) on stdout."""
    from ..errors import LetdownError, about
    from ..pipeline import detect_recording
    from ..recording import read_recording

    if args.chunk is not None and args.chunk < 1:
        from ..errors import ConfigError

        raise ConfigError(f"--chunk must be at least 1 sample, got {args.chunk}", "chunk")
    config = config_from_params(args.param)
    from .._compiled import PREPARING, cache_is_warm
    from ..pipeline import warm_up

    if not cache_is_warm():
        print(PREPARING, file=sys.stderr)  # one line before compiling, else silent
        warm_up(config)  # every loop, so a later run with any sensor starts warm
    # Warm: each recording loads only the loops its channels use.
    status = 0
    for path in args.recordings:
        try:
            recording = read_recording(path)
            events = detect_recording(recording, config, chunk=args.chunk)
        except LetdownError as exc:
            print(f"letdown: {about(path, exc)}", file=sys.stderr)
            status = 2
            continue
        if args.json:
            for event in events:
                print(json.dumps({"recording": str(path), **event.to_dict()}))
        else:
            print(_table(str(path), recording, events))
        sys.stdout.flush()
    return status


def _table(name: str, recording, events) -> str:
    """A readable block of letdowns for one recording (times to 0.1 s)."""
    from ..summary import clock_text

    duration = float(recording.data["t_s"].iloc[-1] - recording.data["t_s"].iloc[0])
    lines = [f"{name}: {len(events)} letdown(s) in {duration / 60:.1f} min"]
    if events:
        lines.append(
            f"  {'#':>2}  {'onset':>8}  {'detected':>8}  {'latency':>7}  {'peak mL/s':>9}"
            f"  {'volume mL':>9}  {'end':>8}  channel"
        )
    for i, e in enumerate(events, 1):
        onset, detected, end = (clock_text(x, 1) for x in (e.onset_s, e.detected_s, e.end_s))
        lines.append(
            f"  {i:>2}  {onset:>8}  {detected:>8}  {e.latency_s:>6.1f}s"
            f"  {e.peak_flow_ml_s:>9.2f}  {e.volume_ml or 0.0:>9.1f}  {end:>8}"
            f"  {e.channel}{' (one side)' if e.one_sided else ''}"
        )
    return "\n".join(lines)
