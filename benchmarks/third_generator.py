"""Independent test recordings for the letdown detector, built from physics, not from the project.

Usage:  python benchmarks/third_generator.py --out DIR [--sessions 120]

Writes ``DIR/gNNN.csv``, ``gNNN.json`` and ``gNNN.events.csv`` per session (the project's
recording contract); session i draws everything from ``np.random.default_rng(70_000 + i)``.

Physics choices
* Truth lives on a 200 Hz grid. A letdown is a cycle-mean milk flow that is exactly zero
  before its onset, rises over 3-25 s (smoothstep, saturating exponential, linear ramp,
  truncated logistic or two-stage) to 0.035-0.6 mL/s, then decays to 10 % in 1-4 min
  (exponential, hyperbolic, plateau-then-exponential or Gaussian). Letdowns add, on top
  of a 0-0.02 mL/s background, times a slow multiplicative wobble of at most 8 %.
* Letdown timing: first one 20-300 s in (beta-skewed to ~2 min), then gaps of 45-70 s
  (half the time, riding on the previous decay) or 70-260 s; 1 session in 8 has none;
  counts ~ N(5 per 15 min, 1.6) clipped to 1-6. Later peaks are 35-115 % of the first,
  with some small ones (0.035-0.08 mL/s).
* Pump: 1.2-2 Hz stimulation with a weaker vacuum, then 0.6-1.2 Hz expression from a few
  seconds after the first letdown (the parent presses the button) or on a ~2 min timer,
  sometimes another speed change later. Phase is continuous; the pump may stop at the
  end, which also stops the flow.
* Milk comes in spurts: instantaneous flow = cycle-mean flow x max(0, cos(phase - phi))**p
  normalised to unit cycle mean x a per-cycle log-normal factor with mean 1; the volume
  is its running integral. Double pumping shares the pump phase; each side's letdown
  starts within +/-4 s of a common reflex time with its own size and shape. The
  ground-truth onset is the earliest side's onset.
* Sensors sample the truth on their own clock. Timestamps then get jitter (or BLE
  arrival bursts), lost samples and gaps (or BLE dropouts up to a minute), and are made
  strictly increasing.
  - BLE scale: tare + 1.025-1.035 g/mL milk + non-sinusoidal pump tug, through the
    scale's own first-order or moving-average smoothing, 0.1 g steps, sometimes a
    display dead band.
  - HX711: pump vibration with harmonics, conversion averaging over one sample period,
    warm-up exponential plus random-walk drift, 0.05-0.5 g noise, rare single-sample
    glitches.
  - Drop counter: drops of 0.04-0.06 mL (+/-4 % each) cross the integrated volume;
    the device reports drops x 0.05 mL x nominal rate, with rare missed or doubled drops.
  - Thermal flow: gain error, first-order lag up to 2 s on the spurting flow, offset and
    drift, noise, single-sample air-bubble spikes of either sign.
  - Optical level: level + meniscus slosh + noise, floored to 0.5 mL steps, so it
    flickers between adjacent steps near a threshold.
  - Hydrostatic pressure: true Pa/mL within 5 % of the stated calibration, vacuum ripple
    with strong 2nd/3rd harmonics up to 10 mL-equivalent peak to peak, offset, drift.
* Handling (weight, level, pressure): bottle placed in the first seconds or tared with it
  on; lifted to look (weight ~0, or the liquid column tilts); swapped for an empty bottle
  (level drops for good); touched (-40..+150 g, or a squeeze/slosh); lifted off at the end.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Rng = np.random.Generator
Bounds = tuple[float, float]

SEED_BASE = 70_000
DEFAULT_SESSIONS = 120
FINE_RATE_HZ = 200.0
FINE_TAIL_S = 1.0
START_DAY = datetime(2026, 5, 1, tzinfo=timezone.utc)
TWO_PI = 2.0 * np.pi
LN10 = float(np.log(10.0))

# Session and letdown physiology.
SESSION_MINUTES: Bounds = (8.0, 20.0)
NO_LETDOWN_PROBABILITY = 1 / 8
LETDOWNS_PER_15_MIN = 5.0
LETDOWN_COUNT_SD = 1.6
MIN_LETDOWNS, MAX_LETDOWNS = 1, 6
FIRST_ONSET_S: Bounds = (20.0, 300.0)
FIRST_ONSET_BETA: Bounds = (1.5, 3.0)
CLOSE_GAP_S: Bounds = (45.0, 70.0)
LONG_GAP_S: Bounds = (70.0, 260.0)
CLOSE_GAP_PROBABILITY = 0.5
MIN_FLOW_AFTER_ONSET_S = 45.0
RISE_TIME_S: Bounds = (3.0, 25.0)
PEAK_FLOW_ML_S: Bounds = (0.1, 0.6)
SMALL_PEAK_ML_S: Bounds = (0.035, 0.08)
PEAK_LIMITS_ML_S: Bounds = (0.035, 0.6)
SMALL_FIRST_PROBABILITY = 0.08
SMALL_LATER_PROBABILITY = 0.15
LATER_PEAK_RATIO: Bounds = (0.35, 1.15)
DECAY_TO_10PCT_S: Bounds = (60.0, 240.0)
BACKGROUND_PROBABILITY = 0.5
BACKGROUND_ML_S: Bounds = (0.002, 0.02)
WOBBLE_MAX = 0.08
WOBBLE_TIMESCALE_S = 15.0
WOBBLE_CLIP_SD = 2.5
RISE_SHAPES = ("smoothstep", "saturating", "linear", "logistic", "two_stage")
DECAY_SHAPES = ("exponential", "hyperbolic", "plateau_exponential", "gaussian")

# Double pumping.
DOUBLE_PUMP_PROBABILITY = 1 / 7
SIDE_SUFFIXES = ("_left", "_right")
SIDE_ONSET_SD_S = 1.5
SIDE_ONSET_MAX_S = 4.0
SIDE_SUPPLY_SD = 0.3
SIDE_LETDOWN_SD = 0.2

# Pump.
STIMULATION_HZ: Bounds = (1.2, 2.0)
EXPRESSION_HZ: Bounds = (0.6, 1.2)
STIMULATION_VACUUM: Bounds = (0.4, 0.8)
EXPRESSION_VACUUM: Bounds = (0.9, 1.1)
SWITCH_AT_LETDOWN_PROBABILITY = 0.6
SWITCH_REACTION_S: Bounds = (1.0, 15.0)
SWITCH_TIMER_S = (120.0, 25.0, 60.0, 200.0)  # mean, sd, min, max
SECOND_CHANGE_PROBABILITY = 0.35
SECOND_CHANGE_RATIO: Bounds = (0.7, 1.4)
SECOND_CHANGE_VACUUM: Bounds = (0.85, 1.2)
SECOND_CHANGE_MARGIN_S = 60.0
END_LIFT_PROBABILITY = 0.5
END_LIFT_S: Bounds = (2.0, 12.0)
PUMP_OFF_BEFORE_LIFT_S: Bounds = (0.0, 3.0)
SPURT_SHARPNESS: Bounds = (1.0, 8.0)
CYCLE_SIZE_SD: Bounds = (0.1, 0.35)

# Handling of the bottle.
PLACED_AT_START_PROBABILITY = 0.5
PLACE_TIME_S: Bounds = (0.5, 4.0)
PLACE_RAMP_S: Bounds = (0.3, 1.0)
HAND_RAMP_S = 0.3
LIFT_COUNT_PROBABILITIES = (0.6, 0.3, 0.1)
LIFT_LENGTH_S: Bounds = (2.0, 8.0)
SWAP_PROBABILITY = 0.12
SWAP_MIN_SESSION_S = 600.0
SWAP_LENGTH_S: Bounds = (4.0, 12.0)
SWAP_TARE_SD_G = 4.0
TOUCH_RATE = 0.8
MAX_TOUCHES = 4
TOUCH_LENGTH_S: Bounds = (0.2, 3.0)
TOUCH_FORCE_G: Bounds = (-40.0, 150.0)
IMPACT_G: Bounds = (5.0, 40.0)
IMPACT_LENGTH_S: Bounds = (0.1, 0.3)
HANDLING_WINDOW_S: Bounds = (30.0, 20.0)  # after start, before end
HANDLING_MARGIN_S = 3.0
PLACEMENT_TRIES = 20
TILT_LEVEL: Bounds = (0.3, 1.6)
TILT_WANDER = 0.3
TILT_TIMESCALE_S = 0.7
SQUEEZE_ML: Bounds = (-5.0, 30.0)
SLOSH_ML: Bounds = (0.3, 2.0)
SLOSH_HZ: Bounds = (1.0, 3.0)
SLOSH_DAMPING_S: Bounds = (0.3, 1.0)

# Timestamps.
JITTER_SD_PERIODS: Bounds = (0.0, 0.2)
JITTER_CLIP_PERIODS = 0.45
LOSS_PROBABILITY: Bounds = (0.0, 0.01)
GAP_COUNT_PROBABILITIES = (0.5, 0.35, 0.15)
GAP_LENGTH_S: Bounds = (0.5, 20.0)
BLE_DROPOUT_COUNT_PROBABILITIES = (0.45, 0.4, 0.15)
BLE_DROPOUT_LENGTH_S: Bounds = (3.0, 60.0)
BLE_BURST_SIZE = (2, 4)
BLE_LATENCY_S: Bounds = (0.015, 0.06)
BLE_SPACING_S: Bounds = (0.002, 0.008)
MIN_TIME_STEP_S = 1e-3

# Sensors.
MILK_DENSITY_G_ML: Bounds = (1.025, 1.035)
NOMINAL_DENSITY_G_ML = 1.03
TARE_G: Bounds = (80.0, 200.0)
SCALE_RESOLUTION_G = 0.1
SCALE_SMOOTHING_S: Bounds = (0.3, 1.0)
SCALE_LAG_PROBABILITY = 0.5  # else a moving average
SCALE_NOISE_G: Bounds = (0.02, 0.12)
SCALE_TUG_PP_G: Bounds = (0.0, 5.0)
SCALE_TUG_HARMONICS = 3
SCALE_DEADBAND_PROBABILITY = 0.35
SCALE_DEADBAND_G: Bounds = (0.1, 0.3)
HX711_RESOLUTION_G = 0.01
HX711_NOISE_G: Bounds = (0.05, 0.5)
HX711_VIBRATION_PP_G: Bounds = (0.2, 3.0)
HX711_HARMONICS = 6
HX711_FUNDAMENTAL: Bounds = (0.3, 1.0)
HX711_WARMUP_G: Bounds = (-4.0, 4.0)
HX711_WARMUP_S: Bounds = (300.0, 1200.0)
HX711_WALK_G: Bounds = (0.2, 1.5)
HX711_GLITCH_PROBABILITY = 0.3
HX711_GLITCHES_MAX = 2
HX711_GLITCH_G: Bounds = (50.0, 500.0)
DROP_ML: Bounds = (0.04, 0.06)
DROP_NOMINAL_ML = 0.05
DROP_SIZE_SD = 0.04
DROP_SIZE_FLOOR = 0.5
DROP_MISS_PROBABILITY = 0.01
DROP_DOUBLE_PROBABILITY = 0.003
THERMAL_GAIN: Bounds = (0.9, 1.1)
THERMAL_LAG_S: Bounds = (0.1, 2.0)
THERMAL_OFFSET_ML_S: Bounds = (-0.04, 0.04)
THERMAL_DRIFT_ML_S: Bounds = (0.002, 0.01)
THERMAL_NOISE_ML_S: Bounds = (0.003, 0.02)
BUBBLE_RATE_HZ: Bounds = (1 / 200, 1 / 20)
BUBBLE_ML_S: Bounds = (0.3, 3.0)
BUBBLE_POSITIVE_PROBABILITY = 0.6
LEVEL_STEP_ML = 0.5
LEVEL_NOISE_ML: Bounds = (0.04, 0.15)
LEVEL_SLOSH_PP_ML: Bounds = (0.02, 0.15)
LEVEL_SLOSH_HARMONICS = 2
PA_PER_ML: Bounds = (3.0, 10.0)
PA_PER_ML_ERROR: Bounds = (0.95, 1.05)
RIPPLE_PP_ML: Bounds = (0.5, 10.0)
RIPPLE_HARMONICS: list[Bounds] = [(1.0, 1.0), (0.4, 1.2), (0.3, 1.0), (0.0, 0.4), (0.0, 0.2)]
PRESSURE_NOISE_ML: Bounds = (0.05, 0.4)
PRESSURE_OFFSET_PA: Bounds = (-15.0, 15.0)
PRESSURE_DRIFT_PA: Bounds = (0.5, 4.0)
DRIFT_TIMESCALE_S = 120.0


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class Letdown:
    onset_s: float
    rise_s: float
    peak_ml_s: float
    rise_shape: str
    rise_params: tuple[float, ...]
    decay_shape: str
    decay_to_10pct_s: float
    decay_param: float


@dataclass(frozen=True)
class SidePlan:
    letdowns: list[Letdown]
    background_ml_s: float
    wobble: float
    spurt_phase: float
    spurt_sharpness: float
    cycle_size_sd: float


@dataclass(frozen=True)
class PumpSegment:
    start_s: float
    rate_hz: float
    vacuum: float


@dataclass(frozen=True)
class SessionPlan:
    duration_s: float
    pump: list[PumpSegment]
    pump_stop_s: float
    end_lift_s: float | None
    event_onsets_s: list[float]
    sides: list[SidePlan]


@dataclass
class Handling:
    placed_at_s: float | None = None
    place_ramp_s: float = 0.5
    lifts: list[tuple[float, float]] = field(default_factory=list)
    swaps: list[tuple[float, float]] = field(default_factory=list)
    touches: list[tuple[float, float, float]] = field(default_factory=list)
    end_lift_s: float | None = None


@dataclass(frozen=True)
class SideTruth:
    mean_flow: FloatArray
    flow: FloatArray
    volume: FloatArray


@dataclass(frozen=True)
class SessionTruth:
    t: FloatArray
    phase: FloatArray
    vacuum: FloatArray
    sides: list[SideTruth]


def uniform(rng: Rng, bounds: Bounds) -> float:
    return float(rng.uniform(*bounds))


def log_uniform(rng: Rng, bounds: Bounds) -> float:
    low, high = np.log(bounds)
    return float(np.exp(rng.uniform(low, high)))


def draw_count(rng: Rng, probabilities: tuple[float, ...]) -> int:
    return int(rng.choice(len(probabilities), p=probabilities))


def draw_letdown_count(rng: Rng, duration_s: float) -> int:
    if rng.random() < NO_LETDOWN_PROBABILITY:
        return 0
    expected = LETDOWNS_PER_15_MIN * duration_s / (15 * 60)
    return int(np.clip(round(rng.normal(expected, LETDOWN_COUNT_SD)), MIN_LETDOWNS, MAX_LETDOWNS))


def draw_onsets(rng: Rng, count: int, last_allowed_s: float) -> list[float]:
    low, high = FIRST_ONSET_S
    onset = low + (high - low) * float(rng.beta(*FIRST_ONSET_BETA))
    onsets: list[float] = []
    while len(onsets) < count and onset <= last_allowed_s:
        onsets.append(onset)
        close = rng.random() < CLOSE_GAP_PROBABILITY
        onset += uniform(rng, CLOSE_GAP_S if close else LONG_GAP_S)
    return onsets


def draw_peaks(rng: Rng, count: int) -> list[float]:
    if count == 0:
        return []
    small_first = rng.random() < SMALL_FIRST_PROBABILITY
    first = uniform(rng, SMALL_PEAK_ML_S) if small_first else log_uniform(rng, PEAK_FLOW_ML_S)
    peaks = [first]
    for _ in range(count - 1):
        if rng.random() < SMALL_LATER_PROBABILITY:
            peaks.append(uniform(rng, SMALL_PEAK_ML_S))
        else:
            peaks.append(float(np.clip(first * uniform(rng, LATER_PEAK_RATIO), *PEAK_LIMITS_ML_S)))
    return peaks


def draw_rise_params(rng: Rng, shape: str) -> tuple[float, ...]:
    if shape == "saturating":
        return (uniform(rng, (2.0, 5.0)),)
    if shape == "logistic":
        return (uniform(rng, (6.0, 12.0)),)
    if shape == "two_stage":
        return (uniform(rng, (0.3, 0.6)), uniform(rng, (0.2, 0.5)))  # split, first level
    return ()


def draw_decay_param(rng: Rng, shape: str) -> float:
    if shape == "hyperbolic":
        return uniform(rng, (1.0, 3.0))  # power-law exponent
    if shape == "plateau_exponential":
        return uniform(rng, (5.0, 20.0))  # plateau length, s
    return 0.0


def draw_letdown(rng: Rng, onset_s: float, peak_ml_s: float) -> Letdown:
    rise_shape = str(rng.choice(RISE_SHAPES))
    decay_shape = str(rng.choice(DECAY_SHAPES))
    return Letdown(
        onset_s=onset_s,
        rise_s=log_uniform(rng, RISE_TIME_S),
        peak_ml_s=peak_ml_s,
        rise_shape=rise_shape,
        rise_params=draw_rise_params(rng, rise_shape),
        decay_shape=decay_shape,
        decay_to_10pct_s=uniform(rng, DECAY_TO_10PCT_S),
        decay_param=draw_decay_param(rng, decay_shape),
    )


def draw_side_plan(
    rng: Rng, reflex_onsets: list[float], peaks: list[float], double: bool
) -> SidePlan:
    supply = float(rng.lognormal(0.0, SIDE_SUPPLY_SD)) if double else 1.0
    letdowns = []
    for onset, peak in zip(reflex_onsets, peaks, strict=True):
        side_onset, side_peak = onset, peak * supply
        if double:
            shift = rng.normal(0.0, SIDE_ONSET_SD_S)
            side_onset += float(np.clip(shift, -SIDE_ONSET_MAX_S, SIDE_ONSET_MAX_S))
            side_peak *= float(rng.lognormal(0.0, SIDE_LETDOWN_SD))
        side_peak = float(np.clip(side_peak, *PEAK_LIMITS_ML_S))
        letdowns.append(draw_letdown(rng, side_onset, side_peak))
    has_background = rng.random() < BACKGROUND_PROBABILITY
    return SidePlan(
        letdowns=letdowns,
        background_ml_s=uniform(rng, BACKGROUND_ML_S) if has_background else 0.0,
        wobble=uniform(rng, (0.0, WOBBLE_MAX)),
        spurt_phase=uniform(rng, (0.0, TWO_PI)),
        spurt_sharpness=uniform(rng, SPURT_SHARPNESS),
        cycle_size_sd=uniform(rng, CYCLE_SIZE_SD),
    )


def draw_switch_time(rng: Rng, first_onset_s: float | None) -> float:
    if first_onset_s is not None and rng.random() < SWITCH_AT_LETDOWN_PROBABILITY:
        return first_onset_s + uniform(rng, SWITCH_REACTION_S)
    mean, sd, low, high = SWITCH_TIMER_S
    return float(np.clip(rng.normal(mean, sd), low, high))


def draw_pump(rng: Rng, first_onset_s: float | None, stop_s: float) -> list[PumpSegment]:
    segments = [PumpSegment(0.0, uniform(rng, STIMULATION_HZ), uniform(rng, STIMULATION_VACUUM))]
    switch_s = draw_switch_time(rng, first_onset_s)
    if switch_s >= stop_s:
        return segments
    expression = PumpSegment(switch_s, uniform(rng, EXPRESSION_HZ), uniform(rng, EXPRESSION_VACUUM))
    segments.append(expression)
    latest_change_s = stop_s - SECOND_CHANGE_MARGIN_S / 2
    earliest_change_s = switch_s + SECOND_CHANGE_MARGIN_S
    if rng.random() < SECOND_CHANGE_PROBABILITY and earliest_change_s < latest_change_s:
        rate = np.clip(expression.rate_hz * uniform(rng, SECOND_CHANGE_RATIO), *EXPRESSION_HZ)
        vacuum = expression.vacuum * uniform(rng, SECOND_CHANGE_VACUUM)
        start = uniform(rng, (earliest_change_s, latest_change_s))
        segments.append(PumpSegment(start, float(rate), vacuum))
    return segments


def draw_session_plan(rng: Rng, double: bool) -> SessionPlan:
    duration_s = 60.0 * uniform(rng, SESSION_MINUTES)
    end_lift_s = None
    pump_stop_s = duration_s
    if rng.random() < END_LIFT_PROBABILITY:
        end_lift_s = duration_s - uniform(rng, END_LIFT_S)
        pump_stop_s = end_lift_s - uniform(rng, PUMP_OFF_BEFORE_LIFT_S)
    count = draw_letdown_count(rng, duration_s)
    reflex_onsets = draw_onsets(rng, count, pump_stop_s - MIN_FLOW_AFTER_ONSET_S)
    peaks = draw_peaks(rng, len(reflex_onsets))
    sides = [draw_side_plan(rng, reflex_onsets, peaks, double) for _ in range(1 + int(double))]
    event_onsets = [
        min(side.letdowns[k].onset_s for side in sides) for k in range(len(reflex_onsets))
    ]
    first_onset = event_onsets[0] if event_onsets else None
    return SessionPlan(
        duration_s=duration_s,
        pump=draw_pump(rng, first_onset, pump_stop_s),
        pump_stop_s=pump_stop_s,
        end_lift_s=end_lift_s,
        event_onsets_s=event_onsets,
        sides=sides,
    )


# --------------------------------------------------------------------------- signal helpers


def smoothstep(x: FloatArray) -> FloatArray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def logistic(x: FloatArray | float) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def causal_convolve(x: FloatArray, kernel: FloatArray) -> FloatArray:
    """Causal FIR filter by FFT, output aligned with x (kernel[0] weighs the present)."""
    size = len(x) + len(kernel) - 1
    nfft = 1 << int(np.ceil(np.log2(size)))
    spectrum = np.fft.rfft(x, nfft) * np.fft.rfft(kernel, nfft)
    return np.fft.irfft(spectrum, nfft)[: len(x)]


def first_order_lag(x: FloatArray, tau_s: float, rate_hz: float) -> FloatArray:
    taps = int(np.ceil(8.0 * tau_s * rate_hz))
    if taps < 2:
        return x.copy()
    kernel = np.exp(-np.arange(taps) / (tau_s * rate_hz))
    kernel /= kernel.sum()
    return causal_convolve(x - x[0], kernel) + x[0]


def moving_average(x: FloatArray, window_s: float, rate_hz: float) -> FloatArray:
    taps = max(1, round(window_s * rate_hz))
    if taps == 1:
        return x.copy()
    return causal_convolve(x - x[0], np.full(taps, 1.0 / taps)) + x[0]


def smooth_window(t: FloatArray, start_s: float, length_s: float, ramp_s: float) -> FloatArray:
    """0 outside [start, start + length], 1 inside, with smoothstep edges of ramp_s."""
    ramp_s = min(ramp_s, length_s / 2)
    rising = smoothstep((t - start_s) / ramp_s)
    falling = smoothstep((t - (start_s + length_s - ramp_s)) / ramp_s)
    return rising * (1.0 - falling)


def index_span(t: FloatArray, start_s: float, end_s: float) -> slice:
    return slice(int(np.searchsorted(t, start_s)), int(np.searchsorted(t, end_s)))


def slow_noise(rng: Rng, t: FloatArray, timescale_s: float) -> FloatArray:
    """Unit-variance Gaussian noise varying over about timescale_s."""
    step = timescale_s / 4
    coarse_t = np.arange(0.0, t[-1] + 10 * timescale_s, step)
    half_width = int(np.ceil(3 * timescale_s / step))
    offsets = np.arange(-half_width, half_width + 1) * step
    kernel = np.exp(-0.5 * (offsets / timescale_s) ** 2)
    smooth = np.convolve(rng.normal(size=len(coarse_t)), kernel, mode="same")
    smooth /= smooth.std()
    return np.interp(t, coarse_t, smooth)


def random_walk(rng: Rng, t: FloatArray, total_sd: float) -> FloatArray:
    coarse_t = np.arange(0.0, t[-1] + 2.0, 1.0)
    steps = rng.normal(0.0, total_sd / np.sqrt(len(coarse_t)), size=len(coarse_t))
    return np.interp(t, coarse_t, np.cumsum(steps))


def draw_harmonics(rng: Rng, amplitudes: list[Bounds]) -> tuple[FloatArray, FloatArray]:
    gains = np.array([uniform(rng, bounds) for bounds in amplitudes])
    phases = rng.uniform(0.0, TWO_PI, size=len(amplitudes))
    return gains, phases


def pump_waveform(phase: FloatArray, gains: FloatArray, phases: FloatArray) -> FloatArray:
    """Periodic in the pump phase, zero mean, unit peak-to-peak."""
    orders = np.arange(1, len(gains) + 1)

    def evaluate(p: FloatArray) -> FloatArray:
        return np.cos(np.outer(p, orders) + phases) @ gains

    one_cycle = evaluate(np.linspace(0.0, TWO_PI, 512, endpoint=False))
    return evaluate(phase) / (one_cycle.max() - one_cycle.min())


def falling_harmonics(count: int, first: Bounds = (1.0, 1.0)) -> list[Bounds]:
    return [first] + [(0.0, 1.0 / order) for order in range(2, count + 1)]


# --------------------------------------------------------------------------- truth


def rise_fraction(x: FloatArray, shape: str, params: tuple[float, ...]) -> FloatArray:
    """0 at x <= 0, 1 at x >= 1; the rise of a letdown's cycle-mean flow."""
    x = np.clip(x, 0.0, 1.0)
    if shape == "saturating":
        (rate,) = params
        return np.expm1(-rate * x) / np.expm1(-rate)
    if shape == "linear":
        return x
    if shape == "logistic":
        (steepness,) = params
        low, high = logistic(-steepness / 2), logistic(steepness / 2)
        return (logistic(steepness * (x - 0.5)) - low) / (high - low)
    if shape == "two_stage":
        split, first_level = params
        first = first_level * smoothstep(x / split)
        return first + (1.0 - first_level) * smoothstep((x - split) / (1.0 - split))
    return smoothstep(x)


