"""MQTT for Home Assistant against a real broker (Debian's mosquitto) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
import subprocess
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from letdown_detect.clock import VirtualClock
from letdown_detect.live import LiveSession
from letdown_detect.model import Event
from letdown_detect.notify.mqtt_sink import MqttSink
from letdown_detect.notify.urls import parse_mqtt_url
from letdown_detect.sinks.base import (
    LetdownCompleted,
    LetdownDetected,
    SessionInfo,
    SessionStatus,
    SessionSummary,
    Status,
)
from letdown_detect.sources.simulated import SimulatedSource

pytestmark = pytest.mark.timeout(60)

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
SESSION = SessionInfo("mqtt01", datetime(2026, 1, 5, 7, 30, tzinfo=timezone.utc), "by hand")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Broker:
    """mosquitto on 127.0.0.1 at a free port; ``kill`` and ``start`` again on the same port."""

    def __init__(self, folder: Path, extra: str = "") -> None:
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\npersistence false\nuser root\n"
            + (extra or "allow_anonymous true\n")
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def broker(tmp_path):
    server = Broker(tmp_path)
    server.start()
    yield server
    server.kill()


class Subscriber:
    """A paho client that records every message under ``topics`` (reconnects by itself)."""

    def __init__(
        self,
        port: int,
        topics: str = "#",
        login: tuple[str, str] | None = None,
        ca_certs: str | None = None,
    ) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._arrived = threading.Condition()
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        if login:
            self.client.username_pw_set(*login)
        if ca_certs:
            self.client.tls_set(ca_certs=ca_certs)
        self.client.on_connect = lambda c, *_: c.subscribe(topics, qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 1)
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(10), "the test subscriber could not subscribe"

    def _on_message(self, client, userdata, message) -> None:
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()

    def on(self, topic: str) -> list:
        """Payloads (JSON decoded where possible) seen on ``topic``, in order."""
        out = []
        for m in self.messages:
            if m.topic == topic:
                text = m.payload.decode()
                out.append(json.loads(text) if text.startswith("{") else text)
        return out

    def wait_for(self, check, timeout_s: float = 15.0) -> None:
        with self._arrived:
            assert self._arrived.wait_for(lambda: check(self), timeout_s), [
                (m.topic, m.payload[:60]) for m in self.messages
            ]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def letdown(detected_s: float, complete: bool = False, label: str = "letdown") -> Event:
    return Event(
        onset_s=detected_s - 6.0,
        detected_s=detected_s,
        peak_flow_ml_s=0.9,
        channel="weight_g",
        score=1.8,
        end_s=detected_s + 90.0 if complete else None,
        volume_ml=35.0 if complete else None,
        label=label,
    )


def status(t_s: float, letdowns: int) -> Status:
    return Status(
        t_s, SessionStatus(t_s=t_s, flow_ml_s=0.42, volume_ml=t_s / 10, letdowns=letdowns)
    )


def on_event(sink: MqttSink, event: Event):
    """The hook the session calls for ``event`` (felt marks have none here), as letdown #1."""
    if event.label != "letdown":
        return sink.on_felt_marked(None)
    if event.complete:
        return sink.on_letdown_completed(LetdownCompleted(event.end_s, 1, event))
    return sink.on_letdown_detected(LetdownDetected(event.detected_s, 1, event))


SUMMARY = SessionSummary(
    duration_s=600.0,
    letdowns=(letdown(70.0, complete=True),),
    volume_ml=60.0,
    time_to_first_letdown_s=64.0,
    time_to_80pct_volume_s=400.0,
)


def sink_for(broker: Broker, url: str | None = None, **options) -> MqttSink:
    return MqttSink(parse_mqtt_url(url or f"mqtt://127.0.0.1:{broker.port}", "--mqtt"), **options)


async def wait(sub: Subscriber, check) -> None:
    await asyncio.to_thread(sub.wait_for, check)


def test_discovery_lets_home_assistant_find_every_entity(broker):
    sink = sink_for(broker)

    async def main() -> None:
        await sink.start(SESSION)
        first = Subscriber(broker.port, "letdown/status")
        await wait(first, lambda s: s.on("letdown/status") == ["online"])
        first.close()
        # A subscriber that comes later (Home Assistant restarting) gets the retained configs.
        late = Subscriber(broker.port, "homeassistant/#")
        await wait(late, lambda s: len(s.messages) == 6)
        await sink.stop(SUMMARY)
        late.close()
        assert all(m.retain for m in late.messages)
        configs = {m.topic: json.loads(m.payload) for m in late.messages}
        assert set(configs) == {
            "homeassistant/binary_sensor/letdown/running/config",
            "homeassistant/sensor/letdown/elapsed/config",
            "homeassistant/sensor/letdown/flow/config",
            "homeassistant/sensor/letdown/volume/config",
            "homeassistant/sensor/letdown/letdowns/config",
            "homeassistant/event/letdown/letdown/config",
        }
        assert len({c["unique_id"] for c in configs.values()}) == 6
        assert all(c["availability_topic"] == "letdown/status" for c in configs.values())
        flow = configs["homeassistant/sensor/letdown/flow/config"]
        assert (flow["state_topic"], flow["unit_of_measurement"]) == ("letdown/state", "mL/s")
        event = configs["homeassistant/event/letdown/letdown/config"]
        assert event["state_topic"] == "letdown/event" and "letdown" in event["event_types"]

    asyncio.run(main())


