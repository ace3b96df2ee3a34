"""``letdown simulate OUT.csv``: write a realistic simulated pump session with its truth."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` subcommand."""
    p = sub.add_parser(
        "simulate",
        help="write a simulated pump session (recording, sidecar, true letdowns)",
        description="Write OUT.csv, OUT.json and OUT.events.csv (the true letdowns) for a "
        "simulated pump session with realistic physiology and sensor artifacts.",
    )
    p.add_argument("out", type=Path, help="recording to write, e.g. session.csv")
    p.add_argument(
        "--kind",
        default="weight_g",
        choices=["flow_ml_s", "volume_ml", "weight_g", "pressure_pa"],
        help="sensor channel kind (default: weight_g)",
    )
    p.add_argument("--double", action="store_true", help="double pumping: _left and _right")
    p.add_argument("--duration", type=float, default=900.0, help="session length, s (900)")
    p.add_argument("--rate", type=float, default=20.0, help="sample rate, Hz (20)")
    p.add_argument("--letdowns", type=int, help="number of letdowns (default: random 0-6)")
    p.add_argument("--at", help="letdown onsets in seconds, comma-separated (overrides --letdowns)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument(
        "--artifacts",
        default="all",
        help="'all', 'none' or a comma-separated list of: noise, ripple, spurts, touches, "
        "spikes, tare, lift, drift, quantisation, lost, gaps, jitter",
    )
    p.add_argument("--without", default="", help="artifacts to leave out, comma-separated")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Simulate, write the three files, print a one-line summary on stderr."""
    from ..errors import ConfigError
    from ..recording import events_path, write_events, write_recording
    from ..sources.simulate import ARTIFACTS, SimConfig, simulate_session

    if args.artifacts == "all":
        artifacts = set(ARTIFACTS)
    elif args.artifacts == "none":
        artifacts = set()
    else:
        artifacts = {a.strip() for a in args.artifacts.split(",") if a.strip()}
    artifacts -= {a.strip() for a in args.without.split(",") if a.strip()}
    times = None
    if args.at:
        try:
            times = tuple(float(v) for v in args.at.split(","))
        except ValueError:
            raise ConfigError(
                f"--at expects seconds separated by commas, e.g. 60,200; got {args.at!r}", "at"
            ) from None
    config = SimConfig(
        kind=args.kind,
        double=args.double,
        duration_s=args.duration,
        sample_rate_hz=args.rate,
        letdowns=args.letdowns,
        letdown_times_s=times,
        artifacts=frozenset(artifacts),
    )
    sim = simulate_session(config, seed=args.seed)
    path = write_recording(sim.recording, args.out)
    write_events(sim.truth, events_path(path))
    onsets = ", ".join(f"{e.onset_s:.1f}" for e in sim.truth) or "none"
    print(
        f"wrote {path} ({len(sim.recording.data)} samples, {', '.join(sim.recording.channels)}); "
        f"true letdown onsets (s): {onsets}",
        file=sys.stderr,
    )
    return 0
