"""Live sessions end to end on the simulator, on a virtual clock (no waiting)."""

from __future__ import annotations

import asyncio
import json
import stat
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from letdown_detect.cli import main
from letdown_detect.clock import VirtualClock
from letdown_detect.live import LiveSession
from letdown_detect.pipeline import detect_recording
from letdown_detect.recording import events_path, read_events, read_recording, sidecar_path
from letdown_detect.sinks.base import Sink, felt_mark
from letdown_detect.sinks.recorder import RecorderSink
from letdown_detect.sources import open_source

pytestmark = pytest.mark.timeout(120)
START = datetime(2026, 3, 1, 6, 0, tzinfo=timezone.utc)
RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"


class ListSink(Sink):
    """Keeps everything a session tells it; marks a felt letdown at ``felt_at_s``."""

    def __init__(self, felt_at_s: float | None = None) -> None:
        self.felt_at_s = felt_at_s
        self.events, self.statuses, self.summary = [], [], None
        self.numbered: list[tuple[str, int, float]] = []
        self.stream = self.time = None  # the session's, set by _session

    async def on_event(self, event) -> None:
        self.events.append(event)

    async def on_letdown_detected(self, e) -> None:
        self.numbered.append(("detected", e.number, e.event.onset_s))
        await self.on_event(e.event)

    async def on_letdown_completed(self, e) -> None:
        self.numbered.append(("completed", e.number, e.event.onset_s))
        await self.on_event(e.event)

    async def on_letdown_retracted(self, e) -> None:
        self.numbered.append(("retracted", e.number, e.event.onset_s))
        await self.on_event(e.event)

    async def on_felt_marked(self, e) -> None:
        await self.on_event(e.event)

    async def on_status(self, e) -> None:
        self.statuses.append(e.status)
        if self.felt_at_s is not None and e.status.t_s >= self.felt_at_s:
            self.felt_at_s = None
            self.stream.publish(felt_mark(self.time.now_s(), "test"))

    async def stop(self, summary) -> None:
        self.summary = summary


