"""One session volume: streaming, chunk-invariant, never falling, and the same number in the
live status, the summary and the plotted curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from letdown_detect.conditioning.volume import SessionVolume
from letdown_detect.recording import read_recording
from letdown_detect.research.analysis import analyse, cumulative_volume

EXAMPLES = Path(__file__).resolve().parent.parent / "recordings"

flows = st.lists(
    st.one_of(st.floats(-5, 5, allow_nan=False), st.just(float("nan"))), min_size=1, max_size=200
)


@settings(max_examples=200, deadline=None)
@given(flows, st.lists(st.integers(1, 50), min_size=1, max_size=20))
def test_any_chunking_gives_the_same_volume_to_the_last_bit(flow, cuts) -> None:
    x = np.array(flow)
    whole = SessionVolume(10.0).process(x)
    stage, parts, i = SessionVolume(10.0), [], 0
    for n in cuts * (len(x) // max(sum(cuts), 1) + 1):
        parts.append(stage.process(x[i : i + n]))
        i += n
        if i >= len(x):
            break
    assert np.array_equal(np.concatenate(parts), whole)
    assert np.all(np.diff(whole) >= 0) and whole[0] >= 0
    stage.reset()
    assert stage.volume_ml == 0.0


def test_noise_cancels_instead_of_piling_up() -> None:
    noise = np.random.default_rng(1).normal(0.0, 0.02, 12_000)  # 20 min of flat flow at 10 Hz
    assert SessionVolume(10.0).process(noise)[-1] < 1.0  # the positive part alone gives ~9.6


def test_status_summary_and_curve_agree_on_a_recording() -> None:
    analysis = analyse(read_recording(EXAMPLES / "weight_single.csv"))
    curve = cumulative_volume(analysis.flow)
    assert analysis.summary.volume_ml == curve[-1] > 10.0
