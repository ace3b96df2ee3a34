"""Physiological simulator of a breast-pump session: a seeded generator, no clock.

It returns the recording a sensor would have produced *and* the truth behind it
(letdown onsets, the smooth milk flow), so tests and benchmarks can score the
detector. Physiology (see DESIGN.md): a stimulation phase with fast, light
cycles (60-120 /min) switching to expression (about 35-70 /min) after ~2 min
or at the first letdown; the first milk ejection about a minute in (wide
spread; some sessions have none), 2-5 ejections per session, the first
usually the largest (Ramsay et al. 2004; Prime et al. 2011); flow rises
within seconds to tens of seconds and decays over minutes, so a later
ejection starts while flow is still high (Kent et al. 2008); both sides eject
together in ~95% of letdowns when double pumping (Prime et al. 2009). Milk
arrives in spurts, one per pump cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..model import CHANNEL_KINDS, Event
from ..recording import DEFAULT_G_PER_ML, Recording, RecordingMeta

#: Every artifact the simulator can add; ``SimConfig.artifacts`` picks a subset.
ARTIFACTS: tuple[str, ...] = (
    "noise",  # sensor noise (white)
    "ripple",  # the vacuum cycle shows on weight/pressure, frequency changes at the phase switch
    "spurts",  # milk arrives once per pump cycle
    "touches",  # a hand on the bottle: tens of grams for 0.3-2.5 s
    "spikes",  # single-sample glitches (bubbles in a flow sensor, ADC glitches)
    "tare",  # bottle placed a few seconds in: a step from zero
    "lift",  # bottle lifted off in the last seconds
    "drift",  # load-cell / pressure-sensor drift
    "quantisation",  # ADC steps
    "lost",  # randomly lost samples
    "gaps",  # seconds-long dropouts
    "jitter",  # timestamp jitter
    "harmonics",  # non-sinusoidal vacuum ripple (2nd/3rd harmonics), up to ~10 mL p-p
    "sensor_model",  # BLE scale (smoothing, burst stamps), HX711 (vibration), drop counter,
    #                  thermal flow sensor (lag, offset, bubbles), optical level sensor
    "looks",  # the bottle lifted 2-8 s to look at it, or swapped for an empty one
)
#: The artifacts a session gets by default (the standard corpus); the sensor models of
#: issue 12 (``harmonics``, ``sensor_model``, ``looks``) are opt-in until the detector's
#: regression floor has been re-established on them.
DEFAULT_ARTIFACTS: frozenset[str] = frozenset(ARTIFACTS) - {"harmonics", "sensor_model", "looks"}
_PHYSICS_RATE_HZ = 100.0


@dataclass(frozen=True)
class SimConfig:
    """What session to simulate. Times in s, rates in Hz.

    Args:
        kind: channel kind: ``flow_ml_s``, ``volume_ml``, ``weight_g`` or ``pressure_pa``.
        double: double pumping: ``<kind>_left`` and ``<kind>_right`` channels.
        duration_s: session length, s.
        sample_rate_hz: nominal sensor sample rate, Hz.
        letdowns: number of letdowns; ``None`` draws 0-6 (mostly 2-5).
        letdown_times_s: exact onsets, s (overrides ``letdowns``).
        artifacts: which of :data:`ARTIFACTS` to add.
        pa_per_ml: pressure of the milk column per mL collected, Pa/mL.
        g_per_ml: milk density, g/mL.
        start_time: UTC start written to the sidecar.
        wide_physiology: the full range of issue 12: later letdowns down to 0.035 mL/s,
            rises of 3-25 s (smoothstep or saturating), some 45-70 s after the previous.
    """

    kind: str = "weight_g"
    double: bool = False
    duration_s: float = 900.0
    sample_rate_hz: float = 20.0
    letdowns: int | None = None
    letdown_times_s: tuple[float, ...] | None = None
    artifacts: frozenset[str] = field(default_factory=lambda: DEFAULT_ARTIFACTS)
    wide_physiology: bool = False
    pa_per_ml: float = 5.0
    g_per_ml: float = DEFAULT_G_PER_ML
    start_time: str = "2026-01-05T07:30:00+00:00"

    def __post_init__(self) -> None:
        if self.kind not in CHANNEL_KINDS:
            raise ConfigError(
                f"unknown channel kind {self.kind!r}; expected one of {', '.join(CHANNEL_KINDS)}",
                "kind",
            )
        if not 1.0 <= self.sample_rate_hz <= 1000.0:
            raise ConfigError(
                f"sample rate {self.sample_rate_hz} Hz is out of range; expected 1-1000 Hz",
                "sample_rate_hz",
            )
        if not 10.0 <= self.duration_s <= 86400.0:
            raise ConfigError(
                f"duration {self.duration_s} s is out of range; expected 10 s to 24 h",
                "duration_s",
            )
        unknown = set(self.artifacts) - set(ARTIFACTS)
        if unknown:
            raise ConfigError(
                f"unknown artifact {sorted(unknown)[0]!r}; expected some of {', '.join(ARTIFACTS)}",
                "artifacts",
            )
        if self.letdowns is not None and not 0 <= self.letdowns <= 20:
            raise ConfigError(f"letdowns must be 0-20, got {self.letdowns}", "letdowns")

    @property
    def channels(self) -> tuple[str, ...]:
        """The recording's channel names."""
        if self.double:
            return (f"{self.kind}_left", f"{self.kind}_right")
        return (self.kind,)


