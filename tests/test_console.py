"""The live view's log: what a parent reads scrolling above the panel."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from datetime import datetime, timezone

from rich.console import Console

from letdown_detect.clock import SessionTime, VirtualClock
from letdown_detect.mood.prompt import Prompt
from letdown_detect.sinks.base import PromptExpired, PromptOpened, SessionInfo
from letdown_detect.sinks.console import ConsoleSink
from letdown_detect.summary import summarize

START = datetime(2026, 3, 1, 6, 0, tzinfo=timezone.utc)
STAMP = re.compile(r"^(\d\d:\d\d:\d\d)  (.*)$")


def test_log_lines_are_stamped_when_printed_so_they_read_in_time_order() -> None:
    # The mood sink can publish a question's "closed unanswered" (at the time it closed)
    # before the next question, asked a moment earlier: the log still reads in order, and
    # the time each line is about stays in its text, labelled.
    clock = VirtualClock(START)
    time = SessionTime(clock)
    time.start(clock.monotonic())
    out = io.StringIO()
    sink = ConsoleSink(console=Console(file=out, width=200), keys=False, time=time)
    session = SessionInfo("s1", START, "test")
    logger = logging.getLogger("letdown_detect.test_console")
    handler = sink.log_handler()

    async def main() -> None:
        await sink.start(session)
        clock.advance(400.0)
        first = Prompt(1, "letdown", 200.0, 380.0, 195.0, status="expired")
        await sink.on_prompt_expired(PromptExpired(380.0, first))
        await sink.on_prompt_opened(PromptOpened(379.0, Prompt(2, "letdown", 379.0, 559.0, 375.0)))
        clock.advance(2.0)
        logger.addHandler(handler)
        try:
            logger.warning("a broker cannot be reached")
        finally:
            logger.removeHandler(handler)
        await sink.stop(summarize(duration_s=402.0, letdowns=[], volume_curve=[]))

    asyncio.run(main())
    lines = [m.groups() for m in map(STAMP.match, out.getvalue().splitlines()) if m]
    assert [text[:16] for _, text in lines] == [
        "Mood check #1 cl",
        "Mood check #2: L",
        "letdown: a broke",
    ]
    assert [stamp for stamp, _ in lines] == [
        session.local_text(400.0),
        session.local_text(400.0),
        session.local_text(402.0),
    ]
    assert f"closed unanswered at {session.local_text(380.0)}." in lines[0][1]
