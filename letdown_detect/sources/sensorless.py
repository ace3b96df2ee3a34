"""No sensor at all: the source of a nursing session (felt marks and mood prompts only).

It delivers no samples, so session time runs on the session's clock, and the
same live session (loop, sinks, signals, ``--duration``) serves nursing.
"""

from __future__ import annotations

import numpy as np

from ..clock import Clock
from ..model import SampleBlock
from . import Arrival, LinkStats, SourceInfo


class SensorlessSource:
    """A source with no channels: ``read`` waits ``idle_s`` and returns an empty block.

    Args:
        target: unused (``sensorless:`` has no address).
        clock: the session's clock (it paces the empty reads).
        idle_s: how long each ``read`` waits, s (how often the session ticks).
    """

    def __init__(self, target: str = "", *, clock: Clock, idle_s: float = 0.5) -> None:
        self.clock = clock
        self.idle_s = idle_s
        self.description = "nursing (no sensor)"
        self.stats = LinkStats()

    async def open(self) -> SourceInfo:
        """Nothing to connect to."""
        return SourceInfo(channels=(), device="no sensor", device_time=False)

    async def read(self) -> Arrival | None:
        """An empty block, after ``idle_s`` of the clock."""
        await self.clock.sleep(self.idle_s)
        return Arrival(SampleBlock(np.empty(0), np.empty((0, 0)), ()), self.clock.monotonic())

    async def close(self) -> None:
        """Nothing to release."""