@dataclass
class Simulation:
    """A simulated session: what the sensor recorded and the truth behind it."""

    recording: Recording
    """The recording as a sensor would have produced it."""
    truth: list[Event]
    """True letdowns (complete events; ``channel`` is ``both`` or the one side)."""
    true_flow: pd.DataFrame
    """``t_s`` (the recording's sample times) and the smooth true flow per channel, mL/s."""
    config: SimConfig
    seed: int


def _letdown_plan(
    cfg: SimConfig, rng: np.random.Generator
) -> list[tuple[float, float, float, float]]:
    """Onset s, amplitude mL/s, rise s, decay s of each letdown."""
    if cfg.letdown_times_s is not None:
        onsets = sorted(float(t) for t in cfg.letdown_times_s)
    else:
        if cfg.letdowns is None:
            n = int(rng.choice([0, 1, 2, 3, 4, 5, 6], p=[0.06, 0.08, 0.2, 0.28, 0.22, 0.12, 0.04]))
        else:
            n = cfg.letdowns
        onsets = []
        # First ejection about a minute in, from under 30 s to several minutes (Ramsay 2006).
        t = float(np.clip(rng.lognormal(np.log(75.0), 0.45), 20.0, 300.0))
        for _ in range(n):
            if t > cfg.duration_s - 60.0:
                break
            onsets.append(t)
            # Some ejections come only 45-70 s after the previous one, on its decay.
            close = cfg.wide_physiology and rng.random() < 0.2
            t += float(rng.uniform(45.0, 70.0) if close else rng.uniform(80.0, 260.0))
    plan, amp = [], float(rng.uniform(0.5, 1.8))
    for i, onset in enumerate(onsets):
        if i > 0:  # later ejections usually smaller (Prime et al. 2011)
            if cfg.wide_physiology:
                amp = max(0.035, amp * float(rng.uniform(0.3, 0.95)))
            else:
                amp = max(0.25, amp * float(rng.uniform(0.5, 0.95)))
        rise = float(rng.uniform(3.0, 25.0 if cfg.wide_physiology else 20.0))
        decay = float(rng.uniform(30.0, 120.0))
        if cfg.wide_physiology and i % 2:  # not only smoothsteps (sign marks the shape)
            rise = -rise
        plan.append((onset, amp, rise, decay))
    return plan


