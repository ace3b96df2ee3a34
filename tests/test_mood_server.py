"""The mood page's HTTP server under hostile and careless requests (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from letdown_detect.errors import ConfigError
from letdown_detect.mood.answers import parse_feelings, parse_score
from letdown_detect.mood.server import MoodServer

pytestmark = pytest.mark.timeout(120)
TOKEN = "t0ken"


class Handler:
    """The mood sink's side of the server, recording what it was given."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, tuple[str, ...], object, str]] = []
        self.felt_marks = 0

    def state(self) -> dict[str, Any]:
        return {"t_s": 1.0, "letdowns": [], "prompt": None, "feelings": ["sad", "hopeless"]}

    def submit_answer(self, score: object, feelings: object, prompt: object, channel: str) -> str:
        value = parse_score(score)
        ticked = parse_feelings(feelings if isinstance(feelings, (str, list)) else None)
        if prompt not in (None, "") and not str(prompt).isdigit():
            raise ConfigError(f"expected a prompt number, got {prompt!r}", "prompt")
        self.answers.append((value, ticked, prompt, channel))
        return f"Thank you: answer {value}/10 saved."

    def felt(self) -> None:
        self.felt_marks += 1


class Running:
    """A MoodServer on its own event-loop thread."""

    def __init__(self, **kwargs: Any) -> None:
        self.handler = Handler()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = MoodServer(self.handler, TOKEN, country="US", **kwargs)
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(5)
        self.port = self.server.port

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def raw(self, data: bytes, timeout_s: float = 10.0) -> tuple[int, dict[str, Any] | str]:
        """Send raw bytes; returns the status and the decoded body."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout_s) as s:
            s.sendall(data)
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
        head, _, body = reply.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1])
        text = body.decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        host: str | None = None,
    ) -> tuple[int, dict[str, Any] | str]:
        sep = "&" if "?" in path else "?"
        lines = [f"{method} {path}{sep}token={TOKEN} HTTP/1.1"]
        lines.append(f"Host: {host if host is not None else f'127.0.0.1:{self.port}'}")
        all_headers = {"Content-Type": "application/json"} if body else {}
        all_headers.update(headers or {})
        lines += [f"{k}: {v}" for k, v in all_headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        return self.raw(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


@pytest.fixture
def server(caplog):
    caplog.set_level(logging.DEBUG)
    running = Running()
    yield running
    running.close()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"score":1,"feelings":[1]}', "feelings as a list of words"),
        (b"[" * 16000 + b"]" * 0, "nested too deep"),
        (b'{"score": [3]}', "score as a number"),
        (b'{"score": true}', "score as a number"),
        (b'{"score": 3, "prompt": {"n": 1}}', "prompt as a prompt number"),
        (b'{"score": 11}', "0 to 10"),
        (b'{"score": 3, "feelings": ["sadd"]}', "expected feelings from"),
        (b"[1, 2]", "JSON object"),
        (b"{not json", "expected JSON"),
        (b"\xff\xfe", "expected JSON"),
    ],
)
def test_malformed_answers_get_a_400_with_a_reason(server, body, reason):
    status, reply = server.request("POST", "/api/answer", body)
    assert status == 400
    assert reason in reply["error"]
    assert server.handler.answers == []
    assert server.request("GET", "/api/state")[0] == 200  # still serving


def test_json_nested_16000_deep_in_an_object(server):
    body = b'{"score": 3, "feelings": ' + b"[" * 16000 + b"]" * 16000 + b"}"
    status, reply = server.request("POST", "/api/answer", body[: 16 * 1024])
    assert status == 400 and reply["error"]


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n", 400),
        (b"GET /?token=t0ken HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 20000 + b"\r\n\r\n", 413),
        (b"POST /api/answer HTTP/1.1\r\nContent-Length: 999999\r\n\r\n", 413),
    ],
)
def test_broken_requests_get_an_error_status_not_silence(server, data, status):
    assert server.raw(data)[0] == status


def test_a_good_answer_with_help_carries_the_panel_with_tel_links(server):
    status, reply = server.request("POST", "/api/answer", b'{"score": 8, "feelings": ["hopeless"]}')
    assert status == 200
    help_panel = reply["help"]
    assert help_panel["urgent"] is True
    tels = [line["tel"] for line in help_panel["lines"]]
    assert tels[:3] == ["tel:911", "tel:988", "tel:18338526262"]
    psi = next(x for x in help_panel["lines"] if "Postpartum Support" in x["name"])
    assert psi["kind"] == "support" and "not a crisis line" in psi["note"]


def test_a_calm_answer_has_no_help_panel(server):
    status, reply = server.request("POST", "/api/answer", b'{"score": 2}')
    assert status == 200 and "help" not in reply


def test_one_tap_answer_page_shows_help_first_for_a_high_score(server):
    status, page = server.request("GET", "/answer?score=7")
    assert status == 200
    assert page.index('id="help"') < page.index("answer 7/10 saved")
    assert 'href="tel:988"' in page and 'href="tel:18338526262"' in page


@pytest.mark.parametrize(
    "host", ["evil.example:8080", "attacker.test", "127.0.0.1:1", "", "127.0.0.1.nip.io"]
)
def test_a_host_header_that_is_not_ours_is_refused(server, host):
    """DNS rebinding: a page on another name resolving to 127.0.0.1 gets nothing."""
    status, reply = server.request("GET", "/api/state", host=host)
    assert status == 403 and "Host" in reply["error"]
    status, _ = server.request("POST", "/api/answer", b'{"score": 3}', host=host)
    assert status == 403 and server.handler.answers == []


def test_localhost_and_the_address_served_are_accepted(server):
    assert server.request("GET", "/api/state", host=f"localhost:{server.port}")[0] == 200
    assert server.request("GET", "/api/state", host=f"127.0.0.1:{server.port}")[0] == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_cross_site_posts_are_refused(server, headers):
    """CSRF: another site's page cannot answer for the parent, even knowing the token."""
    for path in ("/api/answer", "/answer?score=3", "/api/felt"):
        status, reply = server.request("POST", path, b'{"score": 3}', headers)
        assert status == 403 and "cross-site" in reply["error"]
    assert server.handler.answers == [] and server.handler.felt_marks == 0


