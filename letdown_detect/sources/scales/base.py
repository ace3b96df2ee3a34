"""The contract a Bluetooth scale adapter implements, and what its decoder returns.

An adapter is plain data plus two pure functions: how to recognise the scale's
advertisement, which GATT characteristics to use, which bytes to send (init or
authentication, heartbeat, tare), and ``decode(payload, unit)`` turning one
notification into :class:`Reading` values. Nothing here opens a radio: the
connection is :class:`letdown_detect.sources.scale.ScaleSource`'s, so every
scale shares one code path for connecting, heartbeats and reconnects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

#: Grams per avoirdupois ounce.
G_PER_OZ = 28.349523125
#: Grams per pound.
G_PER_LB = 453.59237


def sig_uuid(short: int) -> str:
    """The 128-bit form of a 16-bit Bluetooth SIG UUID.

    >>> sig_uuid(0x2A9D)
    '00002a9d-0000-1000-8000-00805f9b34fb'
    """
    return f"{short:08x}-0000-1000-8000-00805f9b34fb"


#: The SIG Battery Service: its service data in an advertisement is the charge, percent.
BATTERY_SERVICE_UUID = sig_uuid(0x180F)


@dataclass(frozen=True)
class Reading:
    """What one message from a scale says; fields it does not carry are ``None``."""

    weight_g: float | None = None
    """Weight on the scale, g (converted when the scale reports ounces or pounds)."""
    scale_time_s: float | None = None
    """The scale's own timer (its stopwatch) when the message carries it, s."""
    battery_pct: int | None = None
    """Battery charge, percent."""
    button: str | None = None
    """A button pressed on the scale: ``tare``, ``timer``, ``power``..."""
    unit: str | None = None
    """A unit the scale reports switching to (``g`` or ``oz``); applies to later weights."""
    stable: bool | None = None
    """True when the scale marks the weight as settled."""
    garbage_bytes: int = 0
    """Bytes of this notification that could not be decoded (bad checksum, unknown frame)."""
    remainder: bytes = b""
    """The start of a frame cut off by the end of the notification; the caller prepends it
    to the next one (scales whose frames can span notifications)."""


def garbage(payload: bytes) -> list[Reading]:
    """The whole payload counted as undecodable."""
    return [Reading(garbage_bytes=len(payload))]


def xor_of(data: bytes) -> int:
    """XOR of all bytes (the checksum Bookoo and Decent use).

    >>> xor_of(bytes([0x03, 0x0A, 0x01, 0x00, 0x00]))
    8
    """
    out = 0
    for byte in data:
        out ^= byte
    return out


@dataclass(frozen=True)
class ScaleAdapter:
    """One scale family's protocol, as data and pure functions.

    Times in seconds, rates in hertz.
    """

    name: str
    """Registry name, typed after ``--scale``."""
    vendor: str
    """Maker, for the recording's ``device`` field."""
    models: tuple[str, ...]
    """Models this adapter is known to speak to."""
    name_prefixes: tuple[str, ...]
    """Advertised name prefixes, compared case-insensitively."""
    service_uuids: tuple[str, ...]
    """Advertised (or GATT) service UUIDs that identify the family, lowercase 128-bit."""
    notify_uuid: str
    """Characteristic the weights arrive on."""
    write_uuid: str | None
    """Characteristic commands are written to (``None``: the scale takes no commands)."""
    decode: Callable[[bytes, str], list[Reading]]
    """``decode(payload, unit)``: one notification -> readings; ``unit`` is the last one
    the scale reported (``g`` until told otherwise). Pure; never raises."""
    init_messages: tuple[bytes, ...] = ()
    """Sent once after subscribing (identification, notification request...)."""
    heartbeat: tuple[bytes, ...] = ()
    """Sent every ``heartbeat_s`` to keep the scale streaming."""
    heartbeat_s: float | None = None
    """Heartbeat interval, s (``None``: none needed)."""
    tare_command: Callable[[int], bytes] | None = None
    """``tare_command(n)``: the bytes of the n-th tare of a connection (some count)."""
    rate_hz: float = 10.0
    """Typical notification rate, Hz."""
    resolution_g: float = 0.1
    """Smallest weight step, g."""
    model_of: Callable[[str], str | None] = field(default=lambda name: None)
    """The model from the advertised name, when it tells."""
    manufacturer_ids: tuple[int, ...] = ()
    """Bluetooth company identifiers in the advert's manufacturer data."""

    def matches(
        self, name: str | None, service_uuids: Iterable[str], manufacturer_ids: Iterable[int] = ()
    ) -> bool:
        """True when an advertisement looks like this scale family."""
        upper = (name or "").upper()
        if any(upper.startswith(p.upper()) for p in self.name_prefixes):
            return True
        uuids = {u.lower() for u in service_uuids}
        if any(u in uuids for u in self.service_uuids):
            return True
        return any(m in self.manufacturer_ids for m in manufacturer_ids)

    def model(self, advertised_name: str | None) -> str:
        """``vendor model`` for the recording's ``device`` field."""
        model = self.model_of(advertised_name or "") if advertised_name else None
        return f"{self.vendor} {model or self.models[0]}"
