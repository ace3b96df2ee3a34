"""USB serial pumps through pyserial; the bytes go to firmware_bridge's decoder.

Both wire modes of ``firmware_bridge/PROTOCOL.md`` work (text lines
``t_ms,value`` or binary frames); the decoder tells them apart by the bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno

import serial

from ..clock import Clock
from ..errors import DeviceError, ProtocolError
from . import Arrival, LinkLostError, LinkStats, SourceInfo
from ._decoding import DecodedStream

#: Longest single blocking read, s: bounds how long close() and stop wait.
READ_TIMEOUT_S = 0.05


def _device_error(port: str, exc: Exception) -> DeviceError:
    """Turn pyserial's open failure into one sentence with what to try."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code == errno.EACCES or "Permission denied" in text or "Access is denied" in text:
        return DeviceError(
            port,
            "permission denied; on Linux add yourself to the dialout group "
            "(sudo usermod -aG dialout $USER) and log in again; on Windows close "
            "the other program using it",
        )
    if code == errno.ENOENT or "No such file" in text or "cannot find the file" in text:
        return DeviceError(port, "no such serial port; run `letdown ports` to list the ports")
    if code == errno.EBUSY or "busy" in text.lower():
        return DeviceError(port, "the port is busy; close the other program using it")
    return DeviceError(port, f"cannot open the serial port ({text})")


class SerialSource:
    """Read a pump over a serial port.

    Args:
        port: the port, e.g. ``/dev/ttyACM0`` or ``COM3``.
        clock: gives the host time of each arrival.
        baud: serial speed, baud (USB CDC devices ignore it).
        channel: channel name to assume until the device announces its channels.
        first_samples_s: how long ``open`` waits for the first decodable samples, s.
        idle_s: ``read`` returns an empty block after this long without samples, s.
    """

    def __init__(
        self,
        port: str,
        *,
        clock: Clock,
        baud: int = 115200,
        channel: str = "weight_g",
        first_samples_s: float = 5.0,
        idle_s: float = 0.5,
    ) -> None:
        self.port = port
        self.clock = clock
        self.baud = baud
        self.channel = channel
        self.first_samples_s = first_samples_s
        self.idle_s = idle_s
        self.description = f"serial:{port}"
        self._stream = DecodedStream((channel,))
        self._serial: serial.Serial | None = None

    @property
    def stats(self) -> LinkStats:
        """Link counters over every connection so far."""
        return self._stream.stats

    async def open(self) -> SourceInfo:
        """Open the port and wait for the first samples.

        Raises:
            DeviceError: no such port, permission denied, or busy.
            ProtocolError: the port is open but nothing decodable arrives.
        """
        await self.close()
        try:
            self._serial = serial.Serial(self.port, self.baud, timeout=READ_TIMEOUT_S)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise _device_error(self.port, exc) from None
        deadline = self.clock.monotonic() + self.first_samples_s
        try:
            while not self._stream.has_samples and self.clock.monotonic() < deadline:
                self._stream.feed(await self._read_bytes())
        except LinkLostError as exc:
            await self.close()
            raise DeviceError(self.port, f"the device went away while connecting ({exc})") from None
        if not self._stream.has_samples:
            await self.close()
            raise ProtocolError(
                self.port,
                f"nothing decodable arrived in {self.first_samples_s:g} s at {self.baud} baud; "
                "expected text lines 't_ms,value' or binary frames (firmware_bridge/PROTOCOL.md); "
                "check the port and --baud",
            )
        return self._stream.source_info(f"serial device on {self.port}")

    async def read(self) -> Arrival | None:
        """The samples decoded since the last call (an empty block after ``idle_s``).

        Raises:
            LinkLostError: the cable was unplugged or the device closed the port.
        """
        deadline = self.clock.monotonic() + self.idle_s
        while not self._stream.has_samples and self.clock.monotonic() < deadline:
            self._stream.feed(await self._read_bytes())
        return Arrival(self._stream.take(), self.clock.monotonic())

    async def close(self) -> None:
        """Close the port (safe to call twice)."""
        port, self._serial = self._serial, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    async def _read_bytes(self) -> bytes:
        port = self._serial
        if port is None:
            raise LinkLostError("the port is closed")
        try:
            # pyserial has no async API: one short blocking read runs on the loop's executor
            return await asyncio.to_thread(_read_available, port)
        except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
            # TypeError/AttributeError: pyserial after the fd vanished under it
            raise LinkLostError(str(exc) or type(exc).__name__) from None


def _read_available(port: serial.Serial) -> bytes:
    """Block up to READ_TIMEOUT_S for one byte, then take everything waiting."""
    first = port.read(1)
    if not first:
        return b""
    return first + port.read(port.in_waiting)
