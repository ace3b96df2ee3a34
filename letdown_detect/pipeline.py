"""Chains the pure stages: samples -> grid -> flow per channel -> letdown events.

``Pipeline.process(block)`` is the one implementation: batch detection is the
same pipeline fed one big block, live detection feeds it chunks as they
arrive, and both give identical events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .conditioning.resample import Resampler
from .conditioning.resolution import Resolution
from .conditioning.volume import SessionVolume
from .detection.detector import LetdownDetector
from .detection.looks import OneAnnouncement
from .errors import ConfigError
from .look import Look, summed_delay
from .model import CHANNEL_KINDS, Channel, Event, SampleBlock
from .params import DetectorConfig
from .recording import DEFAULT_G_PER_ML, Recording


@dataclass(frozen=True)
class PipelineStatus:
    """Where a running pipeline stands."""

    t_s: float | None
    """Session time of the newest flow estimate, s (None before the first)."""
    flow_ml_s: float | None
    """Smoothed flow, both sides summed, mL/s."""
    volume_ml: float
    """Milk expressed so far (integral of the flow estimate), mL."""
    letdowns: int
    """Letdowns detected so far."""
    gaps: int
    """Silences longer than ``gap_s`` so far."""
    steps_removed: int
    """Artifact jumps cut out (tare, touches, bottle lifted)."""


def ml_per_unit(channel: str, calibration: Mapping[str, float] | None) -> float:
    """Millilitres per unit of a channel, from the sidecar calibration.

    Raises:
        ConfigError: a pressure channel without ``pa_per_ml``.
    """
    kind = Channel(channel).kind
    calibration = calibration or {}
    if kind == "weight_g":
        return 1.0 / calibration.get("g_per_ml", DEFAULT_G_PER_ML)
    if kind == "pressure_pa":
        if "pa_per_ml" not in calibration:
            raise ConfigError(
                f"channel {channel} needs a calibration: add "
                '"calibration": {"pa_per_ml": <pascal per mL collected>} to the sidecar',
                "pa_per_ml",
            )
        return 1.0 / calibration["pa_per_ml"]
    return 1.0


def detection_channels(channels: Sequence[str]) -> tuple[str, ...]:
    """The channels detection runs on: the best kind present, all its sides.

    Direct flow beats volume, weight, then pressure (fewer artifacts).
    """
    parsed = [Channel.parse(c) for c in channels]
    for kind in CHANNEL_KINDS:
        chosen = tuple(c.name for c in parsed if c is not None and c.kind == kind)
        if chosen:
            return chosen
    raise ConfigError(
        f"no known channel among {', '.join(channels) or 'none'}; expected flow_ml_s, "
        "volume_ml, weight_g or pressure_pa",
        "channels",
    )


class Pipeline:
    """Streaming letdown detection for one session.

    Args:
        channels: the block's column names (``weight_g``, or ``_left``/``_right`` pairs).
        calibration: sidecar calibration (``pa_per_ml``, ``g_per_ml``).
        config: detector parameters (defaults when ``None``).

    Raises:
        ConfigError: unknown channels or a missing pressure calibration.
    """

    def __init__(
        self,
        channels: Sequence[str],
        calibration: Mapping[str, float] | None = None,
        config: DetectorConfig | None = None,
    ) -> None:
        self.channels = tuple(channels)
        self.calibration = dict(calibration or {})
        self.config = config or DetectorConfig()
        cfg = self.config
        self.detect_on = detection_channels(self.channels)
        self._columns = [self.channels.index(c) for c in self.detect_on]
        self.double = len(self.detect_on) > 1
        name = "both" if self.double else self.detect_on[0]
        # The sensor's resolution, in mL, from its raw samples (the looks' floors).
        scales = [ml_per_unit(c, calibration) for c in self.detect_on]
        self._resolution = Resolution(scales)
        self._fast = Look(name, self.detect_on, scales, cfg, self._resolution)
        delay = self._fast.delay_s
        # The slow look (``slow_cutoff_hz``): differentiated channels only, where a lower
        # cut-off buys the most (a flow sensor's noise is not differentiated).
        slow = cfg.slow_look() if Channel(self.detect_on[0]).is_cumulative else None
        self._slow = (
            Look(name, self.detect_on, scales, slow, self._resolution) if slow is not None else None
        )
        self._sides = (
            [LetdownDetector(c, cfg, delay) for c in self.detect_on] if self.double else []
        )
        self._looks = OneAnnouncement(cfg.min_interval_s, cfg.evidence_s, cfg.rate_hz)
        self._resampler = Resampler(
            cfg.rate_hz, cfg.gap_s, len(self.detect_on), cfg.burst_frac, cfg.burst_share
        )
        self._volume = SessionVolume(cfg.rate_hz)
        self.reset()

    @property
    def delay_s(self) -> float:
        """How late the flow estimate shows a change while no pump cycle is measured
        (the longest smoother, the spike test or artifact margin, the low-pass), s; each
        sample's own delay comes with it from ``flow``."""
        return self._fast.delay_s

    def reset(self) -> None:
        """Back to the just-built state."""
        self._resampler.reset()
        self._resolution.reset()
        slow = [self._slow] if self._slow is not None else []
        for stage in [self._fast, *slow, *self._sides, self._volume, self._looks]:
            stage.reset()
        self._side_events: list[Event] = []
        self._t: float | None = None
        self._flow: float | None = None
        self._letdowns = 0

    @property
    def status(self) -> PipelineStatus:
        """A snapshot for live views."""
        return PipelineStatus(
            t_s=self._t,
            flow_ml_s=self._flow,
            volume_ml=self._volume.volume_ml,
            letdowns=self._letdowns,
            gaps=self._resampler.gaps,
            steps_removed=sum(f.jumps_cut for f in self._fast.flows),
        )

    def process(self, block: SampleBlock) -> list[Event]:
        """Feed a block of any size; returns events detected or completed in it, in order."""
        t_grid, v_grid = self._grid(block)
        flow = self._fast.estimate(t_grid, v_grid)
        t, f, delay = flow.t_s, flow.flow_ml_s, flow.delay_s
        slow = self._slow.run(t_grid, v_grid) if self._slow is not None else []
        if t.size == 0:
            return self._finish(self._looks.merge([], slow, self._taken_s()))
        total, late = flow.summed()
        self._volume.process(total)
        finite = np.flatnonzero(np.isfinite(total))
        if finite.size:
            self._t, self._flow = float(t[finite[-1]]), float(total[finite[-1]])
        floor = self._fast.floor(t)
        for k, side in enumerate(self._sides):
            found = side.process(t, f[k], delay[k], flow.known_s, floor)
            self._side_events.extend(e for e in found if not e.complete)
        fast = self._fast.detect(flow, total, late, floor)
        return self._finish(self._looks.merge(fast, slow, self._taken_s()))

    def _taken_s(self) -> float:
        """The newest grid time both looks have taken, s: held detections due by then are
        announced."""
        slow = self._slow.taken_s if self._slow is not None else np.inf
        return min(self._fast.taken_s, slow)

    def flush(self) -> list[Event]:
        """End of stream: complete the running letdown and release held events."""
        end = self._t if self._t is not None else 0.0  # both looks end with the stream
        fast = [(end, e) for e in self._fast.detector.flush()]
        slow = [(end, e) for e in self._slow.detector.flush()] if self._slow is not None else []
        return self._finish(self._looks.merge(fast, slow, end))

    def flow(self, block: SampleBlock) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Feed a block to the conditioning stages only; get grid times (s), the smoothed
        flow of each detection channel (mL/s, shape (channels, n)) and how late each of
        those samples shows a change (s, same shape)."""
        return self._fast.estimate(*self._grid(block))[:3]

    def _grid(self, block: SampleBlock) -> tuple[np.ndarray, np.ndarray]:
        """The block's detection channels on the internal grid: times (s) and values."""
        values = block.values[:, self._columns] if len(block) else np.empty((0, len(self._columns)))
        self._resolution.record(block.t_s, values, enough=self._fast.fine_ml)
        return self._resampler.process(block.t_s, values)

    def _finish(self, events: list[Event]) -> list[Event]:
        """Count the letdowns, and attach side onsets when double pumping."""
        return self._fuse(events) if self.double else self._count(events)

    def _count(self, events: list[Event]) -> list[Event]:
        if not events:
            return events
        self._letdowns += sum(1 for e in events if not e.complete)
        self._letdowns -= sum(1 for e in events if e.label == "retracted")
        return events

    def _fuse(self, events: list[Event]) -> list[Event]:
        """Attach each side's onset to fused events.

        A detection carries the side onsets detected by then; a completed letdown those
        detected within ``evidence_s`` of it. A letdown completes no sooner than that
        (or is retracted), and side detectors run before the fused one on every block, so
        the result does not depend on the chunking.
        """
        out = []
        for event in self._count(events):
            if not event.complete:
                out.append(self._with_sides(event, event.detected_s))
            elif event.label == "letdown":
                known = event.detected_s + self.config.evidence_s
                out.append(self._with_sides(event, known, final=True))
            else:
                out.append(event)
        # Side onsets of one letdown arrive within seconds of it: a short list is plenty.
        self._side_events = self._side_events[-64:]
        return out

    def _with_sides(self, event: Event, known_s: float, final: bool = False) -> Event:
        sides: dict[str, float] = {}
        for side in self._side_events:
            close = abs(side.onset_s - event.onset_s) <= self.config.fuse_s
            if close and side.detected_s <= known_s:
                key = Channel(side.channel).side or side.channel
                sides.setdefault(key, side.onset_s)
        return replace(event, side_onsets_s=sides, one_sided=final and len(sides) == 1)


