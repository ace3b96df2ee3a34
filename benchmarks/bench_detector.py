"""Accuracy, latency, speed and memory of the letdown detector, with baselines.

Run: ``python benchmarks/bench_detector.py [--sessions 200] [--quick] [--sensor-models]``
(or ``--corpus DIR`` to score a folder of recordings with annotations)

Prints tables:
1. accuracy over a simulated corpus (fixed seeds) mixing every channel kind,
   10-100 Hz, single/double pumping and every artifact, per channel kind and
   overall, for our detector and two baselines run in the same process: a
   fixed 2-minute timer (what 2-phase pumps assume) and ruptures' PELT on the
   flow estimate (offline change points, rises kept);
2. latency against an oracle: for each true letdown, the first moment the
   simulator's noise-free flow, passed through fixed causal filters (the round-2
   chain: three 1/0.6 s boxcars and a 0.1 Hz low-pass, kept so the oracle stays
   comparable across versions), rises 3 noise-sigmas (that recording's measured
   noise through the same chain) above its level at onset;
3. speed: samples/s for whole-file detection, 1-sample chunks, and PELT;
4. memory: peak RSS while streaming 24 h at 100 Hz in 1 s chunks.
"""

from __future__ import annotations

import argparse
import gc
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from letdown_detect.model import Event
from letdown_detect.params import DetectorConfig
from letdown_detect.pipeline import Pipeline, detect_recording, flow_frame, ml_per_unit
from letdown_detect.recording import Recording
from letdown_detect.research.evaluate import Scores, combine, score_events
from letdown_detect.sources.simulate import (
    ARTIFACTS,
    Simulation,
    corpus_config,
    simulate_session,
)

ORACLE_SIGMAS = 3.0
#: The oracle's fixed chain (see the module docstring): no pump-cycle measurement.
ORACLE_CONFIG = DetectorConfig(smoother_boxes=3, cumulative_cutoff_hz=0.1, cycle_min_corr=2.0)


@dataclass
class Result:
    kind: str
    double: bool
    ours: Scores
    timer: Scores
    pelt: Scores | None
    oracle_latency_s: np.ndarray
    samples: int
    seconds: float
    pelt_seconds: float
    retracted: int = 0


def clean_recording(sim: Simulation) -> Recording:
    """The same session as a noise-free sensor would record it (same times, same kind)."""
    t = sim.true_flow["t_s"].to_numpy()
    data = {"t_s": t}
    for name in sim.recording.channels:
        side = name[len(sim.config.kind) :]
        flow = sim.true_flow["true_flow_ml_s" + side].to_numpy()
        if sim.config.kind == "flow_ml_s":
            data[name] = flow
        else:
            volume = np.r_[0.0, np.cumsum(0.5 * (flow[1:] + flow[:-1]) * np.diff(t))]
            data[name] = volume / ml_per_unit(name, sim.recording.meta.calibration)
    return Recording(pd.DataFrame(data), sim.recording.meta)


def oracle_latencies(sim: Simulation, delay_s: float) -> np.ndarray:
    """Earliest possible detection latency of each true letdown, s (see module doc)."""
    measured = flow_frame(sim.recording, ORACLE_CONFIG)
    ideal = flow_frame(clean_recording(sim), ORACLE_CONFIG)
    merged = measured.merge(ideal, on="t_s", suffixes=("", "_ideal")).dropna()
    residual = merged["flow_ml_s"] - merged["flow_ml_s_ideal"]
    sigma = 1.4826 * float(np.median(np.abs(residual - residual.median())))
    t = ideal["t_s"].to_numpy() + delay_s  # when each filtered value is available
    f = ideal["flow_ml_s"].to_numpy()
    out = []
    for event in sim.truth:
        start = np.searchsorted(t, event.onset_s)
        level = f[start]
        above = np.flatnonzero(f[start:] - level > ORACLE_SIGMAS * sigma)
        out.append(t[start + above[0]] - event.onset_s if above.size else math.nan)
    return np.array(out)


def detect_counting_retractions(
    rec: Recording, config: DetectorConfig | None = None
) -> tuple[list[Event], int]:
    """Complete letdowns of a recording, and how many detections were announced live and
    then retracted (they reached the parent: a notification and a mood prompt)."""
    pipeline = Pipeline(rec.channels, rec.meta.calibration, config)
    done = [e for e in pipeline.process(rec.to_block()) + pipeline.flush() if e.complete]
    return [e for e in done if e.label == "letdown"], sum(e.label == "retracted" for e in done)


def timer_baseline(duration_s: float) -> list[Event]:
    """A 2-phase pump's assumption: one letdown at the 2-minute switch."""
    return [Event(120.0, 120.0, 0.0, "timer", 1.0, end_s=duration_s)] if duration_s > 120 else []