def decay_fraction(u: FloatArray, shape: str, to_10pct_s: float, param: float) -> FloatArray:
    """1 at u = 0, 0.1 at u = to_10pct_s."""
    u = np.maximum(u, 0.0)
    if shape == "hyperbolic":
        scale = to_10pct_s / (10.0 ** (1.0 / param) - 1.0)
        return (1.0 + u / scale) ** -param
    if shape == "plateau_exponential":
        return np.exp(-np.maximum(u - param, 0.0) * LN10 / (to_10pct_s - param))
    if shape == "gaussian":
        sigma = to_10pct_s / np.sqrt(2.0 * LN10)
        return np.exp(-0.5 * (u / sigma) ** 2)
    return np.exp(-u * LN10 / to_10pct_s)


def letdown_flow(t: FloatArray, letdown: Letdown) -> FloatArray:
    since_onset = t - letdown.onset_s
    rising = rise_fraction(since_onset / letdown.rise_s, letdown.rise_shape, letdown.rise_params)
    decaying = decay_fraction(
        since_onset - letdown.rise_s,
        letdown.decay_shape,
        letdown.decay_to_10pct_s,
        letdown.decay_param,
    )
    return letdown.peak_ml_s * np.where(since_onset < letdown.rise_s, rising, decaying)


def pump_arrays(t: FloatArray, segments: list[PumpSegment]) -> tuple[FloatArray, FloatArray]:
    starts = np.array([segment.start_s for segment in segments])
    which = np.searchsorted(starts, t, side="right") - 1
    rates = np.array([segment.rate_hz for segment in segments])
    vacuums = np.array([segment.vacuum for segment in segments])
    return rates[which], vacuums[which]


