"""The recorder's events file: a retraction is marked the moment it happens, and the file
that replaces it at a clean stop is private (0600) from its creation, never chmod-ed later."""

from __future__ import annotations

import asyncio
import os
import stat
from dataclasses import replace
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letdown_detect.model import Event
from letdown_detect.recording import drop_retracted, events_path, read_events
from letdown_detect.sinks import recorder as recorder_module
from letdown_detect.sinks.base import (
    LetdownDetected,
    LetdownRetracted,
    SessionInfo,
    SessionSummary,
)
from letdown_detect.sinks.recorder import RecorderSink

SESSION = SessionInfo(
    "s1", datetime(2026, 3, 1, 6, tzinfo=timezone.utc), "test", channels=("weight_g",)
)


def _event(label: str, end_s: float | None) -> Event:
    return Event(61.25, 63.0, 0.4, "weight_g", 2.0, end_s=end_s, label=label)


def _no_chmod(*args, **kwargs):
    raise AssertionError("a health-data file was made private after its creation (chmod)")


def test_retraction_is_in_the_file_at_once_and_the_stop_rewrite_is_0600(tmp_path, monkeypatch):
    csv = tmp_path / "rec.csv"
    sink = RecorderSink(csv)
    modes = []
    real_replace = os.replace

    def watching_replace(src, dst):  # the mode the temporary file had all along
        modes.append((os.path.basename(src), stat.S_IMODE(os.stat(src).st_mode)))
        real_replace(src, dst)

    async def run() -> None:
        await sink.start(SESSION)
        await sink.on_letdown_detected(LetdownDetected(63.0, 1, _event("letdown", None)))
        await sink.on_letdown_retracted(LetdownRetracted(66.0, 1, _event("retracted", 66.0)))
        # a crash now leaves a file that import reads without the retracted rise
        frame = read_events(events_path(csv))
        assert frame["label"].tolist() == ["letdown", "retracted"]
        assert drop_retracted(frame).empty
        monkeypatch.setattr(recorder_module.os, "replace", watching_replace)
        monkeypatch.setattr(recorder_module.os, "chmod", _no_chmod)
        await sink.stop(SessionSummary(70.0, (), 0.0, None, None))

    old = os.umask(0o022)
    try:
        asyncio.run(run())
    finally:
        os.umask(old)
    assert ("rec.events.csv.tmp", 0o600) in modes
    assert stat.S_IMODE(events_path(csv).stat().st_mode) == 0o600
    assert read_events(events_path(csv)).empty  # the clean stop keeps complete letdowns only


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    onsets=st.lists(st.floats(10.0, 3000.0), min_size=1, max_size=12, unique=True),
    retract=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_appended_letdowns_and_retractions_read_back_as_the_letdowns_that_stand(
    tmp_path, onsets, retract
) -> None:
    csv = tmp_path / f"rt{len(onsets)}.csv"
    sink = RecorderSink(csv)
    standing = []

    async def run() -> None:
        await sink.start(SESSION)
        for number, (onset, retracted) in enumerate(zip(onsets, retract, strict=False), 1):
            event = Event(onset, onset + 2.0, 0.4, "weight_g", 2.0)
            await sink.on_letdown_detected(LetdownDetected(onset + 2.0, number, event))
            if retracted:
                gone = replace(event, end_s=onset + 5.0, label="retracted")
                await sink.on_letdown_retracted(LetdownRetracted(onset + 5.0, number, gone))
            else:
                standing.append(round(onset, 3))
        sink._events.close()  # as a crash leaves it: no clean-stop rewrite

    asyncio.run(run())
    frame = drop_retracted(read_events(events_path(csv)))
    assert frame["onset_s"].round(3).tolist() == standing
