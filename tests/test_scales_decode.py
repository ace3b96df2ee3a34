"""Scale decoders: documented byte sequences, round trips, and garbage that never crashes.

Byte sequences cited from the public descriptions each adapter names; the
encoders used by the virtual scales must agree with them byte for byte.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letdown_detect.errors import ConfigError
from letdown_detect.sources.scales import (
    SCALES,
    Reading,
    acaia,
    adapter,
    bookoo,
    decent,
    felicita,
    recognise,
    weight_service,
)
from letdown_detect.sources.scales.base import G_PER_LB, G_PER_OZ

ADAPTERS = [adapter(name) for name in SCALES]

#: name -> (encode grams -> one notification, resolution g, range g)
VALID = {
    "acaia": (lambda g: acaia.weight_frame(g), 0.1, 2000.0),
    "bookoo": (lambda g: bookoo.weight_frame(g, timer_ms=1234), 0.01, 2000.0),
    "decent": (lambda g: decent.weight_frame(g, timer_s=61.5), 0.1, 2000.0),
    "felicita": (lambda g: felicita.weight_frame(g), 0.01, 2000.0),
    "weight-service": (lambda g: weight_service.measurement(abs(g)), 5.0, 2000.0),
}


def _weights(readings: list[Reading]) -> list[float]:
    return [r.weight_g for r in readings if r.weight_g is not None]


# --- documented byte sequences --------------------------------------------


def test_acaia_commands_match_the_published_arrays() -> None:
    # AcaiaArduinoBLE (tatemazer): IDENTIFY, HEARTBEAT and NOTIFICATION_REQUEST arrays
    assert acaia.IDENTIFY.hex() == "efdd0b" + b"012345678901234".hex() + "9a6d"
    assert bytes([0xEF, 0xDD, 0x00, 0x02, 0x00, 0x02, 0x00]) == acaia.HEARTBEAT
    assert bytes.fromhex("efdd0c0900010102020503041506") == acaia.NOTIFICATION_REQUEST
    # aioacaia encoder.py: TARE = encode(4, [0])
    assert bytes.fromhex("efdd04000000") == acaia.TARE


def test_acaia_weight_settings_and_buttons() -> None:
    # a weight event: 0x0123 tenths = 29.1 g, sign byte 0x02 = negative
    frame = acaia.frame(12, bytes([8, 5, 0x23, 0x01, 0, 0, 1, 2]))
    assert _weights(acaia.decode(frame)) == [pytest.approx(-29.1)]
    settings_ = acaia.decode(acaia.settings_frame(57, ounces=True))
    assert (settings_[0].battery_pct, settings_[0].unit) == (57, "oz")
    assert acaia.decode(acaia.button_frame(0))[0].button == "tare"
    two = acaia.weight_frame(1.0) + acaia.weight_frame(2.0, timer_s=75.3)
    readings = acaia.decode(two)
    assert _weights(readings) == [1.0, 2.0] and readings[1].scale_time_s == pytest.approx(75.3)


def test_acaia_weights_after_an_ounce_switch_are_converted() -> None:
    unit = acaia.decode(acaia.settings_frame(80, ounces=True))[0].unit
    assert _weights(acaia.decode(acaia.weight_frame(3.5, decimals=2), unit)) == [
        pytest.approx(3.5 * G_PER_OZ)
    ]


def test_bookoo_documented_packet_and_tare() -> None:
    # Tyler Swensen's notes: bytes 6-9 "00 00 07 08" = 18.00 g, "2D 00 00 64" = -1.00 g
    frame = bookoo.weight_frame(18.0, timer_ms=2500, battery_pct=73)
    assert frame[6:10] == bytes.fromhex("2b000708") and len(frame) == 20
    (reading,) = bookoo.decode(frame)
    assert (reading.weight_g, reading.scale_time_s, reading.battery_pct) == (18.0, 2.5, 73)
    assert bookoo.weight_frame(-1.0)[6:10] == bytes.fromhex("2d000064")
    assert bytes.fromhex("030a01000008") == bookoo.TARE


def test_decent_documented_commands_and_packets() -> None:
    # Tyler Swensen's notes / Decent API: keep-alive, LED on, tare with its counter
    assert bytes.fromhex("030a03ffff000a") == decent.KEEP_ALIVE
    assert bytes.fromhex("030a0101000009") == decent.LED_ON
    assert decent.tare(0) == bytes.fromhex("030ffd000000f1")
    assert decent.tare(1) == bytes.fromhex("030ffd010000f0")
    (reading,) = decent.decode(bytes.fromhex("03ce00640000a9"))  # 10.0 g, settled; XOR a9
    assert reading.weight_g == 10.0 and reading.stable
    assert decent.decode(decent.button_frame(1))[0].button == "tare"


def test_felicita_documented_status_line() -> None:
    # Beanconqueror felicita-readme.md: a status line showing 0.00 g, battery level 137
    sample = bytes([1, 2, 43, 48, 48, 48, 48, 48, 48, 32, 103, 83, 79, 48, 34, 137, 13, 10])
    (reading,) = felicita.decode(sample)
    assert reading.weight_g == 0.0 and reading.unit == "g"
    assert reading.battery_pct == round((137 - 129) / (158 - 129) * 100)
    assert felicita.TARE == b"\x54"


def test_felicita_ounces_are_converted() -> None:
    (reading,) = felicita.decode(felicita.weight_frame(1.25, ounces=True))
    assert reading.weight_g == pytest.approx(1.25 * G_PER_OZ) and reading.unit == "oz"


def test_weight_scale_service_flags() -> None:
    # GATT Specification Supplement, Weight Measurement: flags, uint16 in 5 g or 0.01 lb
    assert weight_service.decode(bytes([0x00, 0x14, 0x00]))[0].weight_g == 100.0
    assert weight_service.decode(bytes([0x01, 0xC8, 0x00]))[0].weight_g == pytest.approx(
        2 * G_PER_LB
    )
    stamped = weight_service.measurement(250.0, stamp=(2026, 1, 5, 7, 30, 0))
    assert len(stamped) == 10 and weight_service.decode(stamped)[0].weight_g == 250.0
    assert weight_service.decode(bytes([0x00, 0xFF, 0xFF])) == [Reading()]  # unsuccessful
    assert weight_service.decode(bytes([0x02, 0x14, 0x00]))[0].garbage_bytes == 3  # no stamp


# --- properties --------------------------------------------------------------


@pytest.mark.parametrize("scale", ADAPTERS, ids=lambda a: a.name)
@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=64), unit=st.sampled_from(["g", "oz"]))
def test_random_payloads_never_crash_a_decoder(scale, payload: bytes, unit: str) -> None:
    readings = scale.decode(payload, unit)
    assert all(isinstance(r, Reading) for r in readings)
    assert sum(r.garbage_bytes + len(r.remainder) for r in readings) <= len(payload)


@pytest.mark.parametrize("name", list(VALID))
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_valid_packet_decodes_to_the_weight_it_encodes(name: str, data) -> None:
    encode, resolution_g, range_g = VALID[name]
    grams = data.draw(st.floats(-range_g, range_g, allow_nan=False))
    if name == "weight-service":
        grams = abs(grams)
    readings = adapter(name).decode(encode(grams), "g")
    assert _weights(readings) == [pytest.approx(grams, abs=resolution_g / 2 + 1e-9)]
    assert not any(r.garbage_bytes for r in readings)


@pytest.mark.parametrize("name", list(VALID))
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_corrupted_packet_never_raises(name: str, data) -> None:
    encode, _, _ = VALID[name]
    packet = bytearray(encode(data.draw(st.floats(0, 500, allow_nan=False))))
    index = data.draw(st.integers(0, len(packet) - 1))
    packet[index] ^= data.draw(st.integers(1, 255))
    readings = adapter(name).decode(bytes(packet), "g")
    assert all(isinstance(r, Reading) for r in readings)


@pytest.mark.parametrize("name", ["acaia", "bookoo", "decent"])
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_checksummed_scales_reject_a_single_flipped_byte(name: str, data) -> None:
    encode, _, _ = VALID[name]
    grams = data.draw(st.floats(0, 500, allow_nan=False))
    packet = bytearray(encode(grams))
    index = data.draw(st.integers(0, len(packet) - 1))
    packet[index] ^= data.draw(st.integers(1, 255))
    weights = _weights(adapter(name).decode(bytes(packet), "g"))
    assert weights == [] or weights == [pytest.approx(grams, abs=0.06)]


@settings(max_examples=100, deadline=None)
@given(noise=st.binary(max_size=30), grams=st.floats(0, 1500, allow_nan=False))
def test_acaia_resynchronises_after_garbage(noise: bytes, grams: float) -> None:
    readings = acaia.decode(noise + acaia.weight_frame(grams))
    assert _weights(readings)[-1:] == [pytest.approx(grams, abs=0.05 + 1e-9)]


# --- registry ----------------------------------------------------------------


def test_an_unknown_scale_name_lists_the_supported_ones() -> None:
    with pytest.raises(ConfigError) as error:
        adapter("ikea")
    assert str(error.value) == (
        "--scale 'ikea' is not a scale we know; supported: "
        "acaia, bookoo, decent, felicita, weight-service"
    )


def test_adverts_are_recognised_by_name_or_service() -> None:
    assert recognise("PYXIS-123456", []).name == "acaia"
    assert recognise("BOOKOO_SC 232759", []).name == "bookoo"
    assert recognise("Decent Scale", []).name == "decent"
    assert recognise("FELICITA", []).name == "felicita"
    assert recognise(None, [weight_service.SERVICE_UUID]).name == "weight-service"
    assert recognise(None, [decent.SERVICE_UUID.upper()]).name == "decent"
    assert recognise("Phone", ["0000180f-0000-1000-8000-00805f9b34fb"]) is None
    assert acaia.ADAPTER.model("PEARLS-1234") == "Acaia Pearl S"
    assert acaia.ADAPTER.model("PROCHBT001") == "Acaia Pearl"


@settings(max_examples=200, deadline=None)
@given(
    grams=st.lists(st.floats(-500, 1500, allow_nan=False), min_size=1, max_size=12),
    cuts=st.lists(st.integers(1, 40), min_size=1, max_size=40),
)
def test_acaia_frames_cut_across_notifications_all_arrive(grams: list[float], cuts) -> None:
    stream = b"".join(acaia.weight_frame(g) for g in grams)
    chunks, at = [], 0
    for size in cuts * (len(stream) // sum(cuts) + 1):
        chunks.append(stream[at : at + size])
        at += size
        if at >= len(stream):
            break
    got, carry = [], b""
    for chunk in chunks:
        readings = acaia.decode(carry + chunk)
        carry = b"".join(r.remainder for r in readings)
        assert not any(r.garbage_bytes for r in readings)
        got += _weights(readings)
    assert got == [pytest.approx(g, abs=0.05 + 1e-9) for g in grams] and carry == b""
