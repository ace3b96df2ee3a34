"""The D-MER report in words: plain text, JSON, and a one-page printable HTML summary.

Every report says it is not a diagnosis, suggests a lactation consultant and
explains D-MER in a few lines. Where to get help now leads the report while a
hopeless or severe (7+) answer is recent, naming that answer and its date;
older ones stay listed in the report's history. No claim goes beyond the
data: "absent between them" only when it was, every threshold is labelled as
ours, and nothing is ever "ruled out".
"""

from __future__ import annotations

import base64
import io
from datetime import datetime
from html import escape
from typing import Any

from .dmer import (
    CONSISTENT,
    FIRST_LETDOWN,
    LOW_MOOD_BETWEEN,
    NOT_CONSISTENT,
    NOT_ENOUGH_DATA,
    CrisisAnswer,
    DmerCriteria,
    DmerResult,
    GroupStats,
)
from .help import help_lines

NOT_A_DIAGNOSIS = (
    "This summary is not a diagnosis. It shows a pattern in your own answers. Bring it to a "
    "lactation consultant (IBCLC) or your doctor, midwife or health visitor to talk about "
    "what you notice."
)
ABOUT_DMER = (
    "About D-MER: dysphoric milk ejection reflex is a sudden wave of sadness, dread, anxiety "
    "or other unpleasant feelings that comes just before milk lets down and passes within "
    "minutes. It is a physiological reflex, not a mental illness and nobody's fault. It is "
    "reported by about 6-14% of lactating parents (Nguyen 2024; Ureño 2019; Cappenberg 2025); "
    "most feel it only at the first letdown of a session, it often eases over the months, "
    "and for many (57% in Cappenberg 2025) it is milder or absent when pumping."
)
OURS = (
    "No validated D-MER questionnaire exists: every threshold in this report is ours, "
    "chosen to describe your answers, not a clinical cut-off."
)
#: The study behind the prevalence, first-letdown and pumping figures (cited everywhere from here).
CAPPENBERG_2025 = (
    "Cappenberg R, Garcia Garcia J, Happle C, Zychlinsky Scharff A. Dysphoric Milk Ejection "
    "Reflex: Prevalence, persistence, and implications. European Journal of Obstetrics & "
    "Gynecology and Reproductive Biology 2025. doi:10.1016/j.ejogrb.2025.02.051."
)
LITERATURE = (
    "Heise AM, Wiessinger D. Dysphoric milk ejection reflex: a case report. "
    "International Breastfeeding Journal 2011;6:6.",
    "Ureño TL, Berry-Cabán CS, Adams A, et al. Dysphoric milk ejection reflex: a descriptive "
    "study. Breastfeeding Medicine 2019;14(9):666-673.",
    CAPPENBERG_2025,
    "Nguyen L, Stokes S, Alsup K, Allen J, Zahler-Miller C. Dysphoric milk ejection reflex: "
    "characteristics, risk factors, and its association with depression scores and "
    "breastfeeding self-efficacy. Breastfeeding Medicine 2024;19(6):467-475. "
    "doi:10.1089/bfm.2023.0241.",
)


def crisis_text(result: DmerResult, country: str | None = None) -> str | None:
    """Where to get help now, naming the answer that raised it; ``None`` when none is recent."""
    if not result.crisis or not result.crisis_answers:
        return None
    words = _answer_words(result.crisis_answers[-1])
    return f"{words[0].upper()}{words[1:]}. {help_lines(country)}"


def _answer_words(x: CrisisAnswer) -> str:
    """``your answer of 8/10 (hopeless) on 5 Jan 2026``."""
    ticked = f" ({', '.join(x.feelings)})" if x.feelings else ""
    return f"your answer of {x.score}/10{ticked} on {_date(x.utc)}"


def _date(utc: datetime) -> str:
    return f"{utc.day} {utc.strftime('%b %Y')}"


def _history_line(result: DmerResult) -> str | None:
    """Older answers that called for help, kept in the history once calm weeks followed."""
    if not result.crisis_answers or result.crisis:
        return None
    older = result.crisis_answers
    return (
        f"Earlier, {_answer_words(older[-1])} called for help"
        + (f" ({len(older)} such answers in all)" if len(older) > 1 else "")
        + "; the recent weeks show none. If such feelings come back, get help at once."
    )


