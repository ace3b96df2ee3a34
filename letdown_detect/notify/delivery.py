"""One notification target: an apprise URL and a blocking ``send`` for a worker thread.

Shared by the live ``NotifySink`` and ``letdown notify test``, so both deliver
(and report failures) the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

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


def with_mood_link(url: str, mood_url: str | None) -> str:
    """Add a tap target and a "Check in" button to ntfy URLs; others are unchanged.

    >>> with_mood_link("ntfy://127.0.0.1/t", "http://10.0.0.2:8765/mood")
    'ntfy://127.0.0.1/t?click=http%3A//10.0.0.2%3A8765/mood&actions=view%2C%20Check%20in%2C%20http%3A//10.0.0.2%3A8765/mood'
    """
    if not mood_url or not url.lower().startswith(NTFY_SCHEMES):
        return url
    action = f"view, Check in, {mood_url}"
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}click={quote(mood_url, safe='/')}&actions={quote(action, safe='/')}"


class Target:
    """An apprise target that sends one message at a time.

    Images are off: apprise would otherwise add icon URLs pointing at its own
    web server, and nothing we send should make a phone fetch from off the machine.

    Args:
        url: an apprise URL (already checked by ``check_notify_url``).
        mood_url: the mood page, added as a link/button where the service supports it.
    """

    def __init__(self, url: str, mood_url: str | None = None) -> None:
        import apprise

        self.url = url
        self.name = mask_url(url)
        """The URL with its secrets masked, for logs and reports."""
        self._full_url = with_mood_link(url, mood_url)
        self._asset = apprise.AppriseAsset(image_url_mask="", image_url_logo="", image_path_mask="")
        self._apprise()  # fail now, not at the first letdown

    def _apprise(self) -> Any:
        import apprise

        sender = apprise.Apprise(asset=self._asset)
        if not sender.add(self._full_url):
            raise ConfigError(f"{self.name}: apprise cannot send to this URL; check its format.")
        return sender

    def send(self, message: Message) -> Outcome:
        """Deliver ``message`` now; blocks up to the service's timeouts (run it in a thread)."""
        # A fresh sender per message: apprise's per-sender throttle (5.5 s for
        # ntfy, Pushover) would hold a session summary that follows a letdown
        # past the session's stop; our own min_interval_s already spaces messages.
        result = self._apprise().notify(body=message.body, title=message.title)
        if result:
            return Outcome(True, "delivered")
        reasons = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
        return Outcome(False, reasons[-1] if reasons else "the service did not accept it")
