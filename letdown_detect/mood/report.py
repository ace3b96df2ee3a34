"""The D-MER report in words: plain text, JSON, and a one-page printable HTML summary.

Every report says it is not a diagnosis and suggests a lactation consultant;
where to get help now is shown whenever "hopeless" was ticked or an answer
was severe (7 or more).
"""

from __future__ import annotations

import base64
import io
from datetime import datetime
from html import escape
from typing import Any

from .dmer import (
    CONSISTENT,
    LOW_MOOD_BETWEEN,
    NOT_CONSISTENT,
    NOT_ENOUGH_DATA,
    DmerCriteria,
    DmerResult,
)

NOT_A_DIAGNOSIS = (
    "This summary is not a diagnosis. It shows a pattern in your own answers. Bring it to a "
    "lactation consultant (IBCLC) or your doctor, midwife or health visitor to talk about "
    "what you notice."
)
CRISIS = (
    "If you feel hopeless, or have thoughts of harming yourself or your baby, get help now: "
    "call your local emergency number (112 in Europe, 911 in the US and Canada, 999 in the "
    "UK) or a crisis line: 988 Suicide & Crisis Lifeline (US, call or text 988), Samaritans "
    "116 123 (UK and Ireland), Postpartum Support International helpline 1-800-944-4773 (US). "
    "You deserve support today; it does not have to wait for your next appointment."
)
LITERATURE = (
    "Heise AM, Wiessinger D. Dysphoric milk ejection reflex: a case report. "
    "International Breastfeeding Journal 2011;6:6.",
    "Ureño TL, Berry-Cabán CS, Adams A, et al. Dysphoric milk ejection reflex: a descriptive "
    "study. Breastfeeding Medicine 2019;14(9):666-673.",
    "Cappenberg R, Garcia Garcia J, Happle C, Zychlinsky Scharff A. Dysphoric milk ejection "
    "reflex: risk, prevalence, and persistence. 2025 (preprint: medRxiv "
    "doi:10.1101/2024.06.25.24309475).",
)


def headline(result: DmerResult) -> str:
    """The verdict in one or two plain sentences."""
    if result.verdict == CONSISTENT:
        return (
            f"Consistent with D-MER, {result.severity}: unpleasant feelings came with "
            f"{result.unpleasant} of {len(result.letdowns)} answered letdowns and were "
            "absent between them."
        )
    if result.verdict == LOW_MOOD_BETWEEN:
        return (
            "Low mood also between letdowns. This is not D-MER's pattern. Please talk to a "
            "clinician (your doctor, midwife or health visitor) without delay: mood that stays "
            "low can be postpartum depression or anxiety, which are common and treatable."
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
        return "Not enough data yet: a pattern needs " + ", ".join(parts) + "."
    return "Not consistent with D-MER's pattern so far."


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
        f"Low mood between letdowns: half or more of those answers at {c.low_score}+ of 10.",
        "Severity from the median intensity: mild 1-3, moderate 4-6, severe 7-10.",
        f"Enough data: {c.min_letdown_answers} answered letdowns over {c.min_sessions} "
        f"sessions and {c.min_baseline_answers} answers between letdowns.",
    ]


def to_dict(result: DmerResult) -> dict[str, Any]:
    """The report as JSON-ready data (``letdown dmer --json``)."""
    return {
        "verdict": result.verdict,
        "headline": headline(result),
        "severity": result.severity,
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
            }
            for r in result.letdowns
        ],
        "crisis": CRISIS if result.crisis else None,
        "not_a_diagnosis": NOT_A_DIAGNOSIS,
        "criteria": criteria_lines(),
        "literature": list(LITERATURE),
    }


def _group_lines(result: DmerResult) -> list[str]:
    lines = []
    if result.weeks:
        lines.append("By week (answered letdowns, unpleasant, mean intensity):")
        lines += [
            f"  {w.name}: {w.letdowns}, {w.unpleasant}, {w.mean_score:g}" for w in result.weeks
        ]
        if result.trend:
            lines.append(f"  trend: {result.trend}")
    if len(result.by_kind) > 1 or any(k.name == "nursing" for k in result.by_kind):
        lines.append("Pumping vs nursing (answered letdowns, unpleasant, mean intensity):")
        lines += [
            f"  {k.name}: {k.letdowns}, {k.unpleasant}, {k.mean_score:g}" for k in result.by_kind
        ]
    return lines


def to_text(result: DmerResult) -> str:
    """The report as plain text for the terminal."""
    lines = []
    if result.crisis:
        lines += ["GET HELP NOW: " + CRISIS, ""]
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
    lines += ["", *groups, *([""] if groups else []), NOT_A_DIAGNOSIS]
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
    ax.set_title("Mood answers over time (bands: mild, moderate, severe)", fontsize=9)
    if result.letdowns or result.baseline_times:
        ax.legend(loc="upper right", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def to_html(result: DmerResult, generated_utc: datetime) -> str:
    """A printable one-page summary to bring to a lactation consultant.

    Args:
        result: the analysis.
        generated_utc: when the report was made (printed on it).
    """
    png = base64.b64encode(timeline_png(result)).decode()
    crisis = f'<p class="crisis"><b>Get help now.</b> {escape(CRISIS)}</p>' if result.crisis else ""
    reasons = "".join(f"<li>{escape(r)}</li>" for r in result.reasons)
    groups = "<br>".join(escape(line) for line in _group_lines(result))
    criteria = "".join(f"<li>{escape(c)}</li>" for c in criteria_lines())
    literature = "".join(f"<li>{escape(ref)}</li>" for ref in LITERATURE)
    color = {
        CONSISTENT: "#7a2d8c",
        NOT_CONSISTENT: "#2f6f3f",
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
<p class="note">{escape(NOT_A_DIAGNOSIS)}</p>
<h2>Criteria used</h2><ul>{criteria}</ul>
<h2>Where they come from</h2><ul>{literature}</ul>
</body></html>
"""
