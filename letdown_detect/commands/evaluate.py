"""``letdown evaluate DIR``: detections against annotations, per recording and overall."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .detect import add_param_option

SPEC_HELP = (
    "'annotator:NAME' (two annotators: both as references, plus their agreement), "
    "'params:KEY=VALUE[,KEY=VALUE...]' or 'params:FILE.json' (detector parameters), "
    "or 'default' (the default detector)"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` subcommand."""
    p = subparsers.add_parser(
        "evaluate",
        help="score the detector against annotations (precision, recall, F1, latency)",
        description="Detect letdowns in every annotated recording (NAME.csv with "
        "NAME.events.csv) and score them (the metrics of the project's design notes): a "
        "detection matches an annotated onset within --tolerance seconds, one-to-one, nearest "
        "first. Reports each recording and ALL (pooled), plus felt_letdown marks against "
        "detections. A bad recording or events file is reported on stderr and skipped; the "
        "exit status is then 2.",
    )
    p.add_argument("inputs", nargs="+", type=Path, help="folders and/or recording CSVs")
    p.add_argument(
        "--tolerance", type=float, default=15.0, help="onset match tolerance, s (default 15)"
    )
    p.add_argument("--annotator", help="reference annotator when an events file has several")
    p.add_argument(
        "--compare", nargs=2, metavar=("A", "B"), help="put two settings side by side: " + SPEC_HELP
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON instead of tables")
    out.add_argument("--csv", type=Path, metavar="OUT", help="also write all rows to this CSV")
    p.add_argument("-j", "--workers", type=int, help="worker processes (default: all cores)")
    add_param_option(p)
    p.set_defaults(func=run)


def parse_spec(spec: str) -> tuple[str, Any]:
    """``("annotator", name)`` or ``("params", DetectorConfig)`` from a --compare value.

    Raises:
        ConfigError: an unknown form, parameter or value.
    """
    from ..errors import ConfigError
    from .detect import config_from_params

    kind, _, value = spec.partition(":")
    if spec == "default":
        return "params", config_from_params([])
    if kind == "annotator" and value:
        return "annotator", value
    if kind != "params" or not value:
        raise ConfigError(f"--compare {spec!r}: expected {SPEC_HELP}", "compare")
    if not value.endswith(".json"):
        return "params", config_from_params(value.split(","))
    try:
        params = json.loads(Path(value).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{value}: cannot read detector parameters ({exc})", "compare") from None
    if not isinstance(params, dict):
        raise ConfigError(f"{value}: expected a JSON object of detector parameters", "compare")
    return "params", config_from_params([f"{k}={v}" for k, v in params.items()])


def run(args: argparse.Namespace) -> int:
    """Print the scores (table or JSON); optionally write them as CSV."""
    from rich.console import Console

    from ..errors import ConfigError
    from ..research.batch import find_recordings
    from ..research.compare import evaluate_recordings
    from ..research.tables import frame_table
    from .detect import config_from_params

    check_tolerance(args.tolerance)
    configs: dict[str, Any] = {"detector": config_from_params(args.param)}
    annotators = [args.annotator] if args.annotator else []
    if args.compare:
        (kind_a, a), (kind_b, b) = map(parse_spec, args.compare)
        if kind_a != kind_b:
            raise ConfigError(
                "--compare: expected two parameter sets or two annotators, got one of each",
                "compare",
            )
        if kind_a == "annotator":
            annotators = [a, b]
        else:
            configs = {args.compare[0]: a, args.compare[1]: b}
    paths = find_recordings(args.inputs, exclude=[args.csv] if args.csv else [])
    result = evaluate_recordings(paths, configs, annotators, args.tolerance, args.workers)
    for row in result.skipped.itertuples():
        if row.bad:
            print(f"letdown: {row.reason} (skipped)", file=sys.stderr)
        else:
            print(f"letdown: {row.recording}: {row.reason}, not scored", file=sys.stderr)
    status = 2 if len(result.bad) else 0
    if result.scores.empty and status:
        print("letdown: nothing left to score (every annotated recording was bad)", file=sys.stderr)
        return status
    if result.scores.empty:
        raise ConfigError(
            "no annotated recordings: expected NAME.events.csv beside each NAME.csv in "
            + ", ".join(map(str, args.inputs)),
            "inputs",
        )
    if args.json:
        records = result.scores.astype(object).where(result.scores.notna(), None)
        json.dump(records.to_dict("records"), sys.stdout, indent=1)
        print()
        return status
    if args.csv:
        result.scores.to_csv(args.csv, index=False, float_format="%.4f")
        print(f"wrote {len(result.scores)} rows to {args.csv}", file=sys.stderr)
    short = {
        "recording": "recording",
        "comparison": "comparison",
        "tp": "tp",
        "fp": "fp",
        "fn": "fn",
        "precision": "P",
        "recall": "R",
        "f1": "F1",
        "median_abs_onset_error_s": "err s",
        "latency_median_s": "lat s",
        "latency_p95_s": "p95 s",
        "false_alarms_per_h": "FA/h",
    }
    table = result.scores[list(short)].rename(columns=short)
    table["recording"] = [Path(r).stem for r in table["recording"]]
    console = Console(file=sys.stdout)
    per = table[table["recording"] != "ALL"].drop(columns=["P", "R", "p95 s"])
    console.print(frame_table(per, title="per recording"))
    overall = table[table["recording"] == "ALL"].drop(columns="recording")
    console.print(frame_table(overall, title="overall (pooled over recordings)"))
    console.print(
        "P precision, R recall, err median |onset error|, lat median detection latency "
        "(detected_s - true onset), FA/h false alarms per hour",
        markup=False,
        highlight=False,
    )
    return status


def check_tolerance(tolerance_s: float) -> float:
    """``--tolerance`` as given, when it is a positive finite number of seconds.

    Raises:
        ConfigError: zero, negative, NaN or infinite.
    """
    import math

    from ..errors import ConfigError

    if not (math.isfinite(tolerance_s) and tolerance_s > 0):
        raise ConfigError(
            f"--tolerance must be a positive number of seconds, got {tolerance_s:g}", "tolerance"
        )
    return tolerance_s
