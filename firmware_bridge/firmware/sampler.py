"""Sensors and the sampler: a hardware timer fills a ring buffer at a fixed rate.

The timer interrupt only notes the time and schedules the reading
(``micropython.schedule``): reading a sensor and boxing floats allocate
memory, which an interrupt must not do. The main loop takes samples out.
"""

import time
from array import array

import micropython
from machine import Timer, disable_irq, enable_irq

_NAN = float("nan")


class LoadCell:
    """A load cell on an HX711, in grams.

    Args:
        hx711: the converter.
        grams_per_count: scale factor, g per count (calibrate with a known weight).
    """

    def __init__(self, hx711, grams_per_count: float) -> None:
        self.hx711 = hx711
        self.grams_per_count = grams_per_count
        self.offset = 0

    def read_counts(self):
        """Raw counts, or ``None`` when the converter is not ready."""
        return self.hx711.read_raw()

    def read(self):
        """Weight, g, or ``None`` when no conversion is ready."""
        raw = self.hx711.read_raw()
        return None if raw is None else (raw - self.offset) * self.grams_per_count


class PressureSensor:
    """An analog pressure sensor on an ADC pin, in pascals.

    Args:
        adc: a ``machine.ADC``.
        pa_per_count: scale factor, Pa per ``read_u16`` count.
    """

    def __init__(self, adc, pa_per_count: float) -> None:
        self.adc = adc
        self.pa_per_count = pa_per_count
        self.offset = 0

    def read_counts(self):
        """Raw ADC counts (0..65535)."""
        return self.adc.read_u16()

    def read(self):
        """Pressure above the zero point, Pa."""
        return (self.adc.read_u16() - self.offset) * self.pa_per_count


def tare(sensor, samples: int, timeout_ms: int = 3000) -> bool:
    """Set the sensor's zero point to the mean of ``samples`` readings.

    Returns:
        False when the sensor gave no reading within ``timeout_ms`` (zero kept).
    """
    total, count = 0, 0
    start = time.ticks_ms()
    while count < samples and time.ticks_diff(time.ticks_ms(), start) < timeout_ms:
        raw = sensor.read_counts()
        if raw is None:
            time.sleep_ms(1)
            continue
        total += raw
        count += 1
    if count < samples:
        return False
    sensor.offset = total // count
    return True


class Sampler:
    """Samples every sensor at ``rate_hz`` into a ring buffer.

    Args:
        sensors: objects with ``read()`` (a number, or ``None`` when not ready).
        rate_hz: sample rate, Hz.
        capacity: ring buffer size, samples.
        timer_id: hardware timer (ESP32: 0-3; RP2040: -1, its only timer).
    """

    def __init__(self, sensors, rate_hz: float, capacity: int = 256, timer_id: int = 0) -> None:
        self.sensors = tuple(sensors)
        self.rate_hz = rate_hz
        self.capacity = capacity
        self.timer_id = timer_id
        self.k = len(self.sensors)
        self._ticks = array("l", [0] * capacity)
        self._values = array("f", [0.0] * (capacity * self.k))
        self._head = 0
        self._count = 0
        self.overruns = 0
        self.misses = 0
        self._timer = None
        self._sample_ref = self._sample  # bound once: the interrupt must not allocate

    def start(self) -> None:
        """Start the hardware timer."""
        self._timer = Timer(self.timer_id)
        self._timer.init(freq=self.rate_hz, mode=Timer.PERIODIC, callback=self._irq)

    def stop(self) -> None:
        """Stop sampling."""
        if self._timer is not None:
            self._timer.deinit()
            self._timer = None

    def _irq(self, timer) -> None:
        try:
            micropython.schedule(self._sample_ref, time.ticks_ms())
        except RuntimeError:  # schedule queue full: the main loop is stuck
            self.overruns += 1

    def _sample(self, ticks: int) -> None:
        """Read every sensor once and store the sample stamped ``ticks``."""
        if self._count == self.capacity:
            self.overruns += 1
            return
        slot = (self._head + self._count) % self.capacity
        self._ticks[slot] = ticks
        base = slot * self.k
        for j in range(self.k):
            value = self.sensors[j].read()
            if value is None:
                self.misses += 1
                value = _NAN
            self._values[base + j] = value
        state = disable_irq()
        self._count += 1
        enable_irq(state)

    def available(self) -> int:
        """Samples waiting in the buffer."""
        return self._count

    def oldest_ticks(self):
        """``ticks_ms`` of the oldest waiting sample, or ``None``."""
        return self._ticks[self._head] if self._count else None

    def take(self, n: int):
        """Remove up to ``n`` samples: ``(ticks list, values list row by row)``."""
        n = min(n, self._count)
        ticks, values = [], []
        for i in range(n):
            slot = (self._head + i) % self.capacity
            ticks.append(self._ticks[slot])
            base = slot * self.k
            values.extend(self._values[base : base + self.k])
        state = disable_irq()
        self._head = (self._head + n) % self.capacity
        self._count -= n
        enable_irq(state)
        return ticks, values
