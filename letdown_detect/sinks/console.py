"""Terminal sinks: the rich live view with its keys, and ``--json`` event lines.

The live view shows elapsed session time, current flow, volume so far,
letdowns so far and link quality, prints one line per letdown (local time and
session time), and reads single keys: ``f`` or space marks "I feel a letdown
now", ``0``-``9`` (``x`` = 10) answers the open mood question, ``q`` stops the
session. Keys need a POSIX terminal; elsewhere the view runs without them
(Ctrl-C still stops, and the mood page still takes answers).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from typing import IO, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from ..model import Event
from ..summary import clock_text, format_summary
from .base import SessionControl, SessionInfo, SessionStatus, SessionSummary

FELT_KEYS = frozenset("f ")
STOP_KEYS = frozenset("q")
#: Tares the source when it can (a Bluetooth scale's ``tare()``).
TARE_KEYS = frozenset("t")
#: Keys that answer the open mood question, with the 0-10 intensity they stand for.
SCORE_KEYS = {**{str(n): n for n in range(10)}, "x": 10}


class ConsoleSink:
    """The live terminal view.

    Args:
        console: where to draw (default: a rich console on stdout).
        keys: read single keys from stdin when it is a terminal.
        recording: path of the recording being written, shown in the header.
    """

    def __init__(
        self, console: Console | None = None, keys: bool = True, recording: str | None = None
    ) -> None:
        self.console = console or Console()
        self.keys = keys
        self.recording = recording
        self._control: SessionControl | None = None
        self._session: SessionInfo | None = None
        self._live: Live | None = None
        self._status: SessionStatus | None = None
        self._numbers: dict[tuple[str, float], int] = {}
        self._restore_terminal: Any = None
        self._mood: Any = None  # the session's mood sink, when prompts are on
        self._stopped = False
        self._tare_task: asyncio.Task | None = None

    async def start(self, session: SessionInfo, control: SessionControl) -> None:
        """Show the header and the status panel; start listening for keys."""
        self._session, self._control = session, control
        where = f"; recording to {self.recording}" if self.recording else ""
        self.console.print(f"[bold]letdown live[/] from {session.source}{where}")
        self._mood = next(
            (s for s in getattr(control, "sinks", ()) if hasattr(s, "submit_answer")), None
        )
        keys = "Keys: [bold]f[/] or space = I feel a letdown now, [bold]q[/] = stop"
        if self._mood is not None:
            keys += ", [bold]0[/]-[bold]9[/] ([bold]x[/] = 10) = answer the mood question"
            if self._mood.on_prompt is None:
                self._mood.on_prompt = self._show_prompt
            if getattr(self._mood, "tracker", None) is not None:
                self._mood.tracker.on_prompt = self._mood.on_prompt
        if hasattr(getattr(control, "source", None), "tare"):
            keys += ", [bold]t[/] = tare the scale"
        self.console.print(keys + ".")
        self._live = Live(self._panel(), console=self.console, auto_refresh=False, transient=False)
        self._live.start(refresh=True)
        if self.keys:
            self._listen_for_keys()

    async def on_event(self, event: Event, session: SessionInfo) -> None:
        """Print one clear line per letdown (at detection and when it ends) or felt mark."""
        local = session.utc_at(event.onset_s).astimezone().strftime("%H:%M:%S")
        if event.label == "felt_letdown":
            line = f"{local}  You marked a felt letdown at {clock_text(event.onset_s)}."
        else:
            key = (event.channel, round(event.onset_s, 6))
            number = self._numbers.setdefault(key, len(self._numbers) + 1)
            if event.label == "retracted":
                line = (
                    f"{local}  Letdown #{number} taken back: the rise at "
                    f"{clock_text(event.onset_s)} collapsed within seconds (a hand on the bottle?)."
                )
            elif event.complete:
                volume = 0.0 if event.volume_ml is None else event.volume_ml
                line = (
                    f"{local}  Letdown #{number} (from {clock_text(event.onset_s)}) ended at "
                    f"{clock_text(event.end_s)}: {volume:.1f} mL, "
                    f"peak {event.peak_flow_ml_s:.2f} mL/s."
                )
            else:
                line = (
                    f"[bold green]{local}  LETDOWN #{number}[/] at session time "
                    f"{clock_text(event.onset_s)} (flow {event.peak_flow_ml_s:.2f} mL/s, "
                    f"{event.channel})"
                )
        self._print(line)

    async def on_status(self, status: SessionStatus, session: SessionInfo) -> None:
        """Redraw the status panel."""
        self._status = status
        if self._live is not None:
            self._live.update(self._panel(), refresh=True)

    async def stop(self, summary: SessionSummary, session: SessionInfo) -> None:
        """Restore the terminal and print the session summary."""
        self._stop_keys()
        if self._live is not None:
            self._live.stop()
            self._live = None
            if not self.console.is_terminal:
                self.console.print()  # the last status panel has no line end of its own
        self._stopped = True
        for line in format_summary(summary):
            self.console.print(line, highlight=False)
        if self.recording:
            self.console.print(f"Recording: {self.recording}", highlight=False)

    def _print(self, line: str) -> None:
        if self._live is not None:
            self._live.console.print(line, highlight=False)
        else:
            self.console.print(line, highlight=False)

    def _panel(self) -> Table:
        s = self._status
        table = Table.grid(padding=(0, 3))
        table.add_column()
        table.add_column()
        table.add_column()
        table.add_column()
        if s is None:
            table.add_row("waiting for samples...", "", "", "")
            return table
        # Noise can push the smoothed estimate a hair below zero; milk never flows back.
        flow = "-" if s.flow_ml_s is None else f"{max(s.flow_ml_s, 0.0):.2f} mL/s"
        table.add_row(
            f"elapsed [bold]{clock_text(s.t_s)}[/]",
            f"flow [bold]{flow}[/]",
            f"volume [bold]{s.volume_ml:.1f} mL[/]",
            f"letdowns [bold]{s.letdowns}[/]",
        )
        link = "connected" if s.connected else "[bold red]link lost, reconnecting[/]"
        table.add_row(
            f"link {link}",
            f"lost frames {s.lost_frames}",
            f"CRC errors {s.crc_errors}",
            f"reconnects {s.reconnects}  gaps {s.gaps}",
        )
        return table

    def _listen_for_keys(self) -> None:
        try:
            import termios
            import tty

            fd = sys.stdin.fileno()
            if not os.isatty(fd):
                return
            saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
            loop = asyncio.get_running_loop()
            loop.add_reader(fd, self._on_keys, fd)
        except (ImportError, OSError, ValueError, NotImplementedError, AttributeError):
            return

        def restore() -> None:
            loop.remove_reader(fd)
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)

        self._restore_terminal = restore

    def _on_keys(self, fd: int) -> None:
        try:
            pressed = os.read(fd, 64).decode(errors="ignore").lower()
        except OSError:
            pressed = ""
        for key in pressed:
            if key in FELT_KEYS and self._control is not None:
                self._control.mark_felt("keyboard")
            elif key in SCORE_KEYS and self._mood is not None:
                self._answer(SCORE_KEYS[key])
            elif key in TARE_KEYS:
                self._tare()
            elif key in STOP_KEYS and hasattr(self._control, "request_stop"):
                self._print("Stopping...")
                self._control.request_stop()

    def _tare(self) -> None:
        """Ask the session's source to tare, when it is a scale that can."""
        tare = getattr(getattr(self._control, "source", None), "tare", None)
        if tare is not None:
            self._tare_task = asyncio.get_running_loop().create_task(tare())

    def _show_prompt(self, prompt: Any) -> None:
        """A mood question opened (show it) or closed unanswered (say so)."""
        if self._stopped:
            return
        if prompt.status == "open":
            self._print(
                f"Mood check #{prompt.number}: {prompt.question} "
                "Press 0-9 (0 = nothing unpleasant, x = 10) or answer on the mood page."
            )
        elif prompt.status == "expired":
            self._print(f"Mood check #{prompt.number} closed unanswered.")

    def _answer(self, score: int) -> None:
        """Answer the open mood question from the keyboard; the view keeps running."""
        from ..errors import LetdownError

        try:
            from ..mood.answers import terminal_answer  # help panel when the answer calls for it
            from ..mood.help import configured_country

            self._print(terminal_answer(self._mood.submit_answer, score, "", configured_country()))
        except (LetdownError, RuntimeError) as exc:
            self._print(f"Not saved: {exc}")

    def _stop_keys(self) -> None:
        if self._restore_terminal is not None:
            with contextlib.suppress(OSError, ValueError):
                self._restore_terminal()
            self._restore_terminal = None


