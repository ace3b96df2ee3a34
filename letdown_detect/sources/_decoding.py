"""Bytes from a device -> sample blocks, shared by the serial and BLE sources.

Wraps ``firmware_bridge``'s decoder (pure, no I/O) for a whole session, across
reconnects, and keeps what the device announced.
"""

from __future__ import annotations

import numpy as np

from firmware_bridge.decoder import DeviceInfo, SampleFrame, StreamDecoder

from ..model import SampleBlock
from . import LinkStats, SourceInfo


class DecodedStream:
    """Decode a device's byte stream into blocks of samples on the device clock.

    Args:
        default_channels: channels to assume until the device announces its own.
    """

    def __init__(self, default_channels: tuple[str, ...] = ("weight_g",)) -> None:
        self.default_channels = tuple(default_channels)
        self.device_info: DeviceInfo | None = None
        self.channels: tuple[str, ...] | None = None
        self.foreign_frames = 0
        # one decoder for the whole session: frames lost while the link was down show up
        # as a sequence gap, and a half frame left from before a reconnect is resynced
        self._decoder = StreamDecoder(self.default_channels)
        self._frames: list[SampleFrame] = []

    @property
    def stats(self) -> LinkStats:
        """Link counters over every connection so far."""
        now = self._decoder.stats
        return LinkStats(
            lost_frames=now.lost_frames,
            crc_errors=now.crc_errors,
            bad_lines=now.bad_lines,
            bytes_discarded=now.bytes_discarded,
        )

    def announce(self, data: bytes) -> None:
        """Take a device-info frame read on its own (BLE info characteristic).

        It is decoded apart from the stream so its sequence number does not
        look like a gap in the stream's.
        """
        for item in StreamDecoder(self.default_channels).feed(bytes(data)):
            if isinstance(item, DeviceInfo):
                self.device_info = item
                if self.channels is None:
                    self.channels = item.channels

    def feed(self, data: bytes) -> None:
        """Decode what ``data`` completes."""
        for item in self._decoder.feed(bytes(data)):
            if isinstance(item, DeviceInfo):
                self.device_info = item
                if self.channels is None:
                    self.channels = item.channels
            elif isinstance(item, SampleFrame):
                if self.channels is None:
                    self.channels = item.channels
                if item.channels == self.channels:
                    self._frames.append(item)
                else:  # a session cannot change channels midway
                    self.foreign_frames += 1

    @property
    def has_samples(self) -> bool:
        """True when decoded samples wait to be taken."""
        return bool(self._frames)

    def take(self) -> SampleBlock:
        """All samples decoded so far, as one block (device seconds); may be empty."""
        channels = self.channels or self.default_channels
        frames, self._frames = self._frames, []
        if not frames:
            return SampleBlock(np.empty(0), np.empty((0, len(channels))), channels)
        return SampleBlock(
            np.concatenate([f.t_device_s for f in frames]),
            np.concatenate([f.values for f in frames]),
            channels,
        )

    def source_info(self, fallback_device: str) -> SourceInfo:
        """What this device delivers, from its announcement (or the defaults)."""
        info = self.device_info
        return SourceInfo(
            channels=self.channels or self.default_channels,
            sample_rate_hz=None if info is None else info.sample_rate_hz,
            device=(info.device if info is not None and info.device else fallback_device),
            calibration={} if info is None else dict(info.calibration),
            device_time=True,
        )