def _flow_curve(t: np.ndarray, plan: list[tuple[float, float, float, float]]) -> np.ndarray:
    """Smooth true flow, mL/s: each ejection rises (smoothstep) then decays exponentially."""
    flow = np.zeros_like(t)
    for onset, amp, rise, decay in plan:
        saturating = rise < 0  # marked by the plan: a fast rise that saturates
        # Not only smoothsteps: every other ejection rises fast then saturates.
        rise = abs(rise)
        x = np.clip((t - onset) / rise, 0.0, 1.0)
        smooth = x * x * (3.0 - 2.0 * x)
        shape = (1 - np.exp(-4 * x)) / (1 - np.exp(-4)) if saturating else smooth
        after = np.maximum(t - onset - rise, 0.0)
        flow += amp * shape * np.exp(-after / decay)
    return flow


def _pump_phase(t: np.ndarray, switch_s: float, rng: np.random.Generator) -> np.ndarray:
    """Cycle phase (cycles) of the pump: stimulation then expression."""
    stim_hz = rng.uniform(1.0, 2.0)  # 60-120 cycles/min
    expr_hz = rng.uniform(0.6, 1.15)  # ~35-70 cycles/min
    rate = np.where(t < switch_s, stim_hz, expr_hz)
    return np.cumsum(rate) / _PHYSICS_RATE_HZ


