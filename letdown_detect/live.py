"""The live session: source -> pipeline -> sinks, on one asyncio event loop.

This is the only module that owns an event loop, the wall clock, signal
handling and reconnects. Everything it needs to know about time comes from
the :class:`~letdown_detect.clock.Clock` it is given, so tests run whole
sessions on a :class:`~letdown_detect.clock.VirtualClock` in milliseconds.

Data path per arrival: device time -> host time (:class:`DeviceClock`) ->
session seconds -> drop samples that do not move time forward -> ``on_block``
(the recorder) -> ``Pipeline.process`` (the same code ``letdown detect``
runs) -> numbered letdown events on the session's stream. Each sink has its
own queue and worker task fed from that stream, so a slow or failing sink
never delays detection or the other sinks; its errors are logged and
counted, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from collections import Counter
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ._compiled import cache_is_warm
from .clock import Clock, DeviceClock, SessionTime, SystemClock
from .errors import DeviceError, ProtocolError
from .model import Event, SampleBlock, SessionInfo, SessionStatus, SessionSummary
from .params import DetectorConfig
from .pipeline import Pipeline, warm_up
from .sinks.base import (
    EventStream,
    FeltMarked,
    LetdownCompleted,
    LetdownDetected,
    LetdownRetracted,
    LinkLost,
    LinkRestored,
    SessionEvent,
    Sink,
    Status,
    StopRequested,
)
from .sources import Arrival, LinkLostError, Source, SourceInfo
from .summary import LetdownNumbers, clock_text, count_gaps, summarize

__all__ = ["LiveSession", "SystemClock", "run_live"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: What the first run's compile of the warm-up pipelines took here (a 2-core machine:
#: 6.6-6.7 s), host s.
FIRST_COMPILE_S = 7.0


async def _within(hook: Awaitable[None], timeout_s: float) -> None:
    """Await ``hook`` for at most ``timeout_s``; no extra task where asyncio allows (3.11+)."""
    timeout = getattr(asyncio, "timeout", None)
    if timeout is None:
        await asyncio.wait_for(hook, timeout_s)
        return
    async with timeout(timeout_s):
        await hook


class _SinkWorker:
    """One sink's queue and the task that feeds it hook calls in order."""

    def __init__(self, sink: Sink, timeout_s: float, errors: Counter[str]) -> None:
        self.sink = sink
        self.name = type(sink).__name__
        self.timeout_s = timeout_s
        self.errors = errors
        self._reported: set[str] = set()  # hooks whose failure was logged (once each)
        self.queue: asyncio.Queue[tuple[str, tuple[Any, ...]] | None] = asyncio.Queue()
        self.task = asyncio.create_task(self._work(), name=f"sink {self.name}")

    def post(self, hook: str, *args: Any) -> None:
        """Queue a call of ``hook`` (skipped when the sink keeps the base's no-op)."""
        if hook in ("start", "stop") or self.sink.handles(hook):
            self.queue.put_nowait((hook, args))

    def deliver(self, event: SessionEvent) -> None:
        """The sink's subscription to the session's stream."""
        self.post(event.hook, event)

    async def _work(self) -> None:
        while (item := await self.queue.get()) is not None:
            hook, args = item
            try:
                await _within(getattr(self.sink, hook)(*args), self.timeout_s)
            except asyncio.TimeoutError:
                self.errors[self.name] += 1
                log.warning("sink %s: %s took longer than %.1f s", self.name, hook, self.timeout_s)
            except Exception:
                self.errors[self.name] += 1
                if hook not in self._reported:  # once: a sink failing on every block
                    self._reported.add(hook)  # must not bury the terminal in tracebacks
                    log.exception(
                        "sink %s failed in %s; the session goes on (further failures "
                        "of this hook are counted, not shown)",
                        self.name,
                        hook,
                    )

    async def close(self, timeout_s: float) -> None:
        self.queue.put_nowait(None)
        try:
            await asyncio.wait_for(self.task, timeout_s)
        except asyncio.TimeoutError:
            self.errors[self.name] += 1
            log.warning("sink %s did not finish within %.1f s", self.name, timeout_s)