def _session(tmp_path, seed=0, sinks=(), **kw):
    clock = VirtualClock(START)
    source = open_source("sim:", clock=clock, seed=seed, duration_s=300.0, block_s=0.5)
    recorder = RecorderSink(tmp_path / "live.csv")
    session = LiveSession(source, [recorder, *sinks], clock=clock, **kw)
    for sink in sinks:
        sink.stream, sink.time = session.stream, session.time
    return session, source


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One simulated 5-minute session with a felt mark at 100 s."""
    tmp_path = tmp_path_factory.mktemp("live")
    sink = ListSink(felt_at_s=100.0)
    session, source = _session(tmp_path, seed=0, sinks=[sink])
    summary = asyncio.run(session.run())
    return tmp_path / "live.csv", sink, summary, source, session


def test_detect_on_the_live_recording_reproduces_the_live_events_exactly(finished) -> None:
    csv, _, summary, _, _ = finished
    live = [e.to_dict() for e in summary.letdowns]
    assert live, "the seeded session has letdowns"
    again = [e.to_dict() for e in detect_recording(read_recording(csv))]
    assert again == live


def test_the_recording_holds_every_sample_the_simulator_made(finished) -> None:
    csv, _, _, source, _ = finished
    recorded = read_recording(csv).data
    truth = source.simulation.recording.data
    np.testing.assert_array_equal(recorded.to_numpy(), truth.to_numpy())


def test_each_letdown_reaches_sinks_at_detection_and_again_complete(finished) -> None:
    _, sink, summary, _, _ = finished
    retracted = [e for e in sink.events if e.label == "retracted"]
    withdrawn = {e.onset_s for e in retracted}
    letdowns = [e for e in sink.events if e.label == "letdown"]
    first_seen = [e for e in letdowns if not e.complete and e.onset_s not in withdrawn]
    assert len(first_seen) == len(summary.letdowns)
    # A rise that collapsed was announced first, then withdrawn.
    announced = {e.onset_s for e in letdowns if not e.complete}
    assert all(e.complete and e.onset_s in announced for e in retracted)
    for early, final in zip(first_seen, summary.letdowns, strict=True):
        assert early.onset_s == final.onset_s and final.complete
        assert sink.events.index(early) < sink.events.index(final)


def test_sidecar_and_events_file_follow_the_contract(finished) -> None:
    csv, _, summary, _, _ = finished
    meta = json.loads(sidecar_path(csv).read_text())
    assert meta["start_time"] == START.isoformat()
    assert meta["device"].startswith("letdown simulator")
    assert meta["calibration"] == {"g_per_ml": 1.03}
    events = read_events(events_path(csv))
    letdowns = events[events["label"] == "letdown"]
    assert list(letdowns["onset_s"]) == pytest.approx(
        [e.onset_s for e in summary.letdowns], abs=1e-3
    )
    assert letdowns["duration_s"].notna().all(), "a clean stop writes complete events"
    felt = events[events["label"] == "felt_letdown"]
    # on a virtual clock sinks lag the source, so the mark lands at or after 100 s
    assert list(felt["onset_s"]) == pytest.approx([summary.felt[0].onset_s], abs=1e-3)
    assert 100.0 <= summary.felt[0].onset_s < summary.duration_s
    for path in (csv, sidecar_path(csv), events_path(csv)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_summary_adds_up(finished) -> None:
    _, sink, summary, source, session = finished
    assert summary.duration_s == pytest.approx(source.simulation.recording.data["t_s"].iloc[-1])
    assert summary.time_to_first_letdown_s == summary.letdowns[0].onset_s
    assert 0 < summary.time_to_80pct_volume_s < summary.duration_s
    assert summary.volume_ml == pytest.approx(sink.statuses[-1].volume_ml)
    assert summary.volume_ml >= sum(e.volume_ml for e in summary.letdowns) * 0.99
    assert [e.label for e in summary.felt] == ["felt_letdown"]
    assert session.sink_errors == {}


def test_status_reaches_sinks_about_once_a_second_of_clock_time(finished) -> None:
    _, sink, summary, _, _ = finished
    # the virtual clock runs at session speed here: a status every 1-1.5 session seconds
    # (blocks of 0.5 s), also through the simulator's seconds-long dropouts
    t = np.array([s.t_s for s in sink.statuses])
    assert np.all(np.diff(t) >= 0)
    assert summary.duration_s / 1.6 <= len(t) <= summary.duration_s + 2


def test_duration_stops_the_session_at_that_session_time(tmp_path) -> None:
    session, _ = _session(tmp_path, seed=1, duration_s=120.0)
    summary = asyncio.run(session.run())
    data = read_recording(tmp_path / "live.csv").data
    assert data["t_s"].iloc[-1] < 120.0 <= data["t_s"].iloc[-1] + 0.2
    assert summary.duration_s == data["t_s"].iloc[-1]


class BrokenSink(ListSink):
    async def on_event(self, event) -> None:
        raise RuntimeError("this sink is broken")


class HangingSink(ListSink):
    async def on_event(self, event) -> None:
        await asyncio.sleep(3600)


def test_a_failing_or_hanging_sink_neither_stops_nor_starves_the_others(tmp_path, caplog) -> None:
    healthy = ListSink()
    session, _ = _session(
        tmp_path, seed=0, sinks=[BrokenSink(), HangingSink(), healthy], sink_timeout_s=0.05
    )
    summary = asyncio.run(session.run())
    assert summary.letdowns
    completed = [e for e in healthy.events if e.complete and e.label == "letdown"]
    assert completed == list(summary.letdowns)
    n_events = len(healthy.events)
    assert session.sink_errors["BrokenSink"] == n_events
    shown = [r.getMessage() for r in caplog.records if "sink BrokenSink failed" in r.getMessage()]
    hooks = {m.split(" failed in ")[1].split(";")[0] for m in shown}
    assert len(shown) == len(hooks) < n_events  # one traceback per failing hook, the rest counted
    # Each hung hook is cut off and counted; hooks still queued when the session ends are
    # cut off together, once the session stops waiting for that sink (2 x sink_timeout_s).
    assert 1 <= session.sink_errors["HangingSink"] <= n_events
    assert healthy.summary is summary


def test_replay_paces_at_speed_and_finds_what_detect_finds(tmp_path) -> None:
    recording = next(p for p in sorted(RECORDINGS.glob("*.csv")) if ".events" not in p.name)
    clock = VirtualClock(START)
    source = open_source(f"replay:{recording}", clock=clock, speed=4.0, block_s=0.5)
    summary = asyncio.run(LiveSession(source, [], clock=clock).run())
    t = read_recording(recording).data["t_s"]
    # paced: clock time is session time / speed (the first block is due at once)
    assert clock.monotonic() == pytest.approx((t.iloc[-1] - t.iloc[0]) / 4.0, abs=0.5)
    expected = detect_recording(read_recording(recording))
    assert [e.to_dict() for e in summary.letdowns] == [e.to_dict() for e in expected]


def test_replaying_a_missing_file_is_one_line_and_exit_2(tmp_path, capsys) -> None:
    missing = tmp_path / "nope.csv"
    assert main(["live", "--replay", str(missing), "--no-record", "--json"]) == 2
    assert capsys.readouterr().err.strip() == f"letdown: {missing}: no such file"


def test_letdown_numbers_on_the_stream_are_the_summarys(finished) -> None:
    _, sink, summary, _, _ = finished
    onset_of = {n: onset for kind, n, onset in sink.numbered if kind == "completed"}
    assert onset_of, "the seeded session has complete letdowns"
    assert [onset_of[n] for n in sorted(onset_of)] == [e.onset_s for e in summary.letdowns]
    kept = {onset for onset in onset_of.values()}
    for kind, number, onset in sink.numbered:
        if kind == "detected" and onset in kept:  # announced with the number it keeps
            assert onset_of[number] == onset


class AwaySource:
    """A device on a virtual clock: 10 Hz samples (session seconds), gone from ``drop_at_s``
    until ``back_at_s`` (host seconds). While gone, ``refuse``: each reconnect fails;
    ``flap``: a reconnect opens (a BLE link whose channel is configured, no first samples
    awaited) and drops again before any sample."""

    description = "serial:/dev/away"

    def __init__(self, clock, drop_at_s: float, back_at_s: float, mode: str = "refuse") -> None:
        from letdown_detect.sources import LinkStats

        self.clock, self.drop_at_s, self.back_at_s, self.mode = clock, drop_at_s, back_at_s, mode
        self.stats, self.opened = LinkStats(), 0
        self._next_t_s = 0.0

    def _away(self) -> bool:
        return self.drop_at_s <= self.clock.monotonic() < self.back_at_s

    async def open(self):
        from letdown_detect.errors import DeviceError
        from letdown_detect.sources import SourceInfo

        self.opened += 1
        if self._away() and self.mode == "refuse":
            raise DeviceError("/dev/away", "no such serial port")
        return SourceInfo(channels=("weight_g",), sample_rate_hz=10.0, device_time=False)

    async def read(self):
        from letdown_detect.model import SampleBlock
        from letdown_detect.sources import Arrival, LinkLostError

        if self._away():
            raise LinkLostError("unplugged")
        await self.clock.sleep(0.5)
        now = self.clock.monotonic()
        t = np.arange(max(self._next_t_s, now - 0.5), now, 0.1)
        self._next_t_s = now
        block = SampleBlock(t, np.full((t.size, 1), 100.0), ("weight_g",))
        return Arrival(block, now)

    async def close(self) -> None:
        pass


class StreamLog(Sink):
    """Every event the session's stream carried, in order."""

    def __init__(self) -> None:
        self.events = []

    async def on_status(self, e) -> None:
        self.events.append(e)

    async def on_link_lost(self, e) -> None:
        self.events.append(e)

    async def on_link_restored(self, e) -> None:
        self.events.append(e)

    async def on_prompt_opened(self, e) -> None:
        self.events.append(e)

    async def on_prompt_expired(self, e) -> None:
        self.events.append(e)


