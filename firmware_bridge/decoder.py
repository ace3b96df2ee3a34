"""Host-side stream decoder: bytes in, device info / samples / status out.

Pure and incremental: no I/O, no clock. Feed it whatever the port delivered,
in chunks of any size; the output does not depend on how the bytes were split.
It speaks both wire modes of ``PROTOCOL.md`` and tells them apart by the bytes
themselves (binary frames start with ``A5 5A``, which never occurs in ASCII
text), so a device may switch modes mid-stream. It never raises on input,
keeps at most one frame (or one text line) of bytes buffered between calls,
and resynchronises after garbage, truncation or bit flips by trying every
sync position it has not yet ruled out, so every intact frame is decoded.
Text lines are taken only at a line start outside a binary frame: the bytes a
frame header claims (even when its CRC then fails) are never read as text.
Text values must be finite numbers or ``nan`` (``1e999`` is a bad line).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from struct import unpack_from
from zlib import crc32

import numpy as np

from .protocol import (
    BATTERY_UNKNOWN,
    CRC_LEN,
    FRAME_INFO,
    FRAME_SAMPLES,
    FRAME_STATUS,
    HEADER_LEN,
    MAX_CHANNELS,
    MAX_LINE,
    MAX_PAYLOAD,
    SEQ_MOD,
    STATUS_SENSOR_SATURATED,
    STATUS_TARE_DONE,
    SYNC,
    T_MS_MOD,
    VERSION,
)

_SYNC0 = SYNC[0]
_SYNC1 = SYNC[1]
_NEWLINE = b"\n"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}\Z")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\Z|nan\Z", re.IGNORECASE)
_HEADER_KEYS = ("channels", "calibration", "rate_hz", "device")


@dataclass(frozen=True)
class DeviceInfo:
    """What a device announced about itself (binary info frame or text header)."""

    channels: tuple[str, ...]
    """Channel names with units, in the order values arrive."""
    sample_rate_hz: float | None
    """Nominal sample rate, Hz; ``None`` when a text header did not say."""
    calibration: dict[str, float]
    """E.g. ``{"g_per_ml": 1.03}`` or ``{"pa_per_ml": 5.0}``."""
    device: str
    """Free text naming the board and firmware."""
    protocol_version: int
    """Binary protocol version; 0 for text mode."""


@dataclass(frozen=True, eq=False)
class SampleFrame:
    """Samples from one binary frame or one text line."""

    seq: int | None
    """Frame counter (0..65535); ``None`` in text mode."""
    t_device_s: np.ndarray
    """Device time of each sample, s since boot, unwrapped past 2**32 ms; shape (n,)."""
    values: np.ndarray
    """Sample values (float64 holding the device's float32), shape (n, len(channels))."""
    channels: tuple[str, ...]
    """Channel names of the columns of ``values``."""


@dataclass(frozen=True)
class StatusFrame:
    """Device health report."""

    seq: int
    """Frame counter."""
    t_device_s: float
    """Device time, s since boot (unwrapped)."""
    battery_pct: int | None
    """Battery charge, %; ``None`` on USB power or unknown."""
    tare_done: bool
    """True once the scale has been zeroed."""
    saturated: bool
    """True when the sensor reading hit its range limit."""
    error_code: int
    """0 = fine; see ``PROTOCOL.md`` for the others."""
    overruns: int
    """Samples the device lost to a full ring buffer since boot."""


@dataclass
class DecoderStats:
    """Counters of what the decoder saw; all start at 0."""

    frames_ok: int = 0
    """Binary frames with a good CRC and a valid payload."""
    crc_errors: int = 0
    """Frame candidates (valid header) whose CRC did not match."""
    bad_frames: int = 0
    """Frames with a good CRC but a payload that makes no sense (or no channel names)."""
    lost_frames: int = 0
    """Frames missing from the sequence numbers."""
    resyncs: int = 0
    """Times the decoder had to skip bytes to find the next frame or line."""
    bytes_discarded: int = 0
    """Bytes skipped while resynchronising."""
    text_lines: int = 0
    """Text lines accepted (samples and header lines)."""
    bad_lines: int = 0
    """Text lines that could not be parsed."""
    mode: str | None = None
    """``"binary"`` or ``"text"``: the mode of the last decoded item."""


Item = DeviceInfo | SampleFrame | StatusFrame


@dataclass
class _TextHeader:
    sample_rate_hz: float | None = None
    calibration: dict[str, float] = field(default_factory=dict)
    device: str = ""


class StreamDecoder:
    """Incremental decoder for the text and binary wire modes.

    Args:
        default_channels: channel names to assume before the device announces
            any (text lines, or binary frames before the info frame).

    >>> from firmware_bridge import protocol
    >>> dec = StreamDecoder()
    >>> [item.values.tolist() for item in dec.feed(protocol.encode_samples(0, 0, [0], [2.5], 1))]
    [[[2.5]]]
    >>> dec.stats.frames_ok
    1
    """

    def __init__(self, default_channels: tuple[str, ...] = ("weight_g",)) -> None:
        self.default_channels = tuple(default_channels)
        self.reset()

    def reset(self) -> None:
        """Forget all buffered bytes, announcements and counters."""
        self._buf = bytearray()
        self._stats = DecoderStats()
        self._channels: tuple[str, ...] | None = None
        self._header = _TextHeader()
        self._header_dirty = False
        self._announced: tuple | None = None
        self._at_line_start = True
        self._no_text_until = 0
        self._in_garbage = False
        self._pending: list[tuple[int, list[float]]] | None = None
        self._last_seq: int | None = None
        self._last_t_ms: int | None = None
        self._epoch_ms = 0

    @property
    def stats(self) -> DecoderStats:
        """A snapshot of the counters."""
        return replace(self._stats)

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a frame or line."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Item]:
        """Decode what ``data`` completes; keep an unfinished frame or line for later."""
        self._buf += data
        return self._scan(final=False)

    def finish(self) -> list[Item]:
        """End of stream: decode what can still be decoded and drop the rest."""
        out = self._scan(final=True)
        if self._pending is not None and self._stats.mode != "binary":
            out.extend(self._emit_text(self._pending))
        self._pending = None
        self._buf.clear()
        return out

    # -- scanning --------------------------------------------------------

    def _scan(self, final: bool) -> list[Item]:
        buf = self._buf
        out: list[Item] = []
        pos, n = 0, len(buf)
        while pos < n:
            if buf[pos] == _SYNC0 and (pos + 1 == n or buf[pos + 1] == _SYNC1):
                stop = self._frames(buf, pos, n, out)
                if stop is None:
                    if not final:
                        break
                    stop = self._discard(pos, pos + 1)
            elif self._at_line_start and pos >= self._no_text_until:
                stop = self._line(buf, pos, n, out, final)
                if stop is None:
                    break
            else:
                stop = self._skip_garbage(buf, pos, n)
            pos = stop
        del buf[:pos]
        self._no_text_until = max(0, self._no_text_until - pos)
        return out

    def _discard(self, start: int, stop: int) -> int:
        stats = self._stats
        if not self._in_garbage:
            self._in_garbage = True
            stats.resyncs += 1
        stats.bytes_discarded += stop - start
        self._at_line_start = False
        self._drop_pending()
        return stop

    def _skip_garbage(self, buf: bytearray, pos: int, n: int) -> int:
        sync = buf.find(SYNC, pos)
        newline = buf.find(_NEWLINE, pos, n if sync < 0 else sync)
        if newline >= 0:
            stop = self._discard(pos, newline + 1)
            self._at_line_start = True
            return stop
        if sync >= 0:
            return self._discard(pos, sync)
        return self._discard(pos, n - 1 if buf[n - 1] == _SYNC0 else n)

    # -- binary mode ---------------------------------------------------

    def _frames(self, buf: bytearray, pos: int, n: int, out: list[Item]) -> int | None:
        """Decode the run of valid frames that starts at ``pos``.

        Returns the position after the last good frame; ``pos + 1`` when the
        sync at ``pos`` proved false; ``None`` when that frame is incomplete.
        """
        start = pos
        run_pos, run_count, layout = pos, 0, None
        while True:
            end = _frame_end(buf, pos, n)
            if end <= 0:
                break
            ftype, length, b0, b1 = unpack_from("<xBH6xBB", buf, pos + 2)
            if ftype == FRAME_SAMPLES and layout == (length, b0, b1):
                run_count += 1
            else:
                if run_count:
                    self._sample_run(buf, run_pos, run_count, layout, out)
                run_count, layout = 0, None
                if ftype == FRAME_SAMPLES:
                    run_pos, run_count, layout = pos, 1, (length, b0, b1)
                else:
                    self._single(buf, pos, end, ftype, out)
            pos = end
        if run_count:
            self._sample_run(buf, run_pos, run_count, layout, out)
        if pos > start:
            self._drop_pending()
            self._in_garbage = False
            self._at_line_start = True  # a frame ends on a boundary; text may follow
            return pos
        if end == _INCOMPLETE:
            return None
        if end == _BAD_CRC:
            self._stats.crc_errors += 1
            # a frame whose header holds but whose CRC fails: its payload is binary, never text
            length = unpack_from("<H", buf, pos + 4)[0]
            self._no_text_until = max(self._no_text_until, pos + _MIN_FRAME + length)
        return self._discard(pos, pos + 1)

    def _sample_run(
        self, buf: bytearray, pos: int, count: int, layout: tuple[int, int, int], out: list[Item]
    ) -> None:
        """Decode ``count`` back-to-back sample frames of one layout in one numpy pass."""
        length, n, k = layout
        channels = self._channels_for(k)
        valid = channels is not None and n > 0 and length == 2 + n * (2 + 4 * k)
        dtype = _sample_dtype(n, k) if valid else _opaque_dtype(length)
        rec = np.frombuffer(bytes(buf[pos : pos + count * dtype.itemsize]), dtype)
        seqs = rec["seq"].astype(np.int64)
        self._count_seq(seqs)
        t_ms = self._unwrap(rec["t_ms"].astype(np.int64))
        stats = self._stats
        if not valid:
            stats.bad_frames += count
            return
        times = (rec["off"] + t_ms[:, None]) / 1000.0
        values = rec["val"].astype(np.float64).reshape(count, n, k)
        out.extend(map(SampleFrame, seqs.tolist(), times, values, [channels] * count))
        stats.frames_ok += count
        stats.mode = "binary"

    def _single(self, buf: bytearray, pos: int, end: int, ftype: int, out: list[Item]) -> None:
        """Decode one info or status frame."""
        seq, t_ms = unpack_from("<HI", buf, pos + 6)
        if ftype == FRAME_INFO and seq == 0:
            self._last_seq = None  # a device (re)starting its count is no loss
        self._count_seq(np.array([seq]))
        t_abs = int(self._unwrap(np.array([t_ms]))[0])
        payload = bytes(buf[pos + HEADER_LEN : end - CRC_LEN])
        item = self._info(payload) if ftype == FRAME_INFO else self._status(seq, t_abs, payload)
        if item is None:
            self._stats.bad_frames += 1
            return
        self._stats.frames_ok += 1
        self._stats.mode = "binary"
        out.append(item)

    def _count_seq(self, seqs: np.ndarray) -> None:
        """Add the gaps in consecutive frame counters to ``lost_frames``."""
        if self._last_seq is not None:
            prev = np.concatenate(([self._last_seq], seqs[:-1]))
        else:
            prev = np.concatenate(([seqs[0] - 1], seqs[:-1]))
        gaps = (seqs - prev - 1) % SEQ_MOD
        # a backwards or huge jump is a restart or a repeat, not a loss
        self._stats.lost_frames += int(gaps[gaps < SEQ_MOD // 2].sum())
        self._last_seq = int(seqs[-1])

    def _unwrap(self, t_ms: np.ndarray) -> np.ndarray:
        """Device times (ms, modulo 2**32) to ms on a clock that does not wrap."""
        last = t_ms[0] if self._last_t_ms is None else self._last_t_ms
        prev = np.concatenate(([last], t_ms[:-1]))
        wraps = np.cumsum(prev - t_ms > T_MS_MOD // 2)
        out = self._epoch_ms + wraps * T_MS_MOD + t_ms
        self._epoch_ms += int(wraps[-1]) * T_MS_MOD
        self._last_t_ms = int(t_ms[-1])
        return out

    def _channels_for(self, k: int) -> tuple[str, ...] | None:
        if self._channels is not None and len(self._channels) == k:
            return self._channels
        if len(self.default_channels) == k:
            return self.default_channels
        return None

    def _info(self, payload: bytes) -> DeviceInfo | None:
        try:
            doc = json.loads(payload.decode("ascii"))
            channels = tuple(doc["channels"])
            rate = float(doc["sample_rate_hz"])
            calibration = {str(k): float(v) for k, v in doc["calibration"].items()}
            device = str(doc["device"])
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        if not _valid_channels(channels) or not rate > 0:
            return None
        self._channels = channels
        return DeviceInfo(channels, rate, calibration, device, VERSION)

    def _status(self, seq: int, t_ms: int, payload: bytes) -> StatusFrame | None:
        if len(payload) != 6:
            return None
        battery, flags, error, overruns = unpack_from("<BBHH", payload)
        return StatusFrame(
            seq,
            t_ms / 1000.0,
            None if battery == BATTERY_UNKNOWN else battery,
            bool(flags & STATUS_TARE_DONE),
            bool(flags & STATUS_SENSOR_SATURATED),
            error,
            overruns,
        )

    # -- text mode -----------------------------------------------------

    def _line(self, buf: bytearray, pos: int, n: int, out: list[Item], final: bool) -> int | None:
        """Handle the line at ``pos``; returns the next position, ``None`` to wait."""
        limit = min(n, pos + MAX_LINE)
        sync = buf.find(SYNC, pos, limit)
        newline = buf.find(_NEWLINE, pos, limit if sync < 0 else sync)
        if newline >= 0:
            if not self._text(bytes(buf[pos:newline]), out):
                self._reject_line(pos, newline + 1)
            return newline + 1
        if sync >= 0:  # bytes that never reached a newline before a frame: not a line
            return self._discard(pos, sync)
        if limit - pos < MAX_LINE and not final:
            return None
        # too long for a line; keep a trailing A5: it may start the sync of the next frame
        stop = limit - 1 if buf[limit - 1] == _SYNC0 else limit
        self._reject_line(pos, stop)
        self._at_line_start = False
        return stop

    def _reject_line(self, start: int, stop: int) -> None:
        """A line that is not text: a bad line in text mode, noise between binary frames."""
        if self._stats.mode == "binary":
            self._discard(start, stop)
            self._at_line_start = True
        else:
            self._stats.bad_lines += 1
            self._drop_pending()

    def _text(self, raw: bytes, out: list[Item]) -> bool:
        """Parse one line (without its newline); ``False`` when it is not usable text."""
        stats = self._stats
        try:
            line = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            return False
        if not line or (line.startswith("#") and not self._header_line(line[1:])):
            return stats.mode != "binary"  # blank lines and other comments are fine in text
        self._in_garbage = False
        if line.startswith("#"):
            stats.text_lines += 1
            stats.mode = "text"
            self._drop_pending()
            return True
        sample = self._data_line(line)
        if sample is None:
            return False
        if stats.mode == "text":
            out.extend(self._emit_text([sample]))
        elif self._pending is None:
            # a lone line amid binary noise is no proof of text mode: wait for a second one
            self._pending = [sample]
        else:
            out.extend(self._emit_text([*self._pending, sample]))
            self._pending = None
        return True

    def _drop_pending(self) -> None:
        if self._pending is not None:
            self._stats.bad_lines += len(self._pending)
            self._pending = None

    def _emit_text(self, samples: list[tuple[int, list[float]]]) -> list[Item]:
        """Stamp accepted text samples (unwrapping time only now) and announce the header."""
        self._stats.mode = "text"
        self._stats.text_lines += len(samples)
        channels = self._channels or self.default_channels
        out: list[Item] = []
        if self._header_dirty:
            self._header_dirty = False
            head = self._header
            out.append(
                DeviceInfo(channels, head.sample_rate_hz, dict(head.calibration), head.device, 0)
            )
        t_s = self._unwrap(np.array([t for t, _ in samples], dtype=np.int64)) / 1000.0
        for i, (_, values) in enumerate(samples):
            out.append(SampleFrame(None, t_s[i : i + 1], np.array([values]), channels))
        return out

    def _header_line(self, body: str) -> bool:
        key, sep, value = body.partition(":")
        key, value = key.strip().lower(), value.strip()
        if not sep or key not in _HEADER_KEYS:
            return False
        head = self._header
        if key == "channels":
            channels = tuple(c.strip() for c in value.split(","))
            if not _valid_channels(channels):
                return False
            self._channels = channels
        elif key == "rate_hz":
            if not _NUMBER.match(value) or not math.isfinite(float(value)) or float(value) <= 0:
                return False
            head.sample_rate_hz = float(value)
        elif key == "calibration":
            pairs = [[x.strip() for x in p.partition("=")] for p in value.split(",")]
            if not all(s and _NAME.match(k.strip()) and _finite(v) for k, s, v in pairs):
                return False
            head.calibration = {k: float(v) for k, _, v in pairs}
        else:
            head.device = value
        announced = (self._channels, head.sample_rate_hz, head.calibration, head.device)
        self._header_dirty = self._header_dirty or announced != self._announced
        self._announced = announced
        return True

    def _data_line(self, line: str) -> tuple[int, list[float]] | None:
        """``(t_ms, values)`` of a well-formed sample line, else ``None``."""
        fields = line.split(",")
        t_text = fields[0].strip()
        if not t_text.isdigit() or len(t_text) > 10 or int(t_text) >= T_MS_MOD:
            return None
        texts = [f.strip() for f in fields[1:]]
        if not texts or not all(_NUMBER.match(v) for v in texts):
            return None
        if len(texts) != len(self._channels or self.default_channels):
            return None
        values = [float(v) for v in texts]
        if any(math.isinf(v) for v in values):  # 1e999 overflows: an error, unlike nan
            return None
        return int(t_text), values


def _finite(text: str) -> bool:
    """True for a number text that is finite (``nan`` and ``1e999`` are not)."""
    return bool(_NUMBER.match(text)) and math.isfinite(float(text))


def _valid_channels(channels: tuple) -> bool:
    return (
        0 < len(channels) <= MAX_CHANNELS
        and all(isinstance(c, str) and _NAME.match(c) for c in channels)
        and len(set(channels)) == len(channels)
    )


_INCOMPLETE, _BAD_HEADER, _BAD_CRC = 0, -1, -2
#: Shortest frame: header plus CRC, no payload.
_MIN_FRAME = HEADER_LEN + CRC_LEN


def _frame_end(buf: bytearray, pos: int, n: int) -> int:
    """End of the valid frame at ``pos``, or ``_INCOMPLETE``/``_BAD_HEADER``/``_BAD_CRC``."""
    if n - pos < _MIN_FRAME:
        return _BAD_HEADER if n - pos >= 2 and buf[pos + 1] != _SYNC1 else _INCOMPLETE
    if buf[pos] != _SYNC0 or buf[pos + 1] != _SYNC1:
        return _BAD_HEADER
    version, ftype, length = unpack_from("<BBH", buf, pos + 2)
    if version != VERSION or not FRAME_INFO <= ftype <= FRAME_STATUS or length > MAX_PAYLOAD:
        return _BAD_HEADER
    end = pos + _MIN_FRAME + length
    if end > n:
        return _INCOMPLETE
    if crc32(buf[pos + 2 : end - CRC_LEN]) != unpack_from("<I", buf, end - CRC_LEN)[0]:
        return _BAD_CRC
    return end


@lru_cache(maxsize=64)
def _sample_dtype(n: int, k: int) -> np.dtype:
    """Record layout of a samples frame with ``n`` samples of ``k`` channels."""
    return np.dtype(
        [
            ("head", "V6"),
            ("seq", "<u2"),
            ("t_ms", "<u4"),
            ("nk", "V2"),
            ("off", "<u2", (n,)),
            ("val", "<f4", (n * k,)),
            ("crc", f"V{CRC_LEN}"),
        ]
    )


@lru_cache(maxsize=64)
def _opaque_dtype(length: int) -> np.dtype:
    """Record layout of any frame with a ``length``-byte payload (header fields only)."""
    return np.dtype(
        [("head", "V6"), ("seq", "<u2"), ("t_ms", "<u4"), ("rest", f"V{length + CRC_LEN}")]
    )
