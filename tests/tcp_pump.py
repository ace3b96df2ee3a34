"""A Wi-Fi pump on 127.0.0.1: a TCP server streaming the wire protocol (for ``socket://``).

Each accepted connection plays the next of ``parts`` (a virtual pump's packets,
paced at ``speed``) and then closes, as a board whose Wi-Fi drops would.
"""

from __future__ import annotations

import socket
import threading

from firmware_bridge.virtual_pump import VirtualPump, play


class TcpPump:
    """Serve ``parts`` one connection each, on a free port of 127.0.0.1.

    Args:
        parts: the recordings to stream, one per connection.
        speed: session seconds per real second.
        linger_s: keep a connection open this long after its last packet, real s.
        settle_s: wait this long after accepting before the first packet, real s.
    """

    def __init__(self, parts, speed: float, linger_s: float = 0.3, settle_s: float = 0.2) -> None:
        self.parts = list(parts)
        self.settle_s = settle_s
        self.speed = speed
        self.linger_s = linger_s
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.url = f"socket://127.0.0.1:{self.port}"
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        for part in self.parts:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                try:
                    # pyserial's socket:// open drops what arrived while it connected; a board
                    # announces itself after a short pause (and again every 5 s)
                    self._done.wait(self.settle_s)
                    play(VirtualPump(part).packets(), conn.sendall, self.speed)
                    self._done.wait(self.linger_s)
                except OSError:
                    pass  # the reader went away

    def close(self) -> None:
        self._done.set()
        self._server.close()
        self._thread.join(timeout=10)
