"""The detector's operating envelope: F1 and latency against one condition at a time.

Run: ``python benchmarks/bench_envelope.py [PLOT.png] [--seeds 6]``

Each sweep starts from one plain session (a weight channel at 20 Hz, 10 min,
three letdowns of 0.3, 0.21 and 0.15 mL/s rising over 8 s, a 1 Hz pump with
milk spurts, 2 mL peak-to-peak sinusoidal ripple, 0.2 g noise, 0.1 g steps)
and changes ONE condition over its range: ripple amplitude, its harmonics,
pump frequency, noise, sample rate, quantisation, a scale's own smoothing
(a moving average, or a first-order lag), BLE burst timestamps, drop size (a
drop-counting flow sensor), letdown size, touch size and length (also on a
scale with a 1 s lag), and how long the bottle is lifted. The generator is
written here, explicitly, so every value means exactly one thing; seeds are
fixed. Prints one table (F1, median latency, retracted alerts per hour per
value) and saves a plot (matplotlib, Agg) to the path given (default under
/tmp). A few minutes on one core.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from letdown_detect.model import Event
from letdown_detect.pipeline import Pipeline
from letdown_detect.recording import Recording, RecordingMeta
from letdown_detect.research.evaluate import combine, score_events

ONSETS_S = (60.0, 240.0, 420.0)
DURATION_S = 600.0
PHYSICS_HZ = 200.0


@dataclass(frozen=True)
class Condition:
    """One session's physics (units in the names)."""

    kind: str = "weight_g"
    sample_rate_hz: float = 20.0
    letdown_ml_s: float = 0.3
    pump_hz: float = 1.0
    ripple_ml_pp: float = 2.0
    harmonics: float = 0.0  # 2nd and 3rd harmonic amplitude relative to the fundamental
    noise_g: float = 0.2
    step_g: float = 0.1
    smoothing_s: float = 0.0  # the scale's own moving average
    lag_s: float = 0.0  # or its own first-order smoothing (time constant)
    burst: int = 1  # samples per BLE burst (stamped on arrival, 3 ms apart)
    drop_ml: float = 0.0  # > 0: a drop-counting flow sensor
    touch_g: float = 0.0  # one touch every 90 s
    touch_s: float = 1.0
    lift_s: float = 0.0  # the bottle lifted off (reads 0) once, mid-session


SWEEPS: dict[str, tuple[str, list[float]]] = {
    "ripple mL p-p": ("ripple_ml_pp", [0.0, 2.0, 5.0, 10.0, 15.0, 20.0]),
    "harmonics (x fundamental)": ("harmonics", [0.0, 0.5, 1.0, 1.5]),
    "pump Hz (ripple 5 mL)": ("pump_hz", [0.6, 0.8, 1.0, 1.5, 2.0]),
    "noise g": ("noise_g", [0.05, 0.2, 0.5, 1.0, 2.0, 4.0]),
    "sample rate Hz": ("sample_rate_hz", [2.0, 5.0, 10.0, 20.0, 50.0, 100.0]),
    "quantisation g": ("step_g", [0.1, 0.5, 1.0, 2.0, 5.0]),
    "scale smoothing s": ("smoothing_s", [0.0, 0.3, 0.6, 1.0, 2.0]),
    "scale lag s (first order)": ("lag_s", [0.3, 0.6, 1.0, 2.0]),
    "burst samples": ("burst", [1, 2, 3, 4]),
    "drop mL (drop counter)": ("drop_ml", [0.02, 0.04, 0.06, 0.1, 0.2]),
    "letdown mL/s": ("letdown_ml_s", [0.03, 0.05, 0.1, 0.2, 0.4, 0.6]),
    "touch g (1 s)": ("touch_g", [-40.0, 20.0, 50.0, 100.0, 150.0]),
    "touch s (100 g)": ("touch_s", [0.2, 0.5, 1.0, 2.0, 3.0]),
    "touch g (1 s, scale lag 1 s)": ("touch_g", [-40.0, 20.0, 50.0, 100.0, 150.0]),
    "lift s": ("lift_s", [0.0, 2.0, 4.0, 8.0, 12.0]),
}
#: Sweeps that change something else too (named in the sweep).
BASES = {
    "pump Hz (ripple 5 mL)": {"ripple_ml_pp": 5.0},
    "touch s (100 g)": {"touch_g": 100.0},
    "touch g (1 s, scale lag 1 s)": {"lag_s": 1.0},
}


