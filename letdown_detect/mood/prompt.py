"""When to ask about mood: one prompt per letdown, a few baseline prompts between them.

Pure logic driven by session time (``t_s``); no clock, no I/O. The timing
follows the physiology of D-MER (Heise & Wiessinger 2011; Cappenberg et al.
2025): dysphoria starts up to about 90 s before milk release and usually lifts
within 1-5 minutes, so the letdown prompt asks about "the last minute or two",
and baseline prompts wait until at least 3 minutes after the last letdown onset.
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
    "calm",
    "content",
)


@dataclass(frozen=True)
class PromptConfig:
    """Prompt timing; every value in seconds of session time except counts."""

    expiry_s: float = 600.0
    """An unanswered prompt closes (stored unanswered) this long after it was asked."""
    baseline_gap_s: float = 180.0
    """A baseline prompt waits at least this long after the last letdown onset."""
    baseline_interval_s: float = 300.0
    """At most one baseline prompt per this interval (counted from the last prompt asked)."""
    max_baseline: int = 3
    """Baseline prompts per session."""
    same_wave_s: float = 60.0
    """A letdown (or felt mark) this close to the previous prompted onset is the same wave
    (a felt mark beside a detection); separate ejections come minutes apart."""

    def __post_init__(self) -> None:
        for name in ("expiry_s", "baseline_gap_s", "baseline_interval_s", "same_wave_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"mood.{name} must be a positive number of seconds", name)
        if self.max_baseline < 0:
            raise ConfigError("mood.max_baseline must be 0 or more", "max_baseline")


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
    """``open``, ``answered`` or ``expired``."""

    @property
    def question(self) -> str:
        """The text shown to the parent."""
        return LETDOWN_QUESTION if self.kind == "letdown" else BASELINE_QUESTION


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
        self._baselines = 0
        self._last_onset_s: float | None = None
        self._last_prompted_onset_s: float | None = None
        self._last_asked_s: float | None = None

    @property
    def open(self) -> Prompt | None:
        """The prompt waiting for an answer, if any."""
        return self._open

    def _ask(self, kind: str, t_s: float, onset_s: float | None) -> Prompt:
        self._number += 1
        self._last_asked_s = t_s
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
            and self._baselines < cfg.max_baseline
            and t_s - (self._last_onset_s or 0.0) >= cfg.baseline_gap_s
            and (self._last_asked_s is None or t_s - self._last_asked_s >= cfg.baseline_interval_s)
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
        if self._last_onset_s is None or onset_s > self._last_onset_s:
            self._last_onset_s = onset_s
        last = self._last_prompted_onset_s
        if last is not None and abs(onset_s - last) < self.config.same_wave_s:
            return self.tick(t_s)
        changed = [p for p in self.tick(t_s) if p.status == "expired"]
        changed += self._expire()
        self._last_prompted_onset_s = onset_s
        changed.append(self._ask("letdown", t_s, onset_s))
        return changed

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

    def close(self) -> list[Prompt]:
        """The session ended: the open prompt, if any, is stored unanswered."""
        return self._expire()
