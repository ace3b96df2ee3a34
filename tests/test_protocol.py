"""Wire protocol: encoder bytes, decoder round trips, both modes, counters, device time."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge import DeviceInfo, SampleFrame, StatusFrame, StreamDecoder, protocol

CHANNELS = ("weight_g", "pressure_pa")


def _samples(seq: int, t_ms: int, rows: list[list[float]], step_ms: int = 50) -> bytes:
    flat = [v for row in rows for v in row]
    return protocol.encode_samples(seq, t_ms, [i * step_ms for i in range(len(rows))], flat, 2)


def _info(seq: int = 0, t_ms: int = 0) -> bytes:
    return protocol.encode_info(seq, t_ms, CHANNELS, 20, {"g_per_ml": 1.03}, "test rig")


@given(st.binary(max_size=600))
def test_firmware_crc_is_zlib_crc32(data):
    """The pure-Python CRC the board runs equals the host's C implementation."""
    assert protocol.crc32(data) == zlib.crc32(data)


def test_binary_round_trip_of_info_samples_and_status():
    rows = [[1.5, 300.25], [2.0, float("nan")], [-0.125, 1e6]]
    stream = (
        _info()
        + _samples(1, 1000, rows)
        + protocol.encode_status(2, 1200, 87, protocol.STATUS_TARE_DONE, 0, 3)
    )
    dec = StreamDecoder(default_channels=("weight_g",))
    info, frame, status = dec.feed(stream)
    assert info == DeviceInfo(CHANNELS, 20.0, {"g_per_ml": 1.03}, "test rig", protocol.VERSION)
    assert isinstance(frame, SampleFrame)
    assert frame.seq == 1 and frame.channels == CHANNELS
    np.testing.assert_array_equal(frame.t_device_s, [1.0, 1.05, 1.1])
    np.testing.assert_array_equal(frame.values, np.float32(rows))
    assert status == StatusFrame(2, 1.2, 87, True, False, 0, 3)
    stats = dec.stats
    assert (stats.frames_ok, stats.crc_errors, stats.lost_frames, stats.mode) == (3, 0, 0, "binary")


def test_status_on_usb_power_reports_no_battery():
    frame = protocol.encode_status(0, 0, protocol.BATTERY_UNKNOWN, 0, protocol.ERROR_ADC, 0)
    (status,) = StreamDecoder().feed(frame)
    assert status.battery_pct is None and status.error_code == protocol.ERROR_ADC
    assert not status.tare_done


def test_text_mode_header_and_lines():
    text = (
        protocol.text_header(CHANNELS, 20, {"g_per_ml": 1.03}, "arduino")
        + "100,1.500,2.250\n"
        + "150,1.750,nan\r\n"
    )
    dec = StreamDecoder()
    info, first, second = dec.feed(text.encode())
    assert info == DeviceInfo(CHANNELS, 20.0, {"g_per_ml": 1.03}, "arduino", 0)
    assert first.seq is None and first.channels == CHANNELS
    np.testing.assert_array_equal(first.t_device_s, [0.1])
    np.testing.assert_array_equal(first.values, [[1.5, 2.25]])
    assert np.isnan(second.values[0, 1])
    assert dec.stats.mode == "text" and dec.stats.text_lines == 6


def test_text_without_header_uses_the_callers_channel():
    dec = StreamDecoder(default_channels=("pressure_pa",))
    frames = dec.feed(b"0,101.5\n50,102.5\n100,103.5\n")
    assert [f.channels for f in frames] == [("pressure_pa",)] * 3
    assert [f.values[0, 0] for f in frames] == [101.5, 102.5, 103.5]


def test_text_lines_that_do_not_fit_are_counted_not_emitted():
    dec = StreamDecoder()
    lines = b"# channels: weight_g\n0,1.0\n50,1.0,2.0\nhello\n100,abc\n150,2.0\n"
    frames = [f for f in dec.feed(lines) if isinstance(f, SampleFrame)]
    assert [f.values[0, 0] for f in frames] == [1.0, 2.0]
    assert dec.stats.bad_lines == 3


def test_unknown_comment_lines_are_ignored():
    dec = StreamDecoder()
    frames = dec.feed(b"# hello from the sketch\n0,1.0\n50,2.0\n")
    assert [f.values[0, 0] for f in frames] == [1.0, 2.0]
    assert dec.stats.bad_lines == 0


