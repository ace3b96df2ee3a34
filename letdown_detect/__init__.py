"""letdown: detect milk ejections in breast-pump sensor streams and pair them with a mood check.

A screening and self-tracking aid for D-MER, never a diagnosis. Public names
are imported on first use, so ``letdown --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Channel": "model",
    "Event": "model",
    "SampleBlock": "model",
    "ConfigError": "errors",
    "DeviceError": "errors",
    "LetdownError": "errors",
    "ProtocolError": "errors",
    "RecordingError": "errors",
    "DetectorConfig": "params",
    "Pipeline": "pipeline",
    "detect": "pipeline",
    "detect_recording": "pipeline",
    "flow_frame": "pipeline",
    "Recording": "recording",
    "RecordingMeta": "recording",
    "events_frame": "recording",
    "read_events": "recording",
    "read_recording": "recording",
    "write_recording": "recording",
    "SimConfig": "sources.simulate",
    "simulate_session": "sources.simulate",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'letdown_detect' has no attribute {name!r}")