def _away_session(mode: str, duration_s: float, back_at_s: float, sinks=()):
    clock = VirtualClock(START)
    source = AwaySource(clock, drop_at_s=30.0, back_at_s=back_at_s, mode=mode)
    log = StreamLog()
    session = LiveSession(
        source, [log, *sinks], clock=clock, duration_s=duration_s, backoff_s=(0.5, 10.0)
    )
    return session, log


@pytest.mark.parametrize("mode", ["refuse", "flap"])
def test_the_panels_down_time_grows_through_an_outage(mode) -> None:
    from letdown_detect.sinks.base import LinkLost, LinkRestored, Status

    session, log = _away_session(mode, duration_s=200.0, back_at_s=120.0)
    asyncio.run(session.run())
    kinds = [type(e) for e in log.events if not isinstance(e, Status)]
    assert kinds == [LinkLost, LinkRestored], "one outage, however many attempts"
    lost = next(i for i, e in enumerate(log.events) if isinstance(e, LinkLost))
    back = next(i for i, e in enumerate(log.events) if isinstance(e, LinkRestored))
    down = [e.status for e in log.events[lost + 1 : back] if isinstance(e, Status)]
    assert down and not any(s.connected for s in down)
    down_s = np.array([s.down_s for s in down])
    assert np.all(np.diff(down_s) > 0), "the down time grows with every status"
    assert np.diff(down_s).max() <= 1.0 + 1e-9, "a status at least every status_interval_s"
    # gone at 30 s, back at 120 s on the session's clock: seen at the next attempt (<= 10 s)
    assert 90.0 <= log.events[back].down_s <= 100.0
    assert down_s[-1] >= 89.0
    assert session._status.reconnects == 1


