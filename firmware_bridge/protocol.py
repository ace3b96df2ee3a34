"""Wire protocol constants and the frame encoder, shared by the firmware and the host.

This file runs unchanged on MicroPython (ESP32, RP2040, the WebAssembly port)
and on CPython: it uses only ``struct``, integer arithmetic and ``%``
formatting. Copy it to the board next to the firmware
(``mpremote cp firmware_bridge/protocol.py :``). See ``PROTOCOL.md`` for the
byte layout; the host-side reader is ``firmware_bridge.decoder``.

Binary frame (all integers little-endian)::

    sync 0xA5 0x5A | version u8 | type u8 | length u16 | seq u16 | t_ms u32 | payload | crc u32

The CRC is CRC-32 (the zlib one) over version..payload. ``t_ms`` is the device
clock in milliseconds since boot, modulo 2**32 (it wraps after 49.7 days).
"""

# ruff: noqa: UP031  (%-formatting: older or small MicroPython builds lack f-strings)

import struct

SYNC = b"\xa5\x5a"
VERSION = 1
FRAME_INFO = 1
FRAME_SAMPLES = 2
FRAME_STATUS = 3
FRAME_TYPES = (FRAME_INFO, FRAME_SAMPLES, FRAME_STATUS)
#: Bytes before the payload: sync, version, type, length, seq, t_ms.
HEADER_LEN = 12
CRC_LEN = 4
#: Largest payload a frame may carry, bytes (keeps resync within one short frame).
MAX_PAYLOAD = 512
MAX_FRAME = HEADER_LEN + MAX_PAYLOAD + CRC_LEN
MAX_CHANNELS = 8
#: Longest text-mode line, bytes including the newline.
MAX_LINE = 256
SEQ_MOD = 0x10000
T_MS_MOD = 0x100000000

#: Status flags (bit numbers in the status frame's flags byte).
STATUS_TARE_DONE = 0x01
STATUS_SENSOR_SATURATED = 0x02
#: Status error codes.
ERROR_NONE = 0
ERROR_SENSOR_TIMEOUT = 1
ERROR_ADC = 2
ERROR_BUFFER_OVERRUN = 3
#: Battery byte value meaning "no battery / unknown".
BATTERY_UNKNOWN = 255

_HEADER = "<2sBBHHI"
_STATUS = "<BBHH"


def _crc_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xEDB88320 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc32(data: bytes, crc: int = 0) -> int:
    """CRC-32 (IEEE 802.3, as zlib): reflected poly 0xEDB88320, init and xor-out 0xFFFFFFFF.

    Pure Python so that it runs on any MicroPython build.

    >>> hex(crc32(b"123456789"))
    '0xcbf43926'
    """
    table = _CRC_TABLE
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def encode_frame(frame_type: int, seq: int, t_ms: int, payload: bytes) -> bytes:
    """One binary frame around ``payload``.

    Args:
        frame_type: ``FRAME_INFO``, ``FRAME_SAMPLES`` or ``FRAME_STATUS``.
        seq: frame counter; taken modulo 65536.
        t_ms: device clock, ms since boot; taken modulo 2**32.
        payload: at most ``MAX_PAYLOAD`` bytes.

    Returns:
        The frame bytes, sync to CRC.

    Raises:
        ValueError: the payload is too long or the type unknown.
    """
    if frame_type not in FRAME_TYPES:
        raise ValueError("unknown frame type %d" % frame_type)
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("payload of %d bytes exceeds %d" % (len(payload), MAX_PAYLOAD))
    head = struct.pack(
        _HEADER, SYNC, VERSION, frame_type, len(payload), seq % SEQ_MOD, t_ms % T_MS_MOD
    )
    body = head[2:] + payload
    return head[:2] + body + struct.pack("<I", crc32(body))


def _json_string(text: str) -> str:
    for char in text:
        if char in '"\\' or not " " <= char <= "~":
            raise ValueError("only printable ASCII without quotes or backslashes: %r" % text)
    return '"' + text + '"'


def _number(value: float) -> str:
    return "%.6g" % value


