"""Tell the parent and their home: apprise notifications and MQTT for Home Assistant.

- ``apprise_sink.NotifySink``: "Letdown detected" to phone, desktop and terminal bell.
- ``mqtt_sink.MqttSink``: session state and letdown events for Home Assistant.
- ``live_options``: ``--notify``/``--quiet``/``--mqtt`` and the sinks they ask for.
- ``delivery``, ``messages``, ``urls``, ``desktop``: one target, the wording, URL checks.

Heavy libraries (apprise, paho-mqtt) are imported by the modules that use them.
"""