def test_state_and_letdowns_arrive_as_json_without_mood(broker):
    sink = sink_for(broker, base_topic="pump")
    sub = Subscriber(broker.port, "pump/#")

    async def main() -> None:
        await sink.start(SESSION)
        await wait(sub, lambda s: "online" in s.on("pump/status"))
        await sink.on_status(status(64.0, 0))
        await on_event(sink, letdown(70.0))
        await on_event(sink, letdown(75.0, label="felt_letdown"))
        await on_event(sink, letdown(70.0, complete=True))
        await sink.on_status(status(71.0, 1))
        await wait(sub, lambda s: len(s.on("pump/event")) == 2)
        await sink.stop(SUMMARY)
        await wait(sub, lambda s: s.on("pump/status")[-1:] == ["offline"])

    asyncio.run(main())
    sub.close()
    detected, complete = sub.on("pump/event")
    assert detected["event_type"] == "letdown" and detected["number"] == 1
    assert (detected["onset_s"], detected["detected_s"], detected["end_s"]) == (64.0, 70.0, None)
    assert detected["utc"] == "2026-01-05T07:31:10+00:00"
    assert complete["event_type"] == "letdown_end" and complete["volume_ml"] == 35.0
    states = sub.on("pump/state")
    assert {
        "elapsed_s": 71.0,
        "flow_ml_s": 0.42,
        "volume_ml": 7.1,
        "letdowns": 1,
        "running": True,
    }.items() <= states[-2].items()
    assert states[-1]["running"] is False and states[-1]["letdowns"] == 1
    everything = " ".join(m.payload.decode() for m in sub.messages).lower()
    assert "mood" not in everything and "felt" not in everything


def test_mood_questions_are_published_for_the_phone_only_when_opted_in(broker):
    """With include_mood, each question (between letdowns too) becomes a ``mood_check``
    event an automation can push to a phone; without it, nothing about mood is sent."""
    from letdown_detect.mood.prompt import BASELINE_QUESTION, Prompt
    from letdown_detect.sinks.base import PromptOpened

    page = "http://192.168.1.20:8765/?token=T0K"
    baseline = PromptOpened(240.0, Prompt(2, "baseline", 240.0, 420.0))
    quiet = sink_for(broker, base_topic="quiet")
    asking = sink_for(broker, base_topic="asking", include_mood=True, mood_url=page)
    sub = Subscriber(broker.port, "#")

    async def main() -> None:
        for sink in (quiet, asking):
            await sink.start(SESSION)
        await wait(sub, lambda s: "online" in s.on("quiet/status") + s.on("asking/status"))
        for sink in (quiet, asking):
            await sink.on_prompt_opened(baseline)
            await on_event(sink, letdown(300.0))
        await wait(sub, lambda s: len(s.on("asking/event")) == 2 and s.on("quiet/event"))
        for sink in (quiet, asking):
            await sink.stop(SUMMARY)

    asyncio.run(main())
    sub.close()
    check, detected = sub.on("asking/event")
    assert check == {
        "event_type": "mood_check",
        "number": 2,
        "kind": "baseline",
        "question": BASELINE_QUESTION,
        "session_id": "mqtt01",
        "utc": "2026-01-05T07:34:00+00:00",
        "expires_utc": "2026-01-05T07:37:00+00:00",
        "url": page,
    }
    assert detected["event_type"] == "letdown"
    config = json.loads(
        next(m.payload for m in sub.messages if m.topic.endswith("/asking/letdown/config"))
    )
    assert "mood_check" in config["event_types"]  # Home Assistant accepts the new event
    quiet_text = " ".join(
        m.payload.decode()
        for m in sub.messages
        if m.topic.startswith("quiet") or "/quiet/" in m.topic
    ).lower()
    assert [e["event_type"] for e in sub.on("quiet/event")] == ["letdown"]
    assert "mood" not in quiet_text and "unpleasant" not in quiet_text


