"""``letdown session start --nursing`` / ``letdown session stop``: sessions without a sensor.

``start`` runs in the foreground until ``q``, Ctrl-C, ``--duration`` or
``letdown session stop`` (from another terminal or a phone shortcut), which
signals the process named in the state file beside the database.
"""

from __future__ import annotations

import argparse
import sys
import time

from ..model import SessionInfo, SessionSummary


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``session start`` and ``session stop``."""
    from ..mood.live_options import add_live_options

    p = subparsers.add_parser(
        "session",
        help="start or stop a nursing session (felt letdowns and mood prompts, no sensor)",
    )
    sub = p.add_subparsers(dest="session_command", metavar="ACTION", required=True)
    start = sub.add_parser(
        "start",
        help="run a nursing session in the foreground",
        description="Mark felt letdowns (f + Enter, or the big button on the mood page) and "
        "answer the same mood prompts as in a pumping session.",
    )
    start.add_argument(
        "--nursing",
        action="store_true",
        required=True,
        help="a nursing session (the only kind without a sensor)",
    )
    start.add_argument(
        "--duration", type=float, metavar="S", default=None, help="stop after S seconds"
    )
    add_live_options(start)
    start.set_defaults(func=run_start)
    stop = sub.add_parser("stop", help="stop the running nursing session")
    stop.add_argument("--db", metavar="PATH", default=None, help="session database")
    stop.add_argument(
        "--wait",
        type=float,
        metavar="S",
        default=15.0,
        help="how long to wait for the session to finish, s",
    )
    stop.set_defaults(func=run_stop)


def run_start(args: argparse.Namespace) -> int:
    """Run the nursing session until stopped; prints a one-line summary on stdout.

    A nursing session is ``letdown live``'s session with a sensorless source
    (built by :func:`letdown_detect.compose.compose_nursing`).
    """
    from ..compose import compose_nursing, configure_logging
    from ..live import run_live
    from ..mood.nursing import ensure_not_running, remove_state
    from ..store.db import Store, default_db_path

    db = default_db_path(args.db)
    ensure_not_running(db)
    Store(db).close()  # a locked or corrupt database is reported before the session starts
    configure_logging(None)
    composed = compose_nursing(args, db)
    try:
        summary = run_live(composed.session)
    finally:
        remove_state(db)
    print(nursing_summary_line(composed.session.session, summary))
    return 0


def nursing_summary_line(session: SessionInfo | None, summary: SessionSummary) -> str:
    """The line ``session start`` ends with: clock times labelled as the live view labels them.

    >>> from datetime import datetime, timezone
    >>> from letdown_detect.model import Event
    >>> info = SessionInfo("ab12", datetime(2026, 1, 5, 7, 30, tzinfo=timezone.utc), "nursing")
    >>> mark = Event(12.0, 12.0, 0.0, "keyboard", 0.0, end_s=12.0, label="felt_letdown")
    >>> line = nursing_summary_line(info, SessionSummary(75.0, (), 0.0, None, None, (mark,)))
    >>> line.replace(info.local_text(0.0), "T0").replace(info.local_text(12.0), "T1")
    'nursing session ab12: started T0, lasted 1:15; 1 felt letdown(s): felt T1 (session 0:12)'
    """
    from ..summary import clock_text

    if session is None:
        return f"nursing session -: lasted {clock_text(summary.duration_s)}; no felt letdowns"
    felt = ", ".join(
        f"felt {session.local_text(e.onset_s)} (session {clock_text(e.onset_s)})"
        for e in summary.felt
    )
    return (
        f"nursing session {session.session_id}: started {session.local_text(0.0)}, lasted "
        f"{clock_text(summary.duration_s)}; {len(summary.felt)} felt letdown(s)"
        + (f": {felt}" if felt else "")
    )


def run_stop(args: argparse.Namespace) -> int:
    """Signal the running session and wait for it to finish."""
    import os
    import signal

    from ..errors import LetdownError
    from ..mood.nursing import pid_alive, read_state, state_path
    from ..store.db import default_db_path

    db = default_db_path(args.db)
    state = read_state(db)
    if state is None:
        raise LetdownError(f"{state_path(db)}: no nursing session is running on {db}")
    pid, session_id = state["pid"], state.get("session_id")
    if not pid_alive(pid) or not _is_that_session(pid, state):
        state_path(db).unlink(missing_ok=True)
        print(
            f"letdown: session {session_id} (process {pid}) had already ended without "
            "stopping; its letdowns and answers are stored",
            file=sys.stderr,
        )
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.wait
    while state_path(db).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if state_path(db).exists():
        raise LetdownError(
            f"{state_path(db)}: session process {pid} did not stop within {args.wait:g} s"
        )
    print(f"nursing session {session_id} stopped")
    return 0


def _is_that_session(pid: int, state: dict) -> bool:
    """True when process ``pid`` is the nursing session the state file describes.

    A stale state file may name a PID the system has since given to another
    program: the process must run ``letdown session start`` and must have
    started before the session did (a later one reuses the number).
    """
    import os
    from datetime import datetime
    from pathlib import Path

    proc = Path(f"/proc/{pid}")
    try:
        argv = (proc / "cmdline").read_bytes().split(b"\0")
        ticks = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, ValueError, IndexError, StopIteration):
        return True  # no /proc (not Linux): trust the state file as before

    words = [a.decode(errors="replace") for a in argv]
    if not any("letdown" in w for w in words) or "session" not in words or "start" not in words:
        return False
    started = boot + ticks / os.sysconf("SC_CLK_TCK")
    try:
        session_start = datetime.fromisoformat(state["start_utc"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return True
    return started <= session_start + 1.0
