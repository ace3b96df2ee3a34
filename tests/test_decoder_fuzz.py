"""The decoder never raises, never hangs, stays small, and recovers every intact frame."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from firmware_bridge import DeviceInfo, SampleFrame, StatusFrame, StreamDecoder, protocol

CHANNELS = ("weight_g", "pressure_pa")
pytestmark = pytest.mark.timeout(120)


def _stream(n_frames: int, seed: int) -> list[bytes]:
    """A device's frames: info, then sample frames with a status frame now and then."""
    rng = np.random.default_rng(seed)
    frames = [protocol.encode_info(0, 0, CHANNELS, 20, {"pa_per_ml": 5.0}, "fuzz")]
    for seq in range(1, n_frames):
        t_ms = 1000 + 100 * seq
        if seq % 7 == 0:
            frames.append(protocol.encode_status(seq, t_ms, 50, 1, 0, seq))
            continue
        n = int(rng.integers(1, 12))
        values = rng.normal(100, 50, n * 2).astype(np.float32).tolist()
        frames.append(protocol.encode_samples(seq, t_ms, [5 * i for i in range(n)], values, 2))
    return frames


def _key(item) -> tuple:
    """A comparable form of a decoded item."""
    if isinstance(item, SampleFrame):
        return (
            "samples",
            item.seq,
            item.channels,
            item.t_device_s.tobytes(),
            item.values.tobytes(),
        )
    assert isinstance(item, DeviceInfo | StatusFrame)
    return (type(item).__name__, item)


def _decode_each(frames: list[bytes]) -> list[tuple]:
    return [_key(item) for frame in frames for item in StreamDecoder(CHANNELS).feed(frame)]


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(st.binary(max_size=700), max_size=12))
def test_arbitrary_bytes_never_raise_and_buffer_stays_bounded(chunks):
    dec = StreamDecoder(CHANNELS)
    for chunk in chunks:
        items = dec.feed(chunk)
        assert all(isinstance(i, DeviceInfo | SampleFrame | StatusFrame) for i in items)
        assert dec.buffered < max(protocol.MAX_FRAME, protocol.MAX_LINE)
    dec.finish()
    stats = dec.stats
    assert dec.buffered == 0
    assert stats.bytes_discarded <= sum(map(len, chunks))


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**16), cuts=st.lists(st.integers(0, 10**6), max_size=30))
def test_random_splits_of_a_binary_stream_decode_identically(seed, cuts):
    data = b"".join(_stream(40, seed))
    whole = StreamDecoder(CHANNELS)
    expected = [_key(i) for i in whole.feed(data) + whole.finish()]
    split = StreamDecoder(CHANNELS)
    got = [_key(i) for part in _split(data, cuts) for i in split.feed(part)]
    got += [_key(i) for i in split.finish()]
    assert got == expected == _decode_each(_stream(40, seed))
    assert split.stats == whole.stats


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 2**32 - 1), st.floats(-1e5, 1e5), st.floats(-1e5, 1e5)),
        min_size=2,
        max_size=30,
    ),
    cuts=st.lists(st.integers(0, 10**5), max_size=20),
)
def test_random_splits_of_a_text_stream_decode_identically(rows, cuts):
    text = protocol.text_header(CHANNELS, 20, {}, "t") + "".join(
        protocol.text_line(t, [a, b]) for t, a, b in rows
    )
    data = text.encode()
    whole = StreamDecoder()
    expected = [_key(i) for i in whole.feed(data) + whole.finish()]
    split = StreamDecoder()
    got = [_key(i) for part in _split(data, cuts) for i in split.feed(part)]
    got += [_key(i) for i in split.finish()]
    assert got == expected
    assert len(expected) == len(rows) + 1  # the header's DeviceInfo, then every line
    assert split.stats == whole.stats and whole.stats.bad_lines == 0


#: What happens to one frame: kept, kept after inserted noise, or damaged.
_damage = st.one_of(
    st.just(("keep",)),
    st.tuples(st.just("noise"), st.binary(min_size=1, max_size=80)),
    st.tuples(st.just("flip"), st.lists(st.integers(0, 10**6), min_size=1, max_size=3)),
    st.tuples(st.just("cut_tail"), st.integers(1, 10**6)),
    st.tuples(st.just("cut_head"), st.integers(1, 10**6)),
    st.just(("drop",)),
)


def _apply(frame: bytes, damage: tuple) -> bytes:
    """The bytes that reach the host for ``frame``."""
    kind = damage[0]
    if kind == "keep":
        return frame
    if kind == "noise":
        return damage[1] + frame
    if kind == "flip":
        data = bytearray(frame)
        bits = {b % (8 * len(frame)) for b in damage[1]}
        for bit in bits:
            data[bit // 8] ^= 1 << (bit % 8)
        return bytes(data)
    if kind == "cut_tail":
        return frame[: -(1 + damage[1] % (len(frame) - 1))]
    if kind == "cut_head":
        return frame[1 + damage[1] % (len(frame) - 1) :]
    return b""


def _found_whole(frames: list[bytes], stream: bytes) -> list[bool]:
    """Which frames a reader going left to right finds whole in ``stream``, each after the
    last one found. A cut tail followed by a cut head can rebuild a frame, and so can the
    next frame's first bytes (a frame cut by one byte is whole again when the next one
    starts with that byte); a frame rebuilt so takes those bytes, and the next is lost."""
    found, pos = [], 0
    for frame in frames:
        at = stream.find(frame, pos)
        found.append(at >= 0)
        pos = at + len(frame) if at >= 0 else pos
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    damages=st.lists(_damage, min_size=30, max_size=30),
    cuts=st.lists(st.integers(0, 10**6), max_size=10),
)
@example(seed=257, damages=[("keep",)] * 29 + [("cut_tail", 2079)], cuts=[])  # found in a run
def test_every_intact_frame_survives_corruption_and_nothing_else_is_emitted(seed, damages, cuts):
    frames = _stream(30, seed)
    sent = b"".join(_apply(frame, damage) for frame, damage in zip(frames, damages, strict=True))
    # a clean tail at least one frame long: every candidate before it must be resolved
    tail = _stream(60, seed + 1)[30:]
    assert sum(map(len, tail)) >= protocol.MAX_FRAME
    stream = sent + b"".join(tail)
    intact = _found_whole(frames + tail, stream)
    dec = StreamDecoder(CHANNELS)
    got = [_key(i) for part in _split(stream, cuts) for i in dec.feed(part)]
    expected = _decode_each([f for f, ok in zip(frames + tail, intact, strict=True) if ok])
    assert got == expected  # nothing waits for finish(): resync within one frame length
    assert dec.finish() == []
    first = intact.index(True) if True in intact else len(frames)
    assert dec.stats.lost_frames == intact[first:].count(False)