def test_a_session_that_ends_while_the_device_is_gone_shows_how_long() -> None:
    from letdown_detect.sinks.base import Status

    session, log = _away_session("refuse", duration_s=100.0, back_at_s=1e9)
    summary = asyncio.run(session.run())
    last = [e.status for e in log.events if isinstance(e, Status)][-1]
    assert summary.duration_s == pytest.approx(100.0)
    assert not last.connected and last.down_s == pytest.approx(70.0, abs=1.0)


def test_session_time_runs_on_and_prompts_expire_while_the_device_is_gone(tmp_path) -> None:
    from letdown_detect.mood.sink import MoodSink
    from letdown_detect.sinks.base import LinkLost, LinkRestored, PromptExpired, Status
    from letdown_detect.store.writer import StoreWriter

    clock = VirtualClock(START)
    source = AwaySource(clock, drop_at_s=30.0, back_at_s=400.0)
    log, felt = StreamLog(), ListSink(felt_at_s=10.0)
    session = LiveSession(source, [log, felt], clock=clock, duration_s=450.0)
    mood = MoodSink(StoreWriter(tmp_path / "s.db"), port=None, stream=session.stream,
                    time=session.time)  # fmt: skip
    session.sinks.append(mood)
    felt.stream, felt.time = session.stream, session.time
    asyncio.run(session.run())
    kinds = [type(e) for e in log.events]
    lost, back = kinds.index(LinkLost), kinds.index(LinkRestored)
    away = [e for e in log.events[lost:back] if isinstance(e, Status)]
    # session time follows the host clock while no samples come, as --duration does
    assert [e.status.t_s for e in away] == pytest.approx([e.t_s for e in away], abs=1e-6)
    assert 399.0 <= away[-1].status.t_s <= 410.0  # back at 400 s, seen at the next attempt
    (expired,) = [e for e in log.events if isinstance(e, PromptExpired)][:1]
    asked = expired.prompt.asked_s
    assert 10.0 <= asked < 12.0
    assert lost < log.events.index(expired) < back, "closed while the device was gone"
    assert expired.t_s == pytest.approx(asked + 180.0, abs=1.5)
