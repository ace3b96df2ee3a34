"""When to ask about mood: one prompt per letdown, a few baseline prompts between them.

Pure logic driven by session time (``t_s``); no clock, no I/O. The timing
follows the physiology of D-MER (Heise & Wiessinger 2011; Cappenberg et al.
2025): dysphoria starts up to about 90 s before milk release and usually lifts
within 1-5 minutes, so the letdown prompt asks about "the last minute or two"
and stays open only a few minutes (:attr:`PromptConfig.expiry_s`), and baseline
prompts wait until at least 3 minutes after the last letdown onset. Baseline
prompts are spaced 3 minutes from each other, not from letdown prompts, and one
that a letdown followed within 2 minutes (about that letdown, not the time
between) gives its slot back, so a 15-20 minute session with letdowns every 2-4
minutes usually gets two usable ones (82% of simulated sessions with the live
detector, ``benchmarks/bench_prompts.py``).

Burden controls (all in ``[mood]``): a daily cap over every session, "first
letdown only", snooze for the rest of a session, and asking less once the
stored answers already give a verdict (``pattern_clear``).

A rise taken back (retracted: not a letdown) withdraws its open question: it
closes as ``withdrawn``, not unanswered, and counts neither toward the daily
cap nor as the session's first letdown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import ConfigError

#: The question every prompt asks (letdown and baseline alike, so they compare).
LETDOWN_QUESTION = (
    "Letdown detected. Did you feel a sudden wave of anything unpleasant in the last minute or two?"
)
BASELINE_QUESTION = "Did you feel a wave of anything unpleasant in the last minute or two?"
#: Feelings a parent may tick besides the 0-10 intensity.
FEELINGS: tuple[str, ...] = (
    "sad",
    "dread",
    "anxious",
    "irritable",
    "angry",
    "hopeless",
    "empty",
    "homesick/longing",
    "restless",
    "panic",
    "tense",
    "overwhelmed",
    "lonely",
    "frustrated",
    "calm",
    "content",
)


@dataclass(frozen=True)
class PromptConfig:
    """Prompt timing; every value in seconds of session time except counts."""

    expiry_s: float = 180.0
    """An unanswered prompt closes (stored unanswered) this long after it was asked: the
    question is about the last minute or two, so a later answer would be recall."""
    baseline_gap_s: float = 180.0
    """A baseline prompt waits at least this long after the last letdown onset."""
    baseline_interval_s: float = 180.0
    """At most one baseline prompt per this interval, counted from the last baseline prompt
    (letdown prompts do not push it back, or a session with letdowns every 3-4 min gets none;
    5 min left one calm stretch at the end of a session room for only one)."""
    max_baseline: int = 3
    """Baseline prompts per session."""
    max_per_day: int = 24
    """Prompts (letdown and baseline) per UTC day over every session; 0 = no cap."""
    asked_today: int = 0
    """Prompts already asked today before this session (filled in at session start)."""
    first_letdown_only: bool = False
    """Ask only at the first letdown of a session (most D-MER is felt only then)."""
    ask_less_when_clear: bool = True
    """Once ``pattern_clear``, ask at the first letdown only and once between letdowns."""
    pattern_clear: bool = False
    """The stored answers already give a verdict (filled in at session start)."""
    blurred_s: float = 120.0
    """A baseline prompt asked less than this before a letdown onset is about that letdown's
    onset, not the time between (D-MER starts up to 2 min before): its slot in
    ``max_baseline`` is given back."""
    same_wave_s: float = 60.0
    """A letdown (or felt mark) this close to the previous prompted onset is the same wave
    (a felt mark beside a detection); separate ejections come minutes apart."""

    def __post_init__(self) -> None:
        for name in (
            "expiry_s",
            "baseline_gap_s",
            "baseline_interval_s",
            "blurred_s",
            "same_wave_s",
        ):
            if not getattr(self, name) > 0:
                raise ConfigError(f"mood.{name} must be a positive number of seconds", name)
        for name in ("max_baseline", "max_per_day", "asked_today"):
            if getattr(self, name) < 0:
                raise ConfigError(f"mood.{name} must be 0 or more", name)

    @property
    def asks_first_letdown_only(self) -> bool:
        """Whether only the first letdown of a session gets a prompt."""
        return self.first_letdown_only or (self.ask_less_when_clear and self.pattern_clear)

    @property
    def baseline_limit(self) -> int:
        """Baseline prompts this session may ask."""
        clear = self.ask_less_when_clear and self.pattern_clear
        return min(self.max_baseline, 1) if clear else self.max_baseline


@dataclass(frozen=True)
class Prompt:
    """One mood question within a session."""

    number: int
    """1, 2, ... in the order asked."""
    kind: str
    """``letdown`` or ``baseline``."""
    asked_s: float
    """When it was asked, s."""
    expires_s: float
    """When it closes unanswered, s."""
    letdown_onset_s: float | None = None
    """Onset of the letdown it pairs with, s; ``None`` for baseline."""
    status: str = "open"
    """``open``, ``answered``, ``expired`` or ``withdrawn`` (its rise was not a letdown)."""

    @property
    def question(self) -> str:
        """The text shown to the parent."""
        return LETDOWN_QUESTION if self.kind == "letdown" else BASELINE_QUESTION


def care_keys() -> dict[str, object]:
    """The ``[mood]`` settings for help and burden (country, daily cap, first letdown only...).

    Returned as ``config.Key`` rules, for the ``[mood]`` section's checker.
    """
    from ..config import Key
    from .help import check_country

    d = PromptConfig()
    return {
        "country": Key(None, (str,), "a two-letter country code like US or GB", check_country),
        "max_per_day": Key(d.max_per_day, (int,), "a whole number >= 0 (0 = no cap)"),
        "first_letdown_only": Key(d.first_letdown_only, (bool,), "true or false"),
        "ask_less_when_clear": Key(d.ask_less_when_clear, (bool,), "true or false"),
    }


def prompt_line(prompt: Prompt, keys: str = "type 0-10 and any feelings, e.g. 6 dread;sad") -> str:
    """What a terminal shows when a prompt opens or closes.

    >>> prompt_line(Prompt(2, "baseline", 400.0, 580.0), "0-10")
    'Mood check #2: Did you feel a wave of anything unpleasant in the last minute or two? (0-10)'
    >>> prompt_line(Prompt(2, "baseline", 400.0, 580.0, status="expired"))
    'Mood check #2 closed unanswered.'
    """
    if prompt.status == "open":
        return f"Mood check #{prompt.number}: {prompt.question} ({keys})"
    return f"Mood check #{prompt.number} {CLOSED_WORDS.get(prompt.status, 'closed unanswered')}."


#: How a closed question is described, by its status.
CLOSED_WORDS = {
    "answered": "answered",
    "expired": "closed unanswered",
    "withdrawn": "withdrawn: that rise was not a letdown after all",
}


class PromptClosedError(Exception):
    """An answer for a prompt that is not open (expired, answered or unknown)."""


class PromptScheduler:
    """Opens and expires prompts as session time passes; at most one is open.

    Args:
        config: timing.

    >>> s = PromptScheduler()
    >>> [p.kind for p in s.on_letdown(onset_s=55.0, t_s=62.0)]
    ['letdown']
    >>> s.answer(1, t_s=80.0).status
    'answered'
    >>> [p.kind for p in s.tick(400.0)]
    ['baseline']
    """

    def __init__(self, config: PromptConfig | None = None) -> None:
        self.config = config or PromptConfig()
        self.reset()

    def reset(self) -> None:
        """Forget every prompt (a new session)."""
        self._open: Prompt | None = None
        self._number = 0
        self._withdrawn = 0
        self._onsets: list[float] = []  # letdown onsets seen, s (a retracted one is removed)
        self._baselines = 0
        self._last_prompted_onset_s: float | None = None
        self._prompted_before_s: float | None = None  # the one before it (a withdrawal)
        self._last_baseline_s: float | None = None
        self._given_back = False  # the last baseline prompt's slot was given back
        self._letdown_prompts = 0
        self._snoozed = False
        self._ask_less = False

    @property
    def snoozed(self) -> bool:
        """No more prompts this session (the parent asked for quiet)."""
        return self._snoozed

    def snooze(self) -> list[Prompt]:
        """Ask nothing more this session; the open prompt closes unanswered."""
        self._snoozed = True
        return self._expire()

    def ask_less(self) -> None:
        """For the rest of the session: the first letdown only, and one baseline prompt."""
        self._ask_less = True

    def _first_only(self) -> bool:
        return self._ask_less or self.config.asks_first_letdown_only

    def _baseline_limit(self) -> int:
        return min(self.config.baseline_limit, 1) if self._ask_less else self.config.baseline_limit

    def _allowed(self) -> bool:
        """Whether a new prompt may open (snooze and the daily cap)."""
        cap = self.config.max_per_day
        asked = self._number - self._withdrawn
        return not self._snoozed and (cap == 0 or self.config.asked_today + asked < cap)

    @property
    def open(self) -> Prompt | None:
        """The prompt waiting for an answer, if any."""
        return self._open

    def _ask(self, kind: str, t_s: float, onset_s: float | None) -> Prompt:
        self._number += 1
        if kind == "baseline":
            self._last_baseline_s, self._given_back = t_s, False
        else:
            self._letdown_prompts += 1
        self._open = Prompt(self._number, kind, t_s, t_s + self.config.expiry_s, onset_s)
        return self._open

    def _expire(self) -> list[Prompt]:
        if self._open is None:
            return []
        closed, self._open = replace(self._open, status="expired"), None
        return [closed]

    def tick(self, t_s: float) -> list[Prompt]:
        """Advance to ``t_s``: expire a stale prompt, maybe ask a baseline one.

        Returns:
            Prompts whose state changed (expired, then newly opened), in order.
        """
        changed = []
        if self._open is not None and t_s >= self._open.expires_s:
            changed += self._expire()
        cfg = self.config
        if (
            self._open is None
            and self._allowed()
            and self._baselines < self._baseline_limit()
            and t_s - max(self._onsets, default=0.0) >= cfg.baseline_gap_s
            and (
                self._last_baseline_s is None
                or t_s - self._last_baseline_s >= cfg.baseline_interval_s
            )
        ):
            self._baselines += 1
            changed.append(self._ask("baseline", t_s, None))
        return changed

    def on_letdown(self, onset_s: float, t_s: float) -> list[Prompt]:
        """A letdown was detected or felt (onset ``onset_s``) at session time ``t_s``.

        A letdown within ``same_wave_s`` of the last prompted one is the same
        wave (e.g. a felt mark just after detection) and asks nothing new. A
        prompt still open is closed unanswered: the new letdown would blur it.

        Returns:
            Prompts whose state changed (expired, then the new letdown prompt).
        """
        self._onsets.append(onset_s)
        asked = self._last_baseline_s
        if (
            asked is not None
            and not self._given_back
            and 0 <= onset_s - asked < self.config.blurred_s
        ):
            self._baselines -= 1  # unusable between letdowns: another may be asked
            self._given_back = True
        last = self._last_prompted_onset_s
        if last is not None and abs(onset_s - last) < self.config.same_wave_s:
            return self.tick(t_s)
        changed = [p for p in self.tick(t_s) if p.status == "expired"]
        if not self._allowed() or (self._first_only() and self._letdown_prompts > 0):
            # Not asked about, but an open baseline question would now be about a letdown.
            if self._open is not None and self._open.kind == "baseline":
                changed += self._expire()
            return changed
        changed += self._expire()
        self._prompted_before_s = self._last_prompted_onset_s
        self._last_prompted_onset_s = onset_s
        changed.append(self._ask("letdown", t_s, onset_s))
        return changed

    def withdraw(self, onset_s: float) -> list[Prompt]:
        """The rise with onset ``onset_s`` (s) was taken back: it was not a letdown.

        Its question, if it was the latest letdown question, no longer counts as the
        session's first letdown (an answer already given stays stored); if still open it
        closes as ``withdrawn`` and does not count toward the daily cap. Baseline
        prompts then wait only for real letdowns.

        Returns:
            The withdrawn prompt, or nothing (not asked, or no longer open).
        """
        if onset_s in self._onsets:
            self._onsets.remove(onset_s)
        if self._last_prompted_onset_s != onset_s:
            return []  # not asked about (same wave, cap, first only) or long closed
        self._letdown_prompts -= 1
        self._last_prompted_onset_s = self._prompted_before_s
        prompt = self._open
        if prompt is None or prompt.kind != "letdown" or prompt.letdown_onset_s != onset_s:
            return []
        self._withdrawn += 1
        self._open = None
        return [replace(prompt, status="withdrawn")]

    def answer(self, number: int, t_s: float) -> Prompt:
        """Close prompt ``number`` as answered at ``t_s``.

        Raises:
            PromptClosedError: the prompt is not the open one, or expired before ``t_s``.
        """
        prompt = self._open
        if prompt is None or prompt.number != number:
            raise PromptClosedError(f"prompt {number} is not open")
        if t_s >= prompt.expires_s:
            self._expire()
            raise PromptClosedError(f"prompt {number} expired at {prompt.expires_s:.0f} s")
        self._open = None
        return replace(prompt, status="answered")

    def reopen(self, prompt: Prompt, t_s: float) -> Prompt | None:
        """An answer to ``prompt`` was undone at ``t_s``: open it again if it has not expired.

        Returns:
            The reopened prompt, or ``None`` (expired meanwhile, or another prompt is open).
        """
        if self._open is not None or t_s >= prompt.expires_s or self._snoozed:
            return None
        if prompt.kind == "letdown" and prompt.letdown_onset_s not in self._onsets:
            return None  # its rise was taken back meanwhile
        self._open = replace(prompt, status="open")
        return self._open

    def close(self) -> list[Prompt]:
        """The session ended: the open prompt, if any, is stored unanswered."""
        return self._expire()