def spurt_pulse(phase: FloatArray, spurt_phase: float, sharpness: float) -> FloatArray:
    """Milk arrival within a pump cycle, normalised to a cycle mean of 1."""
    one_cycle = np.linspace(0.0, TWO_PI, 1024, endpoint=False)
    cycle_mean = np.mean(np.maximum(np.cos(one_cycle), 0.0) ** sharpness)
    return np.maximum(np.cos(phase - spurt_phase), 0.0) ** sharpness / cycle_mean


def build_side_truth(
    rng: Rng, t: FloatArray, phase: FloatArray, running: FloatArray, side: SidePlan
) -> SideTruth:
    letdowns = sum((letdown_flow(t, letdown) for letdown in side.letdowns), np.zeros_like(t))
    wobble = np.clip(slow_noise(rng, t, WOBBLE_TIMESCALE_S), -WOBBLE_CLIP_SD, WOBBLE_CLIP_SD)
    mean_flow = (side.background_ml_s + letdowns) * (1.0 + side.wobble * wobble) * running
    cycle = np.floor(phase / TWO_PI).astype(int)
    cycle -= cycle[0]
    sd = side.cycle_size_sd
    cycle_size = rng.lognormal(-0.5 * sd * sd, sd, size=cycle[-1] + 1)
    pulse = spurt_pulse(phase, side.spurt_phase, side.spurt_sharpness)
    flow = mean_flow * pulse * cycle_size[cycle]
    return SideTruth(mean_flow=mean_flow, flow=flow, volume=np.cumsum(flow) / FINE_RATE_HZ)


