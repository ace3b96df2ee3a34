"""Bookoo scales (Themis, Themis Mini, Themis Ultra).

Every notification on FF11 is one 20-byte status frame: ``03 0B``, the scale's
timer in ms (24-bit big-endian), a unit byte, a sign (``+`` or ``-``), the
weight in hundredths of a gram (24-bit big-endian), the flow sign and value,
the battery percent, standby minutes, buzzer, smoothing, a reserved byte and an
XOR of the 19 bytes before it. Commands are 6 bytes on FF12; no
authentication, no heartbeat.

Sources: BooKooCode/OpenSource ``bookoo_mini_scale/protocols.md`` as described
in aiobookoo 0.1.1 (``const.py``, ``decode.py``, ``bookooscale.py``) and in
Tyler Swensen's packet notes (weight bytes ``00 00 07 08`` = 18.00 g, tare
``03 0A 01 00 00 08``).
"""

from __future__ import annotations

from .base import Reading, ScaleAdapter, garbage, sig_uuid, xor_of

SERVICE_UUID = sig_uuid(0x0FFE)
NOTIFY_UUID = sig_uuid(0xFF11)
WRITE_UUID = sig_uuid(0xFF12)
HEADER = b"\x03\x0b"
FRAME_BYTES = 20
TARE = bytes([0x03, 0x0A, 0x01, 0x00, 0x00, 0x08])


def weight_frame(grams: float, timer_ms: int = 0, battery_pct: int = 90) -> bytes:
    """The status frame a Bookoo sends while showing ``grams``."""
    raw = round(abs(grams) * 100)
    body = (
        HEADER
        + (timer_ms % (1 << 24)).to_bytes(3, "big")
        + bytes([0, ord("-") if grams < 0 else ord("+")])
        + raw.to_bytes(3, "big")
        + bytes([ord("+"), 0, 0, battery_pct, 0, 5, 1, 0, 0])
    )
    return body + bytes([xor_of(body)])


def decode(payload: bytes, unit: str = "g") -> list[Reading]:
    """One status frame -> one reading (a frame of another kind or length is garbage).

    >>> decode(weight_frame(18.0, timer_ms=1500))[0].weight_g
    18.0
    """
    data = bytes(payload)
    if len(data) != FRAME_BYTES or data[:2] != HEADER or xor_of(data[:-1]) != data[-1]:
        return garbage(data)
    grams = int.from_bytes(data[7:10], "big") / 100
    return [
        Reading(
            weight_g=-grams if data[6] == ord("-") else grams,
            scale_time_s=int.from_bytes(data[2:5], "big") / 1000,
            battery_pct=data[13],
        )
    ]


ADAPTER = ScaleAdapter(
    name="bookoo",
    vendor="Bookoo",
    models=("Themis", "Themis Mini", "Themis Ultra"),
    name_prefixes=("BOOKOO",),
    service_uuids=(SERVICE_UUID,),
    notify_uuid=NOTIFY_UUID,
    write_uuid=WRITE_UUID,
    decode=decode,
    tare_command=lambda n: TARE,
    rate_hz=10.0,
    resolution_g=0.01,
    model_of=lambda name: "Themis Mini" if "SC" in name.upper() else None,
)
