"""Is there a desktop to notify or a terminal to ring? Decided once, at session start."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

#: apprise desktop schemes to try, per platform, best first.
DESKTOP_SCHEMES: dict[str, tuple[str, ...]] = {
    "linux": ("dbus://", "glib://", "gnome://", "kde://"),
    "darwin": ("macosx://",),
    "win32": ("windows://",),
}


def desktop_url(env: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """The apprise URL of this machine's desktop notifications, or None without a desktop.

    On Linux a desktop means a display (``DISPLAY``/``WAYLAND_DISPLAY``) and a
    session bus; the scheme must also be usable (its library installed).

    Args:
        env: environment variables (default ``os.environ``).
        platform: ``sys.platform`` value (default: this machine's).
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if platform.startswith("linux"):
        has_display = env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")
        if not (has_display and env.get("DBUS_SESSION_BUS_ADDRESS")):
            return None
        platform = "linux"
    import apprise

    for url in DESKTOP_SCHEMES.get(platform, ()):
        if apprise.Apprise.instantiate(url) is not None:
            return url
    return None


def bell_stream(stream: TextIO | None = None) -> TextIO | None:
    """``stream`` (default stderr) when it is a terminal that can ring, else None."""
    stream = sys.stderr if stream is None else stream
    try:
        return stream if stream.isatty() else None
    except (AttributeError, ValueError):
        return None
