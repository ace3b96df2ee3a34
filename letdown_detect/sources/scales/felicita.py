"""Felicita scales (Arc, Incline, Parallel).

Every notification on FFE1 is an 18-byte ASCII-ish status line: two bytes
(``01 02``), the sign (``+``/``-``), six digits of hundredths of a gram (or of
an ounce), the unit (`` g`` or ``oz``), a few unknown bytes, the battery as a
raw level (129 = empty ... 158 = full) and ``\\r\\n``. Commands are one ASCII
byte written to the same characteristic (``T`` tares). No authentication and
no heartbeat.

Source: Beanconqueror's ``felicita-readme.md`` (the sample status
``[1,2,43,48,48,48,48,48,48,32,103,83,79,48,34,137,13,10]`` is 0.00 g, battery
level 137) and ``felicita/constants.ts`` (tare ``0x54``, battery 129-158).
"""

from __future__ import annotations

from .base import G_PER_OZ, Reading, ScaleAdapter, garbage, sig_uuid

SERVICE_UUID = sig_uuid(0xFFE0)
DATA_UUID = sig_uuid(0xFFE1)
FRAME_BYTES = 18
TARE = b"T"
BATTERY_EMPTY, BATTERY_FULL = 129, 158


def weight_frame(weight: float, ounces: bool = False, battery_pct: int = 80) -> bytes:
    """The status line for ``weight`` in the unit shown (g, or oz when ``ounces``)."""
    digits = f"{min(999999, round(abs(weight) * 100)):06d}".encode()
    level = BATTERY_EMPTY + round(battery_pct / 100 * (BATTERY_FULL - BATTERY_EMPTY))
    sign = b"-" if weight < 0 else b"+"
    return (
        b"\x01\x02"
        + sign
        + digits
        + (b"oz" if ounces else b" g")
        + b"SO0\x22"
        + bytes([level])
        + b"\r\n"
    )


def decode(payload: bytes, unit: str = "g") -> list[Reading]:
    """One status line -> one reading; anything else is garbage.

    >>> decode(bytes([1,2,43,48,48,49,50,51,52,32,103,83,79,48,34,137,13,10]))[0].weight_g
    12.34
    """
    data = bytes(payload)
    digits, shown = data[3:9], data[9:11]
    if (
        len(data) != FRAME_BYTES
        or data[2:3] not in (b"+", b"-")
        or not digits.isdigit()
        or shown not in (b" g", b"oz")
    ):
        return garbage(data)
    value = int(digits) / 100 * (-1 if data[2:3] == b"-" else 1)
    raw = min(max(data[15], BATTERY_EMPTY), BATTERY_FULL)
    battery = round((raw - BATTERY_EMPTY) / (BATTERY_FULL - BATTERY_EMPTY) * 100)
    ounces = shown == b"oz"
    return [
        Reading(
            weight_g=value * G_PER_OZ if ounces else value,
            battery_pct=battery,
            unit="oz" if ounces else "g",
        )
    ]


ADAPTER = ScaleAdapter(
    name="felicita",
    vendor="Felicita",
    models=("Arc", "Incline", "Parallel"),
    name_prefixes=("FELICITA",),
    service_uuids=(SERVICE_UUID,),
    notify_uuid=DATA_UUID,
    write_uuid=DATA_UUID,
    decode=decode,
    tare_command=lambda n: TARE,
    rate_hz=10.0,
    resolution_g=0.1,
    model_of=lambda name: "Arc" if "ARC" in name.upper() else None,
)
