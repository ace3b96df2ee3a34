"""The composition root: one place builds a live session and wires its sinks.

``compose_live`` (``letdown live``) and ``compose_nursing`` (``letdown
session start --nursing``) build the source, the session's stream and time,
and every sink, and hand each sink what it needs in its constructor: the
stream and time to whoever publishes (console keys, mood page), the mood
page's answer function to the terminal, the page's link to the notifier only
when a phone can open it and the user allowed links. No sink looks another
one up; everything after this module travels as events on the stream.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
import textwrap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .clock import Clock, ScaledClock, SessionTime, SystemClock
from .live import LiveSession
from .sinks.base import EventStream, Sink

if TYPE_CHECKING:
    from .sources import Source

log = logging.getLogger("letdown_detect")


class _LogLines:
    """A text stream whose lines become log records (the store writer's messages)."""

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                log.warning("%s", line.removeprefix("letdown: "))
        return len(text)

    def flush(self) -> None:
        """Nothing buffered."""


@dataclass
class Composed:
    """A session ready to run, and the parts its command reports on."""

    session: LiveSession
    mood_url: str | None = None
    """The mood page, when one is served."""
    mood_on_lan: bool = False
    """True when a phone on the network can open it."""
    log_handler: logging.Handler | None = None
    """Where log records should go while the session runs (None: stderr)."""


class _NotApprise(logging.Filter):
    """Leave apprise's own warnings out: our notifier reports each failed delivery itself,
    with the URL's secrets masked (apprise's logger level stays, so its result logs keep
    the reasons)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith("apprise") or record.levelno >= logging.ERROR


class _TerminalFormatter(logging.Formatter):
    """``letdown: message``, wrapped at word boundaries to the width of the terminal the
    stream is (a terminal would cut words at its edge); a pipe or file keeps one line per
    message. URLs and paths are never broken."""

    def __init__(self, stream: Any) -> None:
        super().__init__("letdown: %(message)s")
        self.stream = stream

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        try:
            if not self.stream.isatty():
                return text
            width = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return text
        if width < 20:
            return text
        return "\n".join(
            textwrap.fill(line, width - 1, break_long_words=False, break_on_hyphens=False)
            for line in text.splitlines()
        )


def configure_logging(handler: logging.Handler | None, stream: Any = None) -> None:
    """Messages go into the live view when there is one, else to ``stream`` (default stderr;
    the command's job: logging is process-wide, so building a session never changes it)."""
    root = logging.getLogger()
    if handler is None:
        stream = sys.stderr if stream is None else stream
        handler = logging.StreamHandler(stream)
        handler.setFormatter(_TerminalFormatter(stream))
    for old in [h for h in root.handlers if getattr(h, "_letdown", False)]:
        root.removeHandler(old)
    handler._letdown = True  # type: ignore[attr-defined]
    handler.setLevel(logging.WARNING)
    handler.addFilter(_NotApprise())
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def _mood_and_store(
    args: argparse.Namespace, config: dict[str, Any], stream: EventStream, time: SessionTime
) -> tuple[list[Sink], Any]:
    from .mood.live_options import sinks_from_options

    sinks = sinks_from_options(args, config, _LogLines(), stream=stream, time=time)  # type: ignore[arg-type]
    mood = sinks[1] if len(sinks) > 1 else None
    return sinks, mood


def _phone_link(mood: Any, config: dict[str, Any], has_targets: bool) -> str | None:
    """The link notifications may carry: only a LAN page, only when the user allowed it."""
    if mood is None or mood.mood_url is None:
        return None
    allowed = bool(config["notify"].get("include_link", False))
    if mood.on_lan and allowed:
        return mood.mood_url
    if has_targets and not mood.on_lan:
        log.warning(
            "the mood page is at 127.0.0.1, which does not open on a phone: notifications "
            "say 'open the mood page on this computer' (--mood-lan and [notify] "
            "include_link = true send the link instead)"
        )
    elif has_targets:
        log.info("notifications do not carry the mood link ([notify] include_link = false)")
    return None


def _has_phone_targets(args: argparse.Namespace, config: dict[str, Any]) -> bool:
    """True when some notification goes beyond this computer's desktop."""
    from .notify.desktop import desktop_url
    from .notify.live_options import notify_targets

    desktop = desktop_url()
    return any(u != desktop for u in notify_targets(config, args.notify_urls, args.quiet))


def compose_live(args: argparse.Namespace, config: dict[str, Any] | None = None) -> Composed:
    """Build ``letdown live`` from its parsed options and the config file.

    Raises:
        ConfigError: a bad option or config value.
    """
    from .config import load_config
    from .errors import ConfigError
    from .mood.help import configured_country
    from .notify.live_options import sinks_from_options as notify_sinks
    from .sinks.console import ConsoleSink, JsonLinesSink
    from .sinks.recorder import RecorderSink

    config = load_config() if config is None else config
    if args.speed is not None and not args.speed > 0:
        raise ConfigError(f"--speed must be a positive number, got {args.speed:g}", "speed")
    clock: Clock = SystemClock()
    if args.speed is not None and (args.serial or args.ble or args.scale):
        # An emulated device stamps samples X times faster than real time: so does the session.
        clock = ScaledClock(clock, args.speed)
    source = build_source(args, clock)
    stream, time = EventStream(), SessionTime(clock)
    csv_path = None if args.no_record else recording_path(args.record, clock.utc())
    sinks: list[Sink] = []
    if csv_path is not None:
        sinks.append(RecorderSink(csv_path))
    store_and_mood, mood = _mood_and_store(args, config, stream, time)
    mood_url = None if mood is None else mood.mood_url
    on_lan = mood is not None and mood.on_lan
    console: ConsoleSink | None = None
    if args.json:
        name = str(csv_path) if csv_path else source.description
        sinks.append(JsonLinesSink(name, mood_url=mood_url))
        if csv_path is not None:
            print(f"letdown: recording to {csv_path}", file=sys.stderr)
    else:
        console = ConsoleSink(
            keys=sys.stdin.isatty(),
            recording=str(csv_path) if csv_path else None,
            stream=stream,
            time=time,
            mood_url=mood_url,
            mood_on_lan=on_lan,
            answer=None
            if mood is None
            else functools.partial(
                mood.submit_answer, feelings=None, prompt=None, channel="terminal"
            ),
            # a Bluetooth scale that takes a tare command zeroes on the t key
            tare=source.tare if getattr(source, "can_tare", False) else None,
            country=configured_country(),
        )
        sinks.append(console)
    link = _phone_link(mood, config, _has_phone_targets(args, config))
    notifiers = notify_sinks(
        args, config, mood_url=link, mood_page=mood_url is not None, clock=clock
    )
    sinks += store_and_mood + notifiers
    session = LiveSession(
        source,
        sinks,
        clock=clock,
        duration_s=args.duration,
        recording=csv_path,
        stream=stream,
        time=time,
    )
    return Composed(session, mood_url, on_lan, None if console is None else console.log_handler())


def compose_nursing(
    args: argparse.Namespace, db: Path, config: dict[str, Any] | None = None
) -> Composed:
    """Build a nursing session: a live session whose source has no sensor."""
    from .config import load_config
    from .mood.help import configured_country
    from .mood.nursing import NursingConsole
    from .sources.sensorless import SensorlessSource

    config = load_config() if config is None else config
    clock = SystemClock()
    stream, time = EventStream(), SessionTime(clock)
    store_and_mood, mood = _mood_and_store(args, config, stream, time)
    mood_url = None if mood is None else mood.mood_url
    console = NursingConsole(
        db,
        stream,
        time,
        None if mood is None else mood.submit_answer,
        mood_url,
        country=configured_country(),
    )
    session = LiveSession(
        SensorlessSource(clock=clock),
        [console, *store_and_mood],
        clock=clock,
        duration_s=args.duration,
        kind="nursing",
        stream=stream,
        time=time,
    )
    return Composed(session, mood_url, mood is not None and mood.on_lan)


def build_source(args: argparse.Namespace, clock: Clock) -> Source:
    """The source the options name (the simulator when none)."""
    from .errors import ConfigError
    from .sources import open_source

    if args.scale is not None:
        return _scale_source(args, clock)
    if args.char and not args.ble:
        raise ConfigError("--char, --format and --factor only apply to --ble", "char")
    speed = 1.0 if args.speed is None else args.speed
    if args.serial:
        return open_source(
            f"serial:{args.serial}", clock=clock, baud=args.baud, channel=args.channel
        )
    if args.ble:
        return open_source(
            f"ble:{args.ble}",
            clock=clock,
            char=args.char,
            fmt=args.fmt,
            scale=args.factor,
            channel=args.channel,
        )
    if args.replay:
        return open_source(f"replay:{args.replay}", clock=clock, speed=speed)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(2), "big")
    return open_source(
        "sim:",
        clock=clock,
        speed=speed,
        seed=seed,
        kind=args.channel,
        double=args.double,
        duration_s=args.duration or 900.0,
    )


def _scale_source(args: argparse.Namespace, clock: Clock) -> Source:
    """``--scale NAME`` (with ``--ble`` to pick one); the old numeric ``--scale F`` is refused."""
    from .errors import ConfigError
    from .sources import open_source
    from .sources.scales import SCALES

    names = ", ".join(SCALES)
    try:
        factor = float(args.scale)
    except ValueError:
        factor = None
    if factor is not None:
        raise ConfigError(
            f"use --factor {args.scale} for a raw characteristic; --scale names a scale: {names}",
            "scale",
        )
    if args.serial or args.replay or args.char:
        raise ConfigError(
            "--scale goes with --ble only (not --serial, --replay or --char)", "scale"
        )
    return open_source(f"scale:{args.scale}", clock=clock, ble=args.ble, tare=args.tare)


def recording_path(folder: Path | None, now: datetime) -> Path:
    """``DIR/<UTC stamp>.csv``; default DIR is a per-session folder in the user data dir."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    if folder is None:
        from platformdirs import user_data_dir

        folder = Path(user_data_dir("letdown")) / "sessions" / stamp
    return folder / f"{stamp}.csv"
