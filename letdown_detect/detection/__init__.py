"""Pure letdown detection on the smoothed flow estimate."""

from ..params import DetectorConfig
from .detector import LetdownDetector

__all__ = ["DetectorConfig", "LetdownDetector"]