def info_payload(channels: tuple, sample_rate_hz: float, calibration: dict, device: str) -> bytes:
    """The device-info payload: compact JSON with keys in a fixed order.

    Written by hand (not ``json.dumps``) so MicroPython and CPython give the
    same bytes: numbers use ``%.6g``, calibration keys are sorted.

    Args:
        channels: channel names with units, e.g. ``("weight_g",)``.
        sample_rate_hz: nominal sample rate, Hz.
        calibration: e.g. ``{"g_per_ml": 1.03}``.
        device: free text naming the board and firmware.
    """
    if not 0 < len(channels) <= MAX_CHANNELS:
        raise ValueError("1 to %d channels, got %d" % (MAX_CHANNELS, len(channels)))
    names = ",".join([_json_string(c) for c in channels])
    cal = ",".join([_json_string(k) + ":" + _number(calibration[k]) for k in sorted(calibration)])
    text = '{"channels":[%s],"sample_rate_hz":%s,"calibration":{%s},"device":%s}' % (
        names,
        _number(sample_rate_hz),
        cal,
        _json_string(device),
    )
    return text.encode()


def encode_info(
    seq: int, t_ms: int, channels: tuple, sample_rate_hz: float, calibration: dict, device: str
) -> bytes:
    """A device-info frame (see ``info_payload`` for the arguments)."""
    return encode_frame(
        FRAME_INFO, seq, t_ms, info_payload(channels, sample_rate_hz, calibration, device)
    )


def max_samples_per_frame(n_channels: int) -> int:
    """How many samples of ``n_channels`` values fit one frame's payload."""
    return min(255, (MAX_PAYLOAD - 2) // (2 + 4 * n_channels))


def samples_per_notification(n_channels: int, mtu: int = 247) -> int:
    """How many samples fit one BLE notification (``mtu - 3`` bytes) as one frame."""
    per_frame = (mtu - 3 - HEADER_LEN - CRC_LEN - 2) // (2 + 4 * n_channels)
    return max(1, min(per_frame, max_samples_per_frame(n_channels)))


def encode_samples(seq: int, t_ms: int, offsets_ms: list, values: list, n_channels: int) -> bytes:
    """A samples frame: ``n`` samples of ``n_channels`` float32 values each.

    Args:
        seq: frame counter.
        t_ms: device clock of the first sample, ms since boot.
        offsets_ms: per-sample time after ``t_ms``, ms (0..65535; the first is
            usually 0).
        values: ``n * n_channels`` numbers, sample by sample (row-major).
        n_channels: values per sample.

    Raises:
        ValueError: sizes disagree or the frame would be too long.
    """
    n = len(offsets_ms)
    if not 0 < n_channels <= MAX_CHANNELS or len(values) != n * n_channels:
        raise ValueError(
            "%d values do not fill %d samples x %d channels" % (len(values), n, n_channels)
        )
    if not 0 < n <= max_samples_per_frame(n_channels):
        raise ValueError("%d samples do not fit one frame" % n)
    payload = struct.pack("<BB%dH%df" % (n, n * n_channels), n, n_channels, *(offsets_ms + values))
    return encode_frame(FRAME_SAMPLES, seq, t_ms, payload)


def encode_status(
    seq: int, t_ms: int, battery_pct: int, flags: int, error_code: int, overruns: int
) -> bytes:
    """A status frame.

    Args:
        seq: frame counter.
        t_ms: device clock, ms since boot.
        battery_pct: 0..100, or ``BATTERY_UNKNOWN`` (255) on USB power.
        flags: OR of ``STATUS_TARE_DONE`` and ``STATUS_SENSOR_SATURATED``.
        error_code: one of the ``ERROR_*`` codes.
        overruns: samples the device lost to a full ring buffer so far (saturates
            at 65535).
    """
    payload = struct.pack(_STATUS, battery_pct, flags, error_code, min(overruns, 0xFFFF))
    return encode_frame(FRAME_STATUS, seq, t_ms, payload)


def text_header(channels: tuple, sample_rate_hz: float, calibration: dict, device: str) -> str:
    """Text-mode header lines (each ending in a newline)."""
    lines = "# channels: %s\n# rate_hz: %s\n" % (",".join(channels), _number(sample_rate_hz))
    if calibration:
        pairs = ["%s=%s" % (k, _number(calibration[k])) for k in sorted(calibration)]
        lines += "# calibration: %s\n" % ",".join(pairs)
    return lines + "# device: %s\n" % device


def text_line(t_ms: int, values: list, decimals: int = 3) -> str:
    """One text-mode sample line ``t_ms,value[,value...]`` with a newline.

    NaN (a missing sample) is written as ``nan``.
    """
    fmt = "%%.%df" % decimals
    parts = [("nan" if v != v else fmt % v) for v in values]
    return "%d,%s\n" % (t_ms % T_MS_MOD, ",".join(parts))
