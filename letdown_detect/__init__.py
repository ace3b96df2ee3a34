"""letdown: detect milk ejections in breast-pump sensor streams and pair them with a mood check.

A screening and self-tracking aid for D-MER, never a diagnosis.
"""

__version__ = "0.1.0"

from .errors import ConfigError, DeviceError, LetdownError, ProtocolError, RecordingError
from .model import Channel, Event, SampleBlock
from .recording import Recording, RecordingMeta, read_events, read_recording, write_recording

__all__ = [
    "Channel",
    "ConfigError",
    "DeviceError",
    "Event",
    "LetdownError",
    "ProtocolError",
    "Recording",
    "RecordingError",
    "RecordingMeta",
    "SampleBlock",
    "__version__",
    "read_events",
    "read_recording",
    "write_recording",
]
