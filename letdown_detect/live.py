"""The live session: source -> pipeline -> sinks, on one asyncio event loop.

This is the only module that owns an event loop, the wall clock, signal
handling and reconnects. Everything it needs to know about time comes from
the :class:`~letdown_detect.clock.Clock` it is given, so tests run whole
sessions on a :class:`~letdown_detect.clock.VirtualClock` in milliseconds.

Data path per arrival: device time -> host time (:class:`DeviceClock`) ->
session seconds -> drop samples that do not move time forward -> sample
sinks (the recorder) -> ``Pipeline.process`` (the same code ``letdown detect``
runs) -> event sinks. Each sink has its own queue and worker task, so a slow
or failing sink never delays detection or the other sinks; its errors are
logged and counted, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .clock import Clock, DeviceClock
from .errors import DeviceError, ProtocolError
from .model import Event, SampleBlock
from .params import DetectorConfig
from .pipeline import Pipeline
from .sinks.base import SessionInfo, SessionStatus, SessionSummary, Sink
from .sources import Arrival, LinkLostError, Source, SourceInfo
from .summary import summarize

log = logging.getLogger(__name__)

#: A jump in sample times longer than this counts as a gap, s.
GAP_S = 1.0


class SystemClock:
    """The host's clocks: ``time.monotonic``, UTC now and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes back."""
        return time.monotonic()

    def utc(self) -> datetime:
        """The current UTC time."""
        return datetime.now(timezone.utc)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of real time."""
        await asyncio.sleep(seconds)


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
        self.queue: asyncio.Queue[tuple[str, tuple[Any, ...]] | None] = asyncio.Queue()
        self.task = asyncio.create_task(self._work(), name=f"sink {self.name}")

    def post(self, hook: str, *args: Any) -> None:
        if hasattr(self.sink, hook):
            self.queue.put_nowait((hook, args))

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
                log.exception("sink %s failed in %s; the session goes on", self.name, hook)

    async def close(self, timeout_s: float) -> None:
        self.queue.put_nowait(None)
        try:
            await asyncio.wait_for(self.task, timeout_s)
        except asyncio.TimeoutError:
            self.errors[self.name] += 1
            log.warning("sink %s did not finish within %.1f s", self.name, timeout_s)


class LiveSession:
    """One live session; also the ``SessionControl`` its sinks receive.

    Args:
        source: where samples come from (see :func:`letdown_detect.sources.open_source`).
        sinks: event consumers; a sink with an ``on_block(block, session)``
            coroutine also receives every sample block (the recorder does).
        clock: time source (:class:`SystemClock` in real use).
        config: detector configuration (``None`` = the defaults ``letdown detect`` uses).
        duration_s: stop after this much session time, s (``None`` = until the stream ends).
        kind: ``pumping`` or ``nursing``.
        record_dir: folder of the recording, announced to sinks.
        status_interval_s: how often sinks get a status, host seconds.
        backoff_s: first and longest wait between reconnect attempts, host seconds.
        sink_timeout_s: longest a sink hook may take before it is counted as failed, s.
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
        record_dir: Path | None = None,
        status_interval_s: float = 1.0,
        backoff_s: tuple[float, float] = (0.5, 10.0),
        sink_timeout_s: float = 5.0,
    ) -> None:
        self.source = source
        self.sinks = list(sinks)
        self.clock = clock
        self.config = config
        self.duration_s = duration_s
        self.kind = kind
        self.record_dir = record_dir
        self.status_interval_s = status_interval_s
        self.backoff_s = backoff_s
        self.sink_timeout_s = sink_timeout_s
        self.sink_errors: Counter[str] = Counter()
        self.session: SessionInfo | None = None
        self._stop = False
        self._workers: list[_SinkWorker] = []
        self._letdowns: dict[tuple[str, float], Event] = {}
        self._felt: list[Event] = []
        self._volume_curve: list[tuple[float, float]] = []
        self._status = SessionStatus(t_s=0.0, flow_ml_s=None, volume_ml=0.0, letdowns=0)
        self._last_t_s: float | None = None
        self._last_host_s = 0.0
        self._last_status_host_s: float | None = None
        self._reconnects = 0
        self._gaps = 0
        self._connected = False
        #: Samples dropped because they did not move session time forward (or came before it).
        self.dropped_samples = 0
        self._info: SourceInfo | None = None

    # --- SessionControl -------------------------------------------------

    def now_s(self) -> float:
        """Current session time, s (extrapolated from the newest sample)."""
        if self._last_t_s is None:
            return 0.0
        speed = self._info.speed if self._info else 1.0
        return self._last_t_s + max(0.0, self.clock.monotonic() - self._last_host_s) * speed

    def mark_felt(self, source: str) -> None:
        """Record "I feel a letdown now" as a ``felt_letdown`` event.

        Args:
            source: where the mark came from (``keyboard``, ``mood page``); kept
                in the event's ``channel`` field.
        """
        t = self.now_s()
        flow = self._status.flow_ml_s
        event = Event(
            onset_s=t,
            detected_s=t,
            peak_flow_ml_s=0.0 if flow is None else flow,
            channel=source,
            score=0.0,
            end_s=t,
            label="felt_letdown",
        )
        self._felt.append(event)
        self._post("on_event", event, self.session)

    def status(self) -> SessionStatus:
        """The latest status snapshot."""
        return self._status

    def letdowns(self) -> list[Event]:
        """Letdowns detected so far (newest version of each, retracted ones left out)."""
        kept = (e for e in self._letdowns.values() if e.label == "letdown")
        return sorted(kept, key=lambda e: e.onset_s)

    def request_stop(self) -> None:
        """Stop after the current block, flush, summarise (Ctrl-C, ``q``, ``--duration``)."""
        self._stop = True

    @property
    def source_info(self) -> SourceInfo | None:
        """What the source delivers (channels, rate, device, calibration), once open."""
        return self._info

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
        # the session starts now: device samples buffered from before are dropped
        host0, start_utc = self.clock.monotonic(), self.clock.utc()
        info = self._info = await self.source.open()
        self._connected = True
        try:
            pipeline = Pipeline(info.channels, calibration=info.calibration, config=self.config)
            self.session = SessionInfo(
                session_id=uuid.uuid4().hex[:12],
                start_utc=start_utc,
                source=self.source.description,
                kind=self.kind,
                record_dir=self.record_dir,
                channels=info.channels,
            )
            self._workers = [
                _SinkWorker(s, self.sink_timeout_s, self.sink_errors) for s in self.sinks
            ]
            self._post("start", self.session, self)
            device_clock = DeviceClock() if info.device_time else None
            while not self._stop:
                arrival = await self._read()
                if arrival is None:
                    break
                block = self._to_session_time(arrival, device_clock, host0)
                if len(block):
                    self._handle(block, pipeline)
                self._maybe_status()
                await asyncio.sleep(0)  # let the sinks take what this block produced now
            self._emit(pipeline.flush())
            self._update_status(pipeline)
            if self._last_t_s is not None:
                self._volume_curve.append((self._last_t_s, self._status.volume_ml))
            summary = summarize(
                duration_s=self._last_t_s or 0.0,
                letdowns=self.letdowns(),
                volume_curve=self._volume_curve,
                felt=self._felt,
            )
            self._post("on_status", self._status, self.session)
            self._post("stop", summary, self.session)
            return summary
        finally:
            for worker in self._workers:
                await worker.close(self.sink_timeout_s * 2)
            await self.source.close()

    async def _read(self) -> Arrival | None:
        backoff = self.backoff_s[0]
        while not self._stop:
            try:
                return await self.source.read()
            except LinkLostError as exc:
                self._connected = False
                log.warning("%s: link lost (%s); reconnecting", self.source.description, exc)
                self._maybe_status(force=True)
            await self.source.close()
            while not self._stop:
                await self.clock.sleep(backoff)
                backoff = min(backoff * 2, self.backoff_s[1])
                try:
                    await self.source.open()
                except (DeviceError, ProtocolError) as exc:
                    log.info("%s: reconnect failed (%s)", self.source.description, exc)
                    self._maybe_status()
                    continue
                self._reconnects += 1
                self._connected = True
                backoff = self.backoff_s[0]
                break
        return None

    def _to_session_time(
        self, arrival: Arrival, device_clock: DeviceClock | None, host0: float
    ) -> SampleBlock:
        block = arrival.block
        self._last_host_s = arrival.host_s
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

    def _handle(self, block: SampleBlock, pipeline: Pipeline) -> None:
        if self._last_t_s is not None and block.t_s[0] - self._last_t_s > GAP_S:
            self._gaps += 1
        self._gaps += int((np.diff(block.t_s) > GAP_S).sum())
        self._last_t_s = float(block.t_s[-1])
        self._post("on_block", block, self.session)
        self._emit(pipeline.process(block))
        self._update_status(pipeline)
        volume = self._status.volume_ml
        if not self._volume_curve or self._last_t_s >= self._volume_curve[-1][0] + 1.0:
            self._volume_curve.append((self._last_t_s, volume))

    def _emit(self, events: Sequence[Event]) -> None:
        for event in events:
            key = (event.channel, round(event.onset_s, 6))
            self._letdowns[key] = event
            self._post("on_event", event, self.session)

    def _update_status(self, pipeline: Pipeline) -> None:
        status = pipeline.status
        stats = self.source.stats
        flow, volume = status.flow_ml_s, status.volume_ml
        self._status = SessionStatus(
            t_s=self._last_t_s or 0.0,
            flow_ml_s=None if flow is None or not np.isfinite(flow) else float(flow),
            volume_ml=0.0 if volume is None or not np.isfinite(volume) else float(volume),
            letdowns=len(self.letdowns()),
            lost_frames=stats.lost_frames,
            crc_errors=stats.crc_errors,
            reconnects=self._reconnects,
            gaps=self._gaps,
            connected=self._connected,
        )

    def _maybe_status(self, force: bool = False) -> None:
        now = self.clock.monotonic()
        due = self._last_status_host_s is None or now - self._last_status_host_s >= (
            self.status_interval_s
        )
        if force or due:
            self._last_status_host_s = now
            self._status = replace(
                self._status, connected=self._connected, reconnects=self._reconnects
            )
            self._post("on_status", self._status, self.session)

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
