"""A virtual pump: a simulated session turned into the bytes a real device would send.

``VirtualPump.packets()`` is a pure generator of ``(due_s, bytes)``: when (in
session seconds) each frame or text line leaves the device. ``play`` paces
those packets at real time x ``speed`` with an injectable clock and sleep, so
tests run at full speed. ``Faults`` damages the stream on purpose (noise,
dropped frames, bit flips) for resync tests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any, Protocol

import numpy as np

from . import protocol


class PumpSettingError(ValueError):
    """A bad setting of the virtual pump (speed, faults, mode, frame size).

    Args:
        message: one sentence: what is wrong and what was expected.
        key: the setting at fault.
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        self.key = key
        super().__init__(message)


class Recording(Protocol):
    """What the pump plays: a recording (``letdown_detect.recording.Recording`` fits)."""

    data: Any
    """A DataFrame with ``t_s`` and one column per channel."""
    meta: Any
    """Has ``sample_rate_hz`` (Hz or None) and ``calibration`` (dict)."""


#: Device clock at the session start: the board booted this long before, ms.
DEFAULT_BOOT_MS = 5000
#: How often the device repeats its info frame (binary) or header (text), s.
DEFAULT_ANNOUNCE_EVERY_S = 5.0
MODES = ("binary", "text")


@dataclass(frozen=True)
class Faults:
    """Damage to inject, as a probability per packet (frame or text line).

    Args:
        garbage: random bytes (1-40) inserted before the packet.
        drop: the packet is never sent (the host sees a sequence gap).
        flip: one random bit of the packet is flipped.
    """

    garbage: float = 0.0
    drop: float = 0.0
    flip: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0.0 <= value <= 1.0:
                raise PumpSettingError(
                    f"fault {f.name}={value} is not a probability; expected 0 to 1", "faults"
                )

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """Faults from ``"garbage=0.05,drop=0.01,flip=0.01"`` (empty = none).

        >>> Faults.parse("drop=0.1")
        Faults(garbage=0.0, drop=0.1, flip=0.0)
        """
        names = [f.name for f in fields(cls)]
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, _, text = part.partition("=")
            key = key.strip()
            if key not in names:
                raise PumpSettingError(
                    f"unknown fault {key!r} in --faults {spec!r}; expected {', '.join(names)}",
                    "faults",
                )
            try:
                values[key] = float(text)
            except ValueError:
                raise PumpSettingError(
                    f"--faults {spec!r}: expected {key}=<probability>, got {part!r}", "faults"
                ) from None
        return cls(**values)

    @property
    def any(self) -> bool:
        """True when some damage is switched on."""
        return bool(self.garbage or self.drop or self.flip)


