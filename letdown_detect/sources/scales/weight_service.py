"""Any scale implementing the Bluetooth SIG Weight Scale Service (0x181D).

Weight Measurement (0x2A9D, indicated): a flags byte (bit 0: imperial units;
bit 1: a 7-byte time stamp follows; bit 2: a user id; bit 3: BMI and height),
then the weight as uint16 little-endian in units of 5 g (SI) or 0.01 lb
(imperial); 0xFFFF means "measurement unsuccessful". No commands, no tare:
such scales (body and kitchen scales) tare themselves, and their 5 g step is
coarse for milk (about 5 mL).

Source: Bluetooth SIG, Weight Scale Service 1.0 and the GATT Specification
Supplement (Weight Measurement characteristic).
"""

from __future__ import annotations

import struct

from .base import G_PER_LB, Reading, ScaleAdapter, garbage, sig_uuid

SERVICE_UUID = sig_uuid(0x181D)
MEASUREMENT_UUID = sig_uuid(0x2A9D)
IMPERIAL, TIME_STAMP, USER_ID, BMI_HEIGHT = 0x01, 0x02, 0x04, 0x08
SI_G, IMPERIAL_LB = 5.0, 0.01
UNSUCCESSFUL = 0xFFFF


def measurement(
    grams: float, imperial: bool = False, stamp: tuple[int, ...] | None = None
) -> bytes:
    """A Weight Measurement value for ``grams`` (sent in pounds when ``imperial``)."""
    flags = (IMPERIAL if imperial else 0) | (TIME_STAMP if stamp else 0)
    raw = round(grams / G_PER_LB / IMPERIAL_LB) if imperial else round(grams / SI_G)
    out = struct.pack("<BH", flags, max(0, min(0xFFFE, raw)))
    if stamp:
        out += struct.pack("<H5B", *stamp)
    return out


def decode(payload: bytes, unit: str = "g") -> list[Reading]:
    """One Weight Measurement -> one reading (the time stamp, when present, is skipped).

    >>> decode(bytes([0x00, 0x14, 0x00]))[0].weight_g
    100.0
    >>> decode(bytes([0x01, 0x64, 0x00]))[0].weight_g  # 1.00 lb
    453.59237
    """
    data = bytes(payload)
    if not data:
        return garbage(data)
    flags = data[0]
    needed = 3 + (7 if flags & TIME_STAMP else 0) + (1 if flags & USER_ID else 0)
    needed += 4 if flags & BMI_HEIGHT else 0
    if len(data) != needed or flags & 0xF0:
        return garbage(data)
    raw = int.from_bytes(data[1:3], "little")
    if raw == UNSUCCESSFUL:
        return [Reading()]
    imperial = bool(flags & IMPERIAL)
    grams = raw * IMPERIAL_LB * G_PER_LB if imperial else raw * SI_G
    return [Reading(weight_g=grams)]


ADAPTER = ScaleAdapter(
    name="weight-service",
    vendor="Bluetooth",
    models=("Weight Scale Service",),
    name_prefixes=(),
    service_uuids=(SERVICE_UUID,),
    notify_uuid=MEASUREMENT_UUID,
    write_uuid=None,
    decode=decode,
    rate_hz=5.0,
    resolution_g=5.0,
)
