"""Acaia scales (Lunar, Pearl, Pyxis, Pearl S...).

Frames are ``EF DD <command> <body...> <even> <odd>``, the two last bytes the
sums (mod 256) of the body's even- and odd-indexed bytes. The scale only
streams after an identification message and a notification request, and stops
unless it hears a heartbeat. Weights come as event frames (command 12, type 5):
a 24-bit little-endian value, a decimals byte (1 = tenths of a gram) and a sign
byte; settings frames (command 8) carry the battery and the unit (5 = ounces).

Byte sequences checked against public descriptions: aioacaia 0.2.3 (Home
Assistant's Acaia library, ``encoder.py`` and ``parser.py``) and
AcaiaArduinoBLE (``IDENTIFY``, ``HEARTBEAT`` and ``NOTIFICATION_REQUEST``
arrays, which our encoder reproduces byte for byte in the tests).
"""

from __future__ import annotations

from .base import G_PER_OZ, Reading, ScaleAdapter

HEADER = b"\xef\xdd"
#: Newer scales (2021 on, Pyxis, Lunar 2021...): write / notify characteristics.
WRITE_UUID = "49535343-8841-43f4-a8d4-ecbe34729bb3"
NOTIFY_UUID = "49535343-1e4d-4bd9-ba61-23c647249616"
#: Older Lunar and Pearl use one characteristic (0x2A80) and another identification:
#: not supported yet (no way to test them here).
SERVICE_UUID = "49535343-fe7d-4ae5-8fa9-9fafd205e455"

CMD_HEARTBEAT, CMD_TARE, CMD_GET_SETTINGS = 0, 4, 6
CMD_SETTINGS, CMD_IDENTIFY, CMD_EVENT = 8, 11, 12
EVENT_WEIGHT, EVENT_TIMER, EVENT_BUTTON, EVENT_ACK = 5, 7, 8, 11
UNIT_OUNCES = 5
BUTTONS = {0: "tare", 8: "timer start", 9: "timer reset", 10: "timer stop"}
#: Longest unfinished frame kept for the next notification, bytes.
MAX_CARRY = 64


def frame(command: int, body: bytes) -> bytes:
    """``EF DD command body even odd``: a frame in either direction.

    >>> frame(CMD_HEARTBEAT, bytes([2, 0])).hex(" ")
    'ef dd 00 02 00 02 00'
    """
    return (
        HEADER + bytes([command]) + body + bytes([sum(body[0::2]) & 0xFF, sum(body[1::2]) & 0xFF])
    )


IDENTIFY = frame(CMD_IDENTIFY, b"012345678901234")
#: Subscribe to weight (every reading), battery, timer (every 5th heartbeat) and keys.
NOTIFICATION_REQUEST = frame(CMD_EVENT, bytes([9, 0, 1, 1, 2, 2, 5, 3, 4]))
HEARTBEAT = frame(CMD_HEARTBEAT, bytes([2, 0]))
GET_SETTINGS = frame(CMD_GET_SETTINGS, bytes(16))
TARE = frame(CMD_TARE, bytes([0]))


def event_frame(event: int, data: bytes) -> bytes:
    """A scale -> host event frame; its first body byte counts the body."""
    return frame(CMD_EVENT, bytes([len(data) + 2, event]) + data)


