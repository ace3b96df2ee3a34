"""USB serial link: frames or text lines out on stdout, command bytes in on stdin."""

import select
import sys


class UsbLink:
    """The USB serial port (MicroPython's ``sys.stdout`` / ``sys.stdin``).

    Args:
        mode: "binary" frames or "text" lines.
        out: byte stream to write (default ``sys.stdout.buffer``).
        inp: stream to read commands from (default ``sys.stdin``).
    """

    def __init__(self, mode: str = "binary", out=None, inp=None) -> None:
        self.mode = mode
        self._out = out if out is not None else sys.stdout.buffer
        self._inp = inp if inp is not None else sys.stdin
        self._poll = select.poll()
        self._poll.register(self._inp, select.POLLIN)

    def send(self, data: bytes) -> None:
        """Write one frame or a few text lines."""
        self._out.write(data)

    def command(self):
        """One waiting command byte (``b"t"`` = tare), or ``None``."""
        if not self._poll.poll(0):
            return None
        char = self._inp.read(1)
        return char.encode() if isinstance(char, str) else char

    def set_info(self, frame: bytes) -> None:
        """USB has nothing to update: the info frame is sent in the stream."""