def build_truth(rng: Rng, plan: SessionPlan) -> SessionTruth:
    t = np.arange(0.0, plan.duration_s + FINE_TAIL_S, 1.0 / FINE_RATE_HZ)
    rate, vacuum = pump_arrays(t, plan.pump)
    running = (t < plan.pump_stop_s).astype(float)
    phase = uniform(rng, (0.0, TWO_PI)) + TWO_PI * np.cumsum(rate) / FINE_RATE_HZ
    sides = [build_side_truth(rng, t, phase, running, side) for side in plan.sides]
    return SessionTruth(t=t, phase=phase, vacuum=vacuum * running, sides=sides)


# --------------------------------------------------------------------------- handling


def place_interval(rng: Rng, length_s: float, window: Bounds, taken: list[Bounds]) -> float | None:
    """A start time whose interval fits in window without touching the taken ones."""
    latest = window[1] - length_s
    if latest <= window[0]:
        return None
    for _ in range(PLACEMENT_TRIES):
        start = uniform(rng, (window[0], latest))
        end = start + length_s
        if all(end + HANDLING_MARGIN_S < a or start - HANDLING_MARGIN_S > b for a, b in taken):
            taken.append((start, end))
            return start
    return None


def draw_handling(rng: Rng, plan: SessionPlan, can_place: bool) -> Handling:
    handling = Handling(end_lift_s=plan.end_lift_s)
    if can_place and rng.random() < PLACED_AT_START_PROBABILITY:
        handling.placed_at_s = uniform(rng, PLACE_TIME_S)
        handling.place_ramp_s = uniform(rng, PLACE_RAMP_S)
    end = plan.end_lift_s if plan.end_lift_s is not None else plan.duration_s
    window = (HANDLING_WINDOW_S[0], end - HANDLING_WINDOW_S[1])
    taken: list[Bounds] = []
    if plan.duration_s > SWAP_MIN_SESSION_S and rng.random() < SWAP_PROBABILITY:
        length = uniform(rng, SWAP_LENGTH_S)
        middle = (window[0] + 0.4 * (window[1] - window[0]), window[1])
        start = place_interval(rng, length, middle, taken)
        if start is not None:
            handling.swaps.append((start, length))
    for _ in range(draw_count(rng, LIFT_COUNT_PROBABILITIES)):
        length = uniform(rng, LIFT_LENGTH_S)
        start = place_interval(rng, length, window, taken)
        if start is not None:
            handling.lifts.append((start, length))
    for _ in range(min(int(rng.poisson(TOUCH_RATE)), MAX_TOUCHES)):
        length = uniform(rng, TOUCH_LENGTH_S)
        start = place_interval(rng, length, window, taken)
        if start is not None:
            handling.touches.append((start, length, uniform(rng, TOUCH_FORCE_G)))
    return handling


