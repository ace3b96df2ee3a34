"""The error family: each error keeps its culprit and builds one sentence.

A user mistake (bad file, wrong port, bad option) raises a ``LetdownError``;
``cli.main`` prints its message on one line and exits 2. Anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class LetdownError(Exception):
    """Base class for every error caused by input, configuration or devices."""


class ConfigError(LetdownError, ValueError):
    """A bad option, parameter or calibration.

    Args:
        message: one sentence: what is wrong and what was expected.
        key: the option or setting at fault, when there is one.
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        self.key = key
        super().__init__(message)


class RecordingError(LetdownError):
    """A recording or events file that cannot be read as the contract says.

    Args:
        path: the file at fault.
        problem: what was expected and what was found.
        line: 1-based line number in the file, when known.
    """

    def __init__(self, path: str | Path, problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path} line {line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class DeviceError(LetdownError, OSError):
    """A port or device that is missing, busy, forbidden or switched off.

    Args:
        port: the serial port, BLE address or name at fault.
        problem: what happened and what to try.
    """

    def __init__(self, port: str, problem: str) -> None:
        self.port = port
        self.problem = problem
        LetdownError.__init__(self, f"{port}: {problem}")

    def __str__(self) -> str:
        return f"{self.port}: {self.problem}"


class ProtocolError(LetdownError):
    """A stream from which nothing decodable arrives.

    Args:
        source: the port or file the bytes came from.
        problem: what was expected and what arrived.
    """

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        super().__init__(f"{source}: {problem}")


def about(path: str | Path, exc: Exception) -> str:
    """The message of ``exc`` as one sentence naming ``path`` (added when it is not named).

    >>> about("a.csv", ConfigError("channel pressure_pa needs a calibration"))
    'a.csv: channel pressure_pa needs a calibration'
    """
    text = str(exc)
    return text if str(path) in text else f"{path}: {text}"
