"""Terminal sinks: the rich live view with its keys, and ``--json`` event lines.

The live view has fixed regions. A log of what happened (letdowns, felt
marks, mood questions and answers, link losses, warnings) scrolls above;
below it, redrawn in place, the mood page's link in full (and a QR code when
a phone can open it and the terminal is tall enough), the keys, and the
status panel (session time, flow, volume, letdowns, link quality). Nothing
else writes to the terminal while the view runs: log records come through
:meth:`ConsoleSink.log_handler`.

Keys (a POSIX terminal; elsewhere the view runs without them): ``f`` or space
marks "I feel a letdown now", ``0``-``9`` (``x`` = 10) answers the open mood
question, ``q`` stops the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import IO, Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..clock import SessionTime
from ..model import Event
from ..summary import clock_text, format_summary
from .base import (
    AnswerGiven,
    EventStream,
    FeltMarked,
    LetdownCompleted,
    LetdownDetected,
    LetdownRetracted,
    LinkLost,
    LinkRestored,
    Notice,
    PromptExpired,
    PromptOpened,
    SessionInfo,
    SessionStatus,
    SessionSummary,
    Sink,
    Status,
    StopRequested,
    felt_mark,
)

FELT_KEYS = frozenset("f ")
STOP_KEYS = frozenset("q")
#: Tares the source when it can (a Bluetooth scale's ``tare()``).
TARE_KEYS = frozenset("t")
#: Keys that answer the open mood question, with the 0-10 intensity they stand for.
SCORE_KEYS = {**{str(n): n for n in range(10)}, "x": 10}
#: Rows the view keeps for itself beside a QR code (link, keys, status, a few log lines).
ROWS_BESIDE_QR = 10


def qr_text(url: str) -> str | None:
    """``url`` as a QR code in text (half blocks, two modules per character row)."""
    try:
        import qrcode
    except ImportError:
        return None
    code = qrcode.QRCode(border=1)
    code.add_data(url)
    code.make(fit=True)
    out = io.StringIO()
    code.print_ascii(out=out)
    return out.getvalue().rstrip("\n")


def letdown_line(session: SessionInfo, e: LetdownDetected) -> str:
    """The log line of a detected letdown, both times labelled."""
    ev = e.event
    return (
        f"LETDOWN #{e.number}: started {session.local_text(ev.onset_s)} "
        f"(session {clock_text(ev.onset_s)}), detected {session.local_text(ev.detected_s)} "
        f"({clock_text(ev.detected_s)}); flow {ev.peak_flow_ml_s:.2f} mL/s, {ev.channel}"
    )


class ConsoleSink(Sink):
    """The live terminal view.

    Args:
        console: where to draw (default: a rich console on stdout).
        keys: read single keys from stdin when it is a terminal.
        recording: path of the recording being written, shown in the header.
        stream: the session's stream, for felt marks and stop requests from keys.
        time: the session's time, for stamping felt marks.
        mood_url: the mood page (with its token), shown in full in its own region.
        mood_on_lan: True when phones on the network can open ``mood_url`` (a QR
            code is shown then); False: the page opens on this computer only.
        answer: answers the open mood question with a 0-10 score from the
            keyboard (the mood sink's ``submit_answer``); None: no mood keys.
        tare: zeroes the source (a Bluetooth scale's ``tare``) on the ``t`` key;
            None: the source cannot tare.
        country: ``[mood] country``, for the help lines shown with an answer that
            calls for help.
    """

    def __init__(
        self,
        console: Console | None = None,
        keys: bool = True,
        recording: str | None = None,
        *,
        stream: EventStream | None = None,
        time: SessionTime | None = None,
        mood_url: str | None = None,
        mood_on_lan: bool = False,
        answer: Callable[[int], str] | None = None,
        tare: Callable[[], Awaitable[None]] | None = None,
        country: str | None = None,
    ) -> None:
        self.console = console or Console()
        self.keys = keys
        self.recording = recording
        self.stream = stream
        self.time = time
        self.mood_url = mood_url
        self.mood_on_lan = mood_on_lan
        self.answer = answer
        self.tare = tare
        self.country = country
        self._tare_task: asyncio.Task | None = None
        self._session: SessionInfo | None = None
        self._live: Live | None = None
        self._status: SessionStatus | None = None
        self._restore_terminal: Any = None
        self._stopped = False
        self._qr = qr_text(mood_url) if mood_url and mood_on_lan else None

    # -- what the session tells us --

    async def start(self, session: SessionInfo) -> None:
        """Show the header and the fixed regions; start listening for keys."""
        self._session = session
        where = f"; recording to {self.recording}" if self.recording else ""
        self.console.print(f"[bold]letdown live[/] from {session.source}{where}", highlight=False)
        self._live = Live(
            self._view(), console=self.console, auto_refresh=False, transient=False,
            redirect_stdout=False, redirect_stderr=False,
        )  # fmt: skip
        self._live.start(refresh=True)
        if self.keys:
            self._listen_for_keys()

    async def on_letdown_detected(self, e: LetdownDetected) -> None:
        """A letdown: one line with when it started and when it was detected."""
        self._print(f"[bold green]{self._at(e.t_s)}  {letdown_line(self._info, e)}[/]")

    async def on_letdown_completed(self, e: LetdownCompleted) -> None:
        """The letdown ended: its volume and peak."""
        ev, s = e.event, self._info
        volume = 0.0 if ev.volume_ml is None else ev.volume_ml
        self._print(
            f"{self._at(e.t_s)}  Letdown #{e.number} (started {s.local_text(ev.onset_s)}) ended "
            f"{s.local_text(ev.end_s or ev.detected_s)} (session {clock_text(ev.end_s)}): "
            f"{volume:.1f} mL, peak {ev.peak_flow_ml_s:.2f} mL/s."
        )

    async def on_letdown_retracted(self, e: LetdownRetracted) -> None:
        """A rise taken back: its number goes to the next letdown."""
        ev, s = e.event, self._info
        self._print(
            f"[yellow]{self._at(e.t_s)}  Letdown #{e.number} taken back: that was not a letdown "
            f"(the rise that started {s.local_text(ev.onset_s)} collapsed within seconds; "
            "a hand on the bottle?).[/]"
        )

    async def on_felt_marked(self, e: FeltMarked) -> None:
        """A felt mark from the keyboard or the mood page."""
        where = "" if e.event.channel == "keyboard" else f" (from the {e.event.channel})"
        self._print(
            f"{self._at(e.t_s)}  You marked a felt letdown at {self._info.local_text(e.t_s)} "
            f"(session {clock_text(e.t_s)}){where}."
        )

    async def on_prompt_opened(self, e: PromptOpened) -> None:
        """A mood question: ask it here too."""
        p = e.prompt
        keys = "Press 0-9 (0 = nothing unpleasant, x = 10) or answer" if self.answer else "Answer"
        self._print(
            f"{self._at(e.t_s)}  Mood check #{p.number}: {p.question} {keys} on the mood page."
        )

    async def on_answer_given(self, e: AnswerGiven) -> None:
        """An answer from any channel was saved: say so, where it came from."""
        from ..mood.help import help_for_answer

        where = {"page": "the mood page", "action": "a notification button"}.get(
            e.channel, f"the {e.channel}"
        )
        self._print(f"{self._at(e.t_s)}  Mood answer {e.score}/10 from {where}: {e.message}")
        panel = help_for_answer(e.score, e.feelings, self.country)  # at once, wherever given
        if panel is not None:
            self._print(panel.text())

    async def on_prompt_expired(self, e: PromptExpired) -> None:
        """A question closed unanswered, or was withdrawn with its rise."""
        from ..mood.prompt import CLOSED_WORDS

        if e.prompt.status == "withdrawn":
            self._print(
                f"{self._at(e.t_s)}  Mood check #{e.prompt.number} {CLOSED_WORDS['withdrawn']}."
            )
            return
        self._print(
            f"{self._at(e.t_s)}  Mood check #{e.prompt.number} closed unanswered at "
            f"{self._info.local_text(e.t_s)}."
        )

    async def on_link_lost(self, e: LinkLost) -> None:
        """The device link dropped."""
        self._print(f"[bold red]{self._at(e.t_s)}  Link lost ({e.reason}); reconnecting...[/]")

    async def on_link_restored(self, e: LinkRestored) -> None:
        """The device is back."""
        self._print(f"{self._at(e.t_s)}  Link back after {clock_text(e.down_s)}.")

    async def on_notice(self, e: Notice) -> None:
        """A sentence for the person."""
        self._print(e.text)

    async def on_stop_requested(self, e: StopRequested) -> None:
        """Say the session is stopping."""
        self._print("Stopping...")

    async def on_status(self, e: Status) -> None:
        """Redraw the fixed regions."""
        self._status = e.status
        self._refresh()

    async def stop(self, summary: SessionSummary) -> None:
        """Restore the terminal and print the session summary."""
        self._stop_keys()
        if self._live is not None:
            self._live.stop()
            self._live = None
            if not self.console.is_terminal:
                self.console.print()  # the last region has no line end of its own
        for line in format_summary(summary):
            self.console.print(line, highlight=False)
        if self.mood_url:
            self.console.print(Text(f"Mood page (closed now): {self.mood_url}"), soft_wrap=True)
        if self.recording:
            self.console.print(f"Recording: {self.recording}", highlight=False, soft_wrap=True)
        self._stopped = True

    # -- the view --

    @property
    def _info(self) -> SessionInfo:
        assert self._session is not None, "hooks come after start()"
        return self._session

    def _at(self, t_s: float) -> str:
        """A log line's stamp: the local time the line is printed (the session's clock), so
        the log reads in time order; the times a line is about are in its text, labelled.
        ``t_s`` (when it happened) stands in when the view has no session time."""
        if self.time is not None:
            t_s = self.time.now_s()
        return self._info.local_text(t_s) if self._session else clock_text(t_s)

    def log_handler(self) -> logging.Handler:
        """A logging handler that writes records into the view's log (never over it)."""
        sink = self

        class _ViewHandler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                try:
                    stamp = f"{sink._at(0.0)}  " if sink._session and sink.time else ""
                    sink.log_line(f"{stamp}letdown: {record.getMessage()}")
                except Exception:  # a log line must never take the session down
                    self.handleError(record)

        return _ViewHandler(logging.INFO)

    def log_line(self, line: str) -> None:
        """Add ``line`` to the log above the fixed regions."""
        self._print(line.replace("[", "\\["))

    def _print(self, line: str) -> None:
        if self._stopped:
            return  # the summary is the last thing on screen
        target = self._live.console if self._live is not None else self.console
        target.print(line, highlight=False, soft_wrap=False)

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._view(), refresh=True)

    def _view(self) -> RenderableType:
        parts: list[RenderableType] = []
        if self.mood_url:
            parts.append(Text.assemble(("Mood page: ", "bold"), (self.mood_url, "cyan")))
            if self._qr and self.console.height >= self._qr.count("\n") + 1 + ROWS_BESIDE_QR:
                parts.append(Text(self._qr))
            elif self._qr:
                parts.append(Text("(a taller window shows a QR code for your phone)", "dim"))
            elif not self.mood_on_lan:
                parts.append(
                    Text("(opens on this computer only; --mood-lan lets your phone open it)", "dim")
                )
        keys = "Keys: f or space = I feel a letdown now, q = stop"
        if self.answer is not None:
            keys += ", 0-9 (x = 10) = answer the mood question"
        if self.tare is not None:
            keys += ", t = tare the scale"
        parts.append(Text(keys + "."))
        parts.append(self._panel())
        return Group(*parts)

    def _panel(self) -> Table:
        s = self._status
        table = Table.grid(padding=(0, 2))
        for _ in range(4):
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
        link = (
            "connected"
            if s.connected
            else f"[bold red]lost {clock_text(s.down_s)}, reconnecting[/]"
        )
        table.add_row(
            f"link {link}",
            f"lost frames {s.lost_frames}",
            f"CRC errors {s.crc_errors}",
            f"reconnects {s.reconnects}  gaps {s.gaps}",
        )
        return table

    # -- keys --

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
            self.key(key)

    def key(self, key: str) -> None:
        """Act on one key press (``f``/space, ``0``-``9``/``x``, ``q``)."""
        now_s = self.time.now_s() if self.time is not None else 0.0
        if key in FELT_KEYS and self.stream is not None:
            self.stream.publish(felt_mark(now_s, "keyboard"))
        elif key in SCORE_KEYS and self.answer is not None:
            from ..errors import LetdownError

            try:
                self.answer(SCORE_KEYS[key])  # the answer comes back as AnswerGiven
            except (LetdownError, RuntimeError) as exc:
                self._print(f"Not saved: {exc}")
        elif key in TARE_KEYS and self.tare is not None:
            self._tare_task = asyncio.get_running_loop().create_task(self.tare())
        elif key in STOP_KEYS and self.stream is not None:
            self.stream.publish(StopRequested(now_s, "keyboard"))

    def _stop_keys(self) -> None:
        if self._restore_terminal is not None:
            with contextlib.suppress(OSError, ValueError):
                self._restore_terminal()
            self._restore_terminal = None


