"""Every tunable of the conditioning and the detector, in one dataclass with units."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

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
    max_fill_s: float = 60.0
    """Longest gap whose flow is inferred from the samples around it, s."""
    median_s: float = 1.5
    """Rolling-median window on cumulative channels, s: removes glitches shorter than half
    of it."""
    spike_s: float = 0.3
    """Flow channels: spikes narrower than this are removed (bubbles), s; milk spurts,
    one per pump cycle, are wider and kept."""
    cutoff_hz: float = 0.12
    """Low-pass cut-off for flow channels, Hz: removes pump ripple and milk spurts (>= 0.5
    Hz, up to 1.5x the flow when spurts fill under half of each cycle)."""
    cumulative_cutoff_hz: float = 0.08
    """Low-pass cut-off for differentiated channels (volume, weight, pressure), Hz: lower,
    because differentiating amplifies sensor noise and quantisation."""
    step_ml: float = 8.0
    """Level changes larger than this (or four times the typical edge, whichever is more)
    within ``step_window_s`` are artifacts, mL: a tare, a hand on the bottle (tens of grams)
    or the bottle lifted off."""
    step_window_s: float = 0.5
    """Half window of the step detector, s (longer than one pump-ripple half cycle)."""
    touch_s: float = 5.0
    """Longest hand-on-bottle episode whose up and down edges are paired, s."""
    max_step_ml_s: float = 15.0
    """Fastest plausible rise of a cumulative channel, mL/s; faster jumps are artifacts."""
    baseline_s: float = 30.0
    """Look-back for the flow a rise starts from (rolling minimum), s."""
    dip_s: float = 5.0
    """Dips in the flow estimate shorter than this are ignored by the baseline, s."""
    noise_tau_s: float = 60.0
    """Time constant of the running noise estimate, s."""
    noise_lag_s: float = 5.0
    """Lag of the second difference the noise is measured with, s."""
    noise_k: float = 4.0
    """Rise needed, in units of the estimated flow noise."""
    min_rise_ml_s: float = 0.06
    """Smallest rise of flow that counts as a letdown, mL/s."""
    rel_rise: float = 0.25
    """Rise needed as a fraction of the flow it starts from (later letdowns ride on flow)."""
    confirm_s: float = 0.3
    """How long the rise must stay above threshold before it is reported, s."""
    rearm_frac: float = 0.15
    """A new letdown needs flow to fall this fraction of the last rise below its peak."""
    min_interval_s: float = 30.0
    """Shortest time between two letdown onsets, s."""
    onset_frac: float = 0.1
    """The onset is where flow crossed this fraction of the rise (then filter delay removed)."""
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

    def to_dict(self) -> dict[str, float]:
        """All parameters by name (for config dumps and ``--param`` round trips)."""
        return asdict(self)