class VirtualPump:
    """A device that streams a recording in the wire protocol.

    Args:
        recording: the session (``data`` with ``t_s`` and channel columns;
            ``meta`` with ``sample_rate_hz`` and ``calibration``).
        mode: ``"binary"`` frames or ``"text"`` lines.
        samples_per_frame: samples per binary frame (default: 10, or fewer
            when that would not fit a BLE notification).
        announce_every_s: repeat the info frame / text header this often, s.
        boot_ms: device clock at the first sample, ms since boot (set it near
            2**32 to exercise the clock wrap).
        faults: damage to inject.
        fault_seed: seed of the fault generator.
        decimals: digits after the point in text mode.
    """

    def __init__(
        self,
        recording: Recording,
        mode: str = "binary",
        samples_per_frame: int | None = None,
        announce_every_s: float = DEFAULT_ANNOUNCE_EVERY_S,
        boot_ms: int = DEFAULT_BOOT_MS,
        faults: Faults | None = None,
        fault_seed: int = 0,
        decimals: int = 3,
    ) -> None:
        if mode not in MODES:
            raise PumpSettingError(f"unknown mode {mode!r}; expected binary or text", "mode")
        self.recording = recording
        self.mode = mode
        self.channels = tuple(c for c in recording.data.columns if c != "t_s")
        k = len(self.channels)
        if samples_per_frame is None:
            samples_per_frame = min(10, protocol.samples_per_notification(k))
        if not 1 <= samples_per_frame <= protocol.max_samples_per_frame(k):
            raise PumpSettingError(
                f"{samples_per_frame} samples per frame do not fit a frame of {k} channels; "
                f"expected 1 to {protocol.max_samples_per_frame(k)}",
                "samples_per_frame",
            )
        self.samples_per_frame = samples_per_frame
        self.announce_every_s = announce_every_s
        self.boot_ms = boot_ms
        self.faults = faults or Faults()
        self.fault_seed = fault_seed
        self.decimals = decimals
        meta = recording.meta
        self.sample_rate_hz = float(meta.sample_rate_hz or 20.0)
        self.calibration = dict(meta.calibration)
        self.device = "letdown virtual pump"

    def device_ms(self, t_s: np.ndarray) -> np.ndarray:
        """Device clock (ms since boot, not yet wrapped) of session times ``t_s``."""
        return self.boot_ms + np.round(np.asarray(t_s, dtype=float) * 1000.0).astype(np.int64)

    def info_frame(self, seq: int = 0, t_ms: int | None = None) -> bytes:
        """The device-info frame (what the BLE info characteristic returns)."""
        t_ms = self.boot_ms if t_ms is None else t_ms
        return protocol.encode_info(
            seq, t_ms, self.channels, self.sample_rate_hz, self.calibration, self.device
        )

    def packets(self) -> Iterator[tuple[float, bytes]]:
        """``(due_s, data)`` in sending order; ``due_s`` = session time the packet leaves, s."""
        clean = self._binary() if self.mode == "binary" else self._text()
        return self._damaged(clean) if self.faults.any else clean

    def _binary(self) -> Iterator[tuple[float, bytes]]:
        data = self.recording.data
        t_s = data["t_s"].to_numpy(float)
        t_ms = self.device_ms(t_s)
        values = data[list(self.channels)].to_numpy(np.float64)
        k, step = len(self.channels), self.samples_per_frame
        seq, next_announce = 0, -math.inf
        for start in range(0, t_s.size, step):
            stop = min(start + step, t_s.size)
            if t_s[start] >= next_announce:
                now_ms = int(t_ms[start])
                yield float(t_s[start]), self.info_frame(seq, now_ms)
                status = protocol.encode_status(
                    seq + 1, now_ms, protocol.BATTERY_UNKNOWN, protocol.STATUS_TARE_DONE, 0, 0
                )
                yield float(t_s[start]), status
                seq += 2
                next_announce = t_s[start] + self.announce_every_s
            offsets = (t_ms[start:stop] - t_ms[start]).tolist()
            frame = protocol.encode_samples(
                seq, int(t_ms[start]), offsets, values[start:stop].ravel().tolist(), k
            )
            yield float(t_s[stop - 1]), frame
            seq += 1

    def _text(self) -> Iterator[tuple[float, bytes]]:
        data = self.recording.data
        t_s = data["t_s"].to_numpy(float)
        t_ms = self.device_ms(t_s)
        values = data[list(self.channels)].to_numpy(np.float64).tolist()
        header = protocol.text_header(
            self.channels, self.sample_rate_hz, self.calibration, self.device
        ).encode()
        next_announce = -math.inf
        for i in range(t_s.size):
            if t_s[i] >= next_announce:
                yield float(t_s[i]), header
                next_announce = t_s[i] + self.announce_every_s
            yield float(t_s[i]), protocol.text_line(int(t_ms[i]), values[i], self.decimals).encode()

    def _damaged(self, packets: Iterable[tuple[float, bytes]]) -> Iterator[tuple[float, bytes]]:
        rng = np.random.default_rng(self.fault_seed)
        faults = self.faults
        for i, (due_s, data) in enumerate(packets):
            if i == 0:  # the first announcement always gets through
                yield due_s, data
                continue
            if rng.random() < faults.drop:
                continue
            if rng.random() < faults.flip:
                damaged = bytearray(data)
                bit = int(rng.integers(0, 8 * len(data)))
                damaged[bit // 8] ^= 1 << (bit % 8)
                data = bytes(damaged)
            if rng.random() < faults.garbage:
                data = rng.bytes(int(rng.integers(1, 41))) + data
            yield due_s, data


def check_speed(speed: float) -> None:
    """Raise ``PumpSettingError`` unless ``speed`` is above 0 (``math.inf`` allowed)."""
    if not speed > 0:
        raise PumpSettingError(f"speed must be above 0 (inf = no waiting), got {speed}", "speed")


def play(
    packets: Iterable[tuple[float, bytes]],
    write: Callable[[bytes], object],
    speed: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> int:
    """Write each packet when it is due: session time / ``speed`` after the first.

    Args:
        packets: ``(due_s, data)`` pairs, e.g. from ``VirtualPump.packets()``.
        write: called with each packet's bytes.
        speed: 1 = real time, 10 = ten times faster, ``math.inf`` = no waiting.
        clock: monotonic clock, s.
        sleep: sleeps for a number of seconds.

    Returns:
        Bytes written.
    """
    if not speed > 0:
        raise PumpSettingError(
            f"speed must be above 0 (inf = as fast as possible), got {speed}", "speed"
        )
    start_clock, first_due, total = clock(), None, 0
    for due_s, data in packets:
        if first_due is None:
            first_due = due_s
        if math.isfinite(speed):
            wait = (due_s - first_due) / speed - (clock() - start_clock)
            if wait > 0:
                sleep(wait)
        write(data)
        total += len(data)
    return total
