"""The detector on sessions from a second, independent generator it was never tuned on.

Run: ``python benchmarks/bench_unseen.py [--sessions 120]``

Different physics and artifacts from ``letdown_detect.sources.simulate``, on
purpose: letdown flow as a saturating rise times an exponential decay (not a
smoothstep), rectangular milk spurts, HX711-style sensors at 10 or 80 Hz with
random-walk drift and 0.05 g steps, a scale tared *with* the bottle (so lifting
it off at the end drops the reading far below zero), hands that press on *or
lift* the bottle, BLE-style dropouts, a 0.5% device clock error, and no
letdown in some sessions. Prints F1, onset error, latency and false alarms per
channel kind; the same numbers a lab would get on recordings we never saw.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from bench_detector import detect_counting_retractions

from letdown_detect.model import Event
from letdown_detect.recording import Recording, RecordingMeta
from letdown_detect.research.evaluate import combine, score_events

KINDS = ("flow_ml_s", "volume_ml", "weight_g", "pressure_pa")


def generate(index: int) -> tuple[Recording, list[Event]]:
    """One session from the second generator (``index`` is the seed)."""
    rng = np.random.default_rng(50_000 + index)
    kind = KINDS[index % 4]
    fs = float(rng.choice([10.0, 12.5, 25.0, 80.0]))
    duration = float(rng.uniform(600, 1200))
    t_true = np.arange(0, duration, 1 / fs)
    n_letdowns = 0 if index % 6 == 5 else int(rng.integers(1, 6))
    onsets, t0 = [], float(rng.uniform(25, 200))
    for _ in range(n_letdowns):
        if t0 > duration - 90:
            break
        onsets.append(t0)
        t0 += float(rng.uniform(70, 300))
    flow = np.full_like(t_true, 0.01)
    amp = float(rng.uniform(0.4, 2.2))
    for k, onset in enumerate(onsets):
        rise, decay = rng.uniform(2, 15), rng.uniform(60, 200)
        x = np.clip(t_true - onset, 0, None)
        flow += amp * (1 - np.exp(-x / rise)) * np.exp(-x / decay)
        amp *= float(rng.uniform(0.45, 1.0)) if k == 0 else float(rng.uniform(0.6, 1.0))
    cycle_hz = np.where(t_true < (onsets[0] + 5 if onsets else 120), 1.6, rng.uniform(0.55, 1.1))
    phase = np.cumsum(cycle_hz) / fs % 1.0
    spurts = np.where(phase < 0.4, 2.5, 0.0)  # milk in one rectangular spurt per cycle
    inst = flow * spurts
    volume = np.cumsum(inst) / fs
    if kind == "flow_ml_s":
        x = inst + rng.normal(0, 0.04, t_true.size)
        x = np.round(x, 2)
    else:
        per_ml = {"volume_ml": 1.0, "weight_g": 1.03, "pressure_pa": 4.2}[kind]
        drift = np.cumsum(rng.normal(0, 0.004, t_true.size)) * per_ml
        x = volume * per_ml + drift + rng.normal(0, 0.08 * per_ml, t_true.size)
        x += 0.8 * per_ml * np.sin(2 * np.pi * phase)  # vacuum pull each cycle
        for _ in range(int(rng.integers(0, 6))):  # a hand presses on or lifts the bottle
            start, length = rng.uniform(30, duration - 30), rng.uniform(0.5, 3.0)
            sign = 1 if rng.random() < 0.7 else -1
            on = (t_true > start) & (t_true < start + length)
            x += sign * rng.uniform(15, 80) * per_ml / 1.03 * on
        if kind != "volume_ml":  # bottle lifted off a scale tared with it on
            x = np.where(t_true > duration - 3, x - 150 * per_ml, x)
        step = 0.05 * per_ml
        x = np.round(x / step) * step
    keep = np.ones(t_true.size, bool)
    for _ in range(int(rng.integers(0, 4))):  # BLE dropouts
        start = rng.uniform(20, duration - 20)
        keep &= ~((t_true > start) & (t_true < start + rng.uniform(1, 10)))
    t_dev = t_true * (1 + rng.uniform(-0.005, 0.005))  # the device clock runs off
    data = pd.DataFrame({"t_s": np.round(t_dev[keep], 4), kind: x[keep]})
    calibration = {"pa_per_ml": 4.2} if kind == "pressure_pa" else {}
    truth = [Event(o, o, 0.0, kind, 1.0) for o in onsets]
    return Recording(data, RecordingMeta(sample_rate_hz=fs, calibration=calibration)), truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=120)
    args = parser.parse_args()
    rows, by_kind = [], {k: [] for k in KINDS}
    quiet, retracted = [], {k: 0 for k in KINDS}
    for index in range(args.sessions):
        rec, truth = generate(index)
        found, retracted_here = detect_counting_retractions(rec)
        scores = score_events(found, truth, float(rec.data["t_s"].iloc[-1]))
        by_kind[rec.channels[0]].append(scores)
        retracted[rec.channels[0]] += retracted_here
        if not truth:
            quiet.append(scores)
    everything = [s for group in by_kind.values() for s in group]
    for name, group in [*by_kind.items(), ("no letdown", quiet), ("overall", everything)]:
        s = combine(group)
        rows.append(
            {
                "group": name,
                "sessions": len(group),
                "letdowns": s.tp + s.fn,
                "F1": s.f1,
                "precision": s.precision,
                "recall": s.recall,
                "|onset err| med s": s.median_abs_onset_error_s,
                "latency med s": s.latency_median_s,
                "latency p95 s": s.latency_p95_s,
                "retracted/h": (retracted[name] if name in retracted else sum(retracted.values()))
                / (s.duration_s / 3600.0)
                if name != "no letdown"
                else float("nan"),
                "false alarms/h": s.false_alarms_per_h,
            }
        )
    print(f"\nSecond generator, {args.sessions} sessions (never used for tuning)\n")
    print(pd.DataFrame(rows).set_index("group").round(3).to_string())


if __name__ == "__main__":
    main()
