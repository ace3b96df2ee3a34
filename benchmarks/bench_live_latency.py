"""Added latency of a live session: a sample block's arrival -> what it caused reaches the sinks.

Runs simulated sessions through the full live path (real clock, recorder
writing to a temporary folder, JSON-lines sink, a measuring sink) and
reports, per block and per letdown event, the time from the moment the
source handed the block over to the moment a sink hook ran. Target: p99 of
the event latency under 50 ms. The simulator is paced faster than real time
(``--speed``), which loads the loop more than a real pump would.

    python benchmarks/bench_live_latency.py [--sessions 6] [--speed 50] [--duration 300]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
from pathlib import Path

import numpy as np

from letdown_detect.live import LiveSession, SystemClock
from letdown_detect.sinks.base import Sink
from letdown_detect.sinks.console import JsonLinesSink
from letdown_detect.sinks.recorder import RecorderSink
from letdown_detect.sources import open_source

TARGET_P99_MS = 50.0


class StampedSource:
    """Wraps a source and remembers when each block arrived (session time of its last sample)."""

    def __init__(self, source) -> None:
        self.source = source
        self.description = source.description
        self.arrivals: list[tuple[float, float]] = []  # (last t_s, host_s)

    @property
    def stats(self):
        return self.source.stats

    async def open(self):
        return await self.source.open()

    async def read(self):
        arrival = await self.source.read()
        if arrival is not None and len(arrival.block):
            self.arrivals.append((float(arrival.block.t_s[-1]), arrival.host_s))
        return arrival

    async def close(self) -> None:
        await self.source.close()


class LatencySink(Sink):
    """Notes when blocks and events reach it (host monotonic seconds).

    A sink gets hooks in the order the session posted them, so an event is
    attributed to the block posted just before it: the block whose samples
    made the detector emit it.
    """

    def __init__(self) -> None:
        self.blocks: list[tuple[float, float]] = []  # (last t_s, received host_s)
        self.events: list[tuple[float, float]] = []  # (last t_s of its block, received host_s)

    async def on_block(self, block) -> None:
        self.blocks.append((float(block.t_s[-1]), time.monotonic()))

    async def on_letdown_detected(self, e) -> None:
        if self.blocks:
            self.events.append((self.blocks[-1][0], time.monotonic()))


def _latencies_ms(arrivals, received) -> np.ndarray:
    """Receive time minus the arrival time of the block (known by its last t_s), ms."""
    arrived = dict(arrivals)
    return np.array([(seen - arrived[t]) * 1000.0 for t, seen in received])


async def _one_session(seed: int, speed: float, duration_s: float, folder: Path):
    clock = SystemClock()
    source = StampedSource(
        open_source("sim:", clock=clock, seed=seed, speed=speed, duration_s=duration_s)
    )
    probe = LatencySink()
    sinks = [
        RecorderSink(folder / f"s{seed}.csv"),
        JsonLinesSink("bench", out=io.StringIO(), err=io.StringIO()),
        probe,
    ]
    session = LiveSession(source, sinks, clock=clock)
    await session.run()
    return _latencies_ms(source.arrivals, probe.blocks), _latencies_ms(
        source.arrivals, probe.events
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--speed", type=float, default=50.0)
    parser.add_argument("--duration", type=float, default=300.0, help="session length, s")
    args = parser.parse_args()
    blocks, events = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.sessions):
            b, e = asyncio.run(_one_session(seed, args.speed, args.duration, Path(tmp)))
            blocks.append(b)
            events.append(e)
    rows = [("block -> sinks (on_block)", np.concatenate(blocks))]
    rows.append(("letdown event -> sinks (on_letdown_detected)", np.concatenate(events)))
    print(
        f"live latency: {args.sessions} simulated sessions of {args.duration:g} s at "
        f"{args.speed:g}x real time, 20 Hz, recorder + JSON sink attached"
    )
    print(f"{'path':<38} {'n':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, ms in rows:
        if ms.size == 0:
            print(f"{name:<38} {0:>7} {'-':>8} {'-':>8} {'-':>8}")
            continue
        p50, p99 = np.percentile(ms, [50, 99])
        print(f"{name:<38} {ms.size:>7} {p50:>8.2f} {p99:>8.2f} {ms.max():>8.2f}")
    event_ms = rows[1][1]
    verdict = "met" if event_ms.size and np.percentile(event_ms, 99) < TARGET_P99_MS else "NOT met"
    print(f"target: event p99 < {TARGET_P99_MS:g} ms -> {verdict}")


if __name__ == "__main__":
    main()
