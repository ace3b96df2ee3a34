"""Every streaming stage: same output for any chunking, reset == fresh, input untouched.

Batch detection is the streaming detector fed one big block, so these
properties are what make ``letdown detect`` and ``letdown live`` agree.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letdown_detect.conditioning.cycle import CycleSmoother
from letdown_detect.conditioning.filters import EwMean, RollingStat, SosFilter
from letdown_detect.conditioning.flow import FlowEstimator
from letdown_detect.conditioning.resample import Resampler
from letdown_detect.conditioning.resolution import Resolution
from letdown_detect.detection.detector import LetdownDetector
from letdown_detect.model import SampleBlock
from letdown_detect.params import DetectorConfig
from letdown_detect.pipeline import Pipeline
from letdown_detect.sources.simulate import SimConfig, corpus_config, simulate_session

SIGNAL = np.cumsum(np.random.default_rng(3).normal(0.05, 1.0, 3000))
SIGNAL[1200:1210] += 40.0  # a touch
SIGNAL[2000:] += 120.0  # a tare


def _chunks(x: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    cuts = np.cumsum(sizes)
    return np.split(x, cuts[cuts < x.size])


def _stages():
    cfg = DetectorConfig()
    return {
        "sos": lambda: SosFilter(0.15, 10.0),
        "ewmean": lambda: EwMean(5.0, 10.0),
        "median": lambda: RollingStat(25),
        "opening": lambda: RollingStat(3, "min"),
        "max": lambda: RollingStat(301, "max"),
        "cycle": lambda: CycleSmoother(cfg),
        "detector": lambda: _Detector(LetdownDetector("flow_ml_s", cfg, 3.0)),
        "flow_cumulative": lambda: FlowEstimator("weight_g", 1 / 1.03, cfg),
        "flow_direct": lambda: FlowEstimator("flow_ml_s", 1.0, cfg),
        "resolution": lambda: Resolution([1.0]),
    }


class _Detector:
    """The detector as an array stage: flow in (grid samples), event times out."""

    def __init__(self, detector: LetdownDetector) -> None:
        self.detector = detector
        self.reset()

    def reset(self) -> None:
        self.detector.reset()
        self._n = 0

    @property
    def state(self):
        return {"detector": self.detector.state, "n": self._n}

    @state.setter
    def state(self, saved) -> None:
        self.detector.state, self._n = saved["detector"], saved["n"]

    def process(self, x: np.ndarray) -> np.ndarray:
        t = (self._n + np.arange(x.size)) / 10.0
        self._n += x.size
        # A flow with rises: the walk's slow swings, positive.
        events = self.detector.process(t, np.abs(x) / 20.0)
        return np.array([[e.onset_s, e.detected_s, e.end_s or -1.0] for e in events]).reshape(-1, 3)


def _run(stage, pieces: list[np.ndarray]) -> np.ndarray:
    if isinstance(stage, FlowEstimator):
        t = np.arange(sum(p.size for p in pieces)) / 10.0
        out, start = [], 0
        for piece in pieces:
            out.append(stage.process(t[start : start + piece.size], piece)[1])
            start += piece.size
        return np.concatenate(out)
    return np.concatenate([stage.process(p) for p in pieces])


def _feed(stage, x: np.ndarray, start: int) -> np.ndarray:
    """Feed ``x`` as if it began at grid sample ``start`` (flow estimators take times)."""
    if isinstance(stage, FlowEstimator):
        return stage.process((start + np.arange(x.size)) / 10.0, x)[1]
    return stage.process(x)


@pytest.mark.parametrize("name", sorted(_stages()))
@pytest.mark.parametrize("cut", [1, 700, 1205, 2999])
def test_state_saved_and_restored_continues_identically(name: str, cut: int) -> None:
    """As scipy's zi/zf: a stage's state read mid-stream and restored into a fresh stage
    continues exactly as the original would have."""
    stage = _stages()[name]()
    head = SIGNAL[:cut].copy()
    _feed(stage, head, 0)
    saved = stage.state
    tail = SIGNAL[cut:].copy()
    expected = _feed(stage, tail, cut)
    fresh = _stages()[name]()
    fresh.state = saved
    np.testing.assert_array_equal(_feed(fresh, tail, cut), expected)


@pytest.mark.parametrize("name", sorted(_stages()))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 700), min_size=1, max_size=30))
def test_stage_output_does_not_depend_on_chunking(name: str, sizes: list[int]) -> None:
    make = _stages()[name]
    whole = _run(make(), [SIGNAL.copy()])
    chunked = _run(make(), _chunks(SIGNAL.copy(), sizes))
    np.testing.assert_array_equal(whole, chunked)


GAPPY = SIGNAL.copy()
GAPPY[700:712] = np.nan  # 1.2 s: bridged
GAPPY[1500:2300] = np.nan  # 80 s: longer than max_fill_s, so a gap that restarts the filters


@pytest.mark.parametrize("kind", ["weight_g", "flow_ml_s"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 700), min_size=1, max_size=30))
def test_flow_estimate_across_gaps_does_not_depend_on_chunking(kind: str, sizes: list[int]):
    whole = _run(FlowEstimator(kind, 1.0, DetectorConfig()), [GAPPY.copy()])
    assert np.isfinite(whole[:1500]).all()  # the short hole is bridged
    assert np.isnan(whole[1500:2300]).all()  # the long one stays a gap
    chunked = _run(FlowEstimator(kind, 1.0, DetectorConfig()), _chunks(GAPPY.copy(), sizes))
    np.testing.assert_array_equal(whole, chunked)


@pytest.mark.parametrize("name", sorted(_stages()))
def test_reset_equals_fresh_and_input_is_untouched(name: str) -> None:
    stage = _stages()[name]()
    x = SIGNAL.copy()
    first = _run(stage, [x])
    np.testing.assert_array_equal(x, SIGNAL)
    stage.reset()
    np.testing.assert_array_equal(_run(stage, [x]), first)


@pytest.mark.parametrize("name", sorted(_stages()))
def test_empty_chunks_change_nothing(name: str) -> None:
    whole = _run(_stages()[name](), [SIGNAL.copy()])
    pieces = [SIGNAL[:500], np.empty(0), SIGNAL[500:], np.empty(0)]
    np.testing.assert_array_equal(_run(_stages()[name](), pieces), whole)


def test_resampler_is_chunk_invariant_with_jitter_and_gaps() -> None:
    rng = np.random.default_rng(5)
    t = np.sort(rng.uniform(0, 300, 5000))
    t = t[(t < 100) | (t > 112)]  # a 12 s gap
    v = rng.normal(size=(t.size, 2))
    whole = Resampler(10.0, 1.5, 2).process(t, v)
    r = Resampler(10.0, 1.5, 2)
    parts = [r.process(t[a : a + 37], v[a : a + 37]) for a in range(0, t.size, 37)]
    np.testing.assert_array_equal(whole[0], np.concatenate([p[0] for p in parts]))
    np.testing.assert_array_equal(whole[1], np.concatenate([p[1] for p in parts]))
    assert np.isnan(whole[1][(whole[0] > 101) & (whole[0] < 111)]).all()  # gap, not invented


SESSIONS = [simulate_session(corpus_config(i), seed=i) for i in (0, 2, 3, 4, 14, 19, 23)]
SHORT = [
    simulate_session(SimConfig(kind=k, duration_s=360, letdown_times_s=(40.0, 200.0)), seed=9)
    for k in ("flow_ml_s", "pressure_pa")
]


def _events(sim, sizes: list[int] | None):
    rec = sim.recording
    pipeline = Pipeline(rec.channels, rec.meta.calibration)
    block = rec.to_block()
    blocks = [block] if sizes is None else block.split(sizes)
    out = []
    for b in blocks:
        out.extend(pipeline.process(b))
    return out + pipeline.flush()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, len(SESSIONS) - 1),
    sizes=st.lists(st.integers(1, 4000), min_size=1, max_size=40),
)
def test_pipeline_events_do_not_depend_on_chunking(which: int, sizes: list[int]) -> None:
    sim = SESSIONS[which]
    assert _events(sim, sizes) == _events(sim, None)


@pytest.mark.parametrize("sim", SHORT, ids=lambda s: s.config.kind)
def test_one_sample_at_a_time_equals_whole_file(sim) -> None:
    whole = _events(sim, None)
    assert [e for e in whole if e.complete and e.label == "letdown"]
    assert _events(sim, [1] * len(sim.recording.data)) == whole


def test_empty_block_gives_no_events() -> None:
    pipeline = Pipeline(("weight_g",))
    assert pipeline.process(SampleBlock(np.empty(0), np.empty((0, 1)), ("weight_g",))) == []
    assert pipeline.flush() == []
