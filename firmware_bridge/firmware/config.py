"""Settings of the letdown firmware: edit them on the board (``mpremote edit :config.py``).

Units ride in names, as on the host: Hz, ms, grams, pascals.
"""

#: "esp32" or "rp2" (Raspberry Pi Pico W / any RP2040 board): picks pins and timer below.
BOARD = "esp32"
#: "hx711": load cell under the bottle (weight_g); "pressure": analog sensor (pressure_pa).
SENSOR = "hx711"
#: Two sensors (double pumping): channels get _left and _right.
DOUBLE = False
#: Sample rate, Hz. An HX711 must run in its 80 SPS mode (RATE pin high) above 10 Hz.
RATE_HZ = 20
#: Samples per binary frame (10 fits a BLE notification for 1 or 2 channels).
SAMPLES_PER_FRAME = 10
#: Send a shorter frame rather than hold samples longer than this, ms.
MAX_FRAME_DELAY_MS = 500
#: Ring buffer between the timer and the sender, samples.
BUFFER_SAMPLES = 256
#: Where the samples go: any of "usb", "ble".
LINKS = ("usb", "ble")
#: USB wire mode: "binary" frames or "text" lines (handy with a serial monitor).
USB_MODE = "binary"
#: Repeat the device-info frame (or text header) and a status frame this often, ms.
ANNOUNCE_EVERY_MS = 5000
#: Free text in the device-info frame.
DEVICE = "letdown-fw 1.0"
#: Advertised Bluetooth LE name (ble_gatt.NAME_PREFIX + something).
BLE_NAME = "letdown-pump"

#: Pins per board: HX711 (DOUT, SCK) per side, ADC pin per side, hardware timer id.
PINS = {
    "esp32": {"hx711": ((16, 17), (18, 19)), "adc": (34, 35), "timer": 0},
    "rp2": {"hx711": ((2, 3), (4, 5)), "adc": (26, 27), "timer": -1},
}

#: Load cell scale factor per side, grams per HX711 count: put a known weight on the
#: tared scale and set known_grams / (reading in counts). See README.md, "Calibration".
GRAMS_PER_COUNT = (1 / 420.0, 1 / 420.0)
#: Pressure sensor scale per side, pascals per ADC count (``read_u16``, 0..65535);
#: 0.17 suits an MPX5010 behind a 10k/20k divider (see README.md).
PA_PER_COUNT = (0.17, 0.17)
#: Readings averaged for the zero point at start-up (bottle in place, empty).
TARE_SAMPLES = 20
#: Calibration announced to the host: milk density, g/mL, and pressure per mL, Pa/mL.
G_PER_ML = 1.03
PA_PER_ML = 5.0
