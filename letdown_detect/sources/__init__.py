"""Adapters from the outside world to timestamped sample blocks.

``open_source(url)`` picks the adapter by scheme and imports it only then, so
using serial never imports bleak:

============  ======================================  =====================
scheme        example                                 module
============  ======================================  =====================
``serial``    ``serial:/dev/ttyACM0`` (``baud=``)     :mod:`.serial`
``ble``       ``ble:AA:BB:CC:DD:EE:FF`` (``backend=``) :mod:`.ble`
``replay``    ``replay:session.csv`` (``speed=``)     :mod:`.replay`
``sim``       ``sim:`` (``seed=``, ``speed=``)         :mod:`.simulated`
``scale``     ``scale:acaia`` (``ble=``, ``backend=``)  :mod:`.scale`
============  ======================================  =====================

``sensorless:`` (:mod:`.sensorless`) has no sensor: a nursing session.

Every source follows :class:`Source`: ``open()`` connects (raising
``DeviceError`` with one clear sentence when it cannot), ``read()`` returns the
next :class:`Arrival` (``None`` at the end of the stream) or raises
:class:`LinkLostError` when the cable or radio link drops; the live session
then reconnects by calling ``open()`` again.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import ConfigError
from ..model import SampleBlock

#: URL scheme -> module under ``letdown_detect.sources`` and its class.
SCHEMES: dict[str, tuple[str, str]] = {
    "serial": ("serial", "SerialSource"),
    "ble": ("ble", "BleSource"),
    "replay": ("replay", "ReplaySource"),
    "sim": ("simulated", "SimulatedSource"),
    "scale": ("scale", "ScaleSource"),
    "sensorless": ("sensorless", "SensorlessSource"),
}


class LinkLostError(Exception):
    """The cable or radio link dropped mid-session; the session reconnects."""


@dataclass(frozen=True)
class SourceInfo:
    """What a source delivers, known once it is open."""

    channels: tuple[str, ...]
    """Channel names with units, e.g. ``("weight_g",)``."""
    sample_rate_hz: float | None = None
    """Nominal sample rate, Hz."""
    device: str | None = None
    """Free text naming the sensor or firmware."""
    calibration: dict[str, float] = field(default_factory=dict)
    """``g_per_ml`` / ``pa_per_ml`` as announced by the device."""
    device_time: bool = True
    """True when block times are the device's own clock (mapped to host time
    by :class:`letdown_detect.clock.DeviceClock`); False when they already are
    session seconds (replay, simulator)."""
    speed: float = 1.0
    """Session seconds per host second (replay and simulator can run faster)."""


@dataclass(frozen=True)
class Arrival:
    """Samples that just arrived, with the host time they arrived at."""

    block: SampleBlock
    """Samples; ``t_s`` in device seconds or session seconds (see ``SourceInfo.device_time``)."""
    host_s: float
    """Host monotonic time of arrival, s."""


@dataclass
class LinkStats:
    """Link-quality counters of a source, cumulative over reconnects."""

    lost_frames: int = 0
    """Frames missing from the sequence numbers."""
    crc_errors: int = 0
    """Frames dropped for a bad checksum."""
    bad_lines: int = 0
    """Text lines that could not be parsed."""
    bytes_discarded: int = 0
    """Garbage bytes skipped while resynchronising."""


class Source(Protocol):
    """An adapter the live session reads samples from."""

    description: str
    """Human description, e.g. ``serial:/dev/ttyACM0``."""
    stats: LinkStats

    async def open(self) -> SourceInfo:
        """Connect (or reconnect) and return what the source delivers."""

    async def read(self) -> Arrival | None:
        """The next samples, or ``None`` when the stream has ended."""

    async def close(self) -> None:
        """Release the port or link; safe to call twice."""


def parse_url(url: str) -> tuple[str, str]:
    """Split ``scheme:target`` (or ``scheme://target``) into its two parts.

    >>> parse_url("ble://AA:BB:CC:DD:EE:FF")
    ('ble', 'AA:BB:CC:DD:EE:FF')
    >>> parse_url("serial:/dev/ttyACM0")
    ('serial', '/dev/ttyACM0')
    """
    scheme, sep, target = url.partition(":")
    if not sep or scheme not in SCHEMES:
        raise ConfigError(
            f"source {url!r} has no known scheme; expected one of "
            + ", ".join(f"{s}:..." for s in SCHEMES),
            "source",
        )
    return scheme, target.removeprefix("//")


def open_source(url: str, **options: Any) -> Source:
    """Build the source for ``url``; options go to its constructor (``baud=``, ``backend=``...).

    The adapter module is imported here, on first use. The source is not
    connected yet: the live session calls ``open()``.

    Raises:
        ConfigError: an unknown scheme.
    """
    scheme, target = parse_url(url)
    module_name, class_name = SCHEMES[scheme]
    module = importlib.import_module(f".{module_name}", __name__)
    return getattr(module, class_name)(target, **options)
