"""The contract of a source that talks to a device over a link (serial, TCP, BLE, a scale).

Modelled on bleak's ``BaseBleakClient``: a subclass supplies the transport,
the base owns the behaviour every device source shares, once.

A subclass implements:

- ``async _connect()``: open the link (port, socket, radio connection and
  subscriptions). Raise :class:`~letdown_detect.errors.DeviceError` with one
  sentence when it cannot.
- ``async _receive(timeout_s) -> (bytes, host_s) | None``: wait at most
  ``timeout_s`` for the next bytes (or BLE notification) and return them with
  the host time they arrived, ``None`` when nothing came. Raise
  :class:`~letdown_detect.sources.LinkLostError` when the link dropped.
- ``async _disconnect()``: release the link; safe to call twice.
- ``target`` and ``description`` attributes (the port or address, and how
  the session names the source).

It may override ``_feed(data, host_s)`` (default: our wire protocol through
firmware_bridge's decoder) and ``_take()`` for devices that send plain
numbers, ``_silence_hint()`` for what to check when nothing decodable
arrives, and ``_first_samples_needed()`` (False: ``open`` returns without
waiting, e.g. a device whose channels are configured, not announced).

The base gives every device source:

- ``open()``: disconnect, connect, then wait up to ``first_samples_s`` for the
  first decodable samples (:class:`~letdown_detect.errors.ProtocolError` when
  none come; a link lost meanwhile is a ``DeviceError``);
- ``read()``: the samples that arrived, or an empty block after ``idle_s``
  without any (so the session ticks on while a device is quiet);
- ``stats``: link counters across reconnects (one decoder for the session).

Reconnecting with backoff is the live session's (``LiveSession._read``), for
every source alike: on :class:`LinkLostError` it calls ``close()`` and then
``open()`` again, waiting longer after each failure.
"""

from __future__ import annotations

from typing import Any

from ..clock import Clock
from ..errors import DeviceError, ProtocolError
from ..model import SampleBlock
from . import Arrival, LinkLostError, LinkStats, SourceInfo
from ._decoding import DecodedStream


class DeviceSource:
    """Base of device sources (see the module docstring for the contract).

    Args:
        clock: gives host times (arrivals, deadlines).
        channel: channel name to assume until the device announces its channels.
        first_samples_s: how long ``open`` waits for the first decodable samples, s.
        idle_s: ``read`` returns an empty block after this long without samples, s.
    """

    target: str
    description: str

    def __init__(
        self, *, clock: Clock, channel: str, first_samples_s: float, idle_s: float
    ) -> None:
        self.clock = clock
        self.channel = channel
        self.first_samples_s = first_samples_s
        self.idle_s = idle_s
        self._stream = DecodedStream((channel,))
        self._last_host_s: float | None = None

    # -- what a subclass supplies --

    async def _connect(self) -> None:
        raise NotImplementedError

    async def _receive(self, timeout_s: float) -> tuple[bytes, float] | None:
        raise NotImplementedError

    async def _disconnect(self) -> None:
        raise NotImplementedError

    def _silence_hint(self) -> str:
        """What follows "nothing decodable arrived in N s": what to check."""
        return "; expected text lines 't_ms,value' or binary frames (firmware_bridge/PROTOCOL.md)"

    def _first_samples_needed(self) -> bool:
        return True

    def _feed(self, data: bytes, host_s: float) -> None:
        self._stream.feed(data)

    def _has_samples(self) -> bool:
        return self._stream.has_samples

    def _take(self) -> SampleBlock:
        return self._stream.take()

    def _source_info(self) -> SourceInfo:
        return self._stream.source_info(f"device on {self.target}")

    # -- what the base gives --

    @property
    def stats(self) -> LinkStats:
        """Link counters over every connection so far."""
        return self._stream.stats

    async def open(self) -> SourceInfo:
        """Connect and wait for the first samples.

        Raises:
            DeviceError: the device cannot be reached, or went away while connecting.
            ProtocolError: connected, but nothing decodable arrives.
        """
        await self.close()
        await self._connect()
        if not self._first_samples_needed():
            return self._source_info()
        deadline = self.clock.monotonic() + self.first_samples_s
        try:
            while not self._has_samples() and self.clock.monotonic() < deadline:
                await self._take_in(deadline)
        except LinkLostError as exc:
            await self.close()
            raise DeviceError(
                self.target, f"the device went away while connecting ({exc})"
            ) from None
        if not self._has_samples():
            await self.close()
            raise ProtocolError(
                self.target,
                f"nothing decodable arrived in {self.first_samples_s:g} s{self._silence_hint()}",
            )
        return self._source_info()

    async def read(self) -> Arrival | None:
        """The samples that arrived since the last call (an empty block after ``idle_s``).

        Raises:
            LinkLostError: the cable was unplugged, the socket closed or the radio link dropped.
        """
        deadline = self.clock.monotonic() + self.idle_s
        while not self._has_samples() and self.clock.monotonic() < deadline:
            await self._take_in(deadline)
        host_s = self._last_host_s if self._has_samples() else None
        block = self._take()
        return Arrival(block, self.clock.monotonic() if host_s is None else host_s)

    async def close(self) -> None:
        """Release the link (safe to call twice)."""
        await self._disconnect()

    async def _take_in(self, deadline: float) -> None:
        got = await self._receive(max(0.0, deadline - self.clock.monotonic()))
        if got is None:
            return
        data, host_s = got
        self._last_host_s = host_s
        self._feed(data, host_s)


def describe(exc: Any) -> str:
    """A short reason text for an exception (its message, else its class name)."""
    return str(exc) or type(exc).__name__