def bottle_support(t: FloatArray, handling: Handling) -> FloatArray:
    """1 while the bottle rests on the scale, 0 while lifted or away."""
    support = np.ones_like(t)
    if handling.placed_at_s is not None:
        support *= smoothstep((t - handling.placed_at_s) / handling.place_ramp_s)
    for start, length in handling.lifts + handling.swaps:
        support *= 1.0 - smooth_window(t, start, length, HAND_RAMP_S)
    if handling.end_lift_s is not None:
        support *= 1.0 - smoothstep((t - handling.end_lift_s) / HAND_RAMP_S)
    return support


def bottle_present(t: FloatArray, handling: Handling) -> FloatArray:
    """1 while a bottle is in front of a level/pressure sensor (lifts only tilt it)."""
    present = np.ones_like(t)
    for start, length in handling.swaps:
        present *= 1.0 - smooth_window(t, start, length, HAND_RAMP_S)
    if handling.end_lift_s is not None:
        present *= 1.0 - smoothstep((t - handling.end_lift_s) / HAND_RAMP_S)
    return present


def milk_in_bottle(t: FloatArray, volume: FloatArray, handling: Handling) -> FloatArray:
    """Collected volume minus what left with swapped-out bottles."""
    in_bottle = volume.copy()
    for start, length in sorted(handling.swaps):
        removed = float(np.interp(start, t, in_bottle))
        in_bottle -= np.where(t >= start + length, removed, 0.0)
    return in_bottle


def bottle_tare(rng: Rng, t: FloatArray, tare_g: float, handling: Handling) -> FloatArray:
    tare = np.full_like(t, tare_g)
    for start, length in handling.swaps:
        tare += np.where(t >= start + length, rng.normal(0.0, SWAP_TARE_SD_G), 0.0)
    return tare


def hand_forces(rng: Rng, t: FloatArray, handling: Handling) -> FloatArray:
    """Touches plus the small impact when a bottle is put back."""
    force = np.zeros_like(t)
    for start, length, grams in handling.touches:
        ramp = length * uniform(rng, (0.1, 0.4))
        force += grams * smooth_window(t, start, length, ramp)
    for start, length in handling.lifts + handling.swaps:
        impact_length = uniform(rng, IMPACT_LENGTH_S)
        put_back = start + length - HAND_RAMP_S
        force += uniform(rng, IMPACT_G) * smooth_window(t, put_back, impact_length, impact_length)
    return force


