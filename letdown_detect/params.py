"""Every tunable of the conditioning and the detector, in one dataclass with units."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from .errors import ConfigError


@dataclass(frozen=True)
class DetectorConfig:
    """Parameters of the letdown pipeline. Times in s, rates in Hz, flows in mL/s.

    The defaults are chosen from the physics, not fitted to one data set:
    pump ripple lies at 0.5-2 Hz, letdown flow rises over seconds to tens of
    seconds and decays over minutes (Prime et al. 2011), and letdowns come
    at least about a minute apart (Ramsay et al. 2004).
    """

    rate_hz: float = 10.0
    """Internal grid rate, Hz: above twice the fastest pump ripple (2 Hz)."""
    gap_s: float = 1.5
    """Silence between samples still bridged on the grid, s; longer is a gap."""
    burst_frac: float = 0.25
    """Samples arriving closer together than this fraction of the stream's mean interval
    came in one radio packet (a Bluetooth scale sends 2-4 at once, stamped on arrival)."""
    burst_share: float = 0.4
    """A stream is re-timed (each packet's samples spread evenly over the time since the
    previous one) while more than this share of its arrivals come that close: a packet of
    two makes half of them close, independent arrivals at random times a fifth."""
    max_fill_s: float = 60.0
    """Longest gap whose flow is inferred from the samples around it, s."""
    ripple_min_hz: float = 0.6
    """Slowest pump cycle, Hz (35 cycles/min). The level smoother averages over whole
    pump cycles (``smoother_boxes`` boxcars of one measured cycle: linear, no overshoot,
    the cycle and all its harmonics nulled) before any nonlinear stage sees the signal.
    While no cycle is measured the boxcars are ``1/ripple_min_hz`` long, which puts every
    faster cycle with all its harmonics at least 26 dB down (two boxcars' sidelobes), and
    the low-pass another 34 dB."""
    ripple_max_hz: float = 2.2
    """Fastest pump cycle, Hz (stimulation runs at up to 2 Hz): the shortest cycle the
    smoother measures and averages over (``conditioning/cycle.py``)."""
    smoother_min_s: float = 1.0
    """The smoother's boxcars span at least this long, s, in whole measured cycles: a
    pump switching from stimulation (up to 2 Hz) to expression (about half as fast) then
    meets boxcars one new cycle long, not half of one (which would pass a quarter of its
    ripple while the measurement catches up)."""
    smoother_boxes: int = 2
    """Boxcars in the smoother's cascade. Each one as long as the measured cycle nulls the
    ripple; two keep a cycle that is not quite matched (the measurement catching up with
    a change of speed) 25-40 dB down, and a third would only add half a cycle of delay
    that the low-pass then has to win back in noise."""
    cycle_tau_s: float = 4.0
    """Time constant of the pump-cycle measurement, s: 2-8 cycles of a pump, so one odd
    cycle does not move it, and a change of speed (stimulation to expression), while
    boxcars matched to the old cycle pass the new one's ripple, is followed in seconds."""
    cycle_min_corr: float = 0.4
    """The measured cycle counts when its autocorrelation peak reaches this fraction of
    the zero lag; below it (no ripple, or ripple weaker than the noise) the smoother
    averages over the slowest cycle, which nulls any pump."""
    cycle_tie: float = 0.85
    """Autocorrelation peaks within this fraction of the highest tie; the shortest wins
    (whole multiples of the cycle tie with it)."""
    cycle_clip: float = 3.0
    """A first difference beyond this many typical differences (a hand, a lift, a tare)
    is clipped before the cycle measurement sees it."""
    cycle_slew: float = 0.05
    """Fastest shortening of the smoother, s per s (its delay shrinks as fast): slow, as a
    shorter boxcar is safe only once the faster cycle is surely measured."""
    cycle_slew_up: float = 0.5
    """Fastest lengthening of the smoother, s per s: quick, as a boxcar shorter than the
    cycle passes its ripple (a pump slowing from stimulation to expression). The flow
    estimate undoes what the changing delay adds or takes away."""
    spike_k: float = 8.0
    """Flow channels: a grid sample further than this many typical deviations from the
    median of it and its neighbours is a spike (an air bubble in a thermal sensor) and is
    replaced by that median; milk spurts span several samples and are kept."""
    spike_s: float = 0.2
    """Flow channels: longest glitch the spike test removes, s. A one-sample glitch (an
    air bubble in a thermal sensor) next to an empty grid bin (a lost sample, or jitter
    putting two samples in one bin) covers two grid samples once the empty bin is
    interpolated, so the test takes the median of this long on either side of each grid
    sample. (Cumulative channels keep three samples: see flow.py.)"""
    impulsive_share: float = 0.5
    """Flow channels: when more than this share of recent grid samples is exactly zero the
    sensor counts drops (each sample a whole drop or nothing): its impulses are the milk,
    so no spike is removed."""
    cutoff_hz: float = 0.2
    """Low-pass cut-off for flow channels, Hz: the smoother already removed spurts and ripple,
    so this only trades sensor noise against latency."""
    cumulative_cutoff_hz: float = 0.083
    """Low-pass cut-off for differentiated channels (volume, weight, pressure), Hz: lower,
    because differentiating amplifies sensor noise and quantisation. Set for the same
    flow noise (from white sensor noise) as the earlier chain of three 1/0.6 s boxcars and
    0.1 Hz, with two boxcars of a 1 Hz expression cycle: 1 s less delay at equal noise
    (``benchmarks/bench_envelope.py``)."""
    slow_cutoff_hz: float = 0.04
    """A second, slower look at differentiated channels, Hz (0: none): the same chain and
    detector with this low-pass, one octave under ``cumulative_cutoff_hz``. A level's white
    noise, differentiated, grows with frequency, so the flow noise falls as the cut-off to
    the power 1.5: a third here, for about 3 s more delay. A later letdown of 0.04-0.1 mL/s
    that stays under the fast look's bar for good (it flows for a minute or more) stands
    clear of this one's. Its letdowns are announced only when the fast look has none
    within ``min_interval_s`` of their onset (two letdowns are never that close), or took
    its alert there back (``detection/looks.py``)."""
    slow_confirm_s: float = 10.0
    """The slow look's rise must stay above its bar this long, whatever its size, s: its
    noise wanders over tens of seconds (drift, temperature), milk ejection keeps flow up
    for minutes, and a letdown the fast look can see is announced by it first."""
    max_step_ml_s: float = 1.5
    """Cumulative channels: the smoothed flow leaving the flow estimate by more than this
    is an artifact, mL/s. Milk ejection raises mean flow to 0.035-0.6 mL/s over 3-25 s
    (Prime et al. 2011), which leaves the lagging estimate by at most about 0.7 mL/s; a
    hand (tens of grams for a fraction of a second), a lift or a tare moves the smoothed
    level several times faster."""
    artifact_k: float = 8.0
    """... or by more than this many of the stream's own typical deviations (ripple and
    noise left after smoothing), whichever is more."""
    artifact_margin_s: float = 0.5
    """Flow is held from this long before an artifact is seen to this long after it ends,
    s: the smoother spreads a step over 3/ripple_min_hz, and the first part of its
    leading tail is below the bar (a hand's tens of grams cross it within about 0.5 s)."""
    touch_s: float = 10.0
    """Longest excursion of the level (a hand on the bottle 0.2-3 s, the bottle lifted to
    look at it 2-8 s) that ends when the level returns to where it was, s; a level still
    elsewhere after this is a new level (a tare, a swapped bottle)."""
    return_frac: float = 0.2
    """An excursion has ended when the level is back within this fraction of its largest
    displacement (plus the milk expected meanwhile)."""
    baseline_s: float = 30.0
    """Look-back for the flow a rise starts from (rolling minimum), s."""
    lookback_s: float = 120.0
    """How far before the detection the onset look-back may search, beyond the baseline
    window, s: a slow rise (up to 25 s) is found from its foot with room to spare."""
    dip_s: float = 5.0
    """Dips in the flow estimate shorter than this are ignored by the baseline, s."""
    noise_tau_s: float = 60.0
    """Time constant of the running noise estimate, s."""
    noise_lag_s: float = 5.0
    """Lag of the second difference the noise is measured with, s."""
    noise_min_s: float = 5.0
    """No rise is judged before the noise has been measured this long, s (a bar without a
    measured noise is the bare floor, which the start of a stream crosses)."""
    noise_k: float = 4.0
    """Rise needed, in units of the estimated flow noise."""
    min_rise_ml_s: float = 0.02
    """Smallest rise of flow that counts as a letdown, mL/s: a floor under the noise-scaled
    threshold, below the smallest ejections of interest (0.035 mL/s peak), so on a clean
    sensor the measured noise decides."""
    quantum_frac: float = 0.5
    """Cumulative channels: a rise must also stand above the flow bump this fraction of the
    sensor's smallest step of level makes (``conditioning/resolution.py``): a quantised
    reading is off by up to half a step either way, so less than that is no evidence of
    milk (a 0.5 mL level sensor's single steps crossed the bar as letdowns, announced
    within seconds; a still level had measured no noise). Continuous sensors show steps
    far below any letdown. The fast look only: its low-pass passes one step as a bump
    about 6 s wide, alone between the steps of a trickle, which its noise measure (mean
    square over a minute) underrates; the slow look's bump is twice as wide and half as
    high, its rise must stand 10 s, and a floor there cost coarse scales their letdowns
    (the envelope's 5 g steps: F1 0.74 -> 0)."""
    rel_rise: float = 0.25
    """Rise needed as a fraction of the flow it starts from (later letdowns ride on flow)."""
    confirm_s: float = 0.3
    """How long the rise must stay above threshold before it is reported, s."""
    weak_confirm_s: float = 3.0
    """A rise less than ``strong_rise`` thresholds high must stay above the threshold this
    long before it is announced, s: a noise swing or the echo of an artifact crosses the
    bar for a second or two and falls back (it would be retracted after the parent was
    already notified); milk ejection keeps rising for 3-25 s."""
    strong_rise: float = 1.5
    """A rise this many thresholds high is announced after ``confirm_s``."""
    rearm_frac: float = 0.15
    """A new letdown needs flow to fall this fraction of the last rise below its peak."""
    rearm_threshold_frac: float = 0.5
    """... and at least this fraction of the threshold it was detected with (noise alone
    must not re-arm it)."""
    min_interval_s: float = 30.0
    """Shortest time between two letdown onsets, s."""
    onset_frac: float = 0.1
    """The onset is where flow crossed this fraction of the rise (then filter delay removed)."""
    onset_noise_k: float = 1.5
    """... but at least this many noise deviations above the base the rise was measured
    from (the lowest flow of the look-back, itself about two deviations under the flow's
    mean): a level inside the noise finds a noise dip seconds before the rise began."""
    end_frac: float = 0.1
    """A letdown ends when flow falls back below this fraction of its rise."""
    settle_s: float = 10.0
    """No letdown is reported in the first seconds of a stream, while the bottle is placed
    and the noise estimate forms, s (a rise that began then is still found afterwards)."""
    evidence_s: float = 10.0
    """A letdown whose rise collapses (or whose stream ends) sooner than this after its
    detection is retracted: milk ejection raises flow for minutes, a hand or a lifted
    bottle for seconds, s."""
    fuse_s: float = 15.0
    """Double pumping: side onsets this close belong to one letdown, s."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ConfigError(
                    f"detector parameter {f.name} must be a non-negative number, got {value!r}",
                    f.name,
                )
        if self.rate_hz < 4.0:
            raise ConfigError("rate_hz must be at least 4 Hz to resolve pump ripple", "rate_hz")

    def slow_look(self) -> DetectorConfig | None:
        """The settings of the slow look (``slow_cutoff_hz``), or ``None`` when it is off:
        its low-pass, its confirmation time, and the noise measured at a lag as much longer
        as its filter is slower (the lag spans the same share of the flow's wander)."""
        if not 0.0 < self.slow_cutoff_hz < self.cumulative_cutoff_hz:
            return None
        return replace(
            self,
            cumulative_cutoff_hz=self.slow_cutoff_hz,
            noise_lag_s=self.noise_lag_s * self.cumulative_cutoff_hz / self.slow_cutoff_hz,
            confirm_s=self.slow_confirm_s,
            weak_confirm_s=self.slow_confirm_s,
            quantum_frac=0.0,
            slow_cutoff_hz=0.0,
        )

    def to_dict(self) -> dict[str, float]:
        """All parameters by name (for config dumps and ``--param`` round trips)."""
        return asdict(self)
