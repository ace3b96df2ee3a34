"""Run the detector over many recordings in parallel; results as DataFrames.

Each recording is one task: load, detect, summarise. Tasks run in worker
processes on all cores, or on a dask.distributed cluster (one task per
recording; the workers must see the same file paths). A recording that fails
to load is reported in the summary's ``error`` column and skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import ConfigError, LetdownError, about
from ..recording import events_frame, read_recording
from .analysis import analyse, summary_row

if TYPE_CHECKING:
    from ..params import DetectorConfig

#: Called after each finished recording with (done, total).
Progress = Callable[[int, int], None]

SUMMARY_COLUMNS = (
    "recording",
    "duration_s",
    "samples",
    "letdowns",
    "time_to_first_letdown_s",
    "volume_ml",
    "mean_volume_per_letdown_ml",
    "error",
)
EVENT_COLUMNS = (
    "recording",
    "onset_s",
    "detected_s",
    "duration_s",
    "peak_flow_ml_s",
    "volume_ml",
    "channel",
    "score",
    "label",
)


@dataclass(frozen=True)
class BatchResult:
    """Detections over many recordings."""

    events: pd.DataFrame
    """One row per detected letdown (:data:`EVENT_COLUMNS`), times in s."""
    summary: pd.DataFrame
    """One row per recording (:data:`SUMMARY_COLUMNS`); ``error`` is set when it was skipped."""

    @property
    def failures(self) -> pd.DataFrame:
        """The recordings that could not be loaded, with the reason."""
        return self.summary.loc[self.summary["error"].notna(), ["recording", "error"]]


def find_recordings(inputs: Iterable[str | Path], exclude: Iterable[Path] = ()) -> list[Path]:
    """Recording CSVs named directly or found under folders (recursively).

    Events files (``*.events.csv``) and ``exclude`` are left out.

    Raises:
        ConfigError: an input that does not exist, or no recording found at all.
    """
    skip = {Path(p).resolve() for p in exclude}
    found: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            candidates = sorted(item.rglob("*.csv"))
        elif item.exists():
            candidates = [item]
        else:
            raise ConfigError(f"{item}: no such file or folder; expected recordings (NAME.csv)")
        found += [
            p for p in candidates if not p.name.endswith(".events.csv") and p.resolve() not in skip
        ]
    if not found:
        raise ConfigError("no recordings (NAME.csv) found in " + ", ".join(map(str, inputs)))
    return list(dict.fromkeys(found))


def detect_one(path: str | Path, config: DetectorConfig | None = None) -> dict[str, Any]:
    """Load, detect and summarise one recording (the task a worker runs).

    Returns:
        ``{"events": [row, ...], "summary": row}`` with the recording path in
        every row; a bad recording gives no events and the message in ``error``.
    """
    name = str(path)
    try:
        recording = read_recording(path)
        result = analyse(recording, config, with_flow=False)
    except LetdownError as exc:
        row = dict.fromkeys(SUMMARY_COLUMNS)
        return {"events": [], "summary": {**row, "recording": name, "error": about(name, exc)}}
    events = events_frame(result.events).assign(recording=name)
    summary = {
        "recording": name,
        "samples": len(recording.data),
        **summary_row(result.summary),
        "error": None,
    }
    return {"events": events.to_dict("records"), "summary": summary}


def detect_many(
    paths: Iterable[str | Path],
    config: DetectorConfig | None = None,
    workers: int | None = None,
    dask: Any = None,
    progress: Progress | None = None,
) -> BatchResult:
    """Detect letdowns in many recordings at once.

    Args:
        paths: recording CSVs.
        config: detector parameters for every recording.
        workers: worker processes (default: all cores; 1 runs in this process).
        dask: a dask.distributed scheduler address (``tcp://host:8786``) or
            ``Client``; when given, each recording is one task on that cluster.
        progress: called with ``(done, total)`` after each recording.

    Returns:
        Events and per-recording summary, in the order of ``paths``.
    """
    paths = [str(p) for p in paths]
    if dask is not None:
        results = _on_dask(paths, config, dask, progress)
    else:
        results = _on_cores(paths, config, workers or os.cpu_count() or 1, progress)
    rows = [event for r in results for event in r["events"]]
    return BatchResult(
        events=pd.DataFrame(rows, columns=list(EVENT_COLUMNS)),
        summary=pd.DataFrame([r["summary"] for r in results], columns=list(SUMMARY_COLUMNS)),
    )


def _on_cores(
    paths: list[str], config: DetectorConfig | None, workers: int, progress: Progress | None
) -> list[dict[str, Any]]:
    """Run the tasks in this process (one worker) or in a process pool."""
    if workers < 1:
        raise ConfigError(f"expected at least 1 worker, got {workers}", "workers")
    results: dict[int, dict[str, Any]] = {}
    if not paths:
        return []
    if workers == 1 or len(paths) == 1:
        for i, path in enumerate(paths):
            results[i] = detect_one(path, config)
            _tick(progress, len(results), len(paths))
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(paths))) as pool:
            futures = {pool.submit(detect_one, path, config): i for i, path in enumerate(paths)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                _tick(progress, len(results), len(paths))
    return [results[i] for i in range(len(paths))]


def _on_dask(
    paths: list[str], config: DetectorConfig | None, dask: Any, progress: Progress | None
) -> list[dict[str, Any]]:
    """One task per recording on a dask.distributed cluster."""
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            "--dask needs dask.distributed: pip install 'letdown[dask]'", "dask"
        ) from None
    own_client = not isinstance(dask, distributed.Client)
    if own_client:
        try:
            client = distributed.Client(dask, timeout="5s")
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"{dask}: cannot reach a dask scheduler there ({exc})", "dask"
            ) from None
    else:
        client = dask
    try:
        futures = client.map(detect_one, paths, config=config, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: dict[int, dict[str, Any]] = {}
        for future in distributed.as_completed(futures):
            results[index[future.key]] = future.result()
            _tick(progress, len(results), len(paths))
    finally:
        if own_client:
            client.close()
    return [results[i] for i in range(len(paths))]


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)
