"""GATT layout of the letdown firmware's Bluetooth LE service.

Plain constants, valid on MicroPython too: copy this file to the board next to
``protocol.py`` (``mpremote cp firmware_bridge/ble_gatt.py :``). The firmware
(``firmware/ble_link.py``), the host (``letdown_detect.sources.ble``) and the
virtual peripheral (``virtual_ble.py``) all use these names.

- ``SAMPLES_CHAR_UUID`` (notify): every notification is exactly one binary
  frame of ``PROTOCOL.md`` (samples, status, or a repeated device info),
  at most ``MTU - 3`` bytes.
- ``INFO_CHAR_UUID`` (read): the current device-info frame.
- ``CONTROL_CHAR_UUID`` (write): one ASCII command byte; ``b"t"`` tares.
"""

#: 128-bit UUIDs (random, version 4); "6c657464" spells "letd".
SERVICE_UUID = "6c657464-6f77-4e2d-9d4d-6e5000000001"
SAMPLES_CHAR_UUID = "6c657464-6f77-4e2d-9d4d-6e5000000002"
INFO_CHAR_UUID = "6c657464-6f77-4e2d-9d4d-6e5000000003"
CONTROL_CHAR_UUID = "6c657464-6f77-4e2d-9d4d-6e5000000004"
#: Advertised names start with this, e.g. ``letdown-3f2a``.
NAME_PREFIX = "letdown-"
#: MTU the firmware asks for; frames are sized to fit ``MTU - 3`` bytes.
PREFERRED_MTU = 247
#: Command bytes accepted on the control characteristic (and on USB serial).
COMMAND_TARE = b"t"