def test_lost_broker_never_stops_the_session_and_it_reconnects(broker):
    sink = sink_for(broker)
    before = Subscriber(broker.port, "letdown/#")

    async def main() -> Subscriber:
        await sink.start(SESSION)
        await wait(before, lambda s: s.on("letdown/status") == ["online"])
        before.close()
        broker.kill()
        # The session goes on while the broker is away: hooks return, nothing raises.
        for t_s in (60.0, 61.0, 62.0):
            await sink.on_status(status(t_s, 0))
        await on_event(sink, letdown(62.0))
        await sink.on_status(status(63.0, 1))
        broker.start()
        # Subscribed before the sink's next attempt (paho waits >= 1 s between attempts).
        after = Subscriber(broker.port, "letdown/#")
        await wait(after, lambda s: s.on("letdown/status") == ["online"])
        await wait(after, lambda s: len(s.on("letdown/event")) == 1)
        await sink.on_status(status(64.0, 1))
        await wait(after, lambda s: s.on("letdown/state")[-1]["elapsed_s"] == 64.0)
        await sink.stop(SUMMARY)
        after.close()
        return after

    after = asyncio.run(main())
    (event,) = after.on("letdown/event")  # queued during the outage, sent after reconnecting
    assert event["detected_s"] == 62.0
    # after reconnecting, the retained state was brought up to date at once
    assert after.on("letdown/state")[0]["letdowns"] == 1
    assert after.on("letdown/state")[0]["elapsed_s"] == 63.0


def test_login_with_username_and_password(tmp_path):
    passwords = tmp_path / "passwd"
    passwords.write_text("ha:s3cret\n")
    passwords.chmod(0o600)
    subprocess.run(["mosquitto_passwd", "-U", str(passwords)], check=True)
    secured = Broker(tmp_path, f"allow_anonymous false\npassword_file {passwords}\n")
    secured.start()
    try:
        good = sink_for(secured, f"mqtt://ha:s3cret@127.0.0.1:{secured.port}")
        bad = sink_for(secured, f"mqtt://ha:wrong@127.0.0.1:{secured.port}", base_topic="bad")
        sub = Subscriber(secured.port, login=("ha", "s3cret"))

        async def main() -> None:
            await good.start(SESSION)
            await bad.start(SESSION)
            await on_event(good, letdown(70.0))
            await on_event(bad, letdown(70.0))  # refused login: the hook still returns
            await wait(sub, lambda s: len(s.on("letdown/event")) == 1)
            await good.stop(SUMMARY)
            await bad.stop(SUMMARY)

        asyncio.run(main())
        sub.close()
        assert sub.on("bad/event") == [] and sub.on("bad/status") == []
    finally:
        secured.kill()


def test_tls_with_own_certificate(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    tls = Broker(tmp_path, f"allow_anonymous true\ncertfile {cert}\nkeyfile {key}\n")
    tls.start()
    try:
        sink = sink_for(tls, f"mqtts://127.0.0.1:{tls.port}", ca_certs=str(cert))
        sub = Subscriber(tls.port, "letdown/event", ca_certs=str(cert))

        async def main() -> None:
            await sink.start(SESSION)
            await on_event(sink, letdown(70.0))
            await wait(sub, lambda s: len(s.on("letdown/event")) == 1)
            await sink.stop(SUMMARY)

        asyncio.run(main())
        sub.close()
        assert sub.on("letdown/event")[0]["event_type"] == "letdown"
    finally:
        tls.kill()


def test_live_session_publishes_each_letdown(broker):
    sub = Subscriber(broker.port, "letdown/#")
    clock = VirtualClock()
    source = SimulatedSource(clock=clock, speed=1.0, seed=3, duration_s=120.0)
    session = LiveSession(source, [sink_for(broker)], clock=clock, duration_s=120.0)
    summary = asyncio.run(session.run())
    sub.wait_for(lambda s: s.on("letdown/status")[-1:] == ["offline"])
    sub.close()
    assert summary.letdowns, "the simulated session should contain letdowns"
    events = sub.on("letdown/event")
    detected = [e for e in events if e["event_type"] == "letdown"]
    assert [e["number"] for e in detected] == list(range(1, len(summary.letdowns) + 1))
    assert [e["onset_s"] for e in detected] == [round(e.onset_s, 3) for e in summary.letdowns]
    final = sub.on("letdown/state")[-1]
    assert final["running"] is False and final["letdowns"] == len(summary.letdowns)


def test_a_broker_nobody_listens_on_is_named_once_at_start(caplog):
    """``--mqtt mqtt://127.0.0.1:PORT`` with nothing there: one warning, the session goes on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = MqttSink(parse_mqtt_url(f"mqtt://127.0.0.1:{port}", "--mqtt"))

    async def main() -> None:
        await sink.start(SESSION)
        for t_s in range(5):
            await sink.on_status(status(float(t_s), 0))
            await asyncio.sleep(0.3)
        await sink.stop(SUMMARY)

    with caplog.at_level(logging.WARNING, logger="letdown_detect.notify"):
        asyncio.run(main())
    named = [r.getMessage() for r in caplog.records if "cannot be reached" in r.getMessage()]
    assert named == [
        f"MQTT broker mqtt://127.0.0.1:{port} cannot be reached (Connection refused); "
        "the session goes on and keeps trying"
    ]