def headline(result: DmerResult) -> str:
    """The verdict in one or two plain sentences."""
    if result.verdict == CONSISTENT:
        median = f"median intensity {result.severity_median:g}/10 ({result.severity})"
        between = "and absent between them" if result.absent_between else "and milder between them"
        if result.pattern == FIRST_LETDOWN:
            return (
                "Consistent with D-MER, first-letdown pattern: unpleasant feelings came with "
                f"the first letdown in {result.first_unpleasant} of {result.first_letdowns} "
                f"sessions, {median}, {between}. This is the most common form: 73% of parents "
                "with D-MER feel it only at the start of a session (Cappenberg 2025)."
            )
        return (
            f"Consistent with D-MER: unpleasant feelings came with {result.unpleasant} of "
            f"{len(result.letdowns)} answered letdowns, {median}, {between}."
        )
    if result.verdict == LOW_MOOD_BETWEEN:
        return (
            "Mood stays low between letdowns too. This deserves a clinician soon (your doctor, "
            "midwife or health visitor): low mood that lasts can be postpartum depression or "
            "anxiety, which are common and treatable. D-MER may also be present: the two often "
            "occur together (Nguyen 2024); your letdown answers are below."
        )
    if result.verdict == NOT_ENOUGH_DATA:
        n = result.needed
        parts = []
        if n.get("letdown_answers"):
            parts.append(f"{n['letdown_answers']} more answered letdown prompts")
        if n.get("sessions"):
            parts.append(f"answers from {n['sessions']} more session(s)")
        if n.get("baseline_answers"):
            parts.append(f"{n['baseline_answers']} more answers between letdowns")
        if n.get("passing_checks"):
            parts.append("an answer 3-10 minutes after an unpleasant letdown")
        return "Not enough data yet: a pattern needs " + ", ".join(parts) + "."
    return "Your answers so far do not show D-MER's pattern (unpleasant feelings with letdowns)."


def criteria_lines(c: DmerCriteria | None = None) -> list[str]:
    """The criteria used, in words."""
    c = c or DmerCriteria()
    return [
        f"An answer belongs to a letdown from {c.before_s / 60:g} min before to "
        f"{c.after_s / 60:g} min after its onset (D-MER's feelings start up to about 90 s "
        "before milk flows).",
        f"Answers at least {c.baseline_gap_s / 60:g} min after a letdown and not just before "
        "the next are the mood between letdowns.",
        f"Recurring: at least {c.recur_fraction:.0%} of answered letdowns, at least "
        f"{c.min_unpleasant}, over at least {c.min_sessions} sessions, scored at least 1 point "
        "above the usual mood between letdowns.",
        f"Transient: gone again within {c.transient_s / 60:g} min.",
        f"Low mood between letdowns: half or more of the recent answers between letdowns at "
        f"{c.low_score}+ of 10, over at least {c.min_sessions} sessions.",
        f"First-letdown pattern: the first letdown unpleasant in at least "
        f"{c.first_fraction:.0%} of at least {max(c.min_sessions, c.min_unpleasant)} sessions, "
        "later letdowns mostly not.",
        "Seen passing: at least half of the answers 3-10 min after an unpleasant letdown are "
        "calm again.",
        f"Severity from the median intensity of the last {c.recent_days:g} days: mild 1-3, "
        "moderate 4-6, high 7-10 (bands are ours).",
        f"Enough data: {c.min_letdown_answers} answered letdowns over {c.min_sessions} "
        f"sessions and {c.min_baseline_answers} answers between letdowns.",
    ]


