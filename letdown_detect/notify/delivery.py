"""One notification target: an apprise URL and a blocking ``send`` for a worker thread.

Shared by the live ``NotifySink`` and ``letdown notify test``, so both deliver
(and report failures) the same way.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from ..errors import ConfigError
from .messages import Message
from .urls import mask_url

#: apprise schemes that understand ntfy's ``click=`` and ``actions=`` options.
NTFY_SCHEMES = ("ntfy://", "ntfys://")


@dataclass(frozen=True)
class Outcome:
    """What happened to one message at one target."""

    ok: bool
    reason: str
    """``"delivered"`` or the service's reason for the failure."""


#: One-tap answers to "a wave of anything unpleasant?" offered as ntfy buttons: label, score 0-10.
ANSWER_BUTTONS: tuple[tuple[str, int], ...] = (("No", 0), ("Mild", 3), ("Strong", 7))


def with_mood_link(url: str, message: Message) -> str:
    """Add the message's mood page to an ntfy URL as tap target and buttons; others unchanged.

    Without ``answer_buttons`` the one button is a neutral "Check in"; with it,
    the buttons answer the open prompt in one tap (``POST /answer?score=S`` on
    the mood page, which carries the session token).

    >>> m = Message("t", "b", link="http://10.0.0.2:8765/?token=T")
    >>> with_mood_link("ntfy://127.0.0.1/t", m)
    'ntfy://127.0.0.1/t?click=http%3A//10.0.0.2%3A8765/%3Ftoken%3DT&actions=view%2C%20Check%20in%2C%20http%3A//10.0.0.2%3A8765/%3Ftoken%3DT'
    """
    if not message.link or not url.lower().startswith(NTFY_SCHEMES):
        return url
    if message.answer_buttons:
        page = urlsplit(message.link)
        actions = "; ".join(
            f"http, {label}, "
            + page._replace(path="/answer", query=f"{page.query}&score={score}").geturl()
            + ", method=POST, clear=true"
            for label, score in ANSWER_BUTTONS
        )
    else:
        actions = f"view, Check in, {message.link}"
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}click={quote(message.link, safe='/')}&actions={quote(actions, safe='/')}"


class Target:
    """An apprise target that sends one message at a time.

    Images are off: apprise would otherwise add icon URLs pointing at its own
    web server, and nothing we send should make a phone fetch from off the machine.

    Args:
        url: an apprise URL (already checked by ``check_notify_url``).
    """

    def __init__(self, url: str) -> None:
        import apprise

        self.url = url
        self.name = mask_url(url)
        """The URL with its secrets masked, for logs and reports."""
        self._asset = apprise.AppriseAsset(image_url_mask="", image_url_logo="", image_path_mask="")
        self._apprise(url)  # fail now, not at the first letdown

    def _apprise(self, url: str) -> Any:
        import apprise

        sender = apprise.Apprise(asset=self._asset)
        if not sender.add(url):
            raise ConfigError(f"{self.name}: apprise cannot send to this URL; check its format.")
        return sender

    def send(self, message: Message) -> Outcome:
        """Deliver ``message`` now; blocks up to the service's timeouts (run it in a thread)."""
        # A fresh sender per message: apprise's per-sender throttle (5.5 s for
        # ntfy, Pushover) would hold a session summary that follows a letdown
        # past the session's stop; our own min_interval_s already spaces messages.
        sender = self._apprise(with_mood_link(self.url, message))
        result = sender.notify(body=message.body, title=message.title)
        if result:
            return Outcome(True, "delivered")
        reasons = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
        return Outcome(False, reasons[-1] if reasons else "the service did not accept it")


#: Default ports of the apprise schemes whose host we can check, by scheme.
DEFAULT_PORTS = {"json": 80, "jsons": 443, "ntfy": 80, "ntfys": 443, "form": 80, "forms": 443}


def unreachable_reason(url: str, timeout_s: float = 1.5) -> str | None:
    """Why the host of an HTTP-like apprise ``url`` cannot be reached, or None when it can
    (or when the scheme has no host to check, e.g. the desktop). Blocks up to ``timeout_s``."""
    parts = urlsplit(url)
    default = DEFAULT_PORTS.get(parts.scheme.lower())
    if default is None or not parts.hostname:
        return None
    if parts.scheme.lower().startswith("ntfy") and parts.path.strip("/") == "":
        return None  # ntfy://TOPIC: the "host" is the topic on ntfy.sh, not a host
    try:
        port = parts.port or default
    except ValueError:
        return "its port is not a number"
    return unreachable_tcp(parts.hostname, port, timeout_s)


def unreachable_tcp(host: str, port: int, timeout_s: float = 1.5) -> str | None:
    """Why a TCP connection to ``host:port`` fails, or None when it opens (then closed at
    once). Blocks up to ``timeout_s``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__
