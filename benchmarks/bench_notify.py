"""Time to delivery: from a letdown event to its arrival at a local endpoint.

    python benchmarks/bench_notify.py [--events 40]

Each row starts a ``NotifySink`` (or ``MqttSink``) as a live session would,
hands it letdown events one at a time, and measures on the receiving side
when each one arrived (HTTP server on 127.0.0.1 for apprise's json:// and
ntfy://; a subscriber on a mosquitto broker on 127.0.0.1 for MQTT, when
Debian's mosquitto is installed). "hook" is how long ``on_letdown_detected`` took to
return: the only time the session itself spends. One row repeats json://
with a hanging target in the same sink, to show that it does not delay the
others. Target (issue 7): delivery under 1 s to a local endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from letdown_detect.model import Event
from letdown_detect.sinks.base import LetdownDetected, SessionInfo, SessionSummary

SESSION = SessionInfo("bench", datetime.now(timezone.utc), "benchmark")
SUMMARY = SessionSummary(0.0, (), 0.0, None, None)


class Arrivals:
    """Arrival times (``time.monotonic``) by letdown number."""

    def __init__(self) -> None:
        self.at: dict[int, float] = {}
        self.changed = threading.Condition()

    def record(self, number: int) -> None:
        with self.changed:
            self.at[number] = time.monotonic()
            self.changed.notify_all()

    def wait(self, number: int, timeout_s: float = 10.0) -> float | None:
        with self.changed:
            self.changed.wait_for(lambda: number in self.at, timeout_s)
            return self.at.get(number)


def http_server(arrivals: Arrivals) -> ThreadingHTTPServer:
    """A 127.0.0.1 server that notes when "Letdown N" arrives (json:// or ntfy:// body)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            arrivals.record(int(body["message"].split()[1]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def letdown(number: int) -> Event:
    return Event(60.0 * number, 60.0 * number + 6, 0.9, "weight_g", 2.0)


async def measure(sink, arrivals: Arrivals, events: int) -> tuple[list[float], list[float]]:
    """Delivery latencies and hook durations, s."""
    await sink.start(SESSION)
    delivery, hook = [], []
    for number in range(1, events + 1):
        t0 = time.monotonic()
        event = letdown(number)
        await sink.on_letdown_detected(LetdownDetected(event.detected_s, number, event))
        hook.append(time.monotonic() - t0)
        arrived = await asyncio.to_thread(arrivals.wait, number)
        delivery.append(float("inf") if arrived is None else arrived - t0)
        await asyncio.sleep(0.02)
    await sink.stop(SUMMARY)
    return delivery, hook


def notify_row(name: str, urls: list[str], arrivals: Arrivals, events: int) -> tuple:
    from letdown_detect.notify.apprise_sink import NotifySink

    sink = NotifySink(urls, min_interval_s=0, retries=0, drain_timeout_s=0.5)
    return (name, *asyncio.run(measure(sink, arrivals, events)))


def mqtt_row(events: int) -> tuple | None:
    import paho.mqtt.client as mqtt

    from letdown_detect.notify.mqtt_sink import MqttSink
    from letdown_detect.notify.urls import parse_mqtt_url

    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        return None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = Path(tempfile.mkdtemp())
    (folder / "m.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n"
    )
    broker = subprocess.Popen([binary, "-c", str(folder / "m.conf")], stderr=subprocess.DEVNULL)
    arrivals, subscribed = Arrivals(), threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_connect = lambda c, *_: c.subscribe("letdown/event", qos=1)
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.on_message = lambda c, u, m: arrivals.record(json.loads(m.payload)["number"])
    try:
        for _ in range(100):
            try:
                sub.connect("127.0.0.1", port)
                break
            except OSError:
                time.sleep(0.05)
        sub.loop_start()
        subscribed.wait(10)
        sink = MqttSink(parse_mqtt_url(f"mqtt://127.0.0.1:{port}", "--mqtt"))
        return ("mqtt:// (mosquitto)", *asyncio.run(measure(sink, arrivals, events)))
    finally:
        sub.loop_stop()
        broker.kill()
        broker.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=40, help="letdowns per row")
    args = parser.parse_args()
    # The hanging target's expected failures and dropped backlog are not news here.
    logging.getLogger("letdown_detect.notify").setLevel(logging.CRITICAL)

    rows = []
    for name, make in (
        ("json://", lambda port: [f"json://127.0.0.1:{port}/hook"]),
        ("ntfy://", lambda port: [f"ntfy://127.0.0.1:{port}/pump"]),
    ):
        arrivals = Arrivals()
        server = http_server(arrivals)
        rows.append(notify_row(name, make(server.server_address[1]), arrivals, args.events))
        server.shutdown()
    arrivals = Arrivals()
    server = http_server(arrivals)
    with socket.socket() as hang:
        hang.bind(("127.0.0.1", 0))
        hang.listen(64)
        urls = [
            f"json://127.0.0.1:{hang.getsockname()[1]}/hook?rto=30",
            f"json://127.0.0.1:{server.server_address[1]}/hook",
        ]
        rows.append(notify_row("json:// + hanging target", urls, arrivals, args.events))
    server.shutdown()
    mqtt = mqtt_row(args.events)
    if mqtt:
        rows.append(mqtt)

    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {args.events} events/row")
    header = f"{'target':26} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'hook µs':>8}  < 1 s"
    print(header)
    print("-" * len(header))
    for name, delivery, hook in rows:
        ordered = sorted(delivery)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(
            f"{name:26} {1e3 * statistics.median(delivery):10.1f} {1e3 * p95:8.1f} "
            f"{1e3 * ordered[-1]:8.1f} {1e6 * statistics.median(hook):8.0f}  "
            f"{'yes' if ordered[-1] < 1.0 else 'NO'}"
        )


if __name__ == "__main__":
    main()