def bottle_load(
    rng: Rng, t: FloatArray, volume: FloatArray, handling: Handling, tare_g: float
) -> tuple[FloatArray, FloatArray]:
    """Force on the scale in grams, and the support fraction."""
    support = bottle_support(t, handling)
    density = uniform(rng, MILK_DENSITY_G_ML)
    contents = bottle_tare(rng, t, tare_g, handling) + density * milk_in_bottle(t, volume, handling)
    return support * contents + hand_forces(rng, t, handling), support


def tilt_factor(rng: Rng, t: FloatArray, handling: Handling) -> FloatArray:
    """Relative liquid column seen by a level/pressure sensor while the bottle is held."""
    factor = np.ones_like(t)
    for start, length in handling.lifts:
        span = index_span(t, start, start + length)
        if span.start == span.stop:
            continue
        wander = slow_noise(rng, t[span] - start, TILT_TIMESCALE_S)
        held = uniform(rng, TILT_LEVEL) + TILT_WANDER * wander
        window = smooth_window(t[span], start, length, HAND_RAMP_S)
        factor[span] = 1.0 + window * (np.maximum(held, 0.0) - 1.0)
    return factor


def slosh(rng: Rng, t: FloatArray, handling: Handling) -> FloatArray:
    """Damped meniscus oscillation after each touch, in mL."""
    wave = np.zeros_like(t)
    for start, length, _ in handling.touches:
        damping = uniform(rng, SLOSH_DAMPING_S)
        span = index_span(t, start, start + length + 5 * damping)
        since = t[span] - start
        amplitude = uniform(rng, SLOSH_ML) * rng.choice((-1.0, 1.0))
        envelope = np.exp(-np.maximum(since - length, 0.0) / damping)
        wave[span] += amplitude * envelope * np.sin(TWO_PI * uniform(rng, SLOSH_HZ) * since)
    return wave


def squeezes(rng: Rng, t: FloatArray, handling: Handling) -> FloatArray:
    """Extra pressure (mL of column equivalent) while a hand squeezes the bottle."""
    extra = np.zeros_like(t)
    for start, length, _ in handling.touches:
        extra += uniform(rng, SQUEEZE_ML) * smooth_window(t, start, length, length / 4)
    return extra


# --------------------------------------------------------------------------- sensors


@dataclass(frozen=True)
class SideContext:
    """What a sensor model needs to read one side of one session."""

    truth: SessionTruth
    side: SideTruth
    handling: Handling
    gen_t: FloatArray
    rate_hz: float
    calibration: dict[str, float]


def scale_smoothing(rng: Rng, load: FloatArray) -> FloatArray:
    width = uniform(rng, SCALE_SMOOTHING_S)
    if rng.random() < SCALE_LAG_PROBABILITY:
        return first_order_lag(load, width, FINE_RATE_HZ)
    return moving_average(load, width, FINE_RATE_HZ)


def apply_deadband(values: FloatArray, band: float) -> FloatArray:
    """A display that only updates once the reading has moved by more than band."""
    held = values.copy()
    for i in range(1, len(held)):
        if abs(values[i] - held[i - 1]) < band:
            held[i] = held[i - 1]
    return held


def quantize(values: FloatArray, step: float) -> FloatArray:
    return np.round(values / step) * step + 0.0  # + 0.0 turns -0.0 into 0.0


def noise(rng: Rng, sd_bounds: Bounds, count: int) -> FloatArray:
    return rng.normal(0.0, uniform(rng, sd_bounds), size=count)


def zero_offset(handling: Handling, tare_g: float) -> float:
    """Scales tared with the bottle on read ~0 at the start; otherwise the empty pan is 0."""
    return 0.0 if handling.placed_at_s is not None else tare_g


def ble_scale_side(rng: Rng, ctx: SideContext) -> FloatArray:
    truth = ctx.truth
    tare = uniform(rng, TARE_G)
    load, support = bottle_load(rng, truth.t, ctx.side.volume, ctx.handling, tare)
    gains, phases = draw_harmonics(rng, falling_harmonics(SCALE_TUG_HARMONICS))
    tug = uniform(rng, SCALE_TUG_PP_G) * pump_waveform(truth.phase, gains, phases)
    smoothed = scale_smoothing(rng, load + tug * truth.vacuum * support)
    reading = np.interp(ctx.gen_t, truth.t, smoothed) - zero_offset(ctx.handling, tare)
    reading += noise(rng, SCALE_NOISE_G, len(ctx.gen_t))
    if rng.random() < SCALE_DEADBAND_PROBABILITY:
        reading = apply_deadband(reading, uniform(rng, SCALE_DEADBAND_G))
    return quantize(reading, SCALE_RESOLUTION_G)


def hx711_glitches(rng: Rng, count: int) -> FloatArray:
    """Rare single-sample read errors (a bit slipped on the serial line)."""
    glitches = np.zeros(count)
    if rng.random() >= HX711_GLITCH_PROBABILITY:
        return glitches
    hits = rng.integers(0, count, size=int(rng.integers(1, HX711_GLITCHES_MAX + 1)))
    signs = rng.choice((-1.0, 1.0), size=len(hits))
    glitches[hits] = signs * rng.uniform(*HX711_GLITCH_G, size=len(hits))
    return glitches


def hx711_side(rng: Rng, ctx: SideContext) -> FloatArray:
    truth, gen_t = ctx.truth, ctx.gen_t
    tare = uniform(rng, TARE_G)
    load, _ = bottle_load(rng, truth.t, ctx.side.volume, ctx.handling, tare)
    harmonics = falling_harmonics(HX711_HARMONICS, first=HX711_FUNDAMENTAL)
    gains, phases = draw_harmonics(rng, harmonics)
    vibration = uniform(rng, HX711_VIBRATION_PP_G) * pump_waveform(truth.phase, gains, phases)
    converted = moving_average(load + vibration * truth.vacuum, 1.0 / ctx.rate_hz, FINE_RATE_HZ)
    reading = np.interp(gen_t, truth.t, converted) - zero_offset(ctx.handling, tare)
    warmup = uniform(rng, HX711_WARMUP_G) * -np.expm1(-gen_t / uniform(rng, HX711_WARMUP_S))
    reading += warmup + random_walk(rng, gen_t, uniform(rng, HX711_WALK_G))
    reading += noise(rng, HX711_NOISE_G, len(gen_t))
    return quantize(reading + hx711_glitches(rng, len(gen_t)), HX711_RESOLUTION_G)


def drop_times(rng: Rng, t: FloatArray, volume: FloatArray) -> FloatArray:
    """Times at which the integrated volume completes another drop."""
    drop_ml = uniform(rng, DROP_ML)
    count = int(volume[-1] / (drop_ml * DROP_SIZE_FLOOR)) + 2
    sizes = drop_ml * np.maximum(1.0 + rng.normal(0.0, DROP_SIZE_SD, size=count), DROP_SIZE_FLOOR)
    thresholds = np.cumsum(sizes)
    thresholds = thresholds[thresholds <= volume[-1]]
    times = t[np.searchsorted(volume, thresholds)]
    times = times[rng.random(len(times)) >= DROP_MISS_PROBABILITY]
    doubled = times[rng.random(len(times)) < DROP_DOUBLE_PROBABILITY]
    return np.sort(np.concatenate([times, doubled]))