def test_device_switches_from_text_to_binary_and_back():
    dec = StreamDecoder(default_channels=CHANNELS)
    stream = (
        b"# channels: weight_g,pressure_pa\n0,1.0,2.0\n50,1.5,2.5\n"
        + _samples(0, 100, [[3.0, 4.0]])
        + b"# channels: weight_g,pressure_pa\n150,5.0,6.0\n"
    )
    items = dec.feed(stream)
    modes = [
        ("binary" if f.seq is not None else "text") for f in items if isinstance(f, SampleFrame)
    ]
    assert modes == ["text", "text", "binary", "text"]
    assert dec.stats.mode == "text"


def test_a_lone_text_like_line_amid_binary_frames_is_not_a_sample():
    dec = StreamDecoder(default_channels=CHANNELS)
    stream = _samples(0, 0, [[1.0, 1.0]]) + b"\n12,3.0,4.0\n" + _samples(1, 50, [[2.0, 2.0]])
    items = dec.feed(stream)
    assert [f.seq for f in items] == [0, 1]
    assert dec.stats.bad_lines == 1


def test_lost_frames_are_counted_from_sequence_gaps():
    dec = StreamDecoder(default_channels=CHANNELS)
    frames = [_samples(seq, seq * 100, [[1.0, 2.0]]) for seq in (0, 1, 4, 5, 9)]
    dec.feed(b"".join(frames))
    assert dec.stats.lost_frames == 2 + 3


def test_sequence_wraps_at_65536_without_loss():
    dec = StreamDecoder(default_channels=CHANNELS)
    dec.feed(b"".join(_samples(seq % 65536, 0, [[1.0, 2.0]]) for seq in (65534, 65535, 65536)))
    assert dec.stats.lost_frames == 0


def test_device_restart_announced_by_info_frame_is_no_loss():
    dec = StreamDecoder(default_channels=CHANNELS)
    dec.feed(_info(0) + _samples(1, 0, [[1.0, 2.0]]) + _samples(2, 50, [[1.0, 2.0]]))
    dec.feed(_info(0) + _samples(1, 0, [[1.0, 2.0]]))
    assert dec.stats.lost_frames == 0


def test_device_clock_wrap_at_2_pow_32_ms_keeps_time_increasing():
    start = 2**32 - 100
    stream = b"".join(_samples(i, start + 50 * i, [[1.0, 2.0]]) for i in range(5))
    times = np.concatenate([f.t_device_s for f in StreamDecoder(CHANNELS).feed(stream)])
    np.testing.assert_allclose(times, (start + 50 * np.arange(5)) / 1000.0)


def test_text_clock_wrap_is_unwrapped_too():
    lines = f"{2**32 - 50},1.0\n0,2.0\n50,3.0\n".encode()
    times = [f.t_device_s[0] for f in StreamDecoder().feed(lines)]
    assert np.all(np.diff(times) == pytest.approx(0.05))


def test_sample_frames_with_unannounced_channel_count_are_dropped_and_counted():
    dec = StreamDecoder(default_channels=("weight_g",))
    assert dec.feed(_samples(0, 0, [[1.0, 2.0]])) == []
    assert dec.stats.bad_frames == 1
    assert len(dec.feed(_info(1) + _samples(2, 50, [[1.0, 2.0]]))) == 2


def test_info_frame_with_bad_channel_names_is_rejected():
    payload = b'{"channels":["Weight (g)"],"sample_rate_hz":20,"calibration":{},"device":"x"}'
    dec = StreamDecoder()
    assert dec.feed(protocol.encode_frame(protocol.FRAME_INFO, 0, 0, payload)) == []
    assert dec.stats.bad_frames == 1


def test_encoder_refuses_frames_that_do_not_fit():
    n = protocol.max_samples_per_frame(2)
    protocol.encode_samples(0, 0, [0] * n, [0.0] * (2 * n), 2)
    with pytest.raises(ValueError):
        protocol.encode_samples(0, 0, [0] * (n + 1), [0.0] * (2 * n + 2), 2)
    with pytest.raises(ValueError):
        protocol.encode_samples(0, 0, [0, 1], [0.0] * 3, 2)
    with pytest.raises(ValueError):
        protocol.encode_info(0, 0, ('we"ight',), 20, {}, "x")


def test_frames_fit_a_ble_notification_of_mtu_247():
    k = 2
    n = protocol.samples_per_notification(k, mtu=247)
    frame = protocol.encode_samples(0, 0, [0] * n, [0.0] * (n * k), k)
    assert len(frame) <= 247 - 3
    assert len(protocol.encode_samples(0, 0, [0] * (n + 1), [0.0] * (n * k + k), k)) > 244