def run_blocks(pipeline: Pipeline, blocks: Iterable[SampleBlock]) -> list[Event]:
    """Feed blocks through ``pipeline`` and flush; returns the complete letdowns in order."""
    events: list[Event] = []
    for block in blocks:
        events.extend(e for e in pipeline.process(block) if e.complete)
    events.extend(e for e in pipeline.flush() if e.complete)
    return sorted((e for e in events if e.label == "letdown"), key=lambda e: e.onset_s)


def detect_recording(
    recording: Recording, config: DetectorConfig | None = None, chunk: int | None = None
) -> list[Event]:
    """Detect letdowns in a loaded recording.

    Args:
        recording: samples and sidecar.
        config: detector parameters.
        chunk: feed the streaming detector this many samples at a time
            (``None``: the whole recording at once). The result does not depend on it.

    Returns:
        Complete letdown events, by onset.
    """
    pipeline = Pipeline(recording.channels, recording.meta.calibration, config)
    blocks = [recording.to_block()] if chunk is None else recording.blocks(chunk)
    return run_blocks(pipeline, blocks)


def detect(
    data: Recording | pd.DataFrame | Iterable[SampleBlock | pd.DataFrame],
    calibration: Mapping[str, float] | None = None,
    config: DetectorConfig | None = None,
) -> list[Event]:
    """Detect letdowns in a recording, a DataFrame, or an iterator of chunks.

    Args:
        data: a :class:`Recording`; a DataFrame with ``t_s`` and channel columns;
            or an iterable of :class:`SampleBlock` or such DataFrames (streamed
            chunk by chunk, e.g. from a file read in pieces).
        calibration: ``pa_per_ml`` / ``g_per_ml`` (a Recording brings its own).
        config: detector parameters.

    Returns:
        Complete letdown events, by onset.

    >>> import numpy as np
    >>> t = np.arange(0, 300, 0.1)
    >>> flow = np.where(t > 60, 0.8 * np.exp(-(t - 60) / 90), 0.02)
    >>> events = detect(pd.DataFrame({"t_s": t, "flow_ml_s": flow}))
    >>> [(round(e.onset_s), round(e.peak_flow_ml_s, 1)) for e in events]
    [(58, 0.8)]
    """
    if isinstance(data, Recording):
        return detect_recording(data, config)
    chunks = [data] if isinstance(data, pd.DataFrame) else data
    blocks = (_as_block(chunk) for chunk in chunks)
    first = next(blocks, None)
    if first is None:
        return []
    pipeline = Pipeline(first.channels, calibration, config)
    return run_blocks(pipeline, _chain(first, blocks))


