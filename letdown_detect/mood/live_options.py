"""``letdown live`` options for the session store and mood prompts, and their sinks.

``--db PATH`` (or ``$LETDOWN_DB``) picks the store; ``--mood/--no-mood`` turns
the prompts and page on or off; ``--mood-port``, ``--mood-lan`` and
``--mood-from FILE`` say where answers come from. The ``[mood]`` section of the
config file sets the prompt timing and the page defaults::

    [mood]
    expiry_s = 600            # an unanswered prompt closes after 10 min
    baseline_gap_s = 180      # baseline prompts wait 3 min after a letdown onset
    baseline_interval_s = 180 # and come at most every 3 min
    max_baseline = 3          # per session
    port = 0                  # 0 = any free port
    lan = false               # true: phones on the same network may open the page
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # at run time only when sinks are built: `letdown detect` never loads them
    from ..clock import SessionTime
    from ..sinks.base import EventStream, Sink


def add_live_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--db``, ``--mood/--no-mood``, ``--mood-port``, ``--mood-lan``, ``--mood-from``."""
    group = parser.add_argument_group("session store and mood check")
    group.add_argument(
        "--db",
        metavar="PATH",
        default=None,
        help="session database (default: $LETDOWN_DB or the per-user data folder)",
    )
    group.add_argument(
        "--mood",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="ask how you feel at each letdown and between them (default: on)",
    )
    group.add_argument(
        "--mood-port",
        type=int,
        metavar="PORT",
        default=None,
        help="port of the mood page (default: [mood] port, or any free port)",
    )
    group.add_argument(
        "--mood-lan",
        action="store_true",
        default=None,
        help="let phones on the local network open the mood page (default: this computer only)",
    )
    group.add_argument(
        "--mood-from",
        metavar="FILE",
        default=None,
        help="answer prompts from a diary CSV t_s,score[,feelings] (feelings split by ';')",
    )


def mood_settings(config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The checked ``[mood]`` section (defaults filled in).

    Raises:
        ConfigError: an unknown key or a bad value, naming it.
    """
    from ..config import Key, check_section, in_file, load_config
    from .prompt import PromptConfig, care_keys

    table = (config if config is not None else load_config()).get("mood", {})
    defaults = PromptConfig()
    seconds = "a positive number of seconds"
    keys = {
        name: Key(getattr(defaults, name), (int, float), seconds)
        for name in ("expiry_s", "baseline_gap_s", "baseline_interval_s")
    }
    keys["max_baseline"] = Key(defaults.max_baseline, (int,), "a whole number >= 0")
    keys["port"] = Key(0, (int,), "a TCP port number (0 = any free port)")
    keys["lan"] = Key(False, (bool,), "true or false")
    keys.update(care_keys())  # country, daily cap, first letdown only, ask less (mood/prompt.py)
    return in_file(lambda: check_section("mood", table, keys))  # its errors name the file


def sinks_from_options(
    args: argparse.Namespace,
    config: dict[str, Any] | None = None,
    log: TextIO = sys.stderr,
    *,
    stream: EventStream | None = None,
    time: SessionTime | None = None,
) -> list[Sink]:
    """A ``StoreSink`` always, and a ``MoodSink`` unless ``--no-mood`` (in that order).

    Diary lines that cannot be read are reported on ``log`` and skipped. A
    mood page port that cannot be served is named once on ``log``; the
    session goes on without the page (the terminal still takes answers).

    Args:
        stream: the session's stream and ``time`` its time (given to the mood sink).

    Raises:
        ConfigError: bad ``[mood]`` settings or diary values.
        RecordingError: the diary file cannot be read.
    """
    from datetime import datetime, timezone

    from ..errors import DeviceError
    from ..store.db import default_db_path
    from ..store.store_sink import StoreSink, StoreWorker
    from ..store.writer import StoreWriter
    from .answers import Diary, read_diary
    from .history import burden_options
    from .prompt import PromptConfig
    from .sink import MoodSink

    writer = StoreWorker(StoreWriter(default_db_path(args.db), log=log))
    sinks: list[Sink] = [StoreSink(writer)]
    if not args.mood:
        return sinks
    settings = mood_settings(config)
    diary = None
    if args.mood_from:
        entries, problems = read_diary(args.mood_from)
        for problem in problems:
            print(f"letdown: {problem} (line skipped)", file=log)
        diary = Diary(entries)
    prompt_config = PromptConfig(
        expiry_s=float(settings["expiry_s"]),
        baseline_gap_s=float(settings["baseline_gap_s"]),
        baseline_interval_s=float(settings["baseline_interval_s"]),
        max_baseline=settings["max_baseline"],
        **burden_options(settings, default_db_path(args.db), datetime.now(timezone.utc)),
    )
    port = settings["port"] if args.mood_port is None else args.mood_port
    lan = settings["lan"] if args.mood_lan is None else args.mood_lan
    wiring = {"diary": diary, "stream": stream, "time": time}
    try:
        mood = MoodSink(writer, prompt_config, port=port, lan=lan, **wiring)
    except DeviceError as exc:
        print(f"letdown: {exc}; the session goes on without the mood page", file=log)
        mood = MoodSink(writer, prompt_config, port=None, **wiring)
    sinks.append(mood)
    return sinks
