"""Text mode: only finite numbers (or nan) are samples, and text is only read at a line start
outside a binary frame, so text-looking bytes inside a damaged frame never become samples."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge import SampleFrame, StreamDecoder, protocol


def _samples(items) -> list[list[float]]:
    return [row for item in items if isinstance(item, SampleFrame) for row in item.values.tolist()]


def test_overflowing_text_values_are_bad_lines_but_nan_is_a_gap() -> None:
    dec = StreamDecoder()
    items = dec.feed(b"# channels: weight_g\n100,1.5\n200,1e999\n300,-1e999\n400,nan\n500,2.5\n")
    items += dec.finish()
    rows = _samples(items)
    assert [r[0] for r in rows if not math.isnan(r[0])] == [1.5, 2.5]
    assert sum(math.isnan(r[0]) for r in rows) == 1
    assert dec.stats.bad_lines == 2


def test_infinite_rate_or_calibration_in_a_text_header_is_refused() -> None:
    dec = StreamDecoder()
    items = dec.feed(b"# rate_hz: 1e999\n# calibration: g_per_ml=1e999\n100,1.0\n200,2.0\n")
    items += dec.finish()
    infos = [i for i in items if not isinstance(i, SampleFrame)]
    assert all(i.sample_rate_hz is None and i.calibration == {} for i in infos)
    assert _samples(items) == [[1.0], [2.0]]


def _damaged(frame: bytes, text: bytes) -> bytes:
    """``frame`` with its payload overwritten by text lines (header intact, so the CRC fails)."""
    payload = bytearray(frame[protocol.HEADER_LEN : -protocol.CRC_LEN])
    filler = (text * (len(payload) // len(text) + 1))[: len(payload)]
    payload[:] = filler
    return frame[: protocol.HEADER_LEN] + bytes(payload) + frame[-protocol.CRC_LEN :]


@settings(max_examples=60, deadline=None)
@given(
    n_frames=st.integers(3, 25),
    damaged=st.sets(st.integers(0, 24), max_size=8),
    cuts=st.lists(st.integers(1, 97), max_size=30),
    seed=st.integers(0, 2**16),
)
def test_text_inside_a_damaged_binary_frame_never_becomes_samples(
    n_frames, damaged, cuts, seed
) -> None:
    rng = np.random.default_rng(seed)
    stream, sent = bytearray(), []
    for seq in range(n_frames):
        n = int(rng.integers(8, 20))
        values = rng.normal(100, 30, n).astype(np.float32).tolist()
        frame = protocol.encode_samples(seq, 100 * seq, list(range(n)), values, 1)
        if seq in damaged:
            stream += _damaged(frame, b"\n12345,6.5\n23456,7.5\n")
        else:
            stream += frame
            sent += values
    dec = StreamDecoder()
    items, pos = [], 0
    for cut in cuts:  # any chunking
        items += dec.feed(bytes(stream[pos : pos + cut]))
        pos += cut
    items += dec.feed(bytes(stream[pos:])) + dec.finish()
    got = [row[0] for row in _samples(items)]
    assert got == sent  # every intact frame, nothing invented from the damaged ones
    assert dec.stats.text_lines == 0
