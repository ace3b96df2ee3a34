"""The virtual pump on a pseudo-terminal: a serial port any program can open.

``open_pty()`` gives a raw pty whose device side nobody holds yet; ``serve``
waits until a reader opens it (and has flushed its input, as pyserial does
on open), plays the pump's packets into it, blocking when the reader falls
behind (as USB CDC does), and waits until the reader has taken every byte.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import struct
import termios
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass

from .virtual_pump import VirtualPump, play

#: Packet-mode control bit: the reader flushed its input queue.
_TIOCPKT_FLUSHREAD = 0x01


@dataclass
class PtyPair:
    """A pseudo-terminal; ``path`` is the port a reader opens."""

    master_fd: int
    path: str
    slave_fd: int | None = None
    """Our own handle on the device side, held once a reader is attached (to count unread bytes)."""

    def close(self) -> None:
        """Close it (a reader then sees the device unplugged)."""
        for fd in (self.master_fd, self.slave_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def wait_for_reader(self, settle_s: float = 1.0) -> None:
        """Block until a reader has opened the port and (within ``settle_s``) flushed it.

        Args:
            settle_s: how long to wait for the reader's input flush after it
                opened the port, s; readers that never flush start after this.
        """
        poller = select.poll()
        poller.register(self.master_fd, select.POLLIN | select.POLLPRI)
        while poller.poll(50) == [(self.master_fd, select.POLLHUP)]:
            time.sleep(0.02)  # POLLHUP stays raised (poll returns at once) until a reader opens
        deadline = time.monotonic() + settle_s
        while (left := deadline - time.monotonic()) > 0:
            if not poller.poll(int(left * 1000) + 1):
                break
            packet = os.read(self.master_fd, 4096)
            if packet and packet[0] & _TIOCPKT_FLUSHREAD:
                break
        self.slave_fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)

    def unread(self) -> int:
        """Bytes written but not yet read by the reader (0 before a reader came)."""
        if self.slave_fd is None:
            return 0
        raw = fcntl.ioctl(self.slave_fd, termios.FIONREAD, b"\0\0\0\0")
        return struct.unpack("i", raw)[0]

    def write(self, data: bytes) -> None:
        """Write all of ``data``, blocking while the reader's queue is full."""
        view = memoryview(data)
        while view:
            view = view[os.write(self.master_fd, view) :]


def open_pty() -> PtyPair:
    """A new pty in raw mode (no echo, no newline translation), device side not held."""
    master_fd, slave_fd = os.openpty()
    tty.setraw(slave_fd)
    path = os.ttyname(slave_fd)
    os.close(slave_fd)
    # packet mode: the reader's open and input flush become visible on our side
    fcntl.ioctl(master_fd, termios.TIOCPKT, struct.pack("i", 1))
    return PtyPair(master_fd, path)


def serve(
    pump: VirtualPump,
    pty: PtyPair,
    speed: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
    drain_timeout_s: float = 10.0,
    linger_s: float = 2.0,
) -> int:
    """Wait for a reader, stream the pump's session into ``pty``, wait until it is read.

    Args:
        pump: the virtual device.
        pty: from ``open_pty()``.
        speed: 1 = real time, ``math.inf`` = as fast as the reader takes it.
        clock: monotonic clock, s.
        sleep: sleeps for a number of seconds.
        drain_timeout_s: longest wait for the reader to take the last bytes, s.
        linger_s: stay open this long after that: a reader (pyserial) that took
            bytes into its own buffer loses them if the port vanishes before its
            ``read`` returns, s.

    Returns:
        Bytes written.
    """
    pty.wait_for_reader()
    total = play(pump.packets(), pty.write, speed, clock, sleep)
    deadline = clock() + drain_timeout_s
    while pty.unread() and clock() < deadline:
        sleep(0.01)
    sleep(linger_s)
    return total
