"""The mood page's small HTTP endpoint (asyncio, stdlib only).

Binds to 127.0.0.1 unless the LAN is asked for explicitly. Every request must
carry the session's random token (``?token=`` or the ``X-Letdown-Token``
header); anything else gets 403. Beyond the token (defence in depth):

- the ``Host`` header must name the address served (a DNS-rebinding page
  cannot reach us through its own name);
- a POST from another site is refused (``Origin`` or ``Sec-Fetch-Site``), and a
  POST body must be ``application/json`` or a form;
- every malformed request gets a 400 with a reason, never a traceback;
- at most :data:`MAX_CONNECTIONS` connections are served at once (the rest
  wait in the kernel's queue), each closed after :data:`IDLE_S` without a
  complete request; running out of file descriptors is logged once.

Routes:

- ``GET /`` the phone page; ``GET /api/state`` session clock, letdowns, open prompt (JSON)
- ``POST /api/answer`` JSON ``{"score": 0-10, "feelings": [...], "prompt": N}``; the
  reply carries ``help`` (see ``help.py``) when the answer calls for it
- ``POST /api/undo`` take back the last answer (a few seconds); ``POST /api/ask_less``
  (first letdown and one baseline, this session); ``POST /api/snooze`` (no more questions)
- ``POST /api/felt`` "I feel a letdown now"
- ``GET|POST /answer?prompt=N&score=S`` and ``GET|POST /felt``: one tap from a
  notification action (they answer with a short page, or JSON for POST)
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import json
import logging
import socket
from collections.abc import Callable
from html import escape
from importlib import resources
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from ..errors import ConfigError, DeviceError
from .answers import parse_feelings, parse_score
from .help import HelpPanel, configured_country, help_for_answer

log = logging.getLogger(__name__)

_MAX_HEAD = 16 * 1024
_MAX_BODY = 16 * 1024
#: Connections served at once; more wait in the listen queue (a phone needs two or three).
MAX_CONNECTIONS = 32
#: A connection that has not sent a complete request after this long is closed, s.
IDLE_S = 5.0
#: Body types a POST may carry.
_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded")
_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
}
_Reply = tuple[int, str, bytes]


class _Refused(Exception):
    """A request we answer with an error status and a reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class MoodHandler(Protocol):
    """What the server asks of the mood sink."""

    def state(self) -> dict[str, Any]: ...

    def submit_answer(
        self, score: object, feelings: object, prompt: object, channel: str
    ) -> str: ...

    def felt(self) -> None: ...


def _help_for(data: dict[str, Any], country: str | None) -> HelpPanel | None:
    """The help panel for an accepted answer (its score and feelings were checked)."""
    feelings = data.get("feelings")
    ticked = parse_feelings(feelings if isinstance(feelings, (str, list)) else None)
    return help_for_answer(parse_score(data.get("score")), ticked, country)


def _check_answer(data: object) -> dict[str, Any]:
    """The answer's fields with their types checked; a 400 names what is wrong."""
    if not isinstance(data, dict):
        raise _Refused(400, 'expected a JSON object like {"score": 3}')
    score, feelings, prompt = data.get("score"), data.get("feelings"), data.get("prompt")
    if isinstance(score, bool) or not isinstance(score, (int, float, str)):
        raise _Refused(400, f"expected score as a number from 0 to 10, got {score!r:.40}")
    listed = isinstance(feelings, list) and all(isinstance(f, str) for f in feelings)
    if feelings is not None and not isinstance(feelings, str) and not listed:
        raise _Refused(400, 'expected feelings as a list of words like ["sad", "dread"]')
    if prompt is not None and (isinstance(prompt, bool) or not isinstance(prompt, (int, str))):
        raise _Refused(400, f"expected prompt as a prompt number, got {prompt!r:.40}")
    return data