class JsonLinesSink(Sink):
    """``--json``: one ``letdown detect`` JSON object per event line, as events happen.

    Each letdown appears at detection (``end_s`` null) and again complete, a
    retracted rise with label ``retracted``; felt marks have label
    ``felt_letdown``. Notices and the summary go to stderr.

    Args:
        recording: the ``recording`` field (the CSV being written, or the source).
        out: where the lines go (default stdout).
        err: where the summary goes (default stderr).
        mood_url: the mood page, announced on ``err`` when the session starts.
    """

    def __init__(
        self,
        recording: str,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
        mood_url: str | None = None,
    ) -> None:
        self.recording = recording
        self.out = out
        self.err = err
        self.mood_url = mood_url

    async def start(self, session: SessionInfo) -> None:
        """Announce the mood page (stdout stays event lines only)."""
        if self.mood_url:
            await self.on_notice(Notice(0.0, f"mood page: {self.mood_url}"))

    def _line(self, event: Event) -> None:
        out = self.out or sys.stdout
        out.write(json.dumps({"recording": self.recording, **event.to_dict()}) + "\n")
        out.flush()

    async def on_letdown_detected(self, e: LetdownDetected) -> None:
        """The letdown's line, flushed at once so a pipe sees it."""
        self._line(e.event)

    async def on_letdown_completed(self, e: LetdownCompleted) -> None:
        """The complete letdown's line."""
        self._line(e.event)

    async def on_letdown_retracted(self, e: LetdownRetracted) -> None:
        """The retracted rise's line."""
        self._line(e.event)

    async def on_felt_marked(self, e: FeltMarked) -> None:
        """The felt mark's line."""
        self._line(e.event)

    async def on_notice(self, e: Notice) -> None:
        """Notices on stderr."""
        err = self.err or sys.stderr
        err.write(f"letdown: {e.text}\n")
        err.flush()

    async def stop(self, summary: SessionSummary) -> None:
        """The summary as text on stderr."""
        err = self.err or sys.stderr
        err.write("\n".join(format_summary(summary)) + "\n")
        err.flush()
