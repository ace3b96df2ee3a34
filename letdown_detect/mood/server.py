"""The mood page's small HTTP endpoint (asyncio, stdlib only).

Binds to 127.0.0.1 unless the LAN is asked for explicitly. Every request must
carry the session's random token (``?token=`` or the ``X-Letdown-Token``
header); anything else gets 403. Routes:

- ``GET /`` the phone page; ``GET /api/state`` session clock, letdowns, open prompt (JSON)
- ``POST /api/answer`` JSON ``{"score": 0-10, "feelings": [...], "prompt": N}``
- ``POST /api/felt`` "I feel a letdown now"
- ``GET|POST /answer?prompt=N&score=S`` and ``GET|POST /felt``: one tap from a
  notification action (they answer with a short page, or JSON for POST)
"""

from __future__ import annotations

import asyncio
import hmac
import json
import socket
from collections.abc import Callable
from html import escape
from importlib import resources
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from ..errors import ConfigError, DeviceError

_MAX_HEAD = 16 * 1024
_MAX_BODY = 16 * 1024
_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
}


class MoodHandler(Protocol):
    """What the server asks of the mood sink."""

    def state(self) -> dict[str, Any]: ...

    def submit_answer(
        self, score: object, feelings: object, prompt: object, channel: str
    ) -> str: ...

    def felt(self) -> None: ...


def lan_address() -> str:
    """This machine's address on the local network (no packet is sent)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        return str(probe.getsockname()[0])
    except OSError:
        return socket.gethostname()
    finally:
        probe.close()


class MoodServer:
    """Serves the mood page and its API for one session.

    Args:
        handler: the mood sink.
        token: the session's random token.
        port: TCP port; 0 picks a free one.
        lan: listen on every interface (phones on the same Wi-Fi) instead of loopback.

    Raises:
        DeviceError: the port is taken or forbidden.
    """

    def __init__(self, handler: MoodHandler, token: str, port: int = 0, lan: bool = False) -> None:
        self.handler = handler
        self.token = token
        self.lan = lan
        self._page = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")
        self._server: asyncio.Server | None = None
        host = "0.0.0.0" if lan else "127.0.0.1"
        # Bound now, served later: the URL (and its port) is known before the session starts.
        try:
            self._sock = socket.create_server((host, port))
        except OSError as exc:
            raise DeviceError(
                f"{host}:{port}",
                f"cannot serve the mood page ({exc.strerror}); pick another --mood-port",
            ) from None
        self.port = int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        """The page URL with the token (share it only with your own phone)."""
        host = lan_address() if self.lan else "127.0.0.1"
        return f"http://{host}:{self.port}/?token={self.token}"

    async def start(self) -> None:
        """Start answering requests on the bound socket."""
        self._server = await asyncio.start_server(self._serve, sock=self._sock)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self._sock.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, ctype, body = await asyncio.wait_for(self._respond(reader), timeout=10)
        except (
            asyncio.TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ValueError,
        ):
            status, ctype, body = 400, "application/json", _json({"error": "bad request"})
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n"
            "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n"
        )
        try:
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[int, str, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _MAX_HEAD:
            return 413, "application/json", _json({"error": "request too large"})
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length > _MAX_BODY:
            return 413, "application/json", _json({"error": "request too large"})
        body = await reader.readexactly(length) if length else b""
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        given = query.get("token") or headers.get("x-letdown-token", "")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return 403, "application/json", _json({"error": "missing or wrong session token"})
        return self._route(method, url.path, query, body)

    def _route(
        self, method: str, path: str, query: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        routes: dict[tuple[str, str], Callable[[], tuple[int, str, bytes]]] = {
            ("GET", "/"): lambda: (200, "text/html; charset=utf-8", self._page.encode()),
            ("GET", "/api/state"): lambda: (200, "application/json", _json(self.handler.state())),
            ("POST", "/api/answer"): lambda: self._answer(json.loads(body or b"{}"), "page"),
            ("POST", "/api/felt"): lambda: self._felt(as_json=True),
        }
        for verb in ("GET", "POST"):
            routes[(verb, "/answer")] = lambda verb=verb: self._answer(
                query, "action", verb == "GET"
            )
            routes[(verb, "/felt")] = lambda verb=verb: self._felt(as_json=verb == "POST")
        route = routes.get((method, path))
        if route is None:
            known = any(p == path for _, p in routes)
            return (405 if known else 404), "application/json", _json({"error": "no such page"})
        return route()

    def _answer(self, data: object, channel: str, as_page: bool = False) -> tuple[int, str, bytes]:
        if not isinstance(data, dict):
            return 400, "application/json", _json({"error": "expected a JSON object"})
        try:
            message = self.handler.submit_answer(
                data.get("score"), data.get("feelings"), data.get("prompt"), channel
            )
        except ConfigError as exc:
            return 400, "application/json", _json({"error": str(exc)})
        if as_page:
            return 200, "text/html; charset=utf-8", _page(message)
        return 200, "application/json", _json({"message": message})

    def _felt(self, as_json: bool) -> tuple[int, str, bytes]:
        self.handler.felt()
        message = "Felt letdown marked. Thank you."
        if as_json:
            return 200, "application/json", _json({"message": message})
        return 200, "text/html; charset=utf-8", _page(message)


def _json(data: object) -> bytes:
    return json.dumps(data).encode()


def _page(message: str) -> bytes:
    return (
        '<!doctype html><meta name="viewport" content="width=device-width">'
        f'<p style="font:1.5rem sans-serif;margin:2rem">{escape(message)}</p>'
    ).encode()
