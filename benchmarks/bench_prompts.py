"""How many usable baseline (between-letdown) answers a normal session gets.

    python benchmarks/bench_prompts.py [--sessions 50] [--interval 300 240 180]

Each session is what ``letdown live --seed N`` plays (``simulate_session`` with
the live source's settings, 15-20 min long), run through the real detector in
1 s chunks as a live session sees it: letdowns at their detection time, rises
taken back at the moment they are. The prompt scheduler is ticked once a
second; every baseline question is answered 20 s after it is asked (letdown
questions too, or none of them, the two rows), and the D-MER analysis decides
which baseline answers it can use (at least 3 min after a letdown and not just
before the next). Printed: the share of sessions with two or more usable
baseline answers and with at least one, and the mean number of baseline
questions asked (the burden), per ``baseline_interval_s``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import datetime, timezone

from letdown_detect.mood.dmer import DmerCriteria, MoodAnswer, SessionMood, _classify
from letdown_detect.mood.prompt import PromptConfig, PromptScheduler
from letdown_detect.pipeline import Pipeline
from letdown_detect.sources.simulate import SimConfig, simulate_session

START = datetime(2026, 1, 5, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Seen:
    """What the live session would publish, at session time ``t_s`` (s)."""

    t_s: float
    onset_s: float
    retracted: bool


def live_events(seed: int, duration_s: float) -> tuple[list[Seen], list[float]]:
    """Detections and retractions of one simulated session, and its kept letdown onsets."""
    sim = simulate_session(SimConfig(duration_s=duration_s), seed=seed)
    recording = sim.recording
    pipeline = Pipeline(recording.channels, recording.meta.calibration)
    chunk = max(1, round(recording.meta.sample_rate_hz))  # 1 s of samples
    seen, kept = [], []
    for block in [*recording.blocks(chunk), None]:
        events = pipeline.flush() if block is None else pipeline.process(block)
        now_s = duration_s if block is None else float(block.t_s[-1])
        for e in events:
            if e.label == "retracted":
                seen.append(Seen(now_s, e.onset_s, True))
            elif not e.complete:
                seen.append(Seen(e.detected_s, e.onset_s, False))
            elif e.label == "letdown":
                kept.append(e.onset_s)
    return seen, kept


def usable_baselines(
    seen: list[Seen], kept: list[float], duration_s: float, config: PromptConfig, answer: bool
) -> tuple[int, int]:
    """Baseline answers the analysis can use (each given 20 s after its question), and the
    baseline questions asked."""
    s = PromptScheduler(config)
    answers, pending = [], sorted(seen, key=lambda x: x.t_s)
    asked = 0
    for t in range(int(duration_s) + 1):
        while pending and pending[0].t_s <= t:
            x = pending.pop(0)
            s.withdraw(x.onset_s) if x.retracted else s.on_letdown(x.onset_s, x.t_s)
        asked += sum(p.kind == "baseline" for p in s.tick(float(t)) if p.status == "open")
        p = s.open
        if p is not None and t - p.asked_s >= 20 and (answer or p.kind == "baseline"):
            s.answer(p.number, float(t))
            answers.append(MoodAnswer(float(t), 1, (), p.kind, p.letdown_onset_s))
    session = SessionMood("s", START, "pumping", tuple(kept), tuple(answers))
    return len(_classify(session, DmerCriteria())[1]), asked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--interval", type=float, nargs="+", default=[300.0, 240.0, 180.0])
    args = parser.parse_args()
    runs = []
    for seed in range(args.sessions):
        duration_s = 900.0 + (300.0 * seed) / max(args.sessions - 1, 1)  # 15-20 min
        runs.append((duration_s, *live_events(seed, duration_s)))
    print(f"{args.sessions} sessions of 15-20 min (letdown live --seed 0..{args.sessions - 1})")
    for interval in args.interval:
        config = PromptConfig(baseline_interval_s=interval)
        for answer in (True, False):
            results = [usable_baselines(sn, kp, d, config, answer) for d, sn, kp in runs]
            counts = [usable for usable, _ in results]
            two = sum(c >= 2 for c in counts) / len(counts)
            one = sum(c >= 1 for c in counts) / len(counts)
            asked = sum(n for _, n in results) / len(results)
            who = "letdown questions answered" if answer else "letdown questions unanswered"
            print(
                f"baseline_interval_s {interval:4.0f}, {who:29s}: two or more {two:4.0%}, "
                f"at least one {one:4.0%}, {asked:.1f} asked"
            )


if __name__ == "__main__":
    main()
