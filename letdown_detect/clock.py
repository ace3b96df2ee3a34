"""Time for live sessions: the clock protocol and the device-time -> host-time model.

A sensor stamps each sample with its own clock (ms since boot); the host
notes when the bytes arrived. Neither alone is right: device clocks drift
(cheap crystals are off by up to ~1%) and reset when the board reboots,
while receive times jitter with USB/BLE buffering. :class:`DeviceClock`
keeps sample spacing from the device and steers the offset and rate towards
the lower envelope of the receive times (a sample can never arrive before it
was taken), so the mapping stays continuous, increasing and close to host
time. Only :class:`SystemClock` reads the host's clocks; everything else gets
host times as data or a :class:`Clock` passed in (tests pass a
:class:`VirtualClock`), and :class:`SessionTime` gives every sink of a live
session the same session seconds.
"""

from __future__ import annotations

import asyncio
import time as _time
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Protocol

import numpy as np


class Clock(Protocol):
    """What a live session needs to know about time."""

    def monotonic(self) -> float:
        """Host time that never goes back, s (any origin)."""

    def utc(self) -> datetime:
        """The current UTC time, timezone-aware."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""


class SystemClock:
    """The host's clocks: ``time.monotonic``, UTC now and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes back."""
        return _time.monotonic()

    def utc(self) -> datetime:
        """The current UTC time."""
        return datetime.now(timezone.utc)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of real time."""
        await asyncio.sleep(seconds)


class VirtualClock:
    """A clock that only moves when someone sleeps: sessions run as fast as the CPU allows.

    Args:
        start_utc: what :meth:`utc` says at monotonic time 0.
    """

    def __init__(self, start_utc: datetime | None = None) -> None:
        self.start_utc = start_utc or datetime(2026, 1, 5, 7, 30, tzinfo=timezone.utc)
        self.reset()

    def reset(self) -> None:
        """Back to monotonic time 0."""
        self._now_s = 0.0

    def monotonic(self) -> float:
        """Seconds slept so far."""
        return self._now_s

    def utc(self) -> datetime:
        """``start_utc`` plus the seconds slept so far."""
        return self.start_utc + timedelta(seconds=self._now_s)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` without yielding."""
        self._now_s += max(0.0, seconds)

    async def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` and let other tasks run once."""
        self.advance(seconds)
        await asyncio.sleep(0)


class ScaledClock:
    """Another clock, running ``speed`` times faster (a pump emulated at 20x real time).

    Args:
        base: the clock to speed up.
        speed: seconds of this clock per second of ``base``.
    """

    def __init__(self, base: Clock, speed: float) -> None:
        self.base = base
        self.speed = speed
        self._origin_s = base.monotonic()
        self._origin_utc = base.utc()

    def monotonic(self) -> float:
        """Seconds since this clock was made, times ``speed``."""
        return (self.base.monotonic() - self._origin_s) * self.speed

    def utc(self) -> datetime:
        """UTC at creation plus the scaled seconds since."""
        return self._origin_utc + timedelta(seconds=self.monotonic())

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds / speed`` of the base clock."""
        await self.base.sleep(seconds / self.speed)


class DeviceClock:
    """Map device timestamps to host time, tolerating drift, jitter, reordering and resets.

    The map is piecewise linear in device time: ``host = anchor_host +
    (t_device - anchor_device) * rate``. Once per ``window_s`` of device time
    the lowest ``receive - t_device`` of that window (the least delayed
    sample) is kept; a line through the last ``history`` of these minima is
    the target, and the rate is re-aimed so the map meets the target one
    window later. The map never jumps, so session times stay increasing.

    Args:
        window_s: device time per envelope point, s.
        history: envelope points the target line is fitted to.
        max_rate_error: largest accepted clock rate error (0.02 = 2%).
        reset_after_s: a device time this far behind the newest one, or a
            sample that would have arrived this long before it was taken,
            means the device clock restarted: re-anchor, count a reset, s.

    >>> clock = DeviceClock()
    >>> float(clock.map(np.array([10.0]), host_s=1000.0)[0])
    1000.0
    >>> float(clock.map(np.array([10.5]), host_s=1000.52)[0])
    1000.5
    """

    def __init__(
        self,
        window_s: float = 5.0,
        history: int = 24,
        max_rate_error: float = 0.02,
        reset_after_s: float = 2.0,
    ) -> None:
        self.window_s = window_s
        self.history = history
        self.max_rate_error = max_rate_error
        self.reset_after_s = reset_after_s
        self.reset()

    def reset(self) -> None:
        """Forget everything: the next sample anchors a new map."""
        self._anchor: tuple[float, float, float] | None = None  # device_s, host_s, rate
        self._envelope: deque[tuple[float, float]] = deque(maxlen=self.history)
        self._bin: tuple[float, float, float] | None = None  # start, device_s, min offset
        self._newest_s: float | None = None
        self.resets = 0

    def to_host(self, t_device_s: np.ndarray) -> np.ndarray:
        """Host times of device times under the current map, s (no update)."""
        if self._anchor is None:
            raise ValueError("DeviceClock.to_host before any sample was mapped")
        device_s, host_s, rate = self._anchor
        return host_s + (np.asarray(t_device_s, dtype=float) - device_s) * rate

    def map(self, t_device_s: np.ndarray, host_s: float) -> np.ndarray:
        """Learn from one arrival and return the host times of its samples, s.

        Args:
            t_device_s: device timestamps of the samples that just arrived, s.
            host_s: host time at which they arrived, s.
        """
        t = np.asarray(t_device_s, dtype=float).reshape(-1)
        finite = t[np.isfinite(t)]
        if finite.size == 0:
            return np.full(t.shape, np.nan)
        newest = float(finite.max())
        if self._anchor is None:
            self._anchor = (newest, host_s, 1.0)
        elif self._restarted(newest, host_s):
            self.resets += 1
            self._anchor = (newest, host_s, 1.0)
            self._envelope.clear()
            self._bin = None
            self._newest_s = None
        # map with what was known before this arrival: learning from it only moves the
        # map from its newest sample on, so earlier samples never shift later
        out = self.to_host(t)
        self._observe(newest, host_s)
        return out

    def _restarted(self, newest: float, host_s: float) -> bool:
        predicted = float(self.to_host(np.array([newest]))[0])
        went_back = self._newest_s is not None and newest < self._newest_s - self.reset_after_s
        return went_back or host_s < predicted - self.reset_after_s

    def _observe(self, newest: float, host_s: float) -> None:
        self._newest_s = newest if self._newest_s is None else max(self._newest_s, newest)
        offset = host_s - newest
        if self._bin is None:
            self._bin = (newest, newest, offset)
        elif newest >= self._bin[0] + self.window_s:
            self._envelope.append(self._bin[1:])
            self._bin = (newest, newest, offset)
            self._steer(newest)
        elif offset < self._bin[2]:
            self._bin = (self._bin[0], newest, offset)

    def _steer(self, now_device_s: float) -> None:
        if not self._envelope:
            return
        points = np.array(self._envelope)
        if len(points) >= 3:
            slope, intercept = np.polyfit(points[:, 0], points[:, 1], 1)
        else:
            slope, intercept = 0.0, float(points[:, 1].min())
        aim_s = now_device_s + self.window_s
        target = aim_s + intercept + slope * aim_s
        here = float(self.to_host(np.array([now_device_s]))[0])
        rate = (target - here) / self.window_s
        low, high = 1.0 - self.max_rate_error, 1.0 + self.max_rate_error
        self._anchor = (now_device_s, here, float(np.clip(rate, low, high)))


class SessionTime:
    """Session seconds now, for everyone in a live session, from its injected clock.

    Session time follows the newest sample (``advance``) and runs on with the
    host clock between samples, or on its own when no sensor delivers any
    (a nursing session, a device gone for good).

    Args:
        clock: the session's clock.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.speed = 1.0
        self._t_s = 0.0
        self._host_s: float | None = None
        self._shown_s = 0.0

    def start(self, host_s: float, speed: float = 1.0) -> None:
        """Session time 0 is host time ``host_s``; ``speed`` session seconds per host second."""
        self._t_s, self._host_s, self.speed, self._shown_s = 0.0, host_s, speed, 0.0

    def advance(self, t_s: float, host_s: float) -> None:
        """The newest sample is at session time ``t_s``, it arrived at host time ``host_s``."""
        self._t_s, self._host_s = t_s, host_s

    def now_s(self) -> float:
        """Current session time, s (0 before the session starts); never goes back, also
        when samples after a long outage carry device times behind the host clock."""
        if self._host_s is None:
            return 0.0
        now = self._t_s + max(0.0, self.clock.monotonic() - self._host_s) * self.speed
        self._shown_s = max(self._shown_s, now)
        return self._shown_s
