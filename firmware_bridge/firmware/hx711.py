"""HX711 24-bit load-cell ADC, bit-banged on two GPIO pins."""

from machine import Pin

#: Clock pulses after the 24 data bits select the next gain / channel.
_GAIN_PULSES = {128: 1, 32: 2, 64: 3}


class HX711:
    """One HX711 converter.

    Args:
        dout: GPIO number of the data line (DOUT/DT).
        sck: GPIO number of the clock line (SCK/PD_SCK).
        gain: 128 or 64 (channel A) or 32 (channel B).
    """

    def __init__(self, dout: int, sck: int, gain: int = 128) -> None:
        self.dout = Pin(dout, Pin.IN)
        self.sck = Pin(sck, Pin.OUT)
        self.sck.value(0)
        self.pulses = _GAIN_PULSES[gain]

    def is_ready(self) -> bool:
        """True when a conversion waits to be read (DOUT low)."""
        return self.dout.value() == 0

    def read_raw(self):
        """The next conversion as a signed count, or ``None`` when none is ready."""
        if self.dout.value():
            return None
        sck, dout = self.sck, self.dout
        value = 0
        for _ in range(24):
            sck.value(1)
            sck.value(0)
            value = (value << 1) | dout.value()
        for _ in range(self.pulses):
            sck.value(1)
            sck.value(0)
        if value & 0x800000:
            value -= 0x1000000
        return value

    def power_down(self) -> None:
        """Sleep: SCK high for more than 60 us."""
        self.sck.value(0)
        self.sck.value(1)

    def power_up(self) -> None:
        """Wake up (the next conversion uses gain 128)."""
        self.sck.value(0)
