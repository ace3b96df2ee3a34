"""Serial pumps through pyserial; the bytes go to firmware_bridge's decoder.

The port is opened with ``serial.serial_for_url``, so besides a device path
(``/dev/ttyACM0``, ``COM3``) any pyserial URL works: ``socket://HOST:PORT``
(a Wi-Fi board streaming the same wire protocol over TCP), ``rfc2217://``
(a serial port shared over the network) and ``loop://`` (tests). Both wire
modes of ``firmware_bridge/PROTOCOL.md`` work (text lines ``t_ms,value`` or
binary frames); the decoder tells them apart by the bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno

import serial

from ..clock import Clock
from ..errors import DeviceError
from . import LinkLostError, SourceInfo
from .device import DeviceSource

#: Longest single blocking read, s: bounds how long close() and stop wait.
READ_TIMEOUT_S = 0.05


def _device_error(port: str, exc: Exception) -> DeviceError:
    """Turn pyserial's open failure into one sentence with what to try."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if "://" in port:
        return DeviceError(port, f"cannot open this serial URL ({text})")
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


class SerialSource(DeviceSource):
    """Read a pump over a serial port or a pyserial URL (``socket://``, ``rfc2217://``).

    Args:
        port: the port, e.g. ``/dev/ttyACM0``, ``COM3`` or ``socket://192.168.1.30:7000``.
        clock: gives the host time of each arrival.
        baud: serial speed, baud (USB CDC devices and sockets ignore it).
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
        super().__init__(
            clock=clock, channel=channel, first_samples_s=first_samples_s, idle_s=idle_s
        )
        self.port = self.target = port
        self.baud = baud
        self.description = f"serial:{port}"
        self._serial: serial.SerialBase | None = None

    async def _connect(self) -> None:
        try:
            self._serial = serial.serial_for_url(self.port, self.baud, timeout=READ_TIMEOUT_S)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise _device_error(self.port, exc) from None

    def _silence_hint(self) -> str:
        protocol = "expected text lines 't_ms,value' or binary frames (firmware_bridge/PROTOCOL.md)"
        if self.port.lower().startswith("socket://"):  # a network link has no baud rate
            where = self.port.split("://", 1)[1]
            return (
                f" over the network; {protocol}; check that the board is on, on the network "
                f"and streaming on {where}"
            )
        return f" at {self.baud} baud; {protocol}; check the port and --baud"

    def _source_info(self) -> SourceInfo:
        return self._stream.source_info(f"serial device on {self.port}")

    async def _receive(self, timeout_s: float) -> tuple[bytes, float] | None:
        port = self._serial
        if port is None:
            raise LinkLostError("the port is closed")
        try:
            # pyserial has no async API: one short blocking read runs on the loop's executor
            data = await asyncio.to_thread(_read_available, port)
        except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
            # TypeError/AttributeError: pyserial after the fd vanished under it
            raise LinkLostError(str(exc) or type(exc).__name__) from None
        return (data, self.clock.monotonic()) if data else None

    async def _disconnect(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()


def _read_available(port: serial.SerialBase) -> bytes:
    """Block up to READ_TIMEOUT_S for one byte, then take everything waiting.

    An unplugged device and a TCP peer that closed (``socket://``) both make
    pyserial raise ``SerialException``: a lost link.
    """
    first = port.read(1)
    if not first:
        return b""
    return first + port.read(port.in_waiting)
