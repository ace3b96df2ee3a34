"""Benchmark `letdown batch`: many simulated 20-minute sessions at 50 Hz on all cores.

Usage:  python benchmarks/bench_batch.py [--recordings 1000] [--workers N] [--dir DIR]

The sessions are generated first with fixed seeds (not timed; kept in DIR when
given, so a second run skips generation), then the batch is timed end to end
(reading CSVs, detection, summaries) through the same ``detect_many`` the CLI
uses. Target (issue 8): 1,000 sessions in under a minute on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from letdown_detect.recording import write_recording
from letdown_detect.research.batch import detect_many
from letdown_detect.sources.simulate import SimConfig, simulate_session

DURATION_S = 1200.0
RATE_HZ = 50.0
KINDS = ("weight_g", "volume_ml", "flow_ml_s", "pressure_pa")


def make_session(path: Path, seed: int) -> Path:
    """Write one seeded session (kinds rotate, every 5th is double pumping)."""
    if not path.exists():
        config = SimConfig(
            kind=KINDS[seed % len(KINDS)],
            double=seed % 5 == 4,
            duration_s=DURATION_S,
            sample_rate_hz=RATE_HZ,
        )
        # 10 significant digits: t_s above 1000 s keeps sub-millisecond resolution.
        write_recording(simulate_session(config, seed=seed).recording, path, precision=10)
    return path


def generate(folder: Path, count: int, workers: int) -> list[Path]:
    """Write ``count`` sessions in parallel unless already present; returns their paths."""
    paths = [folder / f"bench_{seed:05d}.csv" for seed in range(count)]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(make_session, paths, range(count), chunksize=8))


def main(argv: list[str] | None = None) -> int:
    """Generate, time the batch, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--dir", type=Path, help="keep the generated sessions here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.dir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        paths = generate(folder, args.recordings, args.workers)
        generated_s = time.perf_counter() - started
        started = time.perf_counter()
        result = detect_many(paths, workers=args.workers)
        elapsed_s = time.perf_counter() - started
    samples = int(result.summary["samples"].sum())
    failed = len(result.failures)
    table = Table(
        title=f"letdown batch: {args.recordings} x {DURATION_S / 60:.0f} min @ {RATE_HZ:g} Hz"
    )
    for column in ("workers", "recordings", "samples", "seconds", "recordings/min", "samples/s"):
        table.add_column(column, justify="right")
    table.add_row(
        str(args.workers),
        str(len(paths) - failed),
        f"{samples:,}",
        f"{elapsed_s:.1f}",
        f"{60 * len(paths) / elapsed_s:,.0f}",
        f"{samples / elapsed_s:,.0f}",
    )
    console = Console()
    console.print(table)
    console.print(
        f"(generation, not timed: {generated_s:.1f} s; letdowns found: {len(result.events)}; "
        f"failed: {failed}; target: {args.recordings} recordings in < 60 s)",
        highlight=False,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
