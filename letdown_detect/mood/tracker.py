"""One session's mood bookkeeping: prompts as letdowns come, answers from any channel.

Driven by session time only (no clock): the live sink, the nursing session and
``letdown import --mood-from`` all feed it the same calls. Every change goes to
a writer (``submit(op, now_s, **kwargs)``, see ``store/writer.py``) so a locked
database never stops the session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from .answers import Diary
from .prompt import Prompt, PromptClosedError, PromptScheduler


class Writer(Protocol):
    """Where changes go (``StoreWriter``)."""

    def submit(self, op: str, now_s: float, **kwargs: object) -> None: ...


@dataclass(frozen=True)
class AnswerOutcome:
    """What became of an answer, with a sentence for the person who gave it."""

    status: str
    """``answered`` (the open prompt), ``late`` (its prompt had expired) or ``unprompted``."""
    message: str
    prompt: Prompt | None = None
    answered_utc: str = ""
    """The stored answer's key within the session (what an undo names)."""


@dataclass(frozen=True)
class _Given:
    """The last answer given, kept for a short while so it can be undone."""

    t_s: float
    answered_utc: str
    prompt: Prompt | None
    status: str


#: How long after an answer the page offers "undo", s.
UNDO_S = 15.0


class MoodTracker:
    """Prompts, answers and felt marks of one session.

    Args:
        session_id: the stored session's id.
        start_utc: session start (t_s = 0), timezone-aware UTC.
        writer: receives every prompt and answer.
        scheduler: prompt timing (a fresh default one when omitted).
        diary: entries that answer prompts as session time reaches them.
        on_prompt: called with each prompt that opens or closes (to show or withdraw it).
    """

    def __init__(
        self,
        session_id: str,
        start_utc: datetime,
        writer: Writer,
        scheduler: PromptScheduler | None = None,
        diary: Diary | None = None,
        on_prompt: Callable[[Prompt], None] | None = None,
    ) -> None:
        self.session_id = session_id
        self.start_utc = start_utc
        self.writer = writer
        self.scheduler = scheduler or PromptScheduler()
        self.diary = diary
        self.on_prompt = on_prompt
        self.prompts: dict[int, Prompt] = {}
        self._last: _Given | None = None

    @property
    def open(self) -> Prompt | None:
        """The prompt waiting for an answer."""
        return self.scheduler.open

    def _record(self, changed: Sequence[Prompt]) -> None:
        for p in changed:
            self.prompts[p.number] = p
            self.writer.submit(
                "add_prompt",
                p.asked_s,
                session_id=self.session_id,
                number=p.number,
                kind=p.kind,
                asked_s=p.asked_s,
                expires_s=p.expires_s,
                letdown_onset_s=p.letdown_onset_s,
                status=p.status,
            )
            if self.on_prompt is not None:
                self.on_prompt(p)

    def letdown(self, onset_s: float, t_s: float) -> None:
        """A letdown was detected or felt (onset and current time in s)."""
        self._diary(t_s)
        self._record(self.scheduler.on_letdown(onset_s, t_s))

    def withdraw(self, onset_s: float, t_s: float) -> None:
        """The rise with onset ``onset_s`` was taken back at ``t_s`` (s): its open question
        closes as withdrawn (an answer already given stays stored)."""
        self._diary(t_s)
        self._record(self.scheduler.withdraw(onset_s))

    def tick(self, t_s: float) -> None:
        """Session time moved to ``t_s`` (s): diary answers, expiry, baseline prompts."""
        self._diary(t_s)
        self._record(self.scheduler.tick(t_s))

    def _diary(self, t_s: float) -> None:
        if self.diary is None:
            return
        for entry in self.diary.due(t_s):
            self.answer(entry.t_s, entry.score, entry.feelings, "diary")

    def answer(
        self,
        t_s: float,
        score: int,
        feelings: Sequence[str] = (),
        channel: str = "page",
        number: int | None = None,
    ) -> AnswerOutcome:
        """Store an answer given at ``t_s`` (s), score 0-10.

        Args:
            number: the prompt it answers; ``None`` = the open prompt, or unprompted.

        Returns:
            Whether it answered the open prompt, came late, or stands alone; never lost.
        """
        self._record(self.scheduler.tick(t_s))
        target = number if number is not None else getattr(self.open, "number", None)
        status, prompt, late = "unprompted", None, False
        if target is not None:
            try:
                prompt = self.scheduler.answer(target, t_s)
                status = "answered"
                self._record([prompt])
            except PromptClosedError:
                prompt = self.prompts.get(target)
                if prompt is not None and prompt.status == "expired":
                    status, late = "late", True
        about_s = prompt.asked_s if late and prompt is not None else t_s
        answered_utc = self._store(
            t_s, about_s, score, feelings, channel, None if status == "unprompted" else target, late
        )
        self._last = _Given(t_s, answered_utc, prompt, status)
        if status == "answered":
            message = f"Thank you: answer {score}/10 saved."
        elif status == "late" and prompt is not None:
            message = (
                f"The question {self.about(prompt)} had already closed; your answer {score}/10 was "
                "kept as a late answer (shown, but not used for the pattern)."
            )
        elif number is not None:
            message = (
                f"Prompt {number} is not open; your answer {score}/10 was kept as an answer "
                "about this moment."
            )
        else:
            message = f"Answer {score}/10 saved for this moment."
        return AnswerOutcome(status, message, prompt, answered_utc)

    def clock(self, t_s: float) -> str:
        """Session time ``t_s`` (s) as a UTC clock time, e.g. ``14:03 UTC``."""
        return (self.start_utc + timedelta(seconds=t_s)).strftime("%H:%M UTC")

    def about(self, prompt: Prompt) -> str:
        """What a prompt asked about, for later: "around the letdown at 14:03 UTC"."""
        if prompt.kind == "letdown":
            return f"around the letdown at {self.clock(prompt.letdown_onset_s or prompt.asked_s)}"
        return f"asked at {self.clock(prompt.asked_s)}"

    def undo(self, t_s: float) -> str:
        """Take back the answer given last, if it was given under :data:`UNDO_S` ago.

        Its prompt opens again when it has not expired. Returns a sentence for the person.
        """
        last = self._last
        if last is None or t_s - last.t_s > UNDO_S:
            return (
                "Nothing to undo: an answer can be taken back here for a few seconds, later "
                "with `letdown mood delete`."
            )
        self._last = None
        self.writer.submit(
            "delete_answer", t_s, session_id=self.session_id, answered_utc=last.answered_utc
        )
        if last.status == "answered" and last.prompt is not None:
            reopened = self.scheduler.reopen(last.prompt, t_s)
            if reopened is not None:
                self._record([reopened])
                return "Answer taken back; the question is open again."
            self._record([replace(last.prompt, status="expired")])
        return "Answer taken back."

    def ask_less(self, t_s: float) -> str:
        """Ask only at the first letdown and once between letdowns, for the rest of the session."""
        self.scheduler.ask_less()
        return "Asking less this session: the first letdown and one question between letdowns."

    def snooze(self, t_s: float) -> str:
        """No more questions this session (``t_s`` in s); returns a sentence."""
        self._record(self.scheduler.snooze())
        return "No more mood questions this session. You can still tell how you feel."

    def _store(
        self,
        t_s: float,
        about_s: float,
        score: int,
        feelings: Sequence[str],
        channel: str,
        number: int | None,
        late: bool,
    ) -> str:
        answered_utc = (self.start_utc + timedelta(seconds=t_s)).isoformat()
        self.writer.submit(
            "add_answer",
            t_s,
            session_id=self.session_id,
            t_s=about_s,
            answered_utc=answered_utc,
            score=int(score),
            feelings=list(feelings),
            channel=channel,
            prompt_number=number,
            late=late,
        )
        return answered_utc

    def close(self, t_s: float) -> None:
        """The session ended at ``t_s`` (s): the open prompt is stored unanswered.

        Diary lines after the end are kept as answers about their own moment.
        """
        self._diary(t_s)
        self._record(self.scheduler.close())
        if self.diary is not None:
            for entry in self.diary.due(float("inf")):
                self._store(entry.t_s, entry.t_s, entry.score, entry.feelings, "diary", None, False)
