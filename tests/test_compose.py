"""The composition root: what each sink is given, and faults named once at start."""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket

import pytest

from letdown_detect.clock import VirtualClock
from letdown_detect.commands import live as live_command
from letdown_detect.compose import compose_live
from letdown_detect.errors import DeviceError
from letdown_detect.live import LiveSession
from letdown_detect.notify.apprise_sink import NotifySink
from letdown_detect.sinks.console import ConsoleSink
from letdown_detect.sources import LinkLostError, LinkStats, SourceInfo

pytestmark = pytest.mark.timeout(60)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    live_command.register(parser.add_subparsers())
    return parser.parse_args(["live", *argv])


def _config(include_link: bool) -> dict:
    from letdown_detect.config import load_config

    config = load_config()
    config["notify"] = {**config["notify"], "include_link": include_link, "desktop": False}
    return config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _close(composed) -> None:
    for sink in composed.session.sinks:
        server = getattr(sink, "_server", None)
        if server is not None:
            server._sock.close()


def _notifier(composed) -> NotifySink:
    (sink,) = [s for s in composed.session.sinks if isinstance(s, NotifySink)]
    return sink


@pytest.mark.parametrize("include_link", [False, True])
def test_a_lan_page_is_linked_only_when_allowed(tmp_path, include_link) -> None:
    hook = f"json://127.0.0.1:{_free_port()}/hook"
    args = _args("--no-record", "--db", str(tmp_path / "s.db"), "--mood-lan", "--notify", hook)
    composed = compose_live(args, _config(include_link))
    try:
        assert composed.mood_on_lan and not composed.mood_url.startswith("http://127.")
        notifier = _notifier(composed)
        assert notifier.mood_page
        assert notifier.mood_url == (composed.mood_url if include_link else None)
        (console,) = [s for s in composed.session.sinks if isinstance(s, ConsoleSink)]
        assert console.mood_url == composed.mood_url and console.answer is not None
    finally:
        _close(composed)


def test_a_loopback_page_is_never_linked_and_the_terminal_says_why_once(tmp_path, caplog) -> None:
    hook = f"json://127.0.0.1:{_free_port()}/hook"
    args = _args("--no-record", "--db", str(tmp_path / "s.db"), "--notify", hook, "--json")
    with caplog.at_level(logging.WARNING):
        composed = compose_live(args, _config(include_link=True))
    try:
        assert composed.mood_url.startswith("http://127.0.0.1:")
        assert _notifier(composed).mood_url is None
        said = [
            r.getMessage() for r in caplog.records if "does not open on a phone" in r.getMessage()
        ]
        assert len(said) == 1
    finally:
        _close(composed)


def test_a_mood_port_in_use_is_named_and_the_session_goes_on_without_the_page(
    tmp_path, caplog
) -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    args = _args("--no-record", "--db", str(tmp_path / "s.db"), "--json", "--mood-port", str(port))
    try:
        with caplog.at_level(logging.WARNING):
            composed = compose_live(args, _config(False))
    finally:
        taken.close()
    assert composed.mood_url is None
    (line,) = [r.getMessage() for r in caplog.records if str(port) in r.getMessage()]
    assert "cannot serve the mood page" in line and "goes on without the mood page" in line


class GoneSource:
    """A device that streams nothing, drops at once and never comes back."""

    description = "serial:/dev/gone"

    def __init__(self) -> None:
        self.stats, self.opened = LinkStats(), 0

    async def open(self) -> SourceInfo:
        self.opened += 1
        if self.opened > 1:
            raise DeviceError("/dev/gone", "no such serial port")
        return SourceInfo(channels=("weight_g",), device_time=False)

    async def read(self):
        raise LinkLostError("unplugged")

    async def close(self) -> None:
        pass


def test_a_device_gone_for_good_is_said_at_warning_and_duration_ends_the_session(caplog) -> None:
    clock = VirtualClock()
    session = LiveSession(GoneSource(), [], clock=clock, duration_s=300.0, backoff_s=(1.0, 5.0))
    with caplog.at_level(logging.WARNING, logger="letdown_detect.live"):
        summary = asyncio.run(session.run())
    assert 300.0 <= clock.monotonic() < 306.0, "ended at --duration by the session's clock"
    assert summary.duration_s == pytest.approx(300.0)
    gone = [r for r in caplog.records if "the device is gone" in r.getMessage()]
    assert gone and all(r.levelno == logging.WARNING for r in gone)
    assert "no samples for 0:1" in gone[0].getMessage()  # first said after 10-15 s
    assert len(gone) <= 6  # then once a minute, not at every attempt
    assert any("gone for the last 5:00" in r.getMessage() for r in caplog.records)


def test_a_start_warning_wraps_at_word_boundaries_in_an_80_column_terminal() -> None:
    import fcntl
    import os
    import struct
    import termios
    from types import SimpleNamespace

    from letdown_detect.compose import _phone_link, configure_logging

    master, replica = os.openpty()
    fcntl.ioctl(replica, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    stream = os.fdopen(replica, "w")
    try:
        configure_logging(None, stream)
        page = SimpleNamespace(mood_url="http://127.0.0.1:8765/?token=T0K", on_lan=False)
        assert _phone_link(page, {"notify": {"include_link": False}}, has_targets=True) is None
        stream.flush()
        said = os.read(master, 4096).decode()
    finally:
        stream.close()
        os.close(master)
    lines = said.replace("\r\n", "\n").rstrip("\n").split("\n")
    assert len(lines) > 1 and all(len(line) < 80 for line in lines), lines
    words = " ".join(lines).split()
    assert words[:6] == ["letdown:", "the", "mood", "page", "is", "at"]
    assert "notifications" in words and "notifica" not in words  # no word cut at the edge
    assert " ".join(words).startswith("letdown: the mood page is at 127.0.0.1, which does not")


def test_log_lines_to_a_pipe_stay_one_line_per_message(capsys) -> None:
    import sys

    from letdown_detect.compose import configure_logging

    configure_logging(None, sys.stderr)
    logging.getLogger("letdown_detect").warning("word " * 40)
    assert capsys.readouterr().err == "letdown: " + "word " * 40 + "\n"
