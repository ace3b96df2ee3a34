"""Decent Scale (and the open-source Half Decent Scale).

Notifications on FFF4 are 7 bytes (firmware API < 1.3) or 10 bytes (>= 1.3):
``03``, a type (``CE`` settled weight, ``CA`` changing weight, ``AA`` button),
the weight in tenths of a gram as a signed 16-bit big-endian number, then (10
bytes) the scale's timer as minutes, seconds, tenths, and an XOR of all bytes
before it. Commands are 7 bytes on 36F5, XOR last; the scale wants a
keep-alive every few seconds or it stops streaming.

Sources: Decent's published API (decentespresso.com/decentscale_api, via
pyDE1 and Beanconqueror's ``decentScale.ts``: tare ``03 0F FD <counter> 00 00
<xor>``, LED on ``03 0A 01 01 00 00 <xor>``) and Tyler Swensen's notes
(keep-alive ``03 0A 03 FF FF 00 0A`` every 2 s, buttons ``AA 01`` / ``AA 02``).
"""

from __future__ import annotations

from .base import Reading, ScaleAdapter, garbage, sig_uuid, xor_of

SERVICE_UUID = sig_uuid(0xFFF0)
NOTIFY_UUID = sig_uuid(0xFFF4)
WRITE_UUID = sig_uuid(0x36F5)
SETTLED, CHANGING, BUTTON = 0xCE, 0xCA, 0xAA
BUTTONS = {1: "tare", 2: "timer"}


def command(code: int, *args: int) -> bytes:
    """A 7-byte command: ``03 code args (zero-padded to 4) xor``.

    >>> command(0x0A, 1, 1).hex(" ")
    '03 0a 01 01 00 00 09'
    """
    body = bytes([0x03, code, *args, *([0] * (4 - len(args)))])
    return body + bytes([xor_of(body)])


LED_ON = command(0x0A, 1, 1)
KEEP_ALIVE = bytes([0x03, 0x0A, 0x03, 0xFF, 0xFF, 0x00, 0x0A])


def tare(counter: int) -> bytes:
    """The n-th tare of a connection (the scale ignores a repeated counter)."""
    return command(0x0F, 0xFD, counter & 0xFF)


def weight_frame(grams: float, settled: bool = False, timer_s: float | None = None) -> bytes:
    """A weight notification; 10 bytes with the scale's timer, 7 without."""
    raw = max(-32768, min(32767, round(grams * 10)))
    body = bytes([0x03, SETTLED if settled else CHANGING]) + raw.to_bytes(2, "big", signed=True)
    if timer_s is None:
        body += bytes(2)
    else:
        tenths = round(timer_s * 10)
        body += bytes([tenths // 600 % 256, tenths // 10 % 60, tenths % 10, 0, 0])
    return body + bytes([xor_of(body)])


def button_frame(key: int) -> bytes:
    """A button press (1 = tare, 2 = timer)."""
    body = bytes([0x03, BUTTON, key, 0, 0, 0])
    return body + bytes([xor_of(body)])


def decode(payload: bytes, unit: str = "g") -> list[Reading]:
    """One notification -> one reading (garbage when its length, type or XOR is wrong).

    >>> decode(weight_frame(-1.5, settled=True))[0].weight_g
    -1.5
    """
    data = bytes(payload)
    if len(data) not in (7, 10) or data[0] != 0x03 or xor_of(data[:-1]) != data[-1]:
        return garbage(data)
    if data[1] in (SETTLED, CHANGING):
        timer = data[4] * 60 + data[5] + data[6] / 10 if len(data) == 10 else None
        grams = int.from_bytes(data[2:4], "big", signed=True) / 10
        return [Reading(weight_g=grams, scale_time_s=timer, stable=data[1] == SETTLED)]
    if data[1] == BUTTON:
        return [Reading(button=BUTTONS.get(data[2], "other"))]
    return garbage(data)


ADAPTER = ScaleAdapter(
    name="decent",
    vendor="Decent",
    models=("Decent Scale", "Half Decent Scale"),
    name_prefixes=("DECENT",),
    service_uuids=(SERVICE_UUID,),
    notify_uuid=NOTIFY_UUID,
    write_uuid=WRITE_UUID,
    decode=decode,
    init_messages=(LED_ON,),
    heartbeat=(KEEP_ALIVE,),
    heartbeat_s=2.0,
    tare_command=tare,
    rate_hz=10.0,
    resolution_g=0.1,
    model_of=lambda name: "Half Decent Scale" if "HDS" in name.upper() else "Decent Scale",
)