class LiveSession:
    """One live session: reads the source, runs the pipeline, publishes what happens.

    The session owns the loop, reconnects and numbering; it publishes typed
    events on ``stream`` (see :mod:`letdown_detect.sinks.base`) and listens
    there for felt marks and stop requests. It never calls a sink directly
    except through the sink's own queue.

    Args:
        source: where samples come from (see :func:`letdown_detect.sources.open_source`);
            a source with no channels (``sensorless:``) makes a nursing session.
        sinks: event consumers (:class:`~letdown_detect.sinks.base.Sink` subclasses).
        clock: time source (:class:`SystemClock` in real use).
        config: detector configuration (``None`` = the defaults ``letdown detect`` uses).
        duration_s: stop at this session time, s, also when no samples arrive
            (session time then runs on the host clock); ``None`` = until the stream ends.
        kind: ``pumping`` or ``nursing``.
        recording: the recording's CSV, announced to sinks (the store keeps it).
        stream: the event stream sinks publish on (a new one when omitted).
        time: session time shared with the sinks (a new one on ``clock`` when omitted).
        status_interval_s: how often sinks get a status, host seconds.
        backoff_s: first and longest wait between reconnect attempts, host seconds.
        sink_timeout_s: longest a sink hook may take before it is counted as failed, s.
        warn_down_s: say at WARNING that the device is gone after this long, host s
            (and again every minute).
    """

    def __init__(
        self,
        source: Source,
        sinks: Sequence[Sink] = (),
        *,
        clock: Clock,
        config: DetectorConfig | None = None,
        duration_s: float | None = None,
        kind: str = "pumping",
        recording: Path | None = None,
        stream: EventStream | None = None,
        time: SessionTime | None = None,
        status_interval_s: float = 1.0,
        backoff_s: tuple[float, float] = (0.5, 10.0),
        sink_timeout_s: float = 5.0,
        warn_down_s: float = 10.0,
    ) -> None:
        self.source = source
        self.sinks = list(sinks)
        self.clock = clock
        self.config = config or DetectorConfig()
        self.duration_s = duration_s
        self.kind = kind
        self.recording = recording
        self.stream = stream or EventStream()
        self.time = time or SessionTime(clock)
        self.status_interval_s = status_interval_s
        self.backoff_s = backoff_s
        self.sink_timeout_s = sink_timeout_s
        self.warn_down_s = warn_down_s
        self.sink_errors: Counter[str] = Counter()
        self.session: SessionInfo | None = None
        self._stop = False
        self._workers: list[_SinkWorker] = []
        self._numbers = LetdownNumbers()
        self._felt: list[Event] = []
        self._volume_curve: list[tuple[float, float]] = []
        self._status = SessionStatus(t_s=0.0, flow_ml_s=None, volume_ml=0.0, letdowns=0)
        self._last_t_s: float | None = None
        self._last_status_host_s: float | None = None
        self._reconnects = 0
        self._gaps = 0
        self._down_since_s: float | None = None
        self._next_warning_s = 0.0
        #: Samples dropped because they did not move session time forward (or came before it).
        self.dropped_samples = 0
        self._info: SourceInfo | None = None

    def request_stop(self) -> None:
        """Stop after the current block, flush, summarise (Ctrl-C, ``q``, SIGTERM)."""
        self._stop = True

    def letdowns(self) -> list[Event]:
        """Letdowns detected so far (newest version of each, retracted ones left out)."""
        return [e for e in self._numbers.letdowns() if e.label == "letdown"]

    @property
    def stopping(self) -> bool:
        """True once a stop was requested."""
        return self._stop

    # --- the session ----------------------------------------------------

    async def run(self) -> SessionSummary:
        """Run until the stream ends, ``duration_s`` passes or a stop is requested.

        Raises:
            DeviceError, ProtocolError: the source cannot be opened at the start.
        """
        await self._warm_up()
        # the session starts now: device samples buffered from before are dropped
        host0, start_utc = self.clock.monotonic(), self.clock.utc()
        info = self._info = await self.source.open()
        self.time.start(host0, info.speed)
        try:
            pipeline = (
                Pipeline(info.channels, calibration=info.calibration, config=self.config)
                if info.channels
                else None
            )
            self.session = SessionInfo(
                session_id=uuid.uuid4().hex[:12],
                start_utc=start_utc,
                source=self.source.description,
                kind=self.kind,
                recording=self.recording,
                channels=info.channels,
                sample_rate_hz=info.sample_rate_hz,
                device=info.device,
                calibration=dict(info.calibration),
            )
            self._workers = [
                _SinkWorker(s, self.sink_timeout_s, self.sink_errors) for s in self.sinks
            ]
            for worker in self._workers:
                self.stream.subscribe(worker.deliver)
            self.stream.subscribe(self._on_stream)
            self._post("start", self.session)
            device_clock = DeviceClock() if info.device_time else None
            while not self._stop:
                arrival = await self._read()
                if arrival is None:
                    break
                if self._down_since_s is not None and len(arrival.block):
                    self._link_restored()  # samples again: the outage is over
                block = self._to_session_time(arrival, device_clock, host0)
                if len(block) and pipeline is not None:
                    self._handle(block, pipeline, arrival.host_s)
                elif self._past_duration():
                    self._stop = True  # no samples (device gone, or none to send): host clock
                self._maybe_status()
                await asyncio.sleep(0)  # let the sinks take what this block produced now
            if pipeline is not None:
                self._emit(pipeline.flush())
                self._update_status(pipeline)
            summary = self._summary()
            self._publish(Status(summary.duration_s, self._status))
            self._post("stop", summary)
            return summary
        finally:
            self.stream.unsubscribe(self._on_stream)
            for worker in self._workers:
                self.stream.unsubscribe(worker.deliver)
                await worker.close(self.sink_timeout_s * 2)
            await self.source.close()

    def _summary(self) -> SessionSummary:
        if self._down_since_s is not None:
            log.warning(
                "%s: the device was gone for the last %s of the session",
                self.source.description,
                clock_text(self.clock.monotonic() - self._down_since_s),
            )
        if self._last_t_s is None or self._down_since_s is not None or not self._info.channels:
            now = self.time.now_s()
            end_s = now if self.duration_s is None else min(now, self.duration_s)
            end_s = max(end_s, self._last_t_s or 0.0)
        else:
            end_s = self._last_t_s
        self._status = replace(self._status, t_s=end_s)
        if self._last_t_s is not None:
            self._volume_curve.append((self._last_t_s, self._status.volume_ml))
        return summarize(
            duration_s=end_s,
            letdowns=self.letdowns(),
            volume_curve=self._volume_curve,
            felt=self._felt,
        )

    async def _warm_up(self) -> None:
        """Compile the detector's loops before the session starts when no cache has them
        (numba compiles at the first call: a few seconds that would look like a frozen view)."""
        if self.source.description.startswith("nursing") or cache_is_warm():
            return
        log.warning("preparing the detector (first run, about %.0f s)...", FIRST_COMPILE_S)
        host = SystemClock()  # compiling takes real seconds, whatever the session's clock
        began = host.monotonic()
        await asyncio.to_thread(warm_up, self.config)
        log.warning("detector ready (%.1f s)", host.monotonic() - began)

    def _until_duration(self, wait_s: float) -> float:
        """``wait_s``, cut short so a wait never runs past ``duration_s`` (host s)."""
        if self.duration_s is None:
            return wait_s
        left_s = (self.duration_s - self.time.now_s()) / max(self.time.speed, 1e-9)
        return max(0.0, min(wait_s, left_s))

    def _past_duration(self) -> bool:
        return self.duration_s is not None and self.time.now_s() >= self.duration_s

    async def _read(self) -> Arrival | None:
        backoff = self.backoff_s[0]
        while not self._stop:
            try:
                return await self.source.read()
            except LinkLostError as exc:
                self._link_lost(str(exc))
            await self.source.close()
            while not self._stop:
                if self._past_duration():
                    self._stop = True
                    break
                await self._wait(self._until_duration(backoff))
                if self._stop or self._past_duration():
                    continue
                backoff = min(backoff * 2, self.backoff_s[1])
                try:
                    await self._ticking(self.source.open())
                except (DeviceError, ProtocolError) as exc:
                    log.info("%s: reconnect failed (%s)", self.source.description, exc)
                    self._warn_if_gone(exc)
                    self._maybe_status()
                    continue
                # the outage ends with the first samples (see run), not here: a link that
                # opens and drops again before any sample is still the same outage
                backoff = self.backoff_s[0]
                break
        return None

    async def _wait(self, wait_s: float) -> None:
        """Sleep ``wait_s`` on the session's clock, publishing a status at least every
        ``status_interval_s`` meanwhile (down time and session time keep moving on the
        panel, and prompts expire, while the device is away); a stop ends the wait."""
        end_s = self.clock.monotonic() + wait_s
        while not self._stop and (left_s := end_s - self.clock.monotonic()) > 0:
            await self.clock.sleep(min(left_s, self.status_interval_s))
            self._maybe_status(force=True)

    async def _ticking(self, work: Awaitable[T]) -> T:
        """Await ``work`` (a reconnect attempt, which may wait seconds for a first sample),
        publishing a status every ``status_interval_s`` of the session's clock meanwhile."""
        task = asyncio.ensure_future(work)
        try:
            await asyncio.sleep(0)  # an attempt that fails at once needs no tick
            while not task.done():
                tick = asyncio.ensure_future(self.clock.sleep(self.status_interval_s))
                try:
                    await asyncio.wait({task, tick}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    tick.cancel()
                self._maybe_status()
        except BaseException:
            task.cancel()
            raise
        return task.result()

    def _link_lost(self, reason: str) -> None:
        log.info("%s: link lost (%s); reconnecting", self.source.description, reason)
        if self._down_since_s is not None:  # dropped again before any sample came back
            self._warn_if_gone(LinkLostError(reason))
            return
        self._down_since_s = self.clock.monotonic()
        self._next_warning_s = self.warn_down_s
        self._publish(LinkLost(self.time.now_s(), reason))
        self._maybe_status(force=True)

    def _link_restored(self) -> None:
        down_s = self._down_s()
        self._down_since_s = None
        self._reconnects += 1
        self._publish(LinkRestored(self.time.now_s(), down_s))
        self._maybe_status(force=True)

    def _down_s(self) -> float:
        """How long the device has been gone, s of the session's clock (0 while connected)."""
        return 0.0 if self._down_since_s is None else self.clock.monotonic() - self._down_since_s

    def _link_state(self) -> dict[str, Any]:
        """The status fields that describe the link."""
        return {
            "connected": self._down_since_s is None,
            "down_s": self._down_s(),
            "reconnects": self._reconnects,
        }

    def _status_t_s(self) -> float:
        """Session time a status carries: the newest sample's while samples come, the
        session's clock while the device is gone or there is no sensor (never back)."""
        follows_samples = self._info is not None and bool(self._info.channels)
        follows_samples = follows_samples and self._down_since_s is None
        t_s = (self._last_t_s or 0.0) if follows_samples else self.time.now_s()
        return max(self._status.t_s, t_s)

    def _warn_if_gone(self, exc: Exception) -> None:
        if self._down_since_s is None:
            return
        down_s = self.clock.monotonic() - self._down_since_s
        if down_s < self._next_warning_s:
            return
        self._next_warning_s = down_s + 60.0
        ends = (
            ""
            if self.duration_s is None
            else f"; the session ends at {clock_text(self.duration_s)}"
        )
        log.warning(
            "%s: the device is gone: no samples for %s (%s); still trying to reconnect%s",
            self.source.description,
            clock_text(down_s),
            exc,
            ends,
        )

    def _to_session_time(
        self, arrival: Arrival, device_clock: DeviceClock | None, host0: float
    ) -> SampleBlock:
        block = arrival.block
        if not len(block):
            return block
        if device_clock is None:
            t = block.t_s
        else:
            t = device_clock.map(block.t_s, arrival.host_s) - host0
        keep = np.isfinite(t) & (t >= 0.0)
        # samples must move time forward: reordered or repeated ones are dropped and counted
        floor = -np.inf if self._last_t_s is None else self._last_t_s
        keep &= t > np.fmax.accumulate(np.concatenate(([floor], t[:-1])))
        self.dropped_samples += int((~keep).sum())
        if self.duration_s is not None:
            if t[keep].size and t[keep][-1] >= self.duration_s:
                self._stop = True
            keep &= t < self.duration_s
        return SampleBlock(t[keep], block.values[keep], block.channels)

    def _handle(self, block: SampleBlock, pipeline: Pipeline, host_s: float) -> None:
        self._gaps += count_gaps(block.t_s, self._last_t_s, self.config.gap_s)
        self._last_t_s = float(block.t_s[-1])
        self.time.advance(self._last_t_s, host_s)
        self._post("on_block", block)
        self._emit(pipeline.process(block))
        self._update_status(pipeline)
        volume = self._status.volume_ml
        if not self._volume_curve or self._last_t_s >= self._volume_curve[-1][0] + 1.0:
            self._volume_curve.append((self._last_t_s, volume))

    def _emit(self, events: Sequence[Event]) -> None:
        for event in events:
            if event.label == "retracted":
                number = self._numbers.retract(event)
                if number:
                    self._publish(LetdownRetracted(event.detected_s, number, event))
            elif event.complete:
                number = self._numbers.keep(event)
                self._publish(LetdownCompleted(event.end_s or event.detected_s, number, event))
            else:
                number = self._numbers.keep(event)
                self._publish(LetdownDetected(event.detected_s, number, event))

    def _on_stream(self, event: SessionEvent) -> None:
        if isinstance(event, FeltMarked):
            self._felt.append(event.event)
        elif isinstance(event, StopRequested):
            self.request_stop()

    def _update_status(self, pipeline: Pipeline) -> None:
        status = pipeline.status
        stats = self.source.stats
        flow, volume = status.flow_ml_s, status.volume_ml
        self._status = SessionStatus(
            t_s=self._status_t_s(),
            flow_ml_s=None if flow is None or not np.isfinite(flow) else float(flow),
            volume_ml=0.0 if volume is None or not np.isfinite(volume) else float(volume),
            letdowns=len(self.letdowns()),
            lost_frames=stats.lost_frames,
            crc_errors=stats.crc_errors,
            gaps=self._gaps,
            **self._link_state(),
        )

    def _maybe_status(self, force: bool = False) -> None:
        now = self.clock.monotonic()
        due = self._last_status_host_s is None or now - self._last_status_host_s >= (
            self.status_interval_s
        )
        if force or due:
            self._last_status_host_s = now
            self._status = replace(
                self._status,
                t_s=self._status_t_s(),
                letdowns=len(self.letdowns())
                if self._info and self._info.channels
                else len(self._felt),
                **self._link_state(),
            )
            self._publish(Status(self.time.now_s(), self._status))

    def _publish(self, event: SessionEvent) -> None:
        self.stream.publish(event)

    def _post(self, hook: str, *args: Any) -> None:
        for worker in self._workers:
            worker.post(hook, *args)


def run_live(session: LiveSession) -> SessionSummary:
    """Run ``session`` on a fresh event loop; Ctrl-C and SIGTERM stop it cleanly.

    Returns:
        The summary, also after Ctrl-C.
    """

    async def main() -> SessionSummary:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, session.request_stop)
        return await session.run()

    return asyncio.run(main())
