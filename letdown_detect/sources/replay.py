"""Replay a recording as if it were streaming: blocks of samples, paced in real time × speed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..clock import Clock
from ..errors import ConfigError
from ..model import SampleBlock
from ..recording import Recording, read_recording
from . import Arrival, LinkStats, SourceInfo


class ReplaySource:
    """Stream a recording's samples in blocks of ``block_s`` session seconds.

    Times stay the recording's own ``t_s`` (session seconds), so replaying a
    file through the live pipeline finds the events ``letdown detect`` finds.

    Args:
        path: the recording CSV (ignored when ``recording`` is given).
        clock: paces the blocks; a :class:`~letdown_detect.clock.VirtualClock`
            replays as fast as the CPU allows.
        speed: session seconds per second of ``clock`` time (20 = twenty times faster).
        block_s: session seconds per block (a frame every 100 ms by default), s.
        idle_s: longest wait in one ``read``; an empty block is returned after it, s.
        recording: an already loaded recording to replay instead of ``path``.
        description: how the session names this source.
    """

    def __init__(
        self,
        path: str | Path = "",
        *,
        clock: Clock,
        speed: float = 1.0,
        block_s: float = 0.1,
        idle_s: float = 0.5,
        recording: Recording | None = None,
        description: str | None = None,
    ) -> None:
        if not speed > 0:
            raise ConfigError(f"--speed must be a positive number, got {speed}", "speed")
        self.path = Path(path)
        self.clock = clock
        self.speed = speed
        self.block_s = block_s
        self.idle_s = idle_s
        self.recording = recording
        self.description = description or f"replay:{self.path}"
        self.stats = LinkStats()
        self._whole: SampleBlock | None = None
        self._next = 0
        self._start_host_s = 0.0

    async def open(self) -> SourceInfo:
        """Load the recording (once) and start pacing from now.

        Raises:
            RecordingError: the file is missing or does not follow the contract.
        """
        if self.recording is None:
            self.recording = read_recording(self.path)
        if self._whole is None:
            self._whole = self.recording.to_block()
        t = self._whole.t_s
        self._start_host_s = self.clock.monotonic() - t[self._next] / self.speed if t.size else 0.0
        meta = self.recording.meta
        return SourceInfo(
            channels=self._whole.channels,
            sample_rate_hz=meta.sample_rate_hz,
            device=meta.device or f"replay of {self.path.name}",
            calibration=dict(meta.calibration),
            device_time=False,
            speed=self.speed,
        )

    async def read(self) -> Arrival | None:
        """The next block, once its last sample's time has come; ``None`` at the end."""
        whole = self._whole
        if whole is None or self._next >= len(whole):
            return None
        t = whole.t_s
        stop = int(np.searchsorted(t, t[self._next] + self.block_s, side="left"))
        stop = max(stop, self._next + 1)
        due_s = self._start_host_s + t[stop - 1] / self.speed
        wait_s = due_s - self.clock.monotonic()
        if wait_s > self.idle_s:  # a gap in the recording: report in, like a quiet device
            await self.clock.sleep(self.idle_s)
            return Arrival(
                SampleBlock(t[:0], whole.values[:0], whole.channels), self.clock.monotonic()
            )
        if wait_s > 0:
            await self.clock.sleep(wait_s)
        block = SampleBlock(t[self._next : stop], whole.values[self._next : stop], whole.channels)
        self._next = stop
        return Arrival(block, self.clock.monotonic())

    async def close(self) -> None:
        """Nothing to release."""
