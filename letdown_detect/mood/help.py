"""Help at the moment an answer calls for it: a calm panel, and where to get help now.

Pure: an answer (score, feelings) and a country come in, a :class:`HelpPanel`
(or ``None``) comes out; every channel that takes answers (the page, the
one-tap page, the terminal, nursing sessions) shows the same panel, and the
reports (``dmer``, ``report --mood``, ``history``) print :func:`help_lines`.

The thresholds are ours, not a validated instrument: "hopeless" ticked, or
an intensity of :data:`HELP_SCORE` or more. Postpartum Support
International's HelpLine is a support line (it calls or texts back), not a
crisis line; the crisis lines and emergency numbers come first when the
answer says "hopeless".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: An answer this intense (0-10) shows the help panel (our threshold).
HELP_SCORE = 7
#: Ticked feelings that show the panel at any score, with the crisis lines first.
URGENT_FEELINGS = frozenset({"hopeless"})


@dataclass(frozen=True)
class HelpLine:
    """One number to call or text."""

    name: str
    number: str
    """As people write it, e.g. ``1-833-852-6262``."""
    kind: str
    """``emergency``, ``crisis`` (24/7, for thoughts of harm) or ``support``."""
    note: str = ""
    """When and how, e.g. ``24/7, call or text``."""
    region: str = ""
    """Where it works, shown when the country is not set."""

    @property
    def tel(self) -> str:
        """The ``tel:`` link target (digits and a leading +)."""
        return "tel:" + "".join(c for c in self.number if c.isdigit() or c == "+")

    def text(self) -> str:
        """``name: number (note)`` for a terminal."""
        extra = ", ".join(x for x in (self.note, self.region) if x)
        return f"{self.name}: {self.number}" + (f" ({extra})" if extra else "")


_EMERGENCY_NOTE = "emergency: if you might act on thoughts of harm"
_988 = HelpLine("988 Suicide & Crisis Lifeline", "988", "crisis", "24/7, call or text")
_MATERNAL = HelpLine(
    "National Maternal Mental Health Hotline",
    "1-833-852-6262",
    "crisis",
    "24/7, call or text, for pregnant and new parents",
)
_PSI = HelpLine(
    "Postpartum Support International HelpLine",
    "1-800-944-4773",
    "support",
    "a support line, not a crisis line: leave a message or text, they get back to you",
)
_SAMARITANS = HelpLine("Samaritans", "116 123", "crisis", "24/7, free")
_EU_112 = HelpLine("Emergency", "112", "emergency", _EMERGENCY_NOTE)

#: EU and EEA countries (and Switzerland), where 112 is the emergency number.
_EU_CODES = (
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IT LT LU LV MT NL PL PT RO SE SI SK IS LI NO CH"
)

#: Lines by ISO 3166 country code, most urgent first.
LINES: dict[str, tuple[HelpLine, ...]] = {
    "US": (HelpLine("Emergency", "911", "emergency", _EMERGENCY_NOTE), _988, _MATERNAL, _PSI),
    "CA": (HelpLine("Emergency", "911", "emergency", _EMERGENCY_NOTE), _988, _PSI),
    "GB": (
        HelpLine("Emergency", "999", "emergency", _EMERGENCY_NOTE),
        HelpLine("NHS 111", "111", "crisis", "24/7; choose the mental health option"),
        _SAMARITANS,
    ),
    "IE": (HelpLine("Emergency", "112", "emergency", "or 999"), _SAMARITANS),
    "AU": (
        HelpLine("Emergency", "000", "emergency", _EMERGENCY_NOTE),
        HelpLine("Lifeline", "13 11 14", "crisis", "24/7"),
        HelpLine("PANDA", "1300 726 306", "support", "perinatal support line, not a crisis line"),
    ),
    "NZ": (
        HelpLine("Emergency", "111", "emergency", _EMERGENCY_NOTE),
        HelpLine("Need to talk?", "1737", "crisis", "24/7, call or text"),
    ),
    "DE": (_EU_112, HelpLine("TelefonSeelsorge", "0800 111 0 111", "crisis", "24/7, free")),
    "FR": (_EU_112, HelpLine("3114 (suicide prevention)", "3114", "crisis", "24/7, free")),
    "NL": (_EU_112, HelpLine("113 Zelfmoordpreventie", "0800 0113", "crisis", "24/7, free")),
}
for _code in _EU_CODES.split():
    LINES.setdefault(_code, (_EU_112,))
#: Names people use for a country, mapped to its code.
ALIASES = {"UK": "GB", "USA": "US"}
#: When no country is set: emergency numbers by region, then the US and UK crisis lines.
UNSET: tuple[HelpLine, ...] = (
    HelpLine("Emergency", "911", "emergency", "", "US and Canada"),
    HelpLine("Emergency", "112", "emergency", "", "Europe"),
    HelpLine("Emergency", "999", "emergency", "", "UK"),
    HelpLine("Emergency", "000", "emergency", "", "Australia"),
    HelpLine(_988.name, _988.number, "crisis", _988.note, "US and Canada"),
    HelpLine(_MATERNAL.name, _MATERNAL.number, "crisis", _MATERNAL.note, "US"),
    HelpLine(_SAMARITANS.name, _SAMARITANS.number, "crisis", _SAMARITANS.note, "UK and Ireland"),
    HelpLine(_PSI.name, _PSI.number, "support", _PSI.note, "US and Canada"),
)

_WAVE = (
    "That was a strong wave. If it came with a letdown it can be D-MER: a reflex, not your "
    "fault, and it usually passes within minutes. Be gentle with yourself; if you can, tell "
    "someone near you."
)
_URGENT = (
    "You said you feel hopeless. If it came with a letdown it can be D-MER, which passes "
    "within minutes, and you still deserve support now. If you have thoughts of harming "
    "yourself or your baby, call now:"
)
_CALL = "If it does not pass, or you feel hopeless or think of harming yourself, call:"


def normalise_country(code: str | None) -> str | None:
    """``"uk"`` -> ``"GB"``; ``None`` or ``""`` -> ``None`` (not set).

    >>> normalise_country(" uk "), normalise_country("")
    ('GB', None)
    """
    if not code or not code.strip():
        return None
    up = code.strip().upper()
    return ALIASES.get(up, up)


def lines_for(country: str | None) -> tuple[HelpLine, ...]:
    """The help lines for ``country`` (ISO code), most urgent first; the mixed list if unknown.

    >>> [line.number for line in lines_for("US")]
    ['911', '988', '1-833-852-6262', '1-800-944-4773']
    """
    return LINES.get(normalise_country(country) or "", UNSET)


@dataclass(frozen=True)
class HelpPanel:
    """What to show at once after an answer that calls for help."""

    urgent: bool
    """Hopelessness was ticked: the crisis lines lead."""
    message: str
    lines: tuple[HelpLine, ...]
    country: str | None

    def text(self) -> str:
        """The panel for a terminal: a few short lines."""
        lines = [self.message, *(f"  {line.text()}" for line in self.lines)]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON for the page (each line with its ``tel:`` link)."""
        return {
            "urgent": self.urgent,
            "message": self.message,
            "country": self.country,
            "lines": [
                {"name": x.name, "number": x.number, "tel": x.tel, "kind": x.kind, "note": x.note}
                | ({"region": x.region} if x.region else {})
                for x in self.lines
            ],
        }