def test_same_origin_posts_are_accepted(server):
    headers = {"Origin": f"http://127.0.0.1:{server.port}", "Sec-Fetch-Site": "same-origin"}
    assert server.request("POST", "/api/answer", b'{"score": 3}', headers)[0] == 200
    # a notification action's POST: no Origin, no body, no content type
    assert server.request("POST", "/answer?score=4")[0] == 200
    assert [a[0] for a in server.handler.answers] == [3, 4]


@pytest.mark.parametrize("ctype", ["text/plain", "multipart/form-data; boundary=x", "image/png"])
def test_post_bodies_must_be_json_or_a_form(server, ctype):
    status, reply = server.request("POST", "/api/answer", b'{"score": 3}', {"Content-Type": ctype})
    assert status == 415 and "application/json" in reply["error"]
    assert server.handler.answers == []


def test_a_form_post_is_accepted(server):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _ = server.request("POST", "/api/answer", b"score=5&feelings=sad", headers)
    assert status == 200 and server.handler.answers[0][:2] == (5, ("sad",))


def test_idle_connections_are_closed_and_the_cap_holds():
    running = Running(max_connections=4, idle_s=0.5)
    try:
        idle = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(12)]
        peak = 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            peak = max(peak, len(running.server._clients))
            if all(_closed(s) for s in idle):
                break
            time.sleep(0.05)
        assert all(_closed(s) for s in idle), "idle connections were not closed"
        assert 1 <= peak <= 4
        assert running.request("GET", "/api/state")[0] == 200
    finally:
        for s in idle:
            s.close()
        running.close()


def _closed(s: socket.socket) -> bool:
    """The server closed ``s`` (a 408 and EOF, or a reset)."""
    s.setblocking(False)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except ConnectionError:
        return True


SERVE = textwrap.dedent(
    """
    import asyncio, logging, resource, sys
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    from letdown_detect.mood.server import MoodServer

    class Handler:
        def state(self):
            return {"t_s": 0.0, "letdowns": [], "prompt": None, "feelings": []}

    async def main():
        server = MoodServer(Handler(), "t0ken", country="US",
                            max_connections=int(sys.argv[1]), idle_s=float(sys.argv[2]))
        await server.start()
        print(server.port, flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("max_connections", [32, 5000])
def test_1100_idle_connections_under_ulimit_1024_log_once_and_no_traceback(max_connections):
    """With the cap the server never runs out of descriptors; without it, it says so once."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(max_connections), "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    clients: list[socket.socket] = []
    try:
        port = int(proc.stdout.readline())
        for i in range(1100):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            clients.append(s)
            if i % 50 == 49:
                time.sleep(0.05)  # paced, so the listen queue does not drop them
        time.sleep(2)
        for s in clients:
            s.close()
        clients.clear()
        time.sleep(0.5)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(
                f"GET /api/state?token=t0ken HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
            )
            reply = s.recv(65536)
        assert reply.startswith(b"HTTP/1.1 200")
    finally:
        for s in clients:
            s.close()
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert "Traceback" not in stderr
    told = stderr.count("out of file descriptors")
    assert told == (0 if max_connections == 32 else 1), stderr[-2000:]


def test_any_json_answer_is_accepted_or_refused_with_a_reason():
    """Property: whatever JSON arrives, the answer route replies 200 or raises a 4xx reason."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from letdown_detect.mood.server import _Refused

    server = MoodServer(Handler(), TOKEN, country="US")
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=12,
    )
    answers = st.fixed_dictionaries(
        {}, optional={"score": values, "feelings": values, "prompt": values}
    )

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(values, answers))
    def check(data):
        body = json.dumps(data).encode()
        try:
            status, _, _ = server._route("POST", "/api/answer", {}, body)
            assert status == 200
        except _Refused as exc:
            assert 400 <= exc.status < 500 and exc.reason

    try:
        check()
    finally:
        server._sock.close()
