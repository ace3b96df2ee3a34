"""What notifications say. Pure wording: no I/O, times come in as data.

Notifications show on lock screens and smart watches, so nothing here mentions
mood or health unless the user set ``include_mood = true``: by default the
link to the mood page is a neutral "Check in".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..model import SessionSummary
from ..mood.prompt import BASELINE_QUESTION

LETDOWN_TITLE = "Letdown detected"


@dataclass(frozen=True)
class Message:
    """One notification: a title, a plain-text body and, optionally, the mood page."""

    title: str
    body: str
    link: str | None = None
    """The mood page; services that can (ntfy) make it the tap target and a button."""
    answer_buttons: bool = False
    """Offer one-tap answers ("No", "Mild", "Strong") where the service can (ntfy)."""


def session_clock(t_s: float) -> str:
    """Session time as ``M:SS`` (or ``H:MM:SS`` past an hour).

    >>> session_clock(312.4), session_clock(3725)
    ('5:12', '1:02:05')
    """
    total = int(max(t_s, 0.0))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


#: What a notification says when the page exists but its link is not sent.
ON_THIS_COMPUTER = "Open the mood page on this computer."


def letdown_message(
    number: int,
    onset_s: float,
    detected_s: float,
    onset_local: datetime,
    detected_local: datetime,
    mood_url: str | None = None,
    include_mood: bool = False,
    mood_page: bool = False,
) -> Message:
    """The "Letdown detected" notification, both times labelled.

    Args:
        number: which letdown of this session (1 = first; the terminal's number).
        onset_s: session time flow started to rise, s.
        detected_s: session time of detection, s.
        onset_local: wall-clock time of the onset, in the user's time zone.
        detected_local: wall-clock time of detection, in the user's time zone.
        mood_url: the mood page, linked only when a phone can open it and the
            user allowed links in notifications.
        include_mood: ask the mood page's question in the text itself and offer
            one-tap answers (lock screens show them; off by default).
        mood_page: a mood page runs (said as "open it on this computer" when
            ``mood_url`` is not given).

    >>> from datetime import datetime
    >>> letdown_message(2, 304.0, 312.0, datetime(2026, 1, 5, 14, 3, 4),
    ...                 datetime(2026, 1, 5, 14, 3, 12)).body
    'Letdown 2 of this session: started 14:03:04, detected 14:03:12 (session time 5:12).'
    """
    body = (
        f"Letdown {number} of this session: started {onset_local:%H:%M:%S}, "
        f"detected {detected_local:%H:%M:%S} (session time {session_clock(detected_s)})."
    )
    return _with_mood_page(LETDOWN_TITLE, body, mood_url, include_mood, mood_page)


def _with_mood_page(
    title: str, body: str, mood_url: str | None, include_mood: bool, mood_page: bool
) -> Message:
    """``body`` followed by the way to the mood page: its link (when allowed) or where it is."""
    if mood_url:
        # The same question the mood page asks, so the two never disagree.
        ask = BASELINE_QUESTION if include_mood else "Check in"
        body += f"\n{ask}: {mood_url}"
    elif mood_page:
        body += f"\n{ON_THIS_COMPUTER}"
    return Message(title, body, link=mood_url, answer_buttons=include_mood and bool(mood_url))


#: The title of a mood question asked between letdowns (only sent with ``include_mood``).
MOOD_CHECK_TITLE = "Mood check"


def baseline_prompt_message(
    asked_local: datetime, mood_url: str | None = None, mood_page: bool = False
) -> Message:
    """A mood question between letdowns, sent only when the user set ``include_mood``.

    It asks the page's question (never an answer), with the page's link and one-tap
    answers when a link may be sent, else where to find the page.

    Args:
        asked_local: wall-clock time it was asked, in the user's time zone.
        mood_url: the mood page, only when a phone can open it and links are allowed.
        mood_page: a mood page runs on this computer.

    >>> from datetime import datetime
    >>> m = baseline_prompt_message(datetime(2026, 1, 5, 14, 9), mood_page=True)
    >>> m.title, m.body.splitlines()[-1], m.answer_buttons
    ('Mood check', 'Open the mood page on this computer.', False)
    """
    body = f"Asked at {asked_local:%H:%M}, between letdowns."
    if not mood_url:
        body = f"{BASELINE_QUESTION}\n{body}"
    return _with_mood_page(MOOD_CHECK_TITLE, body, mood_url, True, mood_page)


def retraction_message(number: int, onset_local: datetime, local: datetime) -> Message:
    """Sent after a "Letdown detected" whose rise collapsed within seconds.

    >>> from datetime import datetime
    >>> retraction_message(2, datetime(2026, 1, 5, 14, 3, 4), datetime(2026, 1, 5, 14, 3, 20)).title
    'Letdown 2 taken back'
    """
    return Message(
        f"Letdown {number} taken back",
        f"Taken back at {local:%H:%M:%S}: that was not a letdown (the rise that started "
        f"{onset_local:%H:%M:%S} collapsed within seconds). The next letdown gets number {number}.",
    )


def summary_message(summary: SessionSummary, kind: str = "pumping") -> Message:
    """The optional end-of-session message: length, letdowns, volume, timing (no mood).

    Args:
        summary: what the session amounted to.
        kind: ``pumping`` or ``nursing`` (``SessionInfo.kind``).
    """
    count = len(summary.letdowns)
    lines = [
        f"Session of {session_clock(summary.duration_s)}: {count} "
        f"letdown{'s' if count != 1 else ''}, {summary.volume_ml:.0f} mL."
    ]
    if summary.time_to_first_letdown_s is not None:
        lines.append(f"First letdown at {session_clock(summary.time_to_first_letdown_s)}.")
    if summary.time_to_80pct_volume_s is not None:
        lines.append(f"80% of the milk came by {session_clock(summary.time_to_80pct_volume_s)}.")
    return Message(f"{kind.capitalize()} session ended", "\n".join(lines))


def probe_message(local: datetime) -> Message:
    """The message ``letdown notify test`` sends."""
    return Message(
        "letdown test",
        f"Test from letdown at {local:%H:%M:%S}: this target will get "
        '"Letdown detected" notifications.',
    )
