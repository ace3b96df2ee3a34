"""``letdown batch DIR_OR_FILES --out results.csv``: detect over many recordings in parallel."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .detect import add_param_option

if TYPE_CHECKING:
    import pandas as pd


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``batch`` subcommand."""
    p = subparsers.add_parser(
        "batch",
        help="detect letdowns in many recordings in parallel",
        description="Run the detector over every recording (NAME.csv) named or found under the "
        "given folders, on all cores, and write one row per letdown plus a per-recording "
        "summary. A bad recording is reported on stderr and skipped; the exit status is then 2.",
    )
    p.add_argument("inputs", nargs="+", type=Path, help="recording CSVs and/or folders")
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        help="events CSV to write (the summary goes to OUT.summary.csv); "
        "without it the summary table is printed",
    )
    p.add_argument("-j", "--workers", type=int, help="worker processes (default: all cores)")
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run one task per recording on this dask.distributed scheduler "
        "(e.g. tcp://10.0.0.5:8786); workers must see the same paths",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_param_option(p)
    p.set_defaults(func=run)


def summary_path(out: Path) -> Path:
    """``results.summary.csv`` beside ``results.csv``."""
    return out.with_name(out.stem + ".summary.csv")


def summary_view(summary: pd.DataFrame) -> pd.DataFrame:
    """The per-recording summary for a terminal: names, m:ss times, whole mL."""
    import pandas as pd

    from ..summary import clock_text

    ok = summary[summary["error"].isna()]
    return pd.DataFrame(
        {
            "recording": [Path(p).stem for p in ok["recording"]],
            "length": ok["duration_s"].map(clock_text),
            "letdowns": ok["letdowns"],
            "first at": ok["time_to_first_letdown_s"].map(clock_text),
            "volume mL": ok["volume_ml"].round(0).astype("Int64"),
            "mL/letdown": ok["mean_volume_per_letdown_ml"].round(1),
        }
    )


def run(args: argparse.Namespace) -> int:
    """Run the batch; returns 2 when some recordings were bad (reported and skipped)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from ..research.batch import detect_many, find_recordings
    from ..research.tables import frame_table
    from .detect import config_from_params

    exclude = [args.out, summary_path(args.out)] if args.out else []
    paths = find_recordings(args.inputs, exclude=exclude)
    err = Console(stderr=True)
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=args.no_progress,
    )
    with bar:
        task = bar.add_task("detecting", total=len(paths))
        result = detect_many(
            paths,
            config=config_from_params(args.param),
            workers=args.workers,
            dask=args.dask,
            progress=lambda done, _total: bar.update(task, completed=done),
        )
    for row in result.failures.itertuples():
        print(f"letdown: {row.error} (skipped)", file=sys.stderr)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        result.events.to_csv(args.out, index=False, float_format="%.3f")
        result.summary.to_csv(summary_path(args.out), index=False, float_format="%.3f")
        ok = len(result.summary) - len(result.failures)
        print(
            f"{len(result.events)} letdowns in {ok} recordings -> {args.out}, "
            f"{summary_path(args.out)}",
            file=sys.stderr,
        )
    else:
        Console(file=sys.stdout).print(frame_table(summary_view(result.summary)))
    return 2 if len(result.failures) else 0