def _parse_json(body: bytes) -> object:
    try:
        return json.loads(body or b"{}")
    except RecursionError:
        raise _Refused(400, "JSON nested too deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Refused(400, f"expected JSON ({exc})") from None


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
        country: ``[mood] country`` for the help lines; ``None`` reads the config file.
        max_connections: connections served at once.
        idle_s: a connection without a complete request is closed after this long, s.

    Raises:
        DeviceError: the port is taken or forbidden.
    """

    def __init__(
        self,
        handler: MoodHandler,
        token: str,
        port: int = 0,
        lan: bool = False,
        country: str | None = None,
        max_connections: int = MAX_CONNECTIONS,
        idle_s: float = IDLE_S,
    ) -> None:
        self.handler = handler
        self.token = token
        self.lan = lan
        self.country = country if country is not None else configured_country()
        self.max_connections = max_connections
        self.idle_s = idle_s
        self._page = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")
        self._accepting: asyncio.Task[None] | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None
        self._told_fds = False
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
        self._sock.setblocking(False)
        names = {"127.0.0.1", "localhost", "[::1]"}
        if lan:
            names.add(lan_address())
        #: Host header values we answer to (DNS rebinding gets a 403).
        self.hosts = {f"{n}:{self.port}" for n in names}

    @property
    def url(self) -> str:
        """The page URL with the token (share it only with your own phone)."""
        host = lan_address() if self.lan else "127.0.0.1"
        return f"http://{host}:{self.port}/?token={self.token}"

    async def start(self) -> None:
        """Start answering requests on the bound socket."""
        self._slots = asyncio.Semaphore(self.max_connections)
        self._accepting = asyncio.create_task(self._accept_loop())

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        tasks = [t for t in (self._accepting, *self._clients) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._accepting = None
        self._sock.close()

    async def _accept_loop(self) -> None:
        """Accept while a slot is free; others wait in the kernel's listen queue."""
        loop = asyncio.get_running_loop()
        assert self._slots is not None
        while True:
            await self._slots.acquire()
            try:
                conn, _ = await loop.sock_accept(self._sock)
            except OSError as exc:
                self._slots.release()
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    if not self._told_fds:
                        self._told_fds = True
                        log.warning(
                            "mood page: out of file descriptors (%s); new connections wait",
                            exc.strerror,
                        )
                    await asyncio.sleep(0.1)
                    continue
                raise
            task = asyncio.create_task(self._client(conn))
            self._clients.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._clients.discard(task)
        if self._slots is not None:
            self._slots.release()

    async def _client(self, conn: socket.socket) -> None:
        try:
            reader, writer = await asyncio.open_connection(sock=conn, limit=_MAX_HEAD)
        except OSError:
            conn.close()
            return
        try:
            await self._serve(reader, writer)
        except Exception:  # our bug: one line in the log, the server goes on
            log.exception("mood page: request failed")
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, ctype, body = await asyncio.wait_for(self._respond(reader), self.idle_s)
        except _Refused as exc:
            status, ctype, body = exc.status, "application/json", _json({"error": exc.reason})
        except asyncio.TimeoutError:
            status, ctype, body = 408, "application/json", _json({"error": "request too slow"})
        except asyncio.LimitOverrunError:
            status, ctype, body = 413, "application/json", _json({"error": "request too large"})
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n"
            "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
            "Connection: close\r\n\r\n"
        )
        try:
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _respond(self, reader: asyncio.StreamReader) -> _Reply:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise _Refused(413, "request head too large") from None
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise _Refused(400, "expected a request line like GET / HTTP/1.1")
        method, target, _ = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        try:
            length = int(headers.get("content-length", "0") or 0)
        except ValueError:
            raise _Refused(400, "expected Content-Length as a number") from None
        if length < 0:
            raise _Refused(400, "expected Content-Length >= 0")
        if length > _MAX_BODY:
            raise _Refused(413, "request too large")
        body = await reader.readexactly(length) if length else b""
        self._check_origin(method, headers, bool(body))
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        given = query.get("token") or headers.get("x-letdown-token", "")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise _Refused(403, "missing or wrong session token")
        if method == "POST" and headers.get("content-type", "").startswith(_BODY_TYPES[1]):
            form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            query, body = {**query, **form}, b""
        return self._route(method, url.path, query, body)

    def _check_origin(self, method: str, headers: dict[str, str], has_body: bool) -> None:
        """Refuse other hosts (DNS rebinding), cross-site POSTs (CSRF) and odd body types."""
        host = headers.get("host", "").lower()
        if host not in self.hosts:
            raise _Refused(403, f"expected Host {sorted(self.hosts)[0]}, got {host[:60]!r}")
        if method != "POST":
            return
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in {f"http://{h}" for h in self.hosts}:
            raise _Refused(403, "cross-site request refused")
        site = headers.get("sec-fetch-site")
        if site is not None and site.lower() not in ("same-origin", "none"):
            raise _Refused(403, "cross-site request refused")
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if (has_body or ctype) and ctype not in _BODY_TYPES:
            raise _Refused(415, "expected Content-Type application/json or a form")

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes) -> _Reply:
        routes: dict[tuple[str, str], Callable[[], _Reply]] = {
            ("GET", "/"): lambda: (200, "text/html; charset=utf-8", self._page.encode()),
            ("GET", "/api/state"): lambda: (200, "application/json", _json(self._state())),
            ("POST", "/api/answer"): lambda: self._answer(
                query if not body else _parse_json(body), "page"
            ),
            ("POST", "/api/felt"): lambda: self._felt(as_json=True),
            ("POST", "/api/undo"): lambda: self._call("undo"),
            ("POST", "/api/snooze"): lambda: self._call("snooze"),
            ("POST", "/api/ask_less"): lambda: self._call("ask_less"),
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

    def _state(self) -> dict[str, Any]:
        state = dict(self.handler.state())
        state["undo"] = hasattr(self.handler, "undo")
        state["snooze"] = hasattr(self.handler, "snooze")
        state["ask_less"] = hasattr(self.handler, "ask_less")
        return state

    def _call(self, name: str) -> _Reply:
        action = getattr(self.handler, name, None)
        if action is None:
            return 404, "application/json", _json({"error": f"{name} is not offered here"})
        return 200, "application/json", _json({"message": action()})

    def _answer(self, data: object, channel: str, as_page: bool = False) -> _Reply:
        answer = _check_answer(data)
        try:
            message = self.handler.submit_answer(
                answer.get("score"), answer.get("feelings"), answer.get("prompt"), channel
            )
        except ConfigError as exc:
            raise _Refused(400, str(exc)) from None
        panel = _help_for(answer, self.country)
        if as_page:
            return 200, "text/html; charset=utf-8", _page(message, panel)
        reply: dict[str, Any] = {"message": message}
        if panel is not None:
            reply["help"] = panel.to_dict()
        return 200, "application/json", _json(reply)

    def _felt(self, as_json: bool) -> _Reply:
        self.handler.felt()
        message = "Felt letdown marked. Thank you."
        if as_json:
            return 200, "application/json", _json({"message": message})
        return 200, "text/html; charset=utf-8", _page(message)


def _json(data: object) -> bytes:
    return json.dumps(data).encode()


def _page(message: str, panel: HelpPanel | None = None) -> bytes:
    """The short page a one-tap link answers with; the help panel first when there is one."""
    help_html = ""
    if panel is not None:
        links = "".join(
            f'<li><a href="{escape(x.tel)}">{escape(x.name)}: {escape(x.number)}</a>'
            f"{' (' + escape(x.note) + ')' if x.note else ''}</li>"
            for x in panel.lines
        )
        help_html = (
            '<section id="help" role="alert" style="border:3px solid #b00020;padding:.8rem;'
            f'border-radius:.8rem"><p>{escape(panel.message)}</p><ul>{links}</ul></section>'
        )
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        '<body style="font:1.2rem/1.4 sans-serif;margin:1rem">'
        f"{help_html}<p>{escape(message)}</p></body></html>"
    ).encode()