def drop_counter_side(rng: Rng, ctx: SideContext) -> FloatArray:
    drops = drop_times(rng, ctx.truth.t, ctx.side.volume)
    counted = np.searchsorted(drops, ctx.gen_t, side="right")
    drops_per_sample = np.diff(counted, prepend=0)
    return drops_per_sample * DROP_NOMINAL_ML * ctx.rate_hz


def air_bubbles(rng: Rng, gen_t: FloatArray) -> FloatArray:
    spikes = np.zeros(len(gen_t))
    expected = uniform(rng, BUBBLE_RATE_HZ) * (gen_t[-1] - gen_t[0])
    hits = rng.integers(0, len(gen_t), size=int(rng.poisson(expected)))
    signs = np.where(rng.random(len(hits)) < BUBBLE_POSITIVE_PROBABILITY, 1.0, -1.0)
    spikes[hits] = signs * rng.uniform(*BUBBLE_ML_S, size=len(hits))
    return spikes


def thermal_flow_side(rng: Rng, ctx: SideContext) -> FloatArray:
    gen_t = ctx.gen_t
    sensed = uniform(rng, THERMAL_GAIN) * ctx.side.flow
    lagged = first_order_lag(sensed, uniform(rng, THERMAL_LAG_S), FINE_RATE_HZ)
    reading = np.interp(gen_t, ctx.truth.t, lagged) + uniform(rng, THERMAL_OFFSET_ML_S)
    reading += random_walk(rng, gen_t, uniform(rng, THERMAL_DRIFT_ML_S))
    reading += noise(rng, THERMAL_NOISE_ML_S, len(gen_t))
    return reading + air_bubbles(rng, gen_t)


def liquid_column(rng: Rng, ctx: SideContext) -> FloatArray:
    """Milk volume a level or pressure sensor sees, with tilting and bottle swaps."""
    t, handling = ctx.truth.t, ctx.handling
    column = milk_in_bottle(t, ctx.side.volume, handling)
    return column * tilt_factor(rng, t, handling) * bottle_present(t, handling)


def optical_level_side(rng: Rng, ctx: SideContext) -> FloatArray:
    truth = ctx.truth
    gains, phases = draw_harmonics(rng, falling_harmonics(LEVEL_SLOSH_HARMONICS))
    meniscus = uniform(rng, LEVEL_SLOSH_PP_ML) * pump_waveform(truth.phase, gains, phases)
    level = liquid_column(rng, ctx) + meniscus * truth.vacuum + slosh(rng, truth.t, ctx.handling)
    reading = np.interp(ctx.gen_t, truth.t, level) + noise(rng, LEVEL_NOISE_ML, len(ctx.gen_t))
    return np.floor(np.maximum(reading, 0.0) / LEVEL_STEP_ML) * LEVEL_STEP_ML


def pressure_side(rng: Rng, ctx: SideContext) -> FloatArray:
    truth, gen_t = ctx.truth, ctx.gen_t
    pa_per_ml = ctx.calibration["pa_per_ml"] * uniform(rng, PA_PER_ML_ERROR)
    column = liquid_column(rng, ctx) + squeezes(rng, truth.t, ctx.handling)
    gains, phases = draw_harmonics(rng, RIPPLE_HARMONICS)
    ripple = uniform(rng, RIPPLE_PP_ML) * pump_waveform(truth.phase, gains, phases)
    pressure = pa_per_ml * (column + ripple * truth.vacuum)
    reading = np.interp(gen_t, truth.t, pressure) + uniform(rng, PRESSURE_OFFSET_PA)
    reading += uniform(rng, PRESSURE_DRIFT_PA) * slow_noise(rng, gen_t, DRIFT_TIMESCALE_S)
    return reading + pa_per_ml * noise(rng, PRESSURE_NOISE_ML, len(gen_t))


SideSimulator = Callable[[Rng, SideContext], FloatArray]


@dataclass(frozen=True)
class SensorModel:
    kind: str
    channel: str
    device: str
    rates_hz: tuple[float, ...]
    simulate_side: SideSimulator
    ble: bool = False  # arrival timestamps in bursts, long dropouts
    handled: bool = True  # bottle lifts, swaps and touches show up
    placeable: bool = False  # may start empty, bottle put on in the first seconds


SENSORS = (
    SensorModel(
        kind="ble_scale",
        channel="weight_g",
        device="BLE kitchen scale, 0.1 g, phone arrival timestamps",
        rates_hz=(5.0, 8.0, 10.0),
        simulate_side=ble_scale_side,
        ble=True,
        placeable=True,
    ),
    SensorModel(
        kind="hx711",
        channel="weight_g",
        device="HX711 load cell under the bottle",
        rates_hz=(10.0, 80.0),
        simulate_side=hx711_side,
        placeable=True,
    ),
    SensorModel(
        kind="drop_counter",
        channel="flow_ml_s",
        device="optical drop counter, 0.05 mL/drop nominal",
        rates_hz=(5.0, 8.0, 10.0, 16.0, 20.0),
        simulate_side=drop_counter_side,
        handled=False,
    ),
    SensorModel(
        kind="thermal_flow",
        channel="flow_ml_s",
        device="inline thermal flow sensor",
        rates_hz=(10.0, 20.0, 25.0, 50.0),
        simulate_side=thermal_flow_side,
        handled=False,
    ),
    SensorModel(
        kind="optical_level",
        channel="volume_ml",
        device="optical level sensor, 0.5 mL steps",
        rates_hz=(2.0, 2.5, 4.0, 5.0),
        simulate_side=optical_level_side,
    ),
    SensorModel(
        kind="pressure",
        channel="pressure_pa",
        device="hydrostatic pressure sensor at the bottle base",
        rates_hz=(20.0, 25.0, 50.0, 100.0),
        simulate_side=pressure_side,
    ),
)


# --------------------------------------------------------------------------- timestamps


def device_clock(rng: Rng, rate_hz: float, duration_s: float) -> FloatArray:
    first = uniform(rng, (0.0, 1.0 / rate_hz))
    return np.arange(first, duration_s, 1.0 / rate_hz)


def draw_gaps(
    rng: Rng, duration_s: float, count_probabilities: tuple[float, ...], lengths: Bounds
) -> list[Bounds]:
    gaps = []
    for _ in range(draw_count(rng, count_probabilities)):
        length = uniform(rng, lengths)
        start = uniform(rng, (0.0, duration_s - length))
        gaps.append((start, start + length))
    return gaps


def surviving_samples(rng: Rng, gen_t: FloatArray, gaps: list[Bounds]) -> npt.NDArray[np.bool_]:
    keep = rng.random(len(gen_t)) >= uniform(rng, LOSS_PROBABILITY)
    for start, end in gaps:
        keep &= (gen_t < start) | (gen_t >= end)
    return keep


