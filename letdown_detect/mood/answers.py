"""Answers from people and files: the 0-10 score, ticked feelings, and the diary CSV.

A diary (``--mood-from FILE``) is a CSV of ``t_s,score[,feelings]``: session
time in seconds, score on the prompt's 0-10 scale (0 = nothing unpleasant) and
feelings separated by ``;``. A header line and ``#`` comments are allowed. A
bad line is reported with its number and skipped; the good lines still count.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, RecordingError
from .prompt import FEELINGS

_ALIASES = {"homesick": "homesick/longing", "longing": "homesick/longing"}


def parse_score(text: object) -> int:
    """A 0-10 intensity from user input.

    Raises:
        ConfigError: not a whole number from 0 to 10.

    >>> parse_score(" 7 ")
    7
    """
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ConfigError(f"expected a score from 0 to 10, got {text!r}", "score") from None
    if not math.isfinite(value) or value != int(value) or not 0 <= value <= 10:
        raise ConfigError(f"expected a score from 0 to 10, got {text!r}", "score")
    return int(value)


def parse_feelings(text: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Feelings from ``"sad;dread"`` or a list, checked against :data:`FEELINGS`.

    Raises:
        ConfigError: a feeling that is not on the list.

    >>> parse_feelings("Sad; homesick")
    ('sad', 'homesick/longing')
    """
    if not text:
        return ()
    items = text.split(";") if isinstance(text, str) else list(text)
    out = []
    for raw in items:
        name = str(raw).strip().lower()
        if not name:
            continue
        name = _ALIASES.get(name, name)
        if name not in FEELINGS:
            raise ConfigError(
                f"expected feelings from {', '.join(FEELINGS)}; got {raw.strip()!r}", "feelings"
            )
        if name not in out:
            out.append(name)
    return tuple(out)


def split_feelings(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Words typed after a score: the known feelings, and the words that are not feelings.

    >>> split_feelings("sad;sadd, hopeless")
    (('sad', 'hopeless'), ('sadd',))
    """
    known: list[str] = []
    unknown: list[str] = []
    for raw in text.replace(",", ";").replace(" ", ";").split(";"):
        name = _ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if not name:
            continue
        target = known if name in FEELINGS else unknown
        if name not in target:
            target.append(name)
    return tuple(known), tuple(unknown)


def left_out_note(unknown: tuple[str, ...]) -> str:
    """What a terminal says about typed words that are not feelings (the score is kept).

    >>> left_out_note(("sadd",))[:34]
    'Not on the list, left out: sadd. F'
    """
    return f"Not on the list, left out: {', '.join(unknown)}. Feelings are: {', '.join(FEELINGS)}."


@dataclass(frozen=True)
class DiaryEntry:
    """One diary line."""

    t_s: float
    """Session time the answer was given, s."""
    score: int
    feelings: tuple[str, ...]
    line: int
    """Line number in the diary file."""


def read_diary(path: str | Path) -> tuple[list[DiaryEntry], list[RecordingError]]:
    """Read a diary CSV; returns the good entries (by time) and one error per bad line.

    Raises:
        RecordingError: the file cannot be read at all.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordingError(path, "no such diary file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(path, f"cannot read the diary ({exc})") from None
    entries, problems = [], []
    for number, row in enumerate(_rows(text), 1):
        if row is None:
            problems.append(
                RecordingError(path, "expected t_s,score[,feelings], got a huge cell", number)
            )
            continue
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0] == "t_s":
            continue
        if len(cells) > 3:
            problems.append(
                RecordingError(
                    path, f"expected t_s,score[,feelings], got {len(cells)} cells", number
                )
            )
            continue
        try:
            t_s = float(cells[0])
            if not math.isfinite(t_s) or t_s < 0:
                raise ValueError
        except ValueError:
            problems.append(
                RecordingError(path, f"expected a time in seconds in t_s, got {cells[0]!r}", number)
            )
            continue
        try:
            score = parse_score(cells[1] if len(cells) > 1 else "")
            feelings = parse_feelings(cells[2] if len(cells) > 2 else "")
        except ConfigError as exc:
            problems.append(RecordingError(path, str(exc), number))
            continue
        entries.append(DiaryEntry(t_s, score, feelings, number))
    entries.sort(key=lambda e: e.t_s)
    return entries, problems


class Diary:
    """Diary entries handed out as session time reaches them (each answers what is open then).

    Args:
        entries: diary lines, any order.
    """

    def __init__(self, entries: list[DiaryEntry]) -> None:
        self.entries = sorted(entries, key=lambda e: e.t_s)
        self._used: set[int] = set()

    def due(self, t_s: float) -> list[DiaryEntry]:
        """Entries given at or before ``t_s`` not handed out yet, oldest first."""
        out = []
        for i, entry in enumerate(self.entries):
            if i not in self._used and entry.t_s <= t_s:
                self._used.add(i)
                out.append(entry)
        return out


def _rows(text: str) -> list[list[str] | None]:
    """The CSV rows of a diary; ``None`` for a line csv cannot split (a huge cell)."""
    rows: list[list[str] | None] = []
    for line in text.splitlines():
        try:
            rows.append(next(csv.reader([line]), []))
        except csv.Error:
            rows.append(None)
    return rows
