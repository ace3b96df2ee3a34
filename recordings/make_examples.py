"""Regenerate the example recordings in this folder from the simulator (fixed seeds).

Run from the repository root:  python recordings/make_examples.py
Each example is NAME.csv (samples), NAME.json (sidecar) and NAME.events.csv
(the simulator's true letdowns, annotator "simulator"). Output is identical on
every run for the same code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from letdown_detect.recording import events_frame, events_path, write_events, write_recording
from letdown_detect.sources.simulate import SimConfig, simulate_session

HERE = Path(__file__).resolve().parent
#: What a careful home setup shows: noise, pump ripple, spurts, ADC steps, timestamp jitter.
CLEAN = frozenset({"noise", "ripple", "spurts", "quantisation", "jitter"})

#: name -> (simulator settings, seed, felt-letdown delay in s or None).
EXAMPLES: dict[str, tuple[SimConfig, int, float | None]] = {
    "flow_single": (
        SimConfig("flow_ml_s", duration_s=720, sample_rate_hz=10, artifacts=CLEAN),
        101,
        None,
    ),
    "volume_single": (
        SimConfig("volume_ml", duration_s=720, sample_rate_hz=10, artifacts=CLEAN),
        102,
        None,
    ),
    "weight_single": (
        SimConfig("weight_g", duration_s=900, sample_rate_hz=20, letdowns=4, artifacts=CLEAN),
        103,
        None,
    ),
    "pressure_single": (
        SimConfig("pressure_pa", duration_s=720, sample_rate_hz=20, artifacts=CLEAN),
        104,
        None,
    ),
    "weight_double": (
        SimConfig(
            "weight_g", double=True, duration_s=900, sample_rate_hz=10, letdowns=3, artifacts=CLEAN
        ),
        105,
        6.0,
    ),
    "weight_no_letdown": (
        SimConfig("weight_g", duration_s=600, sample_rate_hz=10, letdowns=0, artifacts=CLEAN),
        106,
        None,
    ),
    "weight_artifacts": (
        SimConfig("weight_g", duration_s=900, sample_rate_hz=20, letdowns=4),
        107,
        None,
    ),
}


def make_example(name: str, folder: Path = HERE) -> Path:
    """Simulate one example and write its three files; returns the CSV path."""
    config, seed, felt_delay_s = EXAMPLES[name]
    sim = simulate_session(config, seed=seed)
    path = write_recording(sim.recording, folder / f"{name}.csv", precision=6)
    truth = events_frame(sim.truth)[["onset_s", "duration_s", "label", "channel"]]
    truth = truth.assign(annotator="simulator")
    if felt_delay_s is not None:
        # Illustrates the parent's own marks: a button press a few seconds after each onset.
        felt = pd.DataFrame(
            {
                "onset_s": truth["onset_s"] + felt_delay_s,
                "duration_s": float("nan"),
                "label": "felt_letdown",
                "channel": "button",
                "annotator": "parent",
            }
        )
        truth = pd.concat([truth, felt], ignore_index=True).sort_values("onset_s")
    write_events(truth, events_path(path))
    return path


def main() -> int:
    """Write every example; prints each path and the folder's total size."""
    for name in EXAMPLES:
        print(make_example(name))
    size = sum(p.stat().st_size for p in HERE.iterdir() if p.is_file())
    print(f"{size / 1e6:.2f} MB in {HERE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