def jittered_stamps(rng: Rng, gen_t: FloatArray, rate_hz: float) -> FloatArray:
    period = 1.0 / rate_hz
    jitter = rng.normal(0.0, uniform(rng, JITTER_SD_PERIODS) * period, size=len(gen_t))
    clip = JITTER_CLIP_PERIODS * period
    return gen_t + np.clip(jitter, -clip, clip)


def ble_arrival_stamps(rng: Rng, gen_t: FloatArray) -> FloatArray:
    """Samples arrive in bursts of 2-4 after the last of them was measured."""
    count = len(gen_t)
    low, high = BLE_BURST_SIZE
    sizes = rng.integers(low, high + 1, size=count // low + 1)
    ends = np.cumsum(sizes)
    index = np.arange(count)
    burst = np.searchsorted(ends, index, side="right")
    first_in_burst = ends[burst] - sizes[burst]
    last_in_burst = np.minimum(ends[burst] - 1, count - 1)
    latency = rng.uniform(*BLE_LATENCY_S, size=len(sizes))[burst]
    spacing = rng.uniform(*BLE_SPACING_S, size=len(sizes))[burst]
    return gen_t[last_in_burst] + latency + (index - first_in_burst) * spacing


def strictly_increasing(stamps: FloatArray, min_step_s: float = MIN_TIME_STEP_S) -> FloatArray:
    ramp = min_step_s * np.arange(len(stamps))
    return np.maximum.accumulate(stamps - ramp) + ramp


# --------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class Session:
    name: str
    sensor: SensorModel
    times: FloatArray
    channels: dict[str, FloatArray]
    meta: dict[str, object]
    events: list[Bounds]


def channel_names(channel: str, sides: int) -> list[str]:
    return [channel] if sides == 1 else [channel + suffix for suffix in SIDE_SUFFIXES]


def letdown_events(plan: SessionPlan) -> list[Bounds]:
    ends = [*plan.event_onsets_s[1:], plan.duration_s] if plan.event_onsets_s else []
    return [(onset, end - onset) for onset, end in zip(plan.event_onsets_s, ends, strict=True)]


def start_time(rng: Rng, index: int) -> str:
    start = START_DAY + timedelta(days=index // 3, seconds=uniform(rng, (0.0, 86_400.0)))
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


def draw_calibration(rng: Rng, sensor: SensorModel) -> dict[str, float]:
    if sensor.channel == "weight_g":
        return {"g_per_ml": NOMINAL_DENSITY_G_ML}
    if sensor.channel == "pressure_pa":
        return {"pa_per_ml": round(uniform(rng, PA_PER_ML), 2)}
    return {}


def stamp_and_thin(
    rng: Rng, gen_t: FloatArray, sensor: SensorModel, rate_hz: float, duration_s: float
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Timestamps as logged, and which device samples survive transmission."""
    if sensor.ble:
        gaps = draw_gaps(rng, duration_s, BLE_DROPOUT_COUNT_PROBABILITIES, BLE_DROPOUT_LENGTH_S)
        stamps = ble_arrival_stamps(rng, gen_t)
    else:
        gaps = draw_gaps(rng, duration_s, GAP_COUNT_PROBABILITIES, GAP_LENGTH_S)
        stamps = jittered_stamps(rng, gen_t, rate_hz)
    return stamps, surviving_samples(rng, gen_t, gaps)


def record_sensor(
    rng: Rng, plan: SessionPlan, truth: SessionTruth, sensor: SensorModel, rate_hz: float
) -> tuple[FloatArray, list[FloatArray], dict[str, float]]:
    gen_t = device_clock(rng, rate_hz, plan.duration_s)
    calibration = draw_calibration(rng, sensor)
    values = []
    for side in truth.sides:
        handling = draw_handling(rng, plan, sensor.placeable) if sensor.handled else Handling()
        ctx = SideContext(truth, side, handling, gen_t, rate_hz, calibration)
        values.append(sensor.simulate_side(rng, ctx))
    stamps, keep = stamp_and_thin(rng, gen_t, sensor, rate_hz, plan.duration_s)
    times = strictly_increasing(stamps[keep])
    return times, [side_values[keep] for side_values in values], calibration


def generate_session(index: int) -> Session:
    return generate_with_truth(index)[0]


def generate_with_truth(index: int) -> tuple[Session, SessionTruth]:
    """Session ``index`` and the truth behind it (each side's cycle-mean flow, mL/s)."""
    rng = np.random.default_rng(SEED_BASE + index)
    sensor = SENSORS[index % len(SENSORS)]
    double = bool(rng.random() < DOUBLE_PUMP_PROBABILITY)
    plan = draw_session_plan(rng, double)
    truth = build_truth(rng, plan)
    rate = float(rng.choice(sensor.rates_hz))
    times, values, calibration = record_sensor(rng, plan, truth, sensor, rate)
    names = channel_names(sensor.channel, len(plan.sides))
    meta: dict[str, object] = {
        "sample_rate_hz": rate,
        "start_time": start_time(rng, index),
        "device": sensor.device,
    }
    if calibration:
        meta["calibration"] = calibration
    session = Session(
        name=f"g{index:03d}",
        sensor=sensor,
        times=times,
        channels=dict(zip(names, values, strict=True)),
        meta=meta,
        events=letdown_events(plan),
    )
    return session, truth


def write_session(out: Path, session: Session) -> None:
    columns = np.column_stack([session.times, *session.channels.values()])
    header = ",".join(["t_s", *session.channels])
    value_formats = ["%.6g"] * len(session.channels)
    np.savetxt(
        out / f"{session.name}.csv",
        columns,
        fmt=["%.4f", *value_formats],
        delimiter=",",
        header=header,
        comments="",
    )
    (out / f"{session.name}.json").write_text(json.dumps(session.meta, indent=2) + "\n")
    rows = ["onset_s,duration_s,label"]
    rows += [f"{onset:.3f},{duration:.3f},letdown" for onset, duration in session.events]
    (out / f"{session.name}.events.csv").write_text("\n".join(rows) + "\n")


@dataclass
class KindSummary:
    sessions: int = 0
    double: int = 0
    letdowns: int = 0
    without_letdown: int = 0
    samples: int = 0


def summarize(summaries: dict[str, KindSummary], session: Session) -> None:
    summary = summaries.setdefault(session.sensor.kind, KindSummary())
    summary.sessions += 1
    summary.double += int(len(session.channels) > 1)
    summary.letdowns += len(session.events)
    summary.without_letdown += int(not session.events)
    summary.samples += len(session.times)


def print_summaries(summaries: dict[str, KindSummary]) -> None:
    channels = {sensor.kind: sensor.channel for sensor in SENSORS}
    for kind, s in summaries.items():
        print(
            f"{kind:<14} {channels[kind]:<12} sessions={s.sessions:<4} double={s.double:<3} "
            f"letdowns={s.letdowns:<4} no-letdown sessions={s.without_letdown:<3} "
            f"samples={s.samples}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    summaries: dict[str, KindSummary] = {}
    for index in range(args.sessions):
        session = generate_session(index)
        write_session(args.out, session)
        summarize(summaries, session)
    print_summaries(summaries)


if __name__ == "__main__":
    main()