def session(cond: Condition, seed: int) -> tuple[Recording, list[Event]]:
    """One session under ``cond`` and its true letdowns."""
    rng = np.random.default_rng(seed)
    tp = np.arange(0.0, DURATION_S, 1.0 / PHYSICS_HZ)
    onsets = [t + rng.uniform(-10.0, 10.0) for t in ONSETS_S]
    flow = np.zeros_like(tp)
    for k, onset in enumerate(onsets):
        x = np.clip((tp - onset) / 8.0, 0.0, 1.0)
        after = np.maximum(tp - onset - 8.0, 0.0)
        flow += cond.letdown_ml_s * 0.7**k * x * x * (3 - 2 * x) * np.exp(-after / 90.0)
    phase = 2 * np.pi * (cond.pump_hz * tp + rng.uniform(0, 1))
    inst = flow * (1.0 + 0.9 * np.cos(phase))  # milk arrives in spurts, one per cycle
    volume = np.cumsum(inst) / PHYSICS_HZ
    ts = np.arange(0.0, DURATION_S, 1.0 / cond.sample_rate_hz)
    if cond.drop_ml > 0:  # a drop counter: whole drops in each sample, as mL/s
        drops = np.floor(np.interp(ts, tp, volume) / cond.drop_ml)
        values = np.diff(np.r_[0.0, drops]) * cond.drop_ml * cond.sample_rate_hz
        return _recording(ts, values, "flow_ml_s"), _truth(onsets)
    wave = np.sin(phase) + cond.harmonics * (np.sin(2 * phase + 1.0) + np.sin(3 * phase))
    wave = wave / (wave.max() - wave.min())
    grams = 120.0 + 1.03 * volume + cond.ripple_ml_pp * 1.03 * wave
    for start in np.arange(45.0, DURATION_S - 30.0, 90.0) if cond.touch_g else []:
        start += rng.uniform(0.0, 30.0)
        up = np.clip((tp - start) / 0.1, 0, 1) * np.clip((start + cond.touch_s - tp) / 0.1, 0, 1)
        grams = grams + cond.touch_g * up
    if cond.lift_s:
        grams = np.where((tp >= 330.0) & (tp < 330.0 + cond.lift_s), 0.0, grams)
    x = np.interp(ts, tp, grams)
    if cond.smoothing_s > 0:
        n = max(1, round(cond.smoothing_s * cond.sample_rate_hz))
        x = np.convolve(np.r_[np.full(n - 1, x[0]), x], np.full(n, 1.0 / n), "valid")
    if cond.lag_s > 0:
        keep = math.exp(-1.0 / (cond.lag_s * cond.sample_rate_hz))
        x = x[0] + lfilter([1.0 - keep], [1.0, -keep], x - x[0])
    x = x + rng.normal(0.0, cond.noise_g, ts.size)
    x = np.round(x / cond.step_g) * cond.step_g
    if cond.burst > 1:  # stamped on arrival: the burst's last sample time, 3 ms apart
        last = np.minimum((np.arange(ts.size) // cond.burst + 1) * cond.burst - 1, ts.size - 1)
        ts = np.maximum.accumulate(ts[last] + 0.003 * (np.arange(ts.size) % cond.burst))
    return _recording(ts, x, "weight_g"), _truth(onsets)


def _recording(ts: np.ndarray, x: np.ndarray, kind: str) -> Recording:
    meta = RecordingMeta(sample_rate_hz=float(1.0 / np.median(np.diff(ts))), calibration={})
    return Recording(pd.DataFrame({"t_s": ts, kind: x}), meta)


def _truth(onsets: list[float]) -> list[Event]:
    return [Event(t, t, 0.0, "truth", 1.0, end_s=t + 60.0) for t in onsets]


def score(cond: Condition, seeds: int) -> dict[str, float]:
    """F1, median latency and retracted alerts per hour over ``seeds`` sessions."""
    scores, retracted = [], 0
    for seed in range(seeds):
        rec, truth = session(cond, seed)
        pipeline = Pipeline(rec.channels, rec.meta.calibration)
        done = [e for e in pipeline.process(rec.to_block()) + pipeline.flush() if e.complete]
        retracted += sum(e.label == "retracted" for e in done)
        found = [e for e in done if e.label == "letdown"]
        scores.append(score_events(found, truth, DURATION_S))
    pooled = combine(scores)
    return {
        "F1": pooled.f1,
        "latency med s": pooled.latency_median_s,
        "retracted/h": retracted / (pooled.duration_s / 3600.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plot", nargs="?", default="/tmp/letdown_envelope.png")
    parser.add_argument("--seeds", type=int, default=6, help="sessions per value")
    args = parser.parse_args()
    rows = []
    for name, (field, values) in SWEEPS.items():
        base = replace(Condition(), **BASES.get(name, {}))
        for value in values:
            cast = int(value) if field == "burst" else float(value)
            rows.append(
                {
                    "condition": name,
                    "value": value,
                    **score(replace(base, **{field: cast}), args.seeds),
                }
            )
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 160)
    print(f"\nOperating envelope ({args.seeds} sessions of 10 min per value, 3 letdowns each)\n")
    print(table.round(3).to_string(index=False))
    _plot(table, args.plot)
    print(f"\nplot: {args.plot}")


def _plot(table: pd.DataFrame, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(SWEEPS)
    cols = 4
    fig, axes = plt.subplots(math.ceil(len(names) / cols), cols, figsize=(16, 11))
    for ax, name in zip(axes.flat, names, strict=False):
        part = table[table["condition"] == name]
        ax.plot(part["value"], part["F1"], "o-", color="tab:blue")
        ax.set_ylim(0, 1.05)
        ax.set_title(name, fontsize=9)
        ax.set_ylabel("F1", color="tab:blue", fontsize=8)
        twin = ax.twinx()
        twin.plot(part["value"], part["latency med s"], "s--", color="tab:red")
        twin.set_ylabel("latency s", color="tab:red", fontsize=8)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


if __name__ == "__main__":
    main()