def to_dict(result: DmerResult, country: str | None = None) -> dict[str, Any]:
    """The report as JSON-ready data (``letdown dmer --json``)."""
    return {
        "verdict": result.verdict,
        "pattern": result.pattern,
        "headline": headline(result),
        "severity": result.severity,
        "severity_median": result.severity_median,
        "first_letdowns": result.first_letdowns,
        "first_unpleasant": result.first_unpleasant,
        "absent_between": result.absent_between,
        "reasons": list(result.reasons),
        "answered_letdowns": len(result.letdowns),
        "unpleasant_letdowns": result.unpleasant,
        "sessions": result.sessions,
        "baseline_answers": len(result.baseline_scores),
        "baseline_median": result.baseline_median,
        "needed": result.needed,
        "prompts_asked": result.prompts_asked,
        "prompts_answered": result.prompts_answered,
        "late_answers": result.late_answers,
        "weeks": [vars(w) for w in result.weeks],
        "trend": result.trend,
        "by_kind": [vars(k) for k in result.by_kind],
        "letdowns": [
            {
                "session_id": r.session_id,
                "kind": r.kind,
                "utc": r.utc.isoformat(),
                "onset_s": round(r.onset_s, 1),
                "score": r.score,
                "feelings": list(r.feelings),
                "unpleasant": r.unpleasant,
                "first": r.first,
            }
            for r in result.letdowns
        ],
        "crisis": crisis_text(result, country),
        "crisis_answers": [
            {"utc": x.utc.isoformat(), "score": x.score, "feelings": list(x.feelings)}
            for x in result.crisis_answers
        ],
        "history": _history_line(result),
        "about": ABOUT_DMER,
        "not_a_diagnosis": NOT_A_DIAGNOSIS,
        "thresholds": OURS,
        "criteria": criteria_lines(),
        "literature": list(LITERATURE),
    }


def _week_sentence(w: GroupStats) -> str:
    """``Week of 5 Jan 2026: 4 answered letdowns, 3 unpleasant, average intensity 5.8/10.``"""
    year, week = (int(x) for x in w.name.split("-W"))
    monday = datetime.fromisocalendar(year, week, 1)
    answered = f"{w.letdowns} answered letdown" + ("s" if w.letdowns != 1 else "")
    return (
        f"Week of {_date(monday)}: {answered}, {w.unpleasant} unpleasant, average intensity "
        f"{w.mean_score:.1f}/10."
    )


def _group_lines(result: DmerResult) -> list[str]:
    lines = []
    if result.weeks:
        lines += [_week_sentence(w) for w in result.weeks]
        if result.trend:
            lines.append(
                {
                    "easing": "Over the recent weeks the feelings at letdowns are easing.",
                    "worsening": "Over the recent weeks the feelings at letdowns are getting "
                    "stronger.",
                    "steady": "Over the recent weeks the feelings at letdowns are about the same.",
                }[result.trend]
            )
    if len(result.by_kind) > 1 or any(k.name == "nursing" for k in result.by_kind):
        lines += [
            f"{k.name.capitalize()}: {k.letdowns} answered letdowns, {k.unpleasant} unpleasant, "
            f"average intensity {k.mean_score:.1f}/10."
            for k in result.by_kind
        ]
    return lines


def to_text(result: DmerResult, country: str | None = None) -> str:
    """The report as plain text for the terminal."""
    lines = []
    crisis = crisis_text(result, country)
    if crisis:
        lines += ["GET HELP NOW: " + crisis, ""]
    lines += ["D-MER pattern: " + headline(result), ""]
    lines += [f"- {r}" for r in result.reasons]
    lines.append(
        f"- {result.prompts_answered} of {result.prompts_asked} prompts answered"
        + (
            f"; {result.late_answers} late answers shown but not used"
            if result.late_answers
            else ""
        )
    )
    groups = _group_lines(result)
    history = _history_line(result)
    lines += ["", *groups, *([""] if groups else [])]
    if result.verdict == LOW_MOOD_BETWEEN:
        lines += [help_lines(country), ""]
    if history:
        lines += [history, help_lines(country), ""]
    lines += [ABOUT_DMER, "", OURS, "", NOT_A_DIAGNOSIS, "", "Where they come from:"]
    lines += [f"- {ref}" for ref in LITERATURE]
    return "\n".join(lines)


