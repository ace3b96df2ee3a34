"""Device side of letdown: wire protocol, host decoder, virtual pump and MicroPython firmware.

``protocol`` encodes frames (the same file runs on the board), ``decoder``
turns bytes back into samples, ``virtual_pump`` and ``virtual_ble`` stand in
for hardware. See ``PROTOCOL.md`` and ``README.md`` in this folder.
"""

from .decoder import DecoderStats, DeviceInfo, SampleFrame, StatusFrame, StreamDecoder

__all__ = ["DecoderStats", "DeviceInfo", "SampleFrame", "StatusFrame", "StreamDecoder"]