def weight_frame(grams: float, decimals: int = 1, timer_s: float | None = None) -> bytes:
    """The weight event a scale sends for ``grams`` (in the unit shown), tenths by default."""
    raw = round(abs(grams) * 10**decimals)
    data = raw.to_bytes(3, "little") + bytes([0, decimals, 0x02 if grams < 0 else 0])
    if timer_s is not None:
        tenths = round(timer_s * 10)
        data += bytes([EVENT_TIMER, tenths // 600, tenths // 10 % 60, tenths % 10])
    return event_frame(EVENT_WEIGHT, data)


def settings_frame(battery_pct: int, ounces: bool = False) -> bytes:
    """A settings frame: battery percent and unit."""
    body = [battery_pct & 0x7F, UNIT_OUNCES if ounces else 2, 0, 6, 0, 1, 0, 0]
    return frame(CMD_SETTINGS, bytes([len(body) + 1, *body]))


def button_frame(key: int) -> bytes:
    """A button press event (0 = tare)."""
    return event_frame(EVENT_BUTTON, bytes([key, 0]))


def _weight(data: bytes, unit: str) -> float | None:
    if len(data) < 6 or data[4] not in (1, 2, 3, 4):
        return None
    value = int.from_bytes(data[0:3], "little") / 10 ** data[4]
    value = -value if data[5] & 0x02 else value
    return value * G_PER_OZ if unit == "oz" else value


def _timer(data: bytes) -> float | None:
    if len(data) < 4 or data[0] != EVENT_TIMER:
        return None
    return data[1] * 60 + data[2] + data[3] / 10


def _event(body: bytes, unit: str) -> Reading | None:
    kind, data = body[1], body[2:]
    if kind == EVENT_WEIGHT:
        grams = _weight(data, unit)
        return None if grams is None else Reading(weight_g=grams, scale_time_s=_timer(data[6:]))
    if kind == EVENT_TIMER and len(data) >= 3:
        return Reading(scale_time_s=data[0] * 60 + data[1] + data[2] / 10)
    if kind == EVENT_BUTTON and data:
        return Reading(button=BUTTONS.get(data[0], "other"))
    if kind == EVENT_ACK:
        return Reading()
    return None


def decode(payload: bytes, unit: str = "g") -> list[Reading]:
    """One notification -> readings; several frames may share it, garbage between is counted.

    A frame cut off at the end comes back as ``remainder``: prepend it to the next notification.

    >>> decode(weight_frame(12.3))[0].weight_g
    12.3
    >>> decode(b"noise" + weight_frame(-2.0))[1].garbage_bytes
    5
    """
    payload = bytes(payload)
    out: list[Reading] = []
    i, skipped, rest = 0, 0, b""
    while i < len(payload):
        start = payload.find(HEADER, i)
        if start < 0:
            tail = 1 if payload.endswith(HEADER[:1]) else 0  # half a header: keep it
            skipped += len(payload) - i - tail
            rest = payload[len(payload) - tail :]
            break
        skipped += start - i
        end = start + 5 + (payload[start + 3] if len(payload) > start + 3 else 0)
        if (len(payload) < start + 6 or end > len(payload)) and payload.find(HEADER, start + 2) < 0:
            if (
                len(payload) - start < MAX_CARRY
            ):  # cut off by the notification: the next completes it
                rest = payload[start:]
            else:
                skipped += len(payload) - start
            break
        command, size = payload[start + 2], payload[start + 3]
        body = payload[start + 3 : end - 2]
        reading = None
        if (
            size >= 2
            and end <= len(payload)
            and payload[end - 2 : end] == bytes([sum(body[0::2]) & 0xFF, sum(body[1::2]) & 0xFF])
        ):
            if command == CMD_EVENT:
                reading = _event(body, unit)
            elif command == CMD_SETTINGS and len(body) >= 3:
                unit = "oz" if body[2] == UNIT_OUNCES else "g"
                reading = Reading(battery_pct=body[1] & 0x7F, unit=unit)
        if reading is None:  # not a frame after all: resynchronise on the next header
            skipped += 2
            i = start + 2
            continue
        out.append(reading)
        i = end
    if skipped or rest:
        out.append(Reading(garbage_bytes=skipped, remainder=rest))
    return out


def model_of(name: str) -> str | None:
    """Marketing model from the advertised name (``LUNAR-123ABC`` -> ``Lunar``)."""
    upper = name.upper()
    if upper.startswith("PROCH"):
        return "Pearl"
    for prefix, model in (("PEARLS", "Pearl S"), ("PEARL", "Pearl"), ("LUNAR", "Lunar"),
                          ("PYXIS", "Pyxis"), ("ACAIAL", "Lunar")):  # fmt: skip
        if upper.startswith(prefix):
            return model
    return None


ADAPTER = ScaleAdapter(
    name="acaia",
    vendor="Acaia",
    models=("Lunar", "Pearl", "Pearl S", "Pyxis"),
    name_prefixes=("ACAIA", "PYXIS", "LUNAR", "PEARL", "PROCH"),
    service_uuids=(SERVICE_UUID,),
    notify_uuid=NOTIFY_UUID,
    write_uuid=WRITE_UUID,
    decode=decode,
    init_messages=(IDENTIFY, NOTIFICATION_REQUEST),
    # aioacaia re-identifies and asks the settings (battery, unit) with each heartbeat
    heartbeat=(IDENTIFY, HEARTBEAT, GET_SETTINGS),
    heartbeat_s=1.0,
    tare_command=lambda n: TARE,
    rate_hz=10.0,
    resolution_g=0.1,
    model_of=model_of,
)