def simulate_session(config: SimConfig | None = None, seed: int = 0) -> Simulation:
    """Simulate one pump session.

    Args:
        config: what to simulate (default: a 15-minute single weight channel, every artifact).
        seed: random seed; the same seed and config give the same session.

    Returns:
        The recording, its true letdowns and the true flow.

    >>> sim = simulate_session(SimConfig(kind="flow_ml_s", duration_s=300, letdowns=1), seed=1)
    >>> len(sim.truth), sim.recording.channels
    (1, ('flow_ml_s',))
    """
    cfg = config or SimConfig()
    rng = np.random.default_rng(seed)
    art = cfg.artifacts
    plan = _letdown_plan(cfg, rng)
    tp = np.arange(0.0, cfg.duration_s, 1.0 / _PHYSICS_RATE_HZ)
    switch_s = min(120.0, plan[0][0] + rng.uniform(0.0, 10.0)) if plan else 120.0
    phase = _pump_phase(tp, switch_s, rng)

    # Sample times: nominal grid, jitter, lost samples, gaps.
    fs = cfg.sample_rate_hz
    ts = np.arange(0.0, cfg.duration_s, 1.0 / fs)
    if "jitter" in art:
        ts = ts + rng.normal(0.0, min(0.003, 0.1 / fs), ts.size)
        ts = np.maximum.accumulate(np.maximum(ts, 0.0))
    keep = np.ones(ts.size, bool)
    if "lost" in art:
        keep &= rng.random(ts.size) > rng.uniform(0.002, 0.02)
    if "gaps" in art and cfg.duration_s > 80.0:
        for _ in range(int(rng.integers(0, 3))):
            start = rng.uniform(30.0, cfg.duration_s - 40.0)
            keep &= ~((ts >= start) & (ts < start + rng.uniform(3.0, 25.0)))
    ts = np.unique(np.round(ts[keep], 3))

    sides = ("_left", "_right") if cfg.double else ("",)
    columns: dict[str, np.ndarray] = {}
    true_columns: dict[str, np.ndarray] = {}
    side_plans: dict[str, list[tuple[float, float, float, float]]] = {}
    one_sided: dict[int, str] = {}
    for i in range(len(plan)):
        if cfg.double and rng.random() < 0.05:  # ~5% of letdowns on one side only
            one_sided[i] = sides[int(rng.integers(0, 2))]
    for side in sides:
        gain = float(rng.uniform(0.6, 1.4)) if cfg.double else 1.0
        sp = []
        for i, (onset, amp, rise, decay) in enumerate(plan):
            if i in one_sided and one_sided[i] != side:
                continue
            shift = float(rng.normal(0.0, 1.0)) if cfg.double else 0.0
            sp.append((max(1.0, onset + shift), amp * gain, rise, decay))
        side_plans[side] = sp
        smooth = _flow_curve(tp, sp) + 0.015 * gain * (tp > (plan[0][0] if plan else tp[-1]))
        spurt = 1.0 + 0.9 * np.cos(2 * np.pi * phase) if "spurts" in art else 1.0
        inst = smooth * spurt
        volume = np.cumsum(inst) / _PHYSICS_RATE_HZ
        name = cfg.kind + side
        true_columns["true_flow_ml_s" + side] = np.interp(ts, tp, smooth)
        columns[name] = _sensor(cfg, rng, tp, ts, inst, volume, phase)

    stamps = ts
    if "sensor_model" in art and cfg.kind == "weight_g" and rng.random() < 0.5:
        # BLE: timestamps taken on arrival, samples come in bursts of 2-4 a few ms apart.
        size = int(rng.integers(2, 5))
        last = np.minimum((np.arange(ts.size) // size + 1) * size - 1, ts.size - 1)
        stamps = np.round(ts[last] + 0.003 * (np.arange(ts.size) % size), 4)
        stamps = np.maximum.accumulate(stamps)
    data = pd.DataFrame({"t_s": stamps, **columns})
    calibration: dict[str, float] = {}
    if cfg.kind == "pressure_pa":
        calibration["pa_per_ml"] = cfg.pa_per_ml
    if cfg.kind == "weight_g":
        calibration["g_per_ml"] = cfg.g_per_ml
    meta = RecordingMeta(
        start_time=cfg.start_time,
        sample_rate_hz=fs,
        device=f"letdown simulator (seed {seed})",
        calibration=calibration,
    )
    truth = _truth_events(cfg, plan, side_plans, one_sided, tp)
    return Simulation(
        recording=Recording(data=data, meta=meta),
        truth=truth,
        true_flow=pd.DataFrame({"t_s": ts, **true_columns}),
        config=cfg,
        seed=seed,
    )


def _sensor(
    cfg: SimConfig,
    rng: np.random.Generator,
    tp: np.ndarray,
    ts: np.ndarray,
    inst_flow: np.ndarray,
    volume: np.ndarray,
    phase: np.ndarray,
) -> np.ndarray:
    """What one sensor channel reads at the sample times ``ts``."""
    art, kind = cfg.artifacts, cfg.kind
    if kind == "flow_ml_s":
        x = np.interp(ts, tp, inst_flow)
        if "noise" in art:
            x = x + rng.normal(0.0, 1.0, ts.size) * (0.03 + 0.08 * x)
        if "spikes" in art:
            idx = rng.choice(ts.size, size=int(rng.integers(0, 12)), replace=False)
            x[idx] += rng.uniform(1.0, 4.0, idx.size)
        step = 0.01
    else:
        per_ml = {"volume_ml": 1.0, "weight_g": cfg.g_per_ml, "pressure_pa": cfg.pa_per_ml}[kind]
        x = np.interp(ts, tp, volume) * per_ml
        if "ripple" in art:  # vacuum pull on bottle/tubing at the cycle frequency
            amp = per_ml * rng.uniform(0.3, 2.5)
            ph = 2 * np.pi * np.interp(ts, tp, phase)
            wave = np.sin(ph)
            if "harmonics" in art:  # a vacuum pulse is not a sine: strong 2nd/3rd harmonics
                h2, h3 = rng.uniform(0.0, 0.8, 2)
                wave = wave + h2 * np.sin(2 * ph + rng.uniform(0, 6.3)) + h3 * np.sin(3 * ph)
                if kind == "pressure_pa":  # a sensor coupled to the vacuum: up to ~10 mL p-p
                    amp = per_ml * rng.uniform(0.5, 4.0)
            x = x + amp * wave
        if "drift" in art:
            rate = per_ml * rng.uniform(-3.0, 3.0) / 600.0  # up to 3 mL-equivalent per 10 min
            walk = (
                np.cumsum(rng.normal(0.0, 1.0, ts.size))
                * per_ml
                * 0.02
                / np.sqrt(cfg.sample_rate_hz)
            )
            x = x + rate * ts + walk
        if "touches" in art:
            for _ in range(int(rng.integers(0, 5))):
                x = x + _touch(rng, ts, cfg.duration_s) * per_ml / cfg.g_per_ml
        if "spikes" in art:
            idx = rng.choice(ts.size, size=int(rng.integers(0, 8)), replace=False)
            x[idx] += per_ml * rng.uniform(-30.0, 30.0, idx.size)
        looks = "looks" in art and kind == "weight_g" and cfg.duration_s > 60.0
        if looks and rng.random() < 0.15:  # swapped for an empty bottle: the milk leaves
            swap = rng.uniform(0.5, 0.9) * cfg.duration_s
            x = np.where(ts >= swap, x - np.interp(swap, ts, x) + x[0], x)
        if "tare" in art and kind == "weight_g":
            placed = rng.uniform(1.0, 8.0)
            x = np.where(ts >= placed, x + rng.uniform(60.0, 160.0), rng.normal(0.0, 0.2, ts.size))
        if "looks" in art and kind == "weight_g" and cfg.duration_s > 60.0:
            for _ in range(int(rng.integers(0, 3))):  # lifted to look at it: the scale reads ~0
                start = rng.uniform(30.0, cfg.duration_s - 30.0)
                x = np.where((ts >= start) & (ts < start + rng.uniform(2.0, 8.0)), 0.0, x)
        if "lift" in art and kind != "volume_ml":
            lift_s = cfg.duration_s - rng.uniform(2.0, 6.0)
            frac = np.clip((ts - lift_s) / rng.uniform(0.3, 1.5), 0.0, 1.0)
            x = x * (1.0 - frac)
        if "noise" in art:
            x = x + rng.normal(0.0, per_ml * rng.uniform(0.05, 0.3), ts.size)
        step = {"volume_ml": 0.1, "weight_g": 0.1, "pressure_pa": 0.5}[kind]
        if "quantisation" in art:
            step = float(rng.choice([step, 10 * step], p=[0.7, 0.3]))
    if "sensor_model" in art:
        x, step = _sensor_model(cfg, rng, tp, ts, inst_flow, volume, phase, x, step)
    return np.round(x / step) * step


def _sensor_model(cfg, rng, tp, ts, inst_flow, volume, phase, x, step):
    """A real sensor type's own physics on top of the reading ``x``: returns (x, step).

    Weight: a BLE kitchen scale smooths over 0.3-1 s itself, or an HX711 load cell picks
    up the pump motor's vibration. Flow: a thermal sensor lags (first order, up to 2 s),
    has an offset and air-bubble spikes; a drop counter reports whole drops of
    0.04-0.06 mL. Volume: an optical level sensor reads in 0.5 mL steps.
    """
    kind, fs = cfg.kind, cfg.sample_rate_hz
    if kind == "weight_g" and rng.random() < 0.5:  # BLE scale: its own moving average
        n = max(1, round(rng.uniform(0.3, 1.0) * fs))
        x = np.convolve(np.r_[np.full(n - 1, x[0]), x], np.full(n, 1.0 / n), "valid")
    elif kind == "weight_g":  # HX711: motor vibration at a few times the pump cycle
        vib = rng.uniform(0.2, 2.0) * np.sin(2 * np.pi * rng.uniform(3.0, 4.5) * ts)
        x = x + vib * np.abs(np.sin(np.pi * np.interp(ts, tp, phase)))
    if kind == "flow_ml_s" and rng.random() < 0.5:  # drop counter: whole drops per sample
        drop = rng.uniform(0.04, 0.06)
        counts = np.floor(np.interp(ts, tp, volume) / drop)
        x = np.diff(np.r_[counts[0], counts]) * drop / np.diff(np.r_[ts[0] - 1 / fs, ts])
        return x, 1e-9
    if kind == "flow_ml_s":  # thermal: first-order lag, offset, bubbles
        tau = rng.uniform(0.2, 2.0)
        a = np.exp(-np.diff(np.r_[ts[0], ts]) / tau)
        y, acc = np.empty_like(x), x[0]
        for i in range(x.size):
            acc = a[i] * acc + (1.0 - a[i]) * x[i]
            y[i] = acc
        x = y + rng.uniform(-0.03, 0.03)
        idx = rng.choice(ts.size, size=int(rng.integers(0, 10)), replace=False)
        x[idx] += rng.choice([-1.0, 1.0], idx.size) * rng.uniform(0.5, 3.0, idx.size)
    if kind == "volume_ml":  # optical level sensor: 0.5 mL steps
        step = 0.5
    return x, step


def _touch(rng: np.random.Generator, ts: np.ndarray, duration_s: float) -> np.ndarray:
    """A hand on the bottle: -40..+150 g for 0.2-3 s, with soft edges, g.

    Placed anywhere in the session away from its first and last tenth (a short session
    gets its touch in the middle: ``letdown live --duration 10`` must work).
    """
    margin = min(10.0, 0.1 * duration_s)
    start = rng.uniform(margin, max(margin, duration_s - margin - 3.0))
    length = rng.uniform(0.2, 3.0)
    edge = rng.uniform(0.05, 0.3)
    grams = rng.uniform(10.0, 150.0) if rng.random() < 0.8 else -rng.uniform(10.0, 40.0)
    up = np.clip((ts - start) / edge, 0.0, 1.0)
    down = np.clip((start + length - ts) / edge, 0.0, 1.0)
    return grams * np.minimum(up, down)


def _truth_events(
    cfg: SimConfig,
    plan: list[tuple[float, float, float, float]],
    side_plans: dict[str, list[tuple[float, float, float, float]]],
    one_sided: dict[int, str],
    tp: np.ndarray,
) -> list[Event]:
    """Complete truth events: onset = earliest side's onset, end = next onset or session end."""
    events = []
    total = sum(_flow_curve(tp, sp) for sp in side_plans.values())
    for i, (onset, _amp, _rise, _decay) in enumerate(plan):
        side_onsets = {}
        for side, sp in side_plans.items():
            match = [p[0] for p in sp if abs(p[0] - onset) < 5.0]
            if match:
                side_onsets[side.lstrip("_") or "single"] = match[0]
        first = min(side_onsets.values())
        end = plan[i + 1][0] if i + 1 < len(plan) else cfg.duration_s
        window = (tp >= first) & (tp < end)
        channel = "both" if cfg.double else cfg.kind
        if i in one_sided:
            channel = cfg.kind + one_sided[i]
        events.append(
            Event(
                onset_s=round(first, 3),
                detected_s=round(first, 3),
                peak_flow_ml_s=float(total[window].max()) if window.any() else 0.0,
                channel=channel,
                score=1.0,
                end_s=round(end, 3),
                volume_ml=float(total[window].sum() / _PHYSICS_RATE_HZ),
                side_onsets_s=side_onsets if cfg.double else {},
                one_sided=i in one_sided,
            )
        )
    return events


def corpus_config(index: int) -> SimConfig:
    """The ``index``-th session of the standard mixed corpus (benchmarks and tests).

    It cycles through every channel kind, sample rates of 10-100 Hz, single and
    double pumping, every artifact and random subsets of them, and sessions
    without a letdown (one in eight).
    """
    rng = np.random.default_rng(10_000 + index)
    artifacts = DEFAULT_ARTIFACTS
    if index % 10 >= 7:  # some sessions with only a random subset of artifacts
        artifacts = frozenset(a for a in ARTIFACTS if a in DEFAULT_ARTIFACTS and rng.random() < 0.5)
    return SimConfig(
        kind=CHANNEL_KINDS[index % 4],
        sample_rate_hz=(10.0, 20.0, 50.0, 100.0)[(index // 4) % 4],
        double=index % 5 == 4,
        duration_s=(900.0, 1200.0)[(index // 16) % 2],
        letdowns=0 if index % 8 == 7 else None,
        artifacts=artifacts,
    )


def simulate_corpus(n: int, first: int = 0) -> Iterator[Simulation]:
    """Sessions ``first`` .. ``first + n - 1`` of the standard corpus (fixed seeds)."""
    for index in range(first, first + n):
        yield simulate_session(corpus_config(index), seed=index)
