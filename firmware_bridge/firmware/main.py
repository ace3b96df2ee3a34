"""letdown firmware: sample the sensor(s), stream frames over USB serial and/or BLE.

Copy to the board with protocol.py and ble_gatt.py (see README.md); it runs at boot.
"""

import time

import protocol
from sampler import LoadCell, PressureSensor, Sampler, tare

_KINDS = {"hx711": "weight_g", "pressure": "pressure_pa"}


class Device:
    """Turns the sampler's buffer into frames and announcements on every link.

    Args:
        sampler: the running ``Sampler``.
        links: objects with ``mode``, ``send(bytes)``, ``set_info(bytes)`` and ``command()``.
        channels: channel names with units, one per sensor.
        calibration: announced calibration, e.g. ``{"g_per_ml": 1.03}``.
        cfg: the ``config`` module (rate, frame size, delays, tare).
    """

    def __init__(self, sampler, links, channels, calibration, cfg) -> None:
        self.sampler = sampler
        self.links = links
        self.channels = tuple(channels)
        self.calibration = calibration
        self.cfg = cfg
        self.seq = 0
        self.tared = False
        self._device_ms = 0
        self._last_ticks = None
        self._next_announce = None
        self._reported_misses = 0
        self._reported_overruns = 0

    def device_ms(self, ticks: int) -> int:
        """Protocol time (ms since boot, modulo 2**32) of a ``ticks_ms`` value.

        ``ticks_ms`` wraps much earlier (2**30 on most ports); this does not.
        Call it with non-decreasing ticks.
        """
        if self._last_ticks is not None:
            step = time.ticks_diff(ticks, self._last_ticks)
            self._device_ms = (self._device_ms + step) % protocol.T_MS_MOD
        else:
            self._device_ms = ticks % protocol.T_MS_MOD
        self._last_ticks = ticks
        return self._device_ms

    def tare(self) -> None:
        """Zero every sensor (bottle in place, empty)."""
        results = [tare(s, self.cfg.TARE_SAMPLES) for s in self.sampler.sensors]
        self.tared = all(results)

    def _next_seq(self) -> int:
        seq = self.seq
        self.seq = (seq + 1) % protocol.SEQ_MOD
        return seq

    def announce(self, now_ms: int) -> None:
        """Send the device info (frame or text header) and a status frame."""
        cfg = self.cfg
        info = protocol.encode_info(
            self._next_seq(), now_ms, self.channels, cfg.RATE_HZ, self.calibration, cfg.DEVICE
        )
        header = protocol.text_header(self.channels, cfg.RATE_HZ, self.calibration, cfg.DEVICE)
        status = self.status_frame(now_ms)
        for link in self.links:
            link.set_info(info)
            if link.mode == "text":
                link.send(header.encode())
            else:
                link.send(info)
                link.send(status)

    def status_frame(self, now_ms: int) -> bytes:
        """A status frame reporting tare, sensor misses and buffer overruns since the last one."""
        sampler = self.sampler
        error = protocol.ERROR_NONE
        if sampler.overruns != self._reported_overruns:
            error = protocol.ERROR_BUFFER_OVERRUN
        elif sampler.misses != self._reported_misses:
            error = protocol.ERROR_SENSOR_TIMEOUT
        self._reported_overruns, self._reported_misses = sampler.overruns, sampler.misses
        flags = protocol.STATUS_TARE_DONE if self.tared else 0
        return protocol.encode_status(
            self._next_seq(), now_ms, protocol.BATTERY_UNKNOWN, flags, error, sampler.overruns
        )

    def send_samples(self, n: int) -> None:
        """Take ``n`` samples from the buffer and send them as one frame (or text lines)."""
        ticks, values = self.sampler.take(n)
        if not ticks:
            return
        t_ms = [self.device_ms(t) for t in ticks]
        t0 = t_ms[0]
        offsets = [(t - t0) % protocol.T_MS_MOD for t in t_ms]
        k = len(self.channels)
        frame = protocol.encode_samples(self._next_seq(), t0, offsets, values, k)
        text = None
        for link in self.links:
            if link.mode == "text":
                if text is None:
                    lines = [
                        protocol.text_line(t_ms[i], values[i * k : (i + 1) * k])
                        for i in range(len(t_ms))
                    ]
                    text = "".join(lines)
                link.send(text.encode())
            else:
                link.send(frame)

    def step(self, now_ticks: int) -> None:
        """One turn of the main loop: commands, announcements, full (or overdue) frames."""
        cfg = self.cfg
        for link in self.links:
            if link.command() == b"t":
                self.tare()
        now_ms = self.device_ms(now_ticks)
        if self._next_announce is None or time.ticks_diff(now_ticks, self._next_announce) >= 0:
            self.announce(now_ms)
            self._next_announce = time.ticks_add(now_ticks, cfg.ANNOUNCE_EVERY_MS)
        sampler = self.sampler
        while sampler.available() >= cfg.SAMPLES_PER_FRAME:
            self.send_samples(cfg.SAMPLES_PER_FRAME)
        oldest = sampler.oldest_ticks()
        if oldest is not None and time.ticks_diff(now_ticks, oldest) >= cfg.MAX_FRAME_DELAY_MS:
            self.send_samples(sampler.available())


def build(cfg):
    """The ``Device`` described by the ``config`` module, with real pins and radios."""
    from machine import ADC, Pin

    pins = cfg.PINS[cfg.BOARD]
    sides = ("_left", "_right") if cfg.DOUBLE else ("",)
    sensors = []
    for i in range(len(sides)):
        if cfg.SENSOR == "hx711":
            from hx711 import HX711

            dout, sck = pins["hx711"][i]
            sensors.append(LoadCell(HX711(dout, sck), cfg.GRAMS_PER_COUNT[i]))
        else:
            sensors.append(PressureSensor(ADC(Pin(pins["adc"][i])), cfg.PA_PER_COUNT[i]))
    kind = _KINDS[cfg.SENSOR]
    channels = [kind + side for side in sides]
    weighed = kind == "weight_g"
    calibration = {"g_per_ml": cfg.G_PER_ML} if weighed else {"pa_per_ml": cfg.PA_PER_ML}
    links = []
    if "usb" in cfg.LINKS:
        from usb_link import UsbLink

        links.append(UsbLink(cfg.USB_MODE))
    if "ble" in cfg.LINKS:
        from ble_link import BleLink

        links.append(BleLink(cfg.BLE_NAME))
    sampler = Sampler(sensors, cfg.RATE_HZ, cfg.BUFFER_SAMPLES, pins["timer"])
    return Device(sampler, links, channels, calibration, cfg)


def run() -> None:
    """Tare, start sampling and stream until power-off."""
    import config

    device = build(config)
    device.tare()
    device.sampler.start()
    while True:
        device.step(time.ticks_ms())
        time.sleep_ms(10)


if __name__ == "__main__":
    run()