def pelt_baseline(recording: Recording) -> tuple[list[Event], float]:
    """ruptures PELT (l2 cost) on the 1 Hz flow estimate; rising change points are letdowns."""
    import ruptures

    start = time.perf_counter()
    flow = flow_frame(recording).dropna()
    t = flow["t_s"].to_numpy()[::10]
    f = flow["flow_ml_s"].to_numpy()[::10]
    sigma = max(1e-3, 1.4826 * float(np.median(np.abs(np.diff(f)))) / math.sqrt(2))
    algo = ruptures.Pelt(model="l2", min_size=10, jump=5).fit(f.reshape(-1, 1))
    bkps = algo.predict(pen=3 * sigma**2 * math.log(max(f.size, 2)) * 10)
    events, prev = [], 0
    for b, nxt in zip([0, *bkps[:-1]], bkps, strict=True):
        if b > 0 and f[b:nxt].mean() - f[prev:b].mean() > 0.1:
            events.append(Event(float(t[b]), float(t[min(nxt, t.size) - 1]), 0.0, "pelt", 1.0))
        prev = b
    return events, time.perf_counter() - start


def run_session(index: int, with_pelt: bool, sensor_models: bool = False) -> Result:
    config = corpus_config(index)
    if sensor_models:  # every sensor and situation of issue 12 (see README)
        config = replace(config, artifacts=frozenset(ARTIFACTS), wide_physiology=True)
    sim = simulate_session(config, seed=index)
    rec = sim.recording
    duration = float(rec.data["t_s"].iloc[-1])
    start = time.perf_counter()
    events = detect_recording(rec)
    seconds = time.perf_counter() - start
    retracted = detect_counting_retractions(rec)[1]
    delay = Pipeline(rec.channels, rec.meta.calibration, ORACLE_CONFIG).delay_s
    pelt, pelt_seconds = (None, 0.0)
    if with_pelt:
        found, pelt_seconds = pelt_baseline(rec)
        pelt = score_events(found, sim.truth, duration)
    return Result(
        kind=sim.config.kind,
        double=sim.config.double,
        ours=score_events(events, sim.truth, duration),
        timer=score_events(timer_baseline(duration), sim.truth, duration),
        pelt=pelt,
        oracle_latency_s=oracle_latencies(sim, delay),
        samples=len(rec.data) * len(rec.channels),
        seconds=seconds,
        pelt_seconds=pelt_seconds,
        retracted=retracted,
    )


def accuracy_table(results: list[Result]) -> pd.DataFrame:
    groups = {
        "flow_ml_s": [r for r in results if r.kind == "flow_ml_s"],
        "volume_ml": [r for r in results if r.kind == "volume_ml"],
        "weight_g": [r for r in results if r.kind == "weight_g"],
        "pressure_pa": [r for r in results if r.kind == "pressure_pa"],
        "double pumping": [r for r in results if r.double],
        "no letdown": [r for r in results if r.ours.tp + r.ours.fn == 0],
        "overall": results,
    }
    rows = []
    for name, group in groups.items():
        if not group:
            continue
        ours = combine(r.ours for r in group)
        oracle = np.concatenate([r.oracle_latency_s for r in group])
        oracle = oracle[np.isfinite(oracle)]
        row = {
            "group": name,
            "sessions": len(group),
            "letdowns": ours.tp + ours.fn,
            "F1": ours.f1,
            "precision": ours.precision,
            "recall": ours.recall,
            "|onset err| med s": ours.median_abs_onset_error_s,
            "latency med s": ours.latency_median_s,
            "latency p95 s": ours.latency_p95_s,
            "oracle med s": float(np.median(oracle)) if oracle.size else math.nan,
            "oracle p95 s": float(np.percentile(oracle, 95)) if oracle.size else math.nan,
            "retracted/h": sum(r.retracted for r in group) / (ours.duration_s / 3600.0),
            "false alarms/h": ours.false_alarms_per_h,
            "F1 timer": combine(r.timer for r in group).f1,
        }
        if all(r.pelt is not None for r in group):
            row["F1 PELT"] = combine(r.pelt for r in group).f1
        rows.append(row)
    return pd.DataFrame(rows).set_index("group")


def live_speed(rate_hz: float, samples: int = 6000) -> float:
    """Samples/s through the pipeline one sample at a time, for a sensor at ``rate_hz``.

    Only a sample that closes a 0.1 s grid bin runs the filters and the detector, so
    faster sensors cost less per sample.
    """
    from letdown_detect.sources.simulate import SimConfig

    config = SimConfig(kind="weight_g", sample_rate_hz=rate_hz, duration_s=samples / rate_hz + 60)
    rec = simulate_session(config, seed=11).recording
    block = rec.to_block()
    pieces = block.split([1] * samples)[:samples]
    warm = Pipeline(rec.channels, rec.meta.calibration)  # loads the compiled loops once
    for piece in pieces[:100]:
        warm.process(piece)
    pipeline = Pipeline(rec.channels, rec.meta.calibration)
    start = time.perf_counter()
    for piece in pieces:
        pipeline.process(piece)
    return samples / (time.perf_counter() - start)