def _as_block(chunk: SampleBlock | pd.DataFrame) -> SampleBlock:
    if isinstance(chunk, SampleBlock):
        return chunk
    if "t_s" not in chunk.columns:
        raise ConfigError("a DataFrame of samples needs a t_s column (seconds)", "t_s")
    channels = tuple(c for c in chunk.columns if c != "t_s")
    return SampleBlock(
        chunk["t_s"].to_numpy(float), chunk[list(channels)].to_numpy(float), channels
    )


def _chain(first: SampleBlock, rest: Iterable[SampleBlock]) -> Iterable[SampleBlock]:
    yield first
    yield from rest


def flow_frame(recording: Recording, config: DetectorConfig | None = None) -> pd.DataFrame:
    """The smoothed flow estimate of a recording, for plots and research.

    Returns:
        ``t_s`` (corrected by each sample's delay, s; non-decreasing) and one
        ``flow_ml_s`` column per detection channel (``flow_ml_s_left``...) plus their sum
        ``flow_ml_s`` when double.
    """
    pipeline = Pipeline(recording.channels, recording.meta.calibration, config)
    t, f, delay = pipeline.flow(recording.to_block())
    late = np.nan_to_num(summed_delay(delay), nan=pipeline.delay_s)  # gaps: no flow anyway
    # A held sample (an artifact cut out) tells of the flow at the hold's start: a stretch
    # of them collapses onto that time, and the times stay in order.
    out = {"t_s": np.fmax.accumulate(t - late)}
    if pipeline.double:
        for name, row in zip(pipeline.detect_on, f, strict=True):
            out[f"flow_ml_s_{Channel(name).side}"] = row
    out["flow_ml_s"] = f.sum(axis=0)
    return pd.DataFrame(out)


#: Channel sets whose loops :func:`warm_up` runs: a cumulative and a flow sensor, both sides.
WARM_UP_CHANNELS = (("weight_g",), ("flow_ml_s",), ("weight_g_left", "weight_g_right"))


def warm_up(config: DetectorConfig | None = None) -> None:
    """Run throwaway pipelines over 3 s of flat samples, so every compiled loop is loaded
    (or, on a cold cache, compiled) before a user is waiting on the first real sample."""
    t_s = np.arange(0.0, 3.0, 0.05)
    for channels in WARM_UP_CHANNELS:
        pipeline = Pipeline(channels, config=config)
        pipeline.process(SampleBlock(t_s, np.zeros((t_s.size, len(channels))), channels))
        pipeline.flush()