class JsonLinesSink:
    """``--json``: one ``letdown detect`` JSON object per event line, as events happen.

    Each letdown appears at detection (``end_s`` null) and again complete;
    felt marks have label ``felt_letdown``. The summary goes to stderr.

    Args:
        recording: the ``recording`` field (the CSV being written, or the source).
        out: where the lines go (default stdout).
        err: where the summary goes (default stderr).
    """

    def __init__(
        self, recording: str, out: IO[str] | None = None, err: IO[str] | None = None
    ) -> None:
        self.recording = recording
        self.out = out
        self.err = err

    async def start(self, session: SessionInfo, control: SessionControl) -> None:
        """Nothing to show before the first event."""

    async def on_event(self, event: Event, session: SessionInfo) -> None:
        """Print the event line and flush, so a pipe sees it at once."""
        out = self.out or sys.stdout
        out.write(json.dumps({"recording": self.recording, **event.to_dict()}) + "\n")
        out.flush()

    async def on_status(self, status: SessionStatus, session: SessionInfo) -> None:
        """Status is not part of the event stream."""

    async def stop(self, summary: SessionSummary, session: SessionInfo) -> None:
        """The summary as text on stderr."""
        err = self.err or sys.stderr
        err.write("\n".join(format_summary(summary)) + "\n")
        err.flush()