def calls_for_help(score: int, feelings: Iterable[str] = ()) -> bool:
    """True when an answer shows the panel: an urgent feeling, or score >= :data:`HELP_SCORE`.

    >>> calls_for_help(7), calls_for_help(2, ["hopeless"]), calls_for_help(6, ["sad"])
    (True, True, False)
    """
    return score >= HELP_SCORE or bool(URGENT_FEELINGS.intersection(feelings))


def help_for_answer(
    score: int, feelings: Iterable[str] = (), country: str | None = None
) -> HelpPanel | None:
    """The help panel for one answer, or ``None`` when it does not call for one.

    Args:
        score: intensity of unpleasant feelings, 0-10.
        feelings: the ticked feelings.
        country: ISO code from ``[mood] country`` (``None``: not set).

    >>> help_for_answer(3) is None, help_for_answer(8).urgent
    (True, False)
    >>> help_for_answer(1, ["hopeless"]).urgent
    True
    """
    ticked = set(feelings)
    if not calls_for_help(score, ticked):
        return None
    urgent = bool(URGENT_FEELINGS & ticked)
    message = f"{_URGENT}" if urgent else f"{_WAVE} {_CALL}"
    return HelpPanel(urgent, message, lines_for(country), normalise_country(country))


def help_lines(country: str | None = None) -> str:
    """Where to get help now, as one paragraph for a report."""
    listed = "; ".join(line.text() for line in lines_for(country))
    return (
        "If you feel hopeless, or have thoughts of harming yourself or your baby, get help "
        f"now: call an emergency number or a crisis line. {listed}. You deserve support today; "
        "it does not have to wait for your next appointment."
    )


def check_country(value: str, key: str) -> str | None:
    """The ``[mood] country`` setting: a two-letter code (``UK`` is taken as ``GB``).

    Raises:
        ConfigError: not two letters.
    """
    from ..errors import ConfigError

    code = normalise_country(value)
    if code is not None and not (len(code) == 2 and code.isalpha()):
        raise ConfigError(
            f"{key} must be a two-letter country code like US, GB, DE or AU, got {value!r}.", key
        )
    return code


def configured_country() -> str | None:
    """``[mood] country`` from the config file (``None`` when unset or unreadable).

    An adapter, not pure: it reads the config file. Errors in the file are
    reported by the command that checks ``[mood]``; here they mean "not set".
    """
    from ..config import load_config
    from ..errors import LetdownError

    try:
        value = load_config().get("mood", {}).get("country")
    except (LetdownError, OSError, AttributeError):
        return None
    return normalise_country(value) if isinstance(value, str) else None