def timeline_png(result: DmerResult) -> bytes:
    """A timeline plot of letdown and between-letdown answers (PNG bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 2.8), dpi=110)
    ax = fig.subplots()
    for low, high, color in ((1, 3.5, "#fff3c4"), (3.5, 6.5, "#ffd9a8"), (6.5, 10.5, "#f6b3b3")):
        ax.axhspan(low, high, color=color, zorder=0)
    if result.letdowns:
        ax.scatter(
            [r.utc for r in result.letdowns],
            [r.score for r in result.letdowns],
            marker="v",
            color="#7a2d8c",
            label="at a letdown",
            zorder=3,
        )
    if result.baseline_times:
        ax.scatter(
            list(result.baseline_times),
            list(result.baseline_scores),
            marker="o",
            color="#2f6f8f",
            label="between letdowns",
            zorder=3,
        )
    ax.set_ylim(-0.5, 10.5)
    ax.set_ylabel("unpleasant (0-10)")
    ax.set_title("Mood answers over time (bands, ours: mild, moderate, high)", fontsize=9)
    if result.letdowns or result.baseline_times:
        ax.legend(loc="upper right", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def to_html(result: DmerResult, generated_utc: datetime, country: str | None = None) -> str:
    """A printable one-page summary to bring to a lactation consultant.

    Args:
        result: the analysis.
        generated_utc: when the report was made (printed on it).
        country: ``[mood] country``, for the help lines.
    """
    png = base64.b64encode(timeline_png(result)).decode()
    text = crisis_text(result, country)
    crisis = f'<p class="crisis"><b>Get help now.</b> {escape(text)}</p>' if text else ""
    history = _history_line(result)
    if history or result.verdict == LOW_MOOD_BETWEEN:
        later = " ".join(x for x in (history, help_lines(country)) if x)
        history_html = f'<p class="crisis">{escape(later)}</p>'
    else:
        history_html = ""
    reasons = "".join(f"<li>{escape(r)}</li>" for r in result.reasons)
    groups = "<br>".join(escape(line) for line in _group_lines(result))
    criteria = "".join(f"<li>{escape(c)}</li>" for c in criteria_lines())
    literature = "".join(f"<li>{escape(ref)}</li>" for ref in LITERATURE)
    color = {
        CONSISTENT: "#7a2d8c",
        NOT_CONSISTENT: "#555",
        LOW_MOOD_BETWEEN: "#b00020",
        NOT_ENOUGH_DATA: "#555",
    }[result.verdict]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>D-MER pattern summary</title>
<style>
 body {{ font: 11pt/1.35 system-ui, sans-serif; max-width: 48rem; margin: 1.5rem auto;
        padding: 0 1rem; color: #222; }}
 h1 {{ font-size: 1.4rem; margin-bottom: .2rem; }}
 h2 {{ font-size: 1.05rem; margin: 1rem 0 .3rem; }}
 .verdict {{ border-left: .4rem solid {color}; padding: .4rem .8rem; font-size: 1.1rem; }}
 .crisis {{ border: 2px solid #b00020; padding: .6rem .8rem; background: #fff0f0; }}
 .note {{ background: #f3f0f7; padding: .5rem .8rem; }}
 img {{ width: 100%; }} small {{ color: #555; }}
 @media print {{ body {{ margin: 0; font-size: 10pt; }} }}
</style></head><body>
<h1>D-MER pattern summary</h1>
<small>Made by letdown on {escape(generated_utc.strftime("%Y-%m-%d %H:%M UTC"))} from
{len(result.letdowns)} answered letdowns in {result.sessions} sessions;
{result.prompts_answered} of {result.prompts_asked} prompts answered.</small>
{crisis}
<p class="verdict">{escape(headline(result))}</p>
<ul>{reasons}</ul>
<img alt="timeline of mood answers at letdowns and between them" src="data:image/png;base64,{png}">
<p>{groups}</p>
{history_html}
<p class="note">{escape(ABOUT_DMER)}</p>
<p class="note">{escape(OURS)} {escape(NOT_A_DIAGNOSIS)}</p>
<h2>Criteria used</h2><ul>{criteria}</ul>
<h2>Where they come from</h2><ul>{literature}</ul>
</body></html>
"""