def memory_24h() -> list[tuple[float, float]]:
    """(hours streamed, RSS MiB) while streaming 24 h at 100 Hz in 1 s chunks."""
    from letdown_detect.model import SampleBlock
    from letdown_detect.sources.simulate import SimConfig

    sim = simulate_session(SimConfig(kind="weight_g", sample_rate_hz=100.0), seed=7)
    base = sim.recording.to_block()
    period = 900.0
    pipeline = Pipeline(base.channels, sim.recording.meta.calibration)
    proc = psutil.Process()
    marks, hour = [], 0
    gc.collect()
    marks.append((0.0, proc.memory_info().rss / 2**20))
    for rep in range(96):  # 96 x 15 min = 24 h
        t = base.t_s + rep * period
        for start in range(0, t.size, 100):
            stop = start + 100
            pipeline.process(SampleBlock(t[start:stop], base.values[start:stop], base.channels))
        if (rep + 1) % 4 == 0:
            hour += 1
            if hour in (1, 6, 12, 24):
                gc.collect()
                marks.append((float(hour), proc.memory_info().rss / 2**20))
    return marks


def summary_row(pooled: Scores, sessions: int, retracted: int) -> dict[str, float]:
    """The columns every accuracy table shares, from scores pooled over ``sessions``
    recordings with ``retracted`` live alerts taken back."""
    return {
        "sessions": sessions,
        "letdowns": pooled.tp + pooled.fn,
        "F1": pooled.f1,
        "recall": pooled.recall,
        "|onset err| med s": pooled.median_abs_onset_error_s,
        "latency med s": pooled.latency_median_s,
        "latency p95 s": pooled.latency_p95_s,
        "retracted/h": retracted / (pooled.duration_s / 3600.0),
        "false alarms/h": pooled.false_alarms_per_h,
    }


def corpus_table(folder: Path, config: DetectorConfig | None = None) -> pd.DataFrame:
    """Per kind scores of any folder in the recording contract (``*.events.csv`` truth),
    ours beside the 2-minute timer and PELT, with retracted live alerts per hour."""
    from letdown_detect.model import Channel
    from letdown_detect.recording import read_events, read_recording

    rows: dict[str, list[tuple[Scores, Scores, Scores, int]]] = {}
    for csv in sorted(folder.glob("*.csv")):
        if csv.name.endswith(".events.csv"):
            continue
        rec = read_recording(csv)
        truth = read_events(csv.with_name(csv.stem + ".events.csv"))
        duration = float(rec.data["t_s"].iloc[-1])
        found, retracted = detect_counting_retractions(rec, config)
        ours = score_events(found, truth, duration)
        pelt = score_events(pelt_baseline(rec)[0], truth, duration)
        timer = score_events(timer_baseline(duration), truth, duration)
        rows.setdefault(Channel(rec.channels[0]).kind, []).append((ours, timer, pelt, retracted))
    rows["overall"] = [r for group in list(rows.values()) for r in group]
    table = []
    for name, group in rows.items():
        ours = combine(r[0] for r in group)
        table.append(
            {
                "group": name,
                **summary_row(ours, len(group), sum(r[3] for r in group)),
                "F1 timer": combine(r[1] for r in group).f1,
                "F1 PELT": combine(r[2] for r in group).f1,
            }
        )
    return pd.DataFrame(table).set_index("group")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="skip speed and memory runs")
    parser.add_argument("--corpus", type=Path, help="score this folder of recordings instead")
    parser.add_argument(
        "--param", action="append", default=[], help="with --corpus: NAME=VALUE detector setting"
    )
    parser.add_argument(
        "--sensor-models",
        action="store_true",
        help="the corpus with every sensor model and the wide physiology of issue 12",
    )
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 30)
    if args.corpus is not None:
        if not args.corpus.is_dir():
            print(f"{args.corpus} is absent (e.g. ../shared is not here): nothing scored")
            return
        print(f"\nAccuracy on {args.corpus} (tolerance 15 s)\n")
        config = DetectorConfig(**{k: float(v) for k, v in (p.split("=", 1) for p in args.param)})
        print(corpus_table(args.corpus, config).round(3).to_string())
        return
    results = [run_session(i, True, args.sensor_models) for i in range(args.sessions)]
    print(f"\nAccuracy over {args.sessions} simulated sessions (tolerance 15 s)\n")
    print(accuracy_table(results).round(3).to_string())
    if args.quick:
        return
    samples = sum(r.samples for r in results)
    whole = samples / sum(r.seconds for r in results)
    pelt = samples / sum(r.pelt_seconds for r in results)
    rows = [
        {"run": "ours, whole file (corpus)", "samples/s": whole},
        *(
            {"run": f"ours, 1-sample chunks, {rate:g} Hz sensor", "samples/s": live_speed(rate)}
            for rate in (10.0, 50.0, 100.0)
        ),
        {"run": "ruptures PELT on the flow estimate (offline)", "samples/s": pelt},
    ]
    print("\nSpeed (one core)\n")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
    print("\nMemory while streaming 24 h at 100 Hz (8.64 M samples, 1 s chunks)\n")
    print(
        pd.DataFrame(memory_24h(), columns=["hours streamed", "RSS MiB"]).to_string(
            index=False, float_format=lambda v: f"{v:,.1f}"
        )
    )


if __name__ == "__main__":
    main()
