"""MqttSink: session state and letdown events over MQTT, with Home Assistant discovery.

Topics (``BASE`` is ``[mqtt] base_topic``, default ``letdown``):

- ``BASE/status``: ``online`` / ``offline`` (retained; ``offline`` is also the
  last will, so a crash or lost link shows as unavailable).
- ``BASE/state``: JSON, retained, about once a second: ``running``,
  ``session_id``, ``start_utc``, ``elapsed_s``, ``flow_ml_s`` (mL/s, null
  until known), ``volume_ml``, ``letdowns``, ``sensor_connected``.
- ``BASE/event``: JSON per letdown, QoS 1, not retained: ``event_type``
  (``letdown`` at detection, ``letdown_end`` once complete,
  ``letdown_retracted`` when the rise was not a letdown), ``number`` (the session's),
  ``session_id``, ``utc`` and the event fields (``onset_s``, ``detected_s``, ...).
- ``PREFIX/<component>/<node>/<object>/config``: Home Assistant discovery
  (retained; ``PREFIX`` is ``[mqtt] discovery_prefix``), so the sensors, the
  "Session running" binary sensor and the "Letdown" event entity appear by themselves.

- With ``[notify] include_mood = true``, ``BASE/event`` also carries
  ``mood_check`` when a mood question opens (at a letdown or between
  letdowns), so an automation can push it to a phone: ``number``, ``kind``
  (``letdown`` or ``baseline``), ``question``, ``utc``, ``expires_utc`` and,
  only when links may be sent, ``url`` (the mood page).

Mood answers are never published. paho-mqtt's network thread does the I/O and
reconnects in the background, so the session's hooks only hand messages over;
a lost broker never stops or slows the session. Discovery and the latest state
are sent again on every (re)connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from typing import Any

from .. import __version__
from ..model import Event
from ..sinks.base import (
    LetdownCompleted,
    LetdownDetected,
    LetdownRetracted,
    PromptOpened,
    SessionInfo,
    SessionSummary,
    Sink,
    Status,
)
from .delivery import unreachable_tcp
from .urls import MqttTarget

log = logging.getLogger(__name__)

#: Home Assistant entities: (component, object id, config beyond the common part).
ENTITIES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "binary_sensor",
        "running",
        {
            "name": "Session running",
            "device_class": "running",
            "value_template": "{{ 'ON' if value_json.running else 'OFF' }}",
        },
    ),
    (
        "sensor",
        "elapsed",
        {
            "name": "Session time",
            "device_class": "duration",
            "unit_of_measurement": "s",
            "value_template": "{{ value_json.elapsed_s }}",
        },
    ),
    (
        "sensor",
        "flow",
        {
            "name": "Milk flow",
            "unit_of_measurement": "mL/s",
            "state_class": "measurement",
            "icon": "mdi:water",
            "value_template": "{{ value_json.flow_ml_s }}",
        },
    ),
    (
        "sensor",
        "volume",
        {
            "name": "Milk volume",
            "device_class": "volume",
            "unit_of_measurement": "mL",
            "state_class": "total_increasing",
            "value_template": "{{ value_json.volume_ml }}",
        },
    ),
    (
        "sensor",
        "letdowns",
        {
            "name": "Letdowns",
            "state_class": "total_increasing",
            "icon": "mdi:water-plus",
            "value_template": "{{ value_json.letdowns }}",
        },
    ),
    (
        "event",
        "letdown",
        {"name": "Letdown", "event_types": ["letdown", "letdown_end", "letdown_retracted"]},
    ),
)


class MqttSink(Sink):
    """Publish a live session to an MQTT broker for Home Assistant.

    Args:
        target: broker address, TLS and login (``urls.parse_mqtt_url``).
        base_topic: prefix of our topics.
        discovery_prefix: Home Assistant's discovery prefix.
        ca_certs: CA file for a broker with a self-made certificate (TLS only).
        reconnect_max_s: longest wait between reconnect attempts, s.
        include_mood: publish each mood question as a ``mood_check`` event (never an answer).
        mood_url: the mood page, put in ``mood_check`` only when given (the composition
            root gives it when a phone can open it and the user allowed links).
    """

    def __init__(
        self,
        target: MqttTarget,
        *,
        base_topic: str = "letdown",
        discovery_prefix: str = "homeassistant",
        ca_certs: str | None = None,
        reconnect_max_s: int = 30,
        include_mood: bool = False,
        mood_url: str | None = None,
    ) -> None:
        self.target = target
        self.base_topic = base_topic
        self.discovery_prefix = discovery_prefix
        self.ca_certs = ca_certs
        self.reconnect_max_s = reconnect_max_s
        self.include_mood = include_mood
        self.mood_url = mood_url
        self.node_id = re.sub(r"[^A-Za-z0-9_-]", "_", base_topic)
        self._client: Any = None
        self._state: dict[str, Any] = {}
        self._session: SessionInfo | None = None
        self._probe: asyncio.Task[None] | None = None

    @property
    def status_topic(self) -> str:
        """``BASE/status``: online/offline."""
        return f"{self.base_topic}/status"

    @property
    def state_topic(self) -> str:
        """``BASE/state``: the session state JSON."""
        return f"{self.base_topic}/state"

    @property
    def event_topic(self) -> str:
        """``BASE/event``: one JSON message per letdown."""
        return f"{self.base_topic}/event"

    def discovery(self) -> dict[str, dict[str, Any]]:
        """Home Assistant discovery messages: config topic -> payload."""
        device = {
            "identifiers": [f"letdown_{self.node_id}"],
            "name": "letdown pump session",
            "manufacturer": "letdown",
            "model": "letdown live",
            "sw_version": __version__,
        }
        out = {}
        for component, object_id, extra in ENTITIES:
            topic = self.event_topic if component == "event" else self.state_topic
            if component == "event" and self.include_mood:
                extra = {**extra, "event_types": [*extra["event_types"], "mood_check"]}
            out[f"{self.discovery_prefix}/{component}/{self.node_id}/{object_id}/config"] = {
                "unique_id": f"{self.node_id}_{object_id}",
                "state_topic": topic,
                "availability_topic": self.status_topic,
                "device": device,
                "origin": {"name": "letdown", "sw_version": __version__},
                **extra,
            }
        return out

    async def start(self, session: SessionInfo) -> None:
        """Start the background connection (returns before the broker answers); a broker
        that cannot be reached is named once."""
        import paho.mqtt.client as mqtt

        self._session = session
        self._probe = asyncio.create_task(self._name_unreachable(), name="mqtt probe")

        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"letdown-{session.session_id}"
        )
        if self.target.username is not None:
            client.username_pw_set(self.target.username, self.target.password)
        if self.target.tls:
            client.tls_set(ca_certs=self.ca_certs)
        client.will_set(self.status_topic, "offline", qos=1, retain=True)
        client.reconnect_delay_set(1, self.reconnect_max_s)
        client.max_queued_messages_set(1000)  # bounded memory through a long outage
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        self._state = {
            "running": True,
            "session_id": session.session_id,
            "start_utc": session.start_utc.isoformat(),
            "elapsed_s": 0.0,
            "flow_ml_s": None,
            "volume_ml": 0.0,
            "letdowns": 0,
            "sensor_connected": True,
        }
        self._client = client
        client.connect_async(self.target.host, self.target.port, keepalive=30)
        client.loop_start()

    async def _name_unreachable(self) -> None:
        reason = await asyncio.to_thread(unreachable_tcp, self.target.host, self.target.port)
        if reason is not None:
            log.warning(
                "MQTT broker %s cannot be reached (%s); the session goes on and keeps trying",
                self.target,
                reason,
            )

    async def on_status(self, e: Status) -> None:
        """Publish the state (retained); dropped quietly while the broker is away."""
        status = e.status
        flow = None if status.flow_ml_s is None else round(status.flow_ml_s, 3)
        self._state = {
            **self._state,
            "elapsed_s": round(status.t_s, 1),
            "flow_ml_s": flow,
            "volume_ml": round(status.volume_ml, 1),
            "letdowns": status.letdowns,
            "sensor_connected": status.connected,
        }
        self._publish(self.state_topic, self._state, qos=0, retain=True)

    async def on_letdown_detected(self, e: LetdownDetected) -> None:
        """Publish a letdown at detection."""
        self._event("letdown", e.number, e.event)

    async def on_letdown_completed(self, e: LetdownCompleted) -> None:
        """Publish a letdown once complete."""
        self._event("letdown_end", e.number, e.event)

    async def on_letdown_retracted(self, e: LetdownRetracted) -> None:
        """Publish that a detected rise was not a letdown."""
        self._event("letdown_retracted", e.number, e.event)

    async def on_prompt_opened(self, e: PromptOpened) -> None:
        """Publish a mood question as ``mood_check`` (only with ``include_mood``)."""
        if not self.include_mood:
            return
        session, prompt = self._started, e.prompt
        payload = {
            "event_type": "mood_check",
            "number": prompt.number,
            "kind": prompt.kind,
            "question": prompt.question,
            "session_id": session.session_id,
            "utc": session.utc_at(prompt.asked_s).isoformat(),
            "expires_utc": session.utc_at(prompt.expires_s).isoformat(),
        }
        if self.mood_url:
            payload["url"] = self.mood_url
        self._publish(self.event_topic, payload, qos=1, retain=False)

    @property
    def _started(self) -> SessionInfo:
        assert self._session is not None, "hooks come after start()"
        return self._session

    def _event(self, kind: str, number: int, event: Event) -> None:
        session = self._started
        payload = {
            "event_type": kind,
            "number": number,
            "session_id": session.session_id,
            "utc": session.utc_at(event.detected_s).isoformat(),
            **event.to_dict(),
        }
        self._publish(self.event_topic, payload, qos=1, retain=False)

    async def stop(self, summary: SessionSummary) -> None:
        """Publish the final state and ``offline``, then disconnect (waits at most ~2 s)."""
        if self._probe is not None:
            self._probe.cancel()
        if self._client is None:
            return
        self._state = {
            **self._state,
            "running": False,
            "elapsed_s": round(summary.duration_s, 1),
            "volume_ml": round(summary.volume_ml, 1),
            "letdowns": len(summary.letdowns),
        }
        infos = [
            self._publish(self.state_topic, self._state, qos=1, retain=True),
            self._client.publish(self.status_topic, "offline", qos=1, retain=True),
        ]
        await asyncio.to_thread(self._close, infos)

    def _close(self, infos: list[Any]) -> None:
        for info in infos:
            if info is not None and self._client.is_connected():
                # Lost the broker meanwhile? Then the last will says offline.
                with contextlib.suppress(RuntimeError, ValueError):
                    info.wait_for_publish(timeout=1.0)
        self._client.disconnect()
        self._client.loop_stop()

    def _publish(self, topic: str, payload: dict[str, Any], qos: int, retain: bool) -> Any:
        if self._client is None:
            return None
        return self._client.publish(topic, json.dumps(payload), qos=qos, retain=retain)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT broker %s refused the connection: %s", self.target, reason)
            return
        log.info("MQTT: connected to %s", self.target)
        for topic, config in self.discovery().items():
            client.publish(topic, json.dumps(config), qos=1, retain=True)
        client.publish(self.status_topic, "online", qos=1, retain=True)
        client.publish(self.state_topic, json.dumps(self._state), qos=1, retain=True)

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            log.warning("MQTT: lost %s (%s); reconnecting in the background", self.target, reason)
